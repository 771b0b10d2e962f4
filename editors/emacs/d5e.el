;;; d5e.el --- D&D 5e rules in your prose: the d5e daemon through eglot  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (eglot "1.9"))
;; Keywords: languages, games
;; SPDX-License-Identifier: MIT

;;; Commentary:

;; Makes the d5e daemon (`d5e serve') the language server of Markdown and text buffers under
;; eglot: completion of `{@spell fir', hover cards, diagnostics with quick fixes, go to
;; definition (SRD entries open as read-only rendered documents), and three commands:
;; `d5e-search' (search the rules, insert the chosen entry's tag), `d5e-show' and `d5e-packs'
;; (the campaign's packs, turned on and off).
;;
;;   (require 'd5e)
;;   (add-hook 'markdown-mode-hook #'eglot-ensure)

;;; Code:

(require 'cl-lib)
(require 'eglot)
(require 'jsonrpc)
(require 'subr-x)

(defgroup d5e nil
  "D&D 5e rules content in prose, served by the d5e daemon."
  :group 'tools
  :prefix "d5e-")

(defcustom d5e-command '("d5e" "serve")
  "The command that starts the d5e daemon (give the full path if `d5e' is not on PATH)."
  :type '(repeat string))

(defcustom d5e-edition nil
  "Which SRD is on: \"2014\", or \"2024\" (srd-2024 above srd-2014).
nil: the workspace's d5e.toml decides (2014 when it says nothing); a value set here wins over it."
  :type '(choice (const :tag "As d5e.toml says" nil) (const "2014") (const "2024")))

(defcustom d5e-packs nil
  "Packs to enable with their priorities (higher wins), as an alist: ((\"my-brew\" . 50))."
  :type '(alist :key-type string :value-type integer))

(defcustom d5e-disabled nil
  "Packs to turn off."
  :type '(repeat string))

(defcustom d5e-modes '((markdown-mode :language-id "markdown")
                       (gfm-mode :language-id "markdown")
                       (text-mode :language-id "plaintext"))
  "Major modes whose buffers d5e serves, with the LSP language id each one sends."
  :type '(repeat sexp))

(defcustom d5e-search-limit 20
  "How many search results `d5e-search' offers."
  :type 'integer)

(defconst d5e--method-not-found -32601)

(defun d5e-settings ()
  "The settings sent to the daemon (initializationOptions and workspace configuration)."
  (append (and d5e-edition (list :edition d5e-edition))
          (list :packs (if d5e-packs
                           (cl-loop for (pack . priority) in d5e-packs
                                    append (list (intern (concat ":" pack)) priority))
                         eglot--{})
                :disabled (vconcat d5e-disabled))))

(defclass d5e-server (eglot-lsp-server) ()
  :documentation "The d5e daemon: its settings are the user's d5e settings only.")

(defun d5e--contact (&optional _interactive)
  "How eglot starts the daemon: `d5e-command', from the user's settings.
A folder's .dir-locals.el cannot choose it silently: Emacs asks first (a `-command' is a risky
local variable), and never marks it safe."
  (cons 'd5e-server (append d5e-command (list :initializationOptions (d5e-settings)))))

(defun d5e--configuration (signal server)
  "Call SIGNAL with SERVER, eglot's `workspace/didChangeConfiguration' at connect; a d5e daemon
gets `d5e-settings' instead of `eglot-workspace-configuration'. Eglot takes any value of the
latter from a folder's .dir-locals.el as safe, and a campaign someone else wrote could then
choose d5e's profile, database or pack folders (packPaths, trustedPackFolders), which are the
user's to choose: a campaign folder cannot change packs or profiles outside itself."
  (if (cl-typep server 'd5e-server)
      (jsonrpc-notify server :workspace/didChangeConfiguration
                      (list :settings (list :d5e (d5e-settings))))
    (funcall signal server)))

(advice-add 'eglot-signal-didChangeConfiguration :around #'d5e--configuration)
(put 'd5e-command 'risky-local-variable t)

(add-to-list 'eglot-server-programs (cons d5e-modes #'d5e--contact))

(defun d5e--campaign-project (directory)
  "For eglot, in a d5e buffer: the campaign folder holding a d5e.toml at or above DIRECTORY.
Its chapters in sub-folders share one daemon and the campaign's settings (without this, a
campaign outside version control was one project, and one daemon, per folder)."
  (when (and (bound-and-true-p eglot-lsp-context)
             (apply #'derived-mode-p (mapcar (lambda (m) (if (consp m) (car m) m)) d5e-modes)))
    (let ((root (locate-dominating-file directory "d5e.toml")))
      (and root (cons 'transient (file-name-as-directory (expand-file-name root)))))))

(add-hook 'project-find-functions #'d5e--campaign-project)

(defun d5e-apply-settings ()
  "Send the current d5e settings to the running daemon (after customizing them)."
  (interactive)
  (jsonrpc-notify (d5e--server) :workspace/didChangeConfiguration
                  (list :settings (list :d5e (d5e-settings)))))

(defun d5e--server ()
  "The eglot server of the current buffer, or an error saying how to start one."
  (or (eglot-current-server)
      (user-error "d5e: no d5e server for this buffer (M-x eglot in a Markdown buffer)")))

(defun d5e-error-message (method error-data)
  "What the error ERROR-DATA of METHOD means to the user."
  (let ((code (alist-get 'jsonrpc-error-code error-data))
        (message (alist-get 'jsonrpc-error-message error-data)))
    (if (eql code d5e--method-not-found)
        (format "d5e: this d5e daemon does not offer %s yet; update d5e" method)
      (format "d5e: %s failed: %s" method message))))

(defun d5e-request (method params)
  "Call METHOD with PARAMS on the d5e daemon; errors become readable `user-error's."
  (condition-case err
      (jsonrpc-request (d5e--server) (intern (concat ":" method)) params)
    (jsonrpc-error (user-error "%s" (d5e-error-message method (cdr err))))))

(defun d5e-hit-label (hit)
  "The line that shows the search HIT in the minibuffer."
  (let ((snippet (plist-get hit :snippet)))
    (concat (format "%s — %s (%s)" (plist-get hit :name) (plist-get hit :collection)
                    (plist-get hit :pack))
            (if (and snippet (not (string-empty-p snippet)))
                (concat ": " (replace-regexp-in-string "[ \t\n]+" " " snippet))
              ""))))

;;;###autoload
(defun d5e-search (query)
  "Search the rules for QUERY, then insert the tag of the chosen entry at point."
  (interactive (list (read-string "d5e search: ")))
  (let* ((result (d5e-request "d5e/search" (list :query query :limit d5e-search-limit)))
         (hits (append (plist-get result :hits) nil)))
    (unless hits (user-error "d5e: nothing found for %S" query))
    (let* ((choices (mapcar (lambda (hit) (cons (d5e-hit-label hit) hit)) hits))
           (label (completing-read (format "d5e: %s: " query) choices nil t))
           (hit (cdr (assoc label choices)))
           (ref (concat (plist-get hit :pack) ":" (plist-get hit :ref))))
      (insert (plist-get (d5e-request "d5e/tagFor" (list :ref ref)) :text)))))

(defun d5e-entry-uri (entry)
  "The d5e:// URI of ENTRY (a lookup result's entry)."
  (format "d5e://%s/%s/%s.md"
          (plist-get entry :pack) (plist-get entry :collection) (plist-get entry :slug)))

;;;###autoload
(defun d5e-show (name)
  "Show the card of the entry named NAME in a read-only buffer."
  (interactive (list (read-string "d5e show: " (thing-at-point 'symbol t))))
  (let ((entry (plist-get (d5e-request "d5e/lookup" (list :name name)) :entry)))
    (find-file (d5e--document-file (d5e-entry-uri entry)))))

(defun d5e--documents-directory ()
  "Where the rendered d5e:// documents are written."
  (file-name-as-directory (expand-file-name "d5e" temporary-file-directory)))

(defun d5e--document-file (uri)
  "A read-only file holding the rendered document behind the d5e:// URI.

Emacs visits files, so the document is written under `temporary-file-directory' and
opened read-only; it is fetched anew each time (packs may have changed)."
  (let* ((result (d5e-request "d5e/document" (list :uri uri)))
         (file (expand-file-name (string-remove-prefix "d5e://" uri)
                                 (d5e--documents-directory))))
    (make-directory (file-name-directory file) t)
    (when (file-exists-p file) (set-file-modes file #o644))
    (with-temp-file file (insert (plist-get result :text)))
    (set-file-modes file #o444)
    (let ((buffer (get-file-buffer file)))
      (when buffer (with-current-buffer buffer (revert-buffer t t t))))
    file))

;;; The campaign's packs: M-x d5e-packs

(defvar-local d5e--packs-server nil
  "The eglot server whose packs the `d5e-packs' buffer lists.")

(defun d5e-pack-entry (info)
  "A `tabulated-list-entries' row for INFO, one pack of a `d5e/packs/list' result."
  (let* ((pack (plist-get info :pack))
         (installed (eq (plist-get info :installed) t))
         (enabled (eq (plist-get info :enabled) t))
         (overrides (plist-get info :overrides))
         (over (cl-loop for (other counts) on overrides by #'cddr
                        collect (format "%d of %s"
                                        (cl-loop for (_ n) on counts by #'cddr sum n)
                                        (substring (symbol-name other) 1)))))
    (list (plist-get pack :id)
          (vector (cond ((not installed) "-") (enabled "x") (t " "))
                  (plist-get pack :id)
                  (cond ((not installed) "not installed")
                        (enabled (format "%s" (or (plist-get info :priority) 0)))
                        (t "off"))
                  (format "%s" (or (plist-get info :entries) 0))
                  (let ((license (plist-get pack :license)))
                    (if (and license (not (string-empty-p license))) license "-"))
                  (concat (plist-get pack :title)
                          (if over (format " (overrides %s)" (string-join over ", ")) "")
                          (if (and installed (not enabled) (plist-get info :off))
                              (format " (off: %s)" (plist-get info :off))
                            ""))))))

(defun d5e--packs-show (result)
  "Show RESULT, a `d5e/packs/list' result, in the *d5e packs* buffer."
  (let ((buffer (get-buffer "*d5e packs*")))
    (when (buffer-live-p buffer)
      (with-current-buffer buffer
        (setq tabulated-list-entries (mapcar #'d5e-pack-entry (append (plist-get result :packs) nil)))
        (setq header-line-format
              (format "  profile %s   RET/t: turn on or off   g: refresh%s"
                      (plist-get result :profile)
                      (mapconcat (lambda (w) (concat "   ! " w))
                                 (append (plist-get result :warnings) nil) "")))
        (tabulated-list-print t)))))

(defun d5e-packs-refresh (&rest _)
  "List the packs anew (also on `d5e/packsChanged'); the answer comes asynchronously."
  (interactive)
  (let ((buffer (get-buffer "*d5e packs*")))
    (when (buffer-live-p buffer)
      (jsonrpc-async-request (buffer-local-value 'd5e--packs-server buffer)
                             :d5e/packs/list eglot--{}
                             :success-fn #'d5e--packs-show
                             :error-fn (lambda (err) (message "d5e: d5e/packs/list failed: %S" err))))))

(defun d5e-packs-toggle ()
  "Turn the pack on this line on or off."
  (interactive)
  (let* ((id (tabulated-list-get-id))
         (row (tabulated-list-get-entry))
         (state (and row (aref row 0))))
    (cond ((not id) (user-error "d5e: no pack on this line"))
          ((equal state "-") (user-error "d5e: %s is not installed: d5e packs install %s" id id)))
    (let* ((method (if (equal state "x") "d5e/packs/disable" "d5e/packs/enable"))
           (result (condition-case err
                       (jsonrpc-request d5e--packs-server (intern (concat ":" method)) (list :pack id))
                     (jsonrpc-error (user-error "%s" (d5e-error-message method (cdr err)))))))
      (dolist (warning (append (plist-get result :warnings) nil))
        (message "d5e: %s" warning))
      (d5e-packs-refresh))))

(defvar d5e-packs-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "RET") #'d5e-packs-toggle)
    (define-key map (kbd "t") #'d5e-packs-toggle)
    map)
  "Keys of the `d5e-packs' buffer (g refreshes, q quits, as in every list).")

(define-derived-mode d5e-packs-mode tabulated-list-mode "d5e packs"
  "The campaign profile's packs: which are on, their priority, entries and licence."
  (setq tabulated-list-format [("On" 3 t) ("Pack" 18 t) ("Priority" 14 t)
                               ("Entries" 8 t :right-align t) ("Licence" 12 t) ("Title" 0 t)])
  (setq tabulated-list-padding 1)
  (add-hook 'tabulated-list-revert-hook #'d5e-packs-refresh nil t)
  (tabulated-list-init-header))

;;;###autoload
(defun d5e-packs ()
  "List the packs of the campaign's profile; RET or t turns one on or off."
  (interactive)
  (let ((server (d5e--server)))
    (with-current-buffer (get-buffer-create "*d5e packs*")
      (d5e-packs-mode)
      (setq d5e--packs-server server)
      (d5e-packs-refresh))
    (pop-to-buffer "*d5e packs*")))

(cl-defmethod eglot-handle-notification (_server (_method (eql d5e/packsChanged)) &rest _)
  "Packs changed (here, in another editor or on the command line): refresh `d5e-packs'."
  (d5e-packs-refresh))

(defun d5e--uri-to-path (original uri)
  "Let eglot open d5e:// URIs (go to definition) as their rendered documents."
  (let ((text (if (keywordp uri) (substring (symbol-name uri) 1) uri)))
    (if (and (stringp text) (string-prefix-p "d5e://" text))
        (d5e--document-file text)
      (funcall original uri))))

(advice-add 'eglot--uri-to-path :around #'d5e--uri-to-path)

(defun d5e--document-buffer-p (&rest _)
  "Whether the current buffer visits a rendered d5e:// document."
  (and buffer-file-name
       (string-prefix-p (d5e--documents-directory) (expand-file-name buffer-file-name))))

;; A card is no campaign text: `eglot-ensure' in `markdown-mode-hook' would start a daemon for
;; its folder (one per collection opened) and check the card as a document.
(advice-add 'eglot-ensure :before-until #'d5e--document-buffer-p)

(provide 'd5e)
;;; d5e.el ends here
