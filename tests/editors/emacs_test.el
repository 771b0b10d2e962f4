;;; emacs_test.el --- Emacs (batch) with eglot and d5e.el against the real daemon  -*- lexical-binding: t; -*-

;; Run by tests/test_editors.py: emacs --batch -l tests/editors/emacs_test.el
;; Env: D5E_TEST_CMD (JSON list: the daemon command), D5E_TEST_DIR, D5E_PLUGIN (editors/emacs).
;; Any failure or a stall exits non-zero.

(require 'json)
(defvar d5e-test-timeout 30)
(run-at-time 100 nil (lambda () (message "FAIL: timeout") (kill-emacs 3)))

(defun d5e-test-fail (format-string &rest args)
  (message "FAIL: %s" (apply #'format format-string args))
  (kill-emacs 1))

(defun d5e-test-equal (actual expected what)
  (unless (equal actual expected)
    (d5e-test-fail "%s: expected %S, got %S" what expected actual)))

(defun d5e-test-wait (what predicate)
  (let ((deadline (+ (float-time) d5e-test-timeout)))
    (while (not (funcall predicate))
      (when (> (float-time) deadline) (d5e-test-fail "timed out waiting for %s" what))
      (accept-process-output nil 0.05))))

(add-to-list 'load-path (getenv "D5E_PLUGIN"))
(require 'd5e)
(setq d5e-command (append (json-parse-string (getenv "D5E_TEST_CMD") :array-type 'list) nil))
(setq eglot-sync-connect t
      eglot-autoshutdown t
      eglot-events-buffer-size 0)

;; As the README sets d5e up (markdown-mode-hook; batch Emacs has no markdown-mode here).
(add-to-list 'auto-mode-alist '("\\.md\\'" . text-mode))
(add-hook 'text-mode-hook #'eglot-ensure)

(defun d5e-test-servers ()
  "Every running eglot server."
  (apply #'append (hash-table-values eglot--servers-by-project)))

(defconst d5e-test-file (expand-file-name "adventure.md" (getenv "D5E_TEST_DIR")))
(with-temp-file d5e-test-file
  (insert "# Ambush\nThe {@creature goblinn} waits.\nCast {@spell fir\nHover {@spell fireball} here.\n\n"))

(find-file d5e-test-file)
(text-mode)
(apply #'eglot (eglot--guess-contact))
(d5e-test-wait "the d5e server" (lambda () (eglot-current-server)))
(defconst d5e-test-server (eglot-current-server))

(defun d5e-test-goto (line column)
  "Move to 0-based LINE and COLUMN."
  (goto-char (point-min))
  (forward-line line)
  (forward-char column))

(defun d5e-test-request (method params)
  "Request METHOD as eglot's own commands do: deferred, so that eglot first sends the edits
not sent yet (textDocument/didChange), as it does before every deferred request."
  (jsonrpc-request d5e-test-server method params :deferred method))

;; Diagnostics, through flymake.
(d5e-test-wait "diagnostics" (lambda () (flymake-diagnostics)))
(let ((diag (car (flymake-diagnostics))))
  (d5e-test-equal (flymake-diagnostic-text diag)
                  (concat "d5e [unknown-ref]: unknown creature 'goblinn'; "
                          "did you mean \"goblin\" or \"hobgoblin\"?")
                  "diagnostic message")
  (d5e-test-equal (buffer-substring (flymake-diagnostic-beg diag) (flymake-diagnostic-end diag))
                  "goblinn" "diagnostic range"))

;; Completion inside `{@spell fir', best first; the first item applied as eglot would.
(d5e-test-goto 2 16)
(let* ((result (d5e-test-request :textDocument/completion (eglot--TextDocumentPositionParams)))
       (items (append (plist-get result :items) nil))
       (first (car items))
       (edit (plist-get first :textEdit)))
  (d5e-test-equal (list (plist-get first :label) (plist-get first :detail) (plist-get edit :newText))
                  '("Fireball" "3rd-level evocation" "fireball}") "first completion")
  (d5e-test-equal (plist-get (cadr items) :label) "Fire Bolt" "second completion")
  (eglot--apply-text-edits (vector edit))
  (d5e-test-equal (buffer-substring (line-beginning-position) (line-end-position))
                  "Cast {@spell fireball}" "line after completion"))

;; Hover: the card with its attribution.
(d5e-test-goto 3 10)
(let* ((hover (d5e-test-request :textDocument/hover (eglot--TextDocumentPositionParams)))
       (value (plist-get (plist-get hover :contents) :value)))
  (unless (string-prefix-p "## Fireball\n\n*3rd-level evocation*" value)
    (d5e-test-fail "hover card: %S" (substring value 0 (min 80 (length value)))))
  (unless (string-search "System Reference Document 5.1" value)
    (d5e-test-fail "hover without attribution")))

;; The quick fix, found and applied with eglot's own functions.
(d5e-test-goto 1 17)
(let* ((actions (eglot-code-actions (point) (point) "quickfix"))
       (preferred (seq-find (lambda (a) (plist-get a :isPreferred)) actions)))
  (unless preferred (d5e-test-fail "no preferred quick fix in %S" actions))
  (eglot--apply-workspace-edit (plist-get preferred :edit)))
(d5e-test-goto 1 0)
(d5e-test-equal (buffer-substring (line-beginning-position) (line-end-position))
                "The {@creature goblin} waits." "line after the quick fix")

;; Go to definition of an SRD entry: a read-only rendered document.
(d5e-test-goto 3 10)
(let* ((locations (d5e-test-request :textDocument/definition (eglot--TextDocumentPositionParams)))
       (uri (plist-get (if (vectorp locations) (aref locations 0) locations) :uri))
       (file (eglot--uri-to-path uri)))
  (d5e-test-equal uri "d5e://srd-2014/spells/fireball.md" "definition URI")
  (with-current-buffer (find-file-noselect file)
    (d5e-test-equal (buffer-substring (point-min) (line-end-position)) "## Fireball" "d5e document")
    (unless buffer-read-only (d5e-test-fail "the d5e document is writable")))
  ;; Visited as M-. visits it, then the command loop's end (where eglot-ensure connects): no
  ;; daemon of its own for the card (one was started per card folder: srd-2014/spells/, …).
  (let ((adventure (current-buffer)))
    (find-file file)
    (run-hooks 'post-command-hook)
    (d5e-test-equal (list (eglot-current-server) (length (d5e-test-servers)))
                    '(nil 1) "the card's eglot server, and the servers running")
    (switch-to-buffer adventure)))
;; The quick fix reached the daemon with that request (eglot sends edits before a deferred one).
(d5e-test-wait "diagnostics to clear" (lambda () (null (flymake-diagnostics))))

;; d5e-search: the tag of the first hit.
(d5e-test-goto 5 0)
(defvar d5e-test-search-outcome
  (condition-case err
      (cl-letf (((symbol-function 'completing-read)
                 (lambda (_prompt choices &rest _) (caar choices))))
        (d5e-search "fireball explosion")
        (format "inserted %s" (buffer-substring (line-beginning-position) (line-end-position))))
    (user-error (format "message: %s" (cadr err)))))
(d5e-test-equal d5e-test-search-outcome "inserted {@spell fireball}" "d5e-search")

;; M-x d5e-packs: the profile's packs; RET on srd-2024 turns it on, and the list follows.
(defun d5e-test-pack-row (id)
  "The row of pack ID in the *d5e packs* buffer, as (STATE PRIORITY ENTRIES LICENCE TITLE)."
  (with-current-buffer "*d5e packs*"
    (let ((entry (assoc id tabulated-list-entries)))
      (and entry (let ((v (cadr entry))) (list (aref v 0) (aref v 2) (aref v 3) (aref v 4)))))))
(defun d5e-test-pack-title (id)
  "The title column of pack ID in the *d5e packs* buffer (and why it is off)."
  (with-current-buffer "*d5e packs*"
    (aref (cadr (assoc id tabulated-list-entries)) 5)))
(d5e-packs)
(d5e-test-wait "the packs listed" (lambda () (d5e-test-pack-row "srd-2014")))
(d5e-test-equal (car (d5e-test-pack-row "srd-2014")) "x" "srd-2014 is on")
(d5e-test-equal (nth 3 (d5e-test-pack-row "srd-2014")) "CC-BY-4.0" "srd-2014's licence")
(d5e-test-equal (seq-take (d5e-test-pack-row "srd-2024") 2) '(" " "off") "srd-2024 is off")
(unless (string-suffix-p "(off: the SRD of the other edition (this profile's edition is 2014))"
                        (d5e-test-pack-title "srd-2024"))
  (d5e-test-fail "why srd-2024 is off: %S" (d5e-test-pack-title "srd-2024")))
(with-current-buffer "*d5e packs*"
  (goto-char (point-min))
  (while (and (not (equal (tabulated-list-get-id) "srd-2024")) (not (eobp)))
    (forward-line 1))
  (d5e-test-equal (tabulated-list-get-id) "srd-2024" "the cursor on srd-2024")
  (execute-kbd-macro (kbd "RET")))
(d5e-test-wait "srd-2024 turned on by RET"
               (lambda () (equal (car (d5e-test-pack-row "srd-2024")) "x")))
(with-current-buffer "*d5e packs*"
  (unless (save-excursion (goto-char (point-min)) (search-forward "srd-2024" nil t))
    (d5e-test-fail "the list shows no srd-2024")))
;; Turned off elsewhere (here: a request of our own): d5e/packsChanged refreshes the list.
(d5e-test-request :d5e/packs/disable '(:pack "srd-2024"))
(d5e-test-wait "the list to follow d5e/packsChanged"
               (lambda () (equal (car (d5e-test-pack-row "srd-2024")) " ")))
(unless (string-match-p "(off: turned off in this profile (d5e packs disable"
                       (d5e-test-pack-title "srd-2024"))
  (d5e-test-fail "why srd-2024 is off now: %S" (d5e-test-pack-title "srd-2024")))

(message "emacs ok; d5e-search %s" d5e-test-search-outcome)
(let ((inhibit-message t)) (eglot-shutdown d5e-test-server))
(kill-emacs 0)
;;; emacs_test.el ends here
