"""Watching the folders of installed folder packs (and the files of file packs) for changes.

The daemon runs one `PackWatcher`. File-system events (inotify on Linux, FSEvents on macOS,
ReadDirectoryChangesW on Windows, through watchdog) are gathered per pack, and once they have
been quiet for `settle` seconds (an editor's save is often several events: a temporary file, a
rename, a chmod) `{pack id: changed paths}` is handed to `on_change`, on the watcher's timer
thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirModifiedEvent,
    FileClosedNoWriteEvent,
    FileOpenedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

log = logging.getLogger(__name__)

SETTLE_SECONDS = 0.03
MAX_WATCHED_FOLDERS = 10_000
"""A tree of more folders is watched at its top only: inotify takes a watch per folder, and the
user's limit (often 8,192 to 200,000) is shared by every program: a campaign folder of 200,000
empty folders would leave none to the editor's own watcher."""


def _folders_over(root: Path, limit: int) -> bool:
    """Whether `root` holds more than `limit` folders (links not followed; stops counting)."""
    seen = 0
    for _, dirs, _ in os.walk(root):
        seen += len(dirs)
        if seen > limit:
            return True
    return False


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: PackWatcher, pack_id: str, root: Path) -> None:
        self.watcher, self.pack_id, self.root = watcher, pack_id, root

    def on_any_event(self, event: FileSystemEvent) -> None:
        if isinstance(event, FileOpenedEvent | FileClosedNoWriteEvent | DirModifiedEvent):
            return  # a folder "modified" is its listing: the files have events of their own
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = os.fsdecode(raw)
            if path and self._relevant(Path(path)):
                self.watcher.touched(self.pack_id, path, event.is_directory)

    def _relevant(self, path: Path) -> bool:
        if self.root.is_file() or path == self.root:
            return path == self.root
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            return False
        return not any(part.startswith(".") for part in rel.parts)  # editors' temporary files


class PackWatcher:
    def __init__(
        self, on_change: Callable[[dict[str, set[str]]], None], settle: float = SETTLE_SECONDS
    ) -> None:
        self.on_change = on_change
        self.settle = settle
        self._observer: BaseObserver = Observer()
        self._observer.daemon = True
        self._watches: dict[str, tuple[Path, ObservedWatch]] = {}
        self._pending: dict[str, set[str]] = {}
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._started = False

    def watch(self, roots: dict[str, Path]) -> None:
        """Watch exactly these packs (pack id → folder, or file for a zip/file pack)."""
        with self._lock:
            for pack_id in list(self._watches):
                if roots.get(pack_id) != self._watches[pack_id][0]:
                    self._observer.unschedule(self._watches.pop(pack_id)[1])
            for pack_id, root in roots.items():
                if pack_id in self._watches or not root.exists():
                    continue
                folder = root if root.is_dir() else root.parent
                handler = _Handler(self, pack_id, root)
                recursive = root.is_dir()
                if recursive and _folders_over(root, MAX_WATCHED_FOLDERS):
                    log.warning(
                        "%s holds more than %d folders: only its top folder is watched for changes",
                        root,
                        MAX_WATCHED_FOLDERS,
                    )
                    recursive = False
                try:
                    watch = self._observer.schedule(handler, str(folder), recursive=recursive)
                except OSError as exc:  # e.g. out of inotify watches
                    log.warning("cannot watch %s for changes: %s", root, exc)
                    continue
                self._watches[pack_id] = (root, watch)
            if not self._started:
                self._observer.start()
                self._started = True

    def touched(self, pack_id: str, path: str, is_directory: bool) -> None:
        """A file (or folder) of a pack changed; an empty set of paths means "all of it"."""
        with self._lock:
            paths = self._pending.setdefault(pack_id, set())
            if is_directory:
                paths.add(".")  # a folder came or went: read the whole pack again
            paths.add(path)
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.settle, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            changes, self._pending = self._pending, {}
            self._timer = None
        if changes:
            self.on_change(changes)

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        if self._started:
            self._observer.stop()
            self._observer.join(timeout=5)
