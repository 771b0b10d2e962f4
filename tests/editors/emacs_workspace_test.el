;;; emacs_workspace_test.el --- d5e.el's settings beside a campaign's d5e.toml  -*- lexical-binding: t; -*-

;; Emacs (batch) with eglot and d5e.el in campaigns whose d5e.toml asks for the 2024 SRD: with
;; `d5e-edition' left unset the daemon settles on 2024 (what the editor sends wins over
;; d5e.toml, so unset settings are not sent); set to "2014" it settles on 2014, and stays there
;; after eglot's own `workspace/didChangeConfiguration' (which carries nothing for d5e). A
;; campaign's chapters in folders share one daemon, rooted at the campaign folder.
;; Run by tests/test_editors.py; env as emacs_test.el. Any failure or a stall exits non-zero.

(require 'json)
(run-at-time 60 nil (lambda () (message "FAIL: timeout") (kill-emacs 3)))

(add-to-list 'load-path (getenv "D5E_PLUGIN"))
(require 'd5e)
(setq d5e-command (append (json-parse-string (getenv "D5E_TEST_CMD") :array-type 'list) nil))
(setq eglot-sync-connect t
      eglot-autoshutdown t
      eglot-events-buffer-size 0)

(defun d5e-test-edition-in-2024-campaign (name)
  "The edition the daemon reports for the campaign folder NAME, whose d5e.toml asks for 2024."
  (let ((folder (file-name-as-directory (expand-file-name name (getenv "D5E_TEST_DIR")))))
    (make-directory folder t)
    (with-temp-file (expand-file-name "d5e.toml" folder)
      (insert "edition = \"2024\"\n"))
    (with-temp-file (expand-file-name "notes.md" folder)
      (insert "# Notes\n"))
    (find-file (expand-file-name "notes.md" folder))
    (text-mode)
    (apply #'eglot (eglot--guess-contact))
    (let ((deadline (+ (float-time) 30)))
      (while (not (eglot-current-server))
        (when (> (float-time) deadline)
          (message "FAIL: no d5e server in %s" name)
          (kill-emacs 1))
        (accept-process-output nil 0.05)))
    (let ((server (eglot-current-server)))
      (accept-process-output nil 0.5)  ; eglot's didChangeConfiguration is handled meanwhile
      (prog1 (plist-get (jsonrpc-request server :d5e/status eglot--{}) :edition)
        (let ((inhibit-message t)) (eglot-shutdown server))))))

(let ((unset (d5e-test-edition-in-2024-campaign "campaign-unset"))
      (set (let ((d5e-edition "2014")) (d5e-test-edition-in-2024-campaign "campaign-set"))))
  (unless (equal (list unset set) '("2024" "2014"))
    (message "FAIL: editions %S, expected (\"2024\" \"2014\")" (list unset set))
    (kill-emacs 1)))
;; A campaign outside version control with its chapters in folders: eglot's project is the
;; campaign folder (the one holding d5e.toml), one daemon for every chapter (it was one project,
;; and one daemon, per folder: chapters/, appendix/).
(let* ((folder (file-name-as-directory
                (expand-file-name "campaign-folders" (getenv "D5E_TEST_DIR"))))
       (one (expand-file-name "chapters/one.md" folder))
       (two (expand-file-name "appendix/two.md" folder)))
  (dolist (file (list one two))
    (make-directory (file-name-directory file) t)
    (with-temp-file file (insert "# Notes\n")))
  (with-temp-file (expand-file-name "d5e.toml" folder) (insert "edition = \"2024\"\n"))
  (find-file one)
  (text-mode)
  (apply #'eglot (eglot--guess-contact))
  (let ((server (eglot-current-server)))
    (find-file two)
    (text-mode)
    (let ((found (list (and server (project-root (eglot--project server)))
                       (eq (eglot-current-server) server)
                       (plist-get (jsonrpc-request server :d5e/status eglot--{}) :edition))))
      (unless (equal found (list folder t "2024"))
        (message "FAIL: (project root, one server, edition) %S, expected %S"
                 found (list folder t "2024"))
        (kill-emacs 1)))
    (let ((inhibit-message t)) (eglot-shutdown server))))
;; A campaign someone else wrote: its .dir-locals.el sets `eglot-workspace-configuration', which
;; eglot takes as safe and sends as the daemon's settings; they were the user's to d5e (the
;; profile, the database, pack folders: "default" here, the user's own profile). A d5e daemon
;; gets the user's d5e settings only: the campaign's own profile and d5e.toml's edition.
(let ((folder (file-name-as-directory
               (expand-file-name "campaign-dir-locals" (getenv "D5E_TEST_DIR")))))
  (make-directory folder t)
  (with-temp-file (expand-file-name "d5e.toml" folder) (insert "edition = \"2024\"\n"))
  (with-temp-file (expand-file-name ".dir-locals.el" folder)
    (insert "((nil . ((eglot-workspace-configuration . (:d5e (:profile \"default\" :edition \"2014\"))))))\n"))
  (with-temp-file (expand-file-name "notes.md" folder) (insert "# Notes\n"))
  (find-file (expand-file-name "notes.md" folder))
  (text-mode)
  (unless (equal eglot-workspace-configuration '(:d5e (:profile "default" :edition "2014")))
    (message "FAIL: the campaign's .dir-locals.el was not applied: %S" eglot-workspace-configuration)
    (kill-emacs 1))
  ;; the command: Emacs asks before a folder sets it (risky), and never keeps the answer
  (unless (and (risky-local-variable-p 'd5e-command) (not (safe-local-variable-p 'd5e-command '("sh"))))
    (message "FAIL: a campaign's .dir-locals.el may choose the d5e command without asking")
    (kill-emacs 1))
  (apply #'eglot (eglot--guess-contact))
  (let ((server (eglot-current-server)))
    (accept-process-output nil 0.5)  ; eglot's didChangeConfiguration is handled meanwhile
    (let* ((status (jsonrpc-request server :d5e/status eglot--{}))
           (found (list (plist-get status :edition) (plist-get status :profile))))
      (when (or (not (equal (car found) "2024")) (equal (cadr found) "default"))
        (message "FAIL: (edition profile) %S: the campaign's .dir-locals.el chose d5e's settings" found)
        (kill-emacs 1)))
    (let ((inhibit-message t)) (eglot-shutdown server))))
(message "emacs workspace ok")
(kill-emacs 0)
;;; emacs_workspace_test.el ends here
