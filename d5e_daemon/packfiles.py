"""Reading a pack's files from a folder or a zip, safely.

Nothing outside the pack is ever read: links are not followed (a link is a problem), zip members
with absolute or `..` paths are refused, and sizes are bounded: each file, the whole pack, the
number of files, and, for zips, the compression ratio (a zip bomb is refused before it is
inflated, and a member is never read past its limit whatever its header claims). A zip is read
in memory, never extracted to disk.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import hashlib
import os
import re
import stat
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

from .packformat import COLLECTION_PATTERN, MANIFEST, PackFile, constant, content_kind
from .records import PackProblem

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_PACK_BYTES = 256 * 1024 * 1024
MAX_FILES = 100_000
MAX_DEPTH = 16
MAX_ZIP_RATIO = 100
"""A member that inflates more than this many times (and past 1 MiB) is taken for a zip bomb."""

Tree = tuple[list[PackFile], list[PackProblem]]

MAX_DATA_FILE_BYTES = 64 * 1024 * 1024
"""A file of a pack in another format (a 5etools homebrew file, an Open5e fixture): the largest
real ones are a few MiB, and each is read whole into memory."""


MAX_DATA_BYTES = 512 * 1024 * 1024
"""All the files one install reads of a pack in another format (a folder of 5etools homebrew,
Open5e's documents): each is read whole into memory. Open5e's whole `data/v2` is 50 MB."""


def data_too_large(files: list[Path], what: str) -> str | None:
    """Why the files of one install in another format are too large to read together (`what`:
    "the folder's .json files"), from their sizes alone; None when they are not. A file over
    `MAX_DATA_FILE_BYTES` counts for nothing: it is refused unread on its own. (Their number
    is bounded by the caller's listing, at `MAX_FILES`.)"""
    total = 0
    for path in files:
        try:
            size = os.lstat(path).st_size
        except OSError:
            continue
        total += size if size <= MAX_DATA_FILE_BYTES else 0
        if total > MAX_DATA_BYTES:
            return f"{what} hold more than {MAX_DATA_BYTES // 2**20:,} MiB (the limit)"
    return None


_IN_PLACE: contextvars.ContextVar[bool] = contextvars.ContextVar("in_place", default=False)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
LINK_ON_PATH = "links are not allowed in packs (one is on its path now)"


@contextlib.contextmanager
def in_place() -> Iterator[None]:
    """The packs read inside are read where they were checked or installed (a campaign's
    `packPaths`, a stored origin: `packs.check_in_place`): no link may be anywhere on their
    path, not even one the user named, so that a folder swapped for a link *while* it is read
    is not read through it."""
    token = _IN_PLACE.set(True)
    try:
        yield
    finally:
        _IN_PLACE.reset(token)


def open_below(parts: Sequence[str], flags: int, dir_fd: int | None = None) -> int:
    """A descriptor of the path `parts` (below `dir_fd`, else below `/`), each folder opened
    with `O_NOFOLLOW` and the last part with `flags | O_NOFOLLOW`: a link anywhere on it,
    swapped in whenever, is never followed (OSError ELOOP or ENOTDIR)."""
    fd = os.open("/", _DIR_FLAGS) if dir_fd is None else dir_fd
    try:
        if not parts:
            return os.dup(fd) if dir_fd is not None else os.open("/", flags | os.O_CLOEXEC)
        for part in parts[:-1]:
            inner = os.open(part, _DIR_FLAGS, dir_fd=fd)
            if fd != dir_fd:
                os.close(fd)
            fd = inner
        return os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise OSError(exc.errno, LINK_ON_PATH, "/".join(parts)) from exc
        raise
    finally:
        if fd != dir_fd:
            os.close(fd)


def read_data_file(path: Path, limit: int = MAX_DATA_FILE_BYTES, *, follow: bool = False) -> bytes:
    """The bytes of one file of a pack in another format, read as safely as a folder pack's:
    a link is not followed (unless `follow`: the file the user named; `in_place`: no link on
    any part of its path), a pipe or a device is never read (opened non-blocking, so a pipe
    swapped in meanwhile does not block either), nor more than `limit` bytes. OSError whose
    `strerror` says why (a loader reports it as the file's problem)."""
    if _IN_PLACE.get():
        fd = open_below(Path(os.path.abspath(path)).parts[1:], os.O_RDONLY | os.O_NONBLOCK)
        return _read_fd(fd, path, limit)
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "links are not allowed in packs", str(path)) from exc
        raise
    return _read_fd(fd, path, limit)


def _read_fd(fd: int, path: Path | str, limit: int) -> bytes:
    """The bytes of the regular file open as `fd` (closed here), at most `limit`."""
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            why = "not a regular file (a pipe, a socket or a device): not read"
            raise OSError(errno.EINVAL, why, str(path))
        data = f.read(limit + 1) if st.st_size <= limit else b""
        if st.st_size > limit or len(data) > limit:
            why = f"file too large ({max(st.st_size, len(data)):,} bytes; the limit is {limit:,})"
            raise OSError(errno.EFBIG, why, str(path))
        return data


class _Folder:
    """A pack's folder, open for as long as its files may be read (`PackFile.read`): the
    folder that was listed, wherever its path points meanwhile."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = open_below(Path(path).parts[1:], os.O_RDONLY | os.O_DIRECTORY)

    def __del__(self) -> None:
        with contextlib.suppress(AttributeError, OSError):
            os.close(self.fd)

    def read(self, rel: str, limit: int) -> bytes:
        fd = open_below(rel.split("/"), os.O_RDONLY | os.O_NONBLOCK, self.fd)
        return _read_fd(fd, os.path.join(self.path, *rel.split("/")), limit)


def _open_pack_folder(root: Path, shown: str, problems: list[PackProblem]) -> _Folder | None:
    """The folder pack at `root` opened (its links resolved first, unless `in_place`), or None
    and the problem."""
    base = os.path.abspath(root) if _IN_PLACE.get() else str(root.resolve())
    try:
        return _Folder(base)
    except OSError as exc:
        problems.append(PackProblem(file=shown, message=f"cannot read: {exc.strerror}"))
        return None


_COLLECTION = re.compile(COLLECTION_PATTERN)


def _is_collection(name: str) -> bool:
    return _COLLECTION.match(name) is not None


class _Budget:
    """Counts files and bytes against the pack's limits; the first overrun is reported once."""

    def __init__(self, shown: str, problems: list[PackProblem]) -> None:
        self.files = 0
        self.bytes = 0
        self.shown = shown
        self.problems = problems
        self.exceeded = False

    def take(self, size: int, files: int = 1) -> bool:
        """Count `files` more (every item of the folder counts, read or warned about) and
        `size` more bytes; False once over a limit."""
        self.files += files
        self.bytes += size
        if not self.exceeded and (self.files > MAX_FILES or self.bytes > MAX_PACK_BYTES):
            self.exceeded = True
            message = (
                f"the pack is too large (over {MAX_FILES} files or "
                f"{MAX_PACK_BYTES // 2**20} MiB); split it into several packs"
            )
            self.problems.append(PackProblem(file=self.shown, message=message))
        return not self.exceeded


def _too_big(shown: str, size: int) -> PackProblem:
    return PackProblem(
        file=shown,
        message=f"file too large ({size:,} bytes; the limit is {MAX_FILE_BYTES:,})",
    )


def _wanted(rel: str, shown: str, problems: list[PackProblem]) -> bool:
    """Whether a file is part of the pack's content (or its manifest); warn about the rest."""
    parts = rel.split("/")
    if any(p.startswith(".") for p in parts):
        return False  # .git, .obsidian, .DS_Store: tools' files, never content
    if len(parts) == 1:
        return rel == MANIFEST  # README.md, LICENSE, … at the top are for people
    if not _is_collection(parts[0]):
        return False  # the folder is reported once, by the caller
    if content_kind(rel) is None:
        message = "not read: content files end in .json or .md"
        problems.append(PackProblem(file=shown, message=message, severity="warning"))
        return False
    return True


CHANGED_WHILE_READ = "changed while read"
"""What `stamp` gives after a read when the files changed shortly before or during it."""

RACY_NS = 20_000_000
"""How long before a read began a change still counts as made during it: file times come from
the kernel's coarse clock, less than a tick (4-10 ms) behind the one `time` reads."""


def stamp(path: Path, read_since: int | None = None) -> str:
    """A cheap fingerprint of a folder or file pack as the file system describes it (names,
    sizes, modification times, inodes; no content read): stored at install, compared at
    start-up, so an edit made while no daemon watched is noticed. It looks at no more than a
    pack may hold (a folder past the limits is refused by the reader anyway), and a file that
    vanishes meanwhile is left out: `/` or `/proc` given as a pack costs no more than a pack.

    Taken after the files were read (`read_since`: `time.time_ns()` before the read), it is
    `CHANGED_WHILE_READ` when a file or folder changed since shortly before the read began."""
    digest = hashlib.sha256()
    since = None if read_since is None else read_since - RACY_NS
    if not path.is_dir():
        st = path.stat()
        if since is not None and st.st_mtime_ns >= since:
            return CHANGED_WHILE_READ
        digest.update(f"{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}".encode())
        return digest.hexdigest()[:32]
    seen = 0
    for folder, dirs, files in os.walk(path):
        if since is not None and _changed_since(folder, since):
            return CHANGED_WHILE_READ  # a file added, removed or renamed in it
        depth = 0 if folder == str(path) else os.path.relpath(folder, path).count(os.sep) + 1
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if depth < MAX_DEPTH else []
        seen += len(dirs)
        for name in sorted(files):
            seen += 1
            if seen > MAX_FILES:
                return digest.hexdigest()[:32]
            if name.startswith("."):
                continue
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if since is not None and st.st_mtime_ns >= since:
                return CHANGED_WHILE_READ
            rel = os.path.relpath(os.path.join(folder, name), path)
            line = f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n"
            digest.update(line.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:32]


def _changed_since(folder: str, since: int) -> bool:
    try:
        return os.lstat(folder).st_mtime_ns >= since
    except OSError:
        return False


def read_folder(root: Path, shown_root: str) -> Tree:
    """Every content file of a folder pack (not following links), and the problems found."""
    files: list[PackFile] = []
    problems: list[PackProblem] = []
    budget = _Budget(shown_root, problems)
    top = _open_pack_folder(root, shown_root, problems)
    if top is None:
        return files, problems
    base = top.path

    def shown(rel: str) -> str:
        return os.path.join(shown_root, *rel.split("/"))

    def walk(folder: int, rel: str, depth: int) -> None:
        try:  # through the folder's descriptor: the folder listed is the one read
            items = sorted(os.scandir(folder), key=lambda d: d.name)
        except OSError as exc:
            problems.append(PackProblem(file=shown(rel) or shown_root, message=str(exc)))
            return
        for item in items:
            path = f"{rel}/{item.name}" if rel else item.name
            if item.name.startswith("."):
                continue
            if not budget.take(0):  # 200,000 files of notes cost as much as content
                return
            try:
                if not visit(item, folder, path, rel, depth):
                    return
            except OSError as exc:  # gone meanwhile, or not ours to read
                problems.append(PackProblem(file=shown(path), message=f"cannot read: {exc}"))

    def visit(item: os.DirEntry[str], folder: int, path: str, rel: str, depth: int) -> bool:
        """Take one folder item; False when the pack's budget is spent."""
        if not _is_utf8(item.name):
            named = shown(printable(path))
            if rel:  # inside a collection: content that cannot be read
                problems.append(PackProblem(file=named, message=NOT_UTF8_NAME))
            elif item.is_dir(follow_symlinks=False):  # (top-level files are never read)
                message = "folder not read: its name is not UTF-8 text"
                problems.append(PackProblem(file=named, message=message, severity="warning"))
            return True
        if item.is_symlink():
            try:
                target = os.path.realpath(os.path.join(base, *path.split("/")))
            except OSError:
                target = ""
            inside = target == str(base) or target.startswith(str(base) + os.sep)
            where = "inside" if inside else "outside"
            message = f"links are not allowed in packs (this one points {where} the pack)"
            problems.append(PackProblem(file=shown(path), message=message))
            return True
        if item.is_dir(follow_symlinks=False):
            if not rel and not _is_collection(item.name):
                message = "folder not read: its name is not a collection name (a-z, 0-9, -)"
                problems.append(PackProblem(file=shown(path), message=message, severity="warning"))
            elif depth >= MAX_DEPTH:
                message = f"folders nested deeper than {MAX_DEPTH} are not read"
                problems.append(PackProblem(file=shown(path), message=message))
            else:
                inner = os.open(item.name, _DIR_FLAGS, dir_fd=folder)
                try:
                    walk(inner, path, depth + 1)
                finally:
                    os.close(inner)
            return True
        named = shown(path)
        if not _wanted(path, named, problems):
            return True
        if not item.is_file(follow_symlinks=False):  # never opened: a pipe would block
            message = "not a regular file (a pipe, a socket or a device): not read"
            problems.append(PackProblem(file=named, message=message, severity="warning"))
            return True
        st = item.stat(follow_symlinks=False)
        if not budget.take(st.st_size, files=0):
            return False
        if st.st_size > MAX_FILE_BYTES:
            problems.append(_too_big(named, st.st_size))
            return True
        listed.append((path, named, st))
        return True

    # `walk` and `visit` name each other, a cycle kept until the garbage collector runs: it
    # holds what was listed, not `top`, which closes with the last file's read
    listed: list[tuple[str, str, os.stat_result]] = []
    walk(top.fd, "", 0)
    files += [_local_file(path, named, top, st) for path, named, st in listed]
    return files, fold_warnings(problems, shown_root)


SAME_WARNINGS = 20
"""Warnings with the same message shown one by one; the others are counted in one more."""


def fold_warnings(problems: list[PackProblem], shown_root: str) -> list[PackProblem]:
    """At most SAME_WARNINGS warnings of each message ("not read: content files end in …"),
    then one saying how many more: a folder of 200,000 notes answered 34 MB of warnings."""
    seen: dict[str, int] = {}
    out = []
    for p in problems:
        if p.severity == "warning":
            seen[p.message] = seen.get(p.message, 0) + 1
            if seen[p.message] > SAME_WARNINGS:
                continue
        out.append(p)
    for message, count in seen.items():
        if count > SAME_WARNINGS:
            more = f"… and {count - SAME_WARNINGS:,} more files: {message}"
            out.append(
                PackProblem(file=out[0].file if out else "", message=more, severity="warning")
            )
    return out


NOT_UTF8_NAME = "the name is not UTF-8 text; rename it (nothing in it was read)"


def _is_utf8(name: str) -> bool:
    """False for a file name whose bytes are not UTF-8 (Python keeps them as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """A path as text that can be shown and sent: bytes that are not UTF-8 as `\\xe9`."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def read_changed(root: Path, rels: set[str], shown_root: str) -> Tree | None:
    """The content files among `rels` (paths inside the folder pack at `root`) as they are now,
    with the same checks as `read_folder`; a file that is gone is simply not returned. None
    when the change is more than files (pack.toml, a folder): then read the whole pack."""
    files: list[PackFile] = []
    problems: list[PackProblem] = []
    top = _open_pack_folder(root, shown_root, problems)
    if top is None:
        return None
    base = top.path
    for rel in sorted(rels):
        parts = rel.split("/")
        if rel == MANIFEST:
            return None
        if any(p.startswith(".") for p in parts) or len(parts) == 1:
            continue
        if not _is_collection(parts[0]) or len(parts) > MAX_DEPTH + 1:
            continue
        path = os.path.join(base, *parts)
        named = os.path.join(shown_root, *parts)
        if not _is_utf8(rel):
            problems.append(PackProblem(file=printable(named), message=NOT_UTF8_NAME))
            continue
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue  # deleted: its entries go
        if stat.S_ISDIR(st.st_mode):
            return None
        if stat.S_ISLNK(st.st_mode):
            message = "links are not allowed in packs"
            problems.append(PackProblem(file=named, message=message))
            continue
        if not stat.S_ISREG(st.st_mode) or content_kind(rel) is None:
            continue
        if st.st_size > MAX_FILE_BYTES:
            problems.append(_too_big(named, st.st_size))
            continue
        files.append(_local_file(rel, named, top, st))
    return files, problems


def _local_file(rel: str, shown: str, top: _Folder, st: os.stat_result) -> PackFile:
    """A file on disk, cached (see packformat) by its size, times, inode and device."""

    def read() -> bytes:
        # listed as a regular file, maybe swapped for a link or a pipe (which would block the
        # writer) since, or a folder on its way for a link: none is opened
        return top.read(rel, MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES]

    stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
    source = os.path.join(top.path, *rel.split("/"))  # absolute
    return PackFile(rel=rel, shown=shown, source=source, read=read, stamp=stamp)


def _is_folder(info: zipfile.ZipInfo) -> bool:
    """`ZipInfo.is_dir`, which fails on an empty name (a damaged zip: found by fuzzing)."""
    return info.filename.endswith("/")


def _unsafe_name(name: str) -> str | None:
    if not name:
        return "empty name"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if "\\" in name:
        return "backslash in path"
    if ".." in PurePosixPath(name).parts:
        return "'..' in path"
    return None


# `zipfile` raises many kinds of exception on a damaged or crafted archive; fuzzing found
# BadZipFile, zlib.error (bad deflate data), EOFError (a cut-off member), NotImplementedError
# (an unknown format version), UnicodeDecodeError (a name flagged UTF-8 that is not) and
# IndexError (a damaged extra field). The code guarded by this only reads the archive, so any
# exception there is the archive's fault, reported as a problem of the pack.
_ZIP_ERRORS = Exception


def _zip_member_count(path: Path) -> int | None:
    """How many members the zip's end record says it holds, read before its central directory
    (which `zipfile` reads whole into memory: 300,000 members peaked at 200 MB); None when
    there is no end record (`zipfile` then says what is wrong)."""
    try:
        with path.open("rb") as f:
            end = zipfile._EndRecData(f)  # type: ignore[attr-defined]
    except OSError:
        return None
    return None if not end else int(end[zipfile._ECD_ENTRIES_TOTAL])  # type: ignore[attr-defined]


def read_zip(path: Path, shown_root: str) -> Tree:
    """Every content file of a zipped pack, read in memory within the limits."""
    problems: list[PackProblem] = []
    files: list[PackFile] = []
    size = path.stat().st_size
    if size > MAX_PACK_BYTES:
        message = f"zip too large ({size:,} bytes; the limit is {MAX_PACK_BYTES:,})"
        return [], [PackProblem(file=shown_root, message=message)]
    members = _zip_member_count(path)
    if members is not None and members > MAX_FILES:
        message = f"the zip holds {members:,} files; the limit is {MAX_FILES:,}"
        return [], [PackProblem(file=shown_root, message=message)]
    try:
        archive = zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        message = f"not a readable zip file: {type(exc).__name__}: {exc}"
        return [], [PackProblem(file=shown_root, message=message)]
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_FILES:
            message = f"the zip holds {len(infos):,} files; the limit is {MAX_FILES:,}"
            return [], [PackProblem(file=shown_root, message=message)]
        names = [i.filename for i in infos if not _is_folder(i)]
        prefix = _zip_root(names)
        declared = 0
        for top in sorted(
            {n[len(prefix) :].split("/")[0] for n in names if "/" in n[len(prefix) :]}
        ):
            if not top.startswith(".") and not _is_collection(top):
                message = "folder not read: its name is not a collection name (a-z, 0-9, -)"
                problems.append(
                    PackProblem(
                        file=f"{shown_root}!/{prefix}{top}", message=message, severity="warning"
                    )
                )
        for info in infos:
            member = f"{shown_root}!/{info.filename}"
            unsafe = _unsafe_name(info.filename)
            if unsafe:
                message = f"unsafe path in zip ({unsafe}): nothing is read from it"
                problems.append(PackProblem(file=member, message=message))
                continue
            if _is_folder(info) or not info.filename.startswith(prefix):
                continue
            rel = info.filename[len(prefix) :]
            if stat.S_ISLNK(info.external_attr >> 16):
                message = "links are not allowed in packs"
                problems.append(PackProblem(file=member, message=message))
                continue
            if not _wanted(rel, member, problems):
                continue
            if info.flag_bits & 0x1:
                problems.append(PackProblem(file=member, message="encrypted files are not read"))
                continue
            declared += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > MAX_FILE_BYTES:
                problems.append(_too_big(member, info.file_size))
            elif info.file_size > 2**20 and ratio > MAX_ZIP_RATIO:
                message = f"compressed {ratio:.0f} to 1: refused as a possible zip bomb"
                problems.append(PackProblem(file=member, message=message))
            elif declared > MAX_PACK_BYTES:
                message = f"the pack inflates past {MAX_PACK_BYTES // 2**20} MiB: refused"
                problems.append(PackProblem(file=shown_root, message=message))
                break
            else:
                data, problem = _read_member(archive, info, member)
                if problem is not None:
                    problems.append(problem)
                else:
                    files.append(
                        PackFile(
                            rel=rel,
                            shown=member,
                            source=f"{path.resolve()}!/{info.filename}",
                            read=constant(data),
                        )
                    )
    return files, fold_warnings(problems, shown_root)


def _zip_root(names: list[str]) -> str:
    """'' when pack.toml is at the top; `folder/` when the zip holds one folder that has it."""
    if MANIFEST in names:
        return ""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1:
        top = next(iter(tops))
        if f"{top}/{MANIFEST}" in names:
            return f"{top}/"
    return ""


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, shown: str
) -> tuple[bytes, PackProblem | None]:
    """A member's bytes, never more than the limit whatever its header says."""
    try:
        with archive.open(info) as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except _ZIP_ERRORS as exc:
        message = f"cannot read from the zip: {type(exc).__name__}: {exc}"
        return b"", PackProblem(file=shown, message=message)
    if len(data) > MAX_FILE_BYTES:
        return b"", _too_big(shown, len(data))
    return data, None
