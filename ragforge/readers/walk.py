"""Walking a folder: which files are indexed, which are skipped and why.

Glob rules (include/exclude, matched against the POSIX path relative to the folder):
  ``*`` and ``?`` do not cross ``/``; ``**`` crosses any number of folders (``docs/**``, ``**/draft*.md``);
  ``[abc]`` is a character class. A pattern without a ``/`` is matched against each path component, so
  ``*.md`` matches Markdown anywhere and ``drafts`` matches everything under any folder named drafts.
  A pattern with a ``/`` is matched against the whole path and against each ancestor folder, so ``docs/api``
  matches everything under it. Matching is case-sensitive. Exclude wins over include.
Hidden files and folders (dot-prefixed) are skipped unless ``include_hidden``. Folders that hold an index
(``manifest.json`` beside ``ragforge.sqlite``) are never walked (reported as ``index``). Only regular files
are read: a FIFO, socket or device is reported as ``not_regular`` (reading a FIFO would block forever).
Symlinks are followed while their target stays inside the folder; one that leaves it is reported as
``outside_link`` unless ``follow_links_outside``. Symlinked folders are walked after the real tree, once per
real folder, so a loop or a second link to a folder already walked is reported as ``symlink_loop`` and never
repeats files. A name that is not valid UTF-8 gets a lossless escaped source (``caf\\xe9.txt`` for the byte
0xE9); two names with the same source are reported as ``duplicate_name``. Files with unsupported suffixes are
ignored quietly unless an include glob names them, in which case they are reported as ``unsupported``.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ragforge.config import WalkConfig
from ragforge.errors import ReaderError
from ragforge.readers._io import file_kind
from ragforge.readers.registry import supported_suffixes

INDEX_MARKERS = ("manifest.json", "ragforge.sqlite")


class FileEntry(BaseModel):
    """A file the walk selected for reading."""

    model_config = ConfigDict(frozen=True)

    path: Path
    source: str  # POSIX path relative to the walked folder
    size: int
    mtime_ns: int


class Skipped(BaseModel):
    """A file (or folder) that was not indexed, and why."""

    model_config = ConfigDict(frozen=True)

    source: str
    # too_large unsupported binary empty corrupt encrypted undecodable unreadable vanished symlink_loop
    # not_regular outside_link index duplicate_name
    reason: str
    detail: str = ""


class WalkResult(BaseModel):
    files: list[FileEntry]
    skipped: list[Skipped]


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and "]" in pattern[i + 2:]:
            j = pattern.index("]", i + 2)
            body = pattern[i + 1:j].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def glob_match(pattern: str, source: str) -> bool:
    """Whether a POSIX relative path matches one include/exclude glob (rules in the module docstring)."""
    pattern = pattern.strip()
    while pattern.startswith("./"):
        pattern = pattern[2:]
    pattern = pattern.strip("/")
    if not pattern:
        return False
    regex = _compile(pattern)
    parts = source.split("/")
    if "/" not in pattern:
        return any(regex.match(part) for part in parts)
    return any(regex.match("/".join(parts[:k])) for k in range(1, len(parts) + 1))


def _matches_any(patterns: tuple[str, ...], source: str) -> bool:
    return any(glob_match(p, source) for p in patterns)


class _Walker:
    def __init__(self, root: Path, config: WalkConfig) -> None:
        self.root = root
        self.real_root = root.resolve()
        self.config = config
        self.suffixes = supported_suffixes()  # asked per walk: readers registered later are seen
        self.files: list[FileEntry] = []
        self.skipped: list[Skipped] = []
        self.visited: set[tuple[int, int]] = set()
        self.linked_dirs: list[tuple[str, Path]] = []
        self.sources: set[str] = set()

    def run(self) -> WalkResult:
        self._walk_tree(self.root, "")
        while self.linked_dirs:
            self.linked_dirs.sort(reverse=True)
            rel, path = self.linked_dirs.pop()
            self._walk_tree(path, rel)
        self.files.sort(key=lambda f: f.source)
        self.skipped.sort(key=lambda s: (s.source, s.reason))
        return WalkResult(files=self.files, skipped=self.skipped)

    def _walk_tree(self, top: Path, top_rel: str) -> None:
        stack = [(top, top_rel)]
        while stack:
            folder, rel = stack.pop()
            if not self._enter(folder, rel):
                continue
            subdirs = self._scan(folder, rel)
            stack.extend(reversed(subdirs))

    def _enter(self, folder: Path, rel: str) -> bool:
        try:
            st = folder.stat()
        except OSError as exc:
            self.skipped.append(Skipped(source=rel or ".", reason="unreadable", detail=str(exc)))
            return False
        key = (st.st_dev, st.st_ino)
        if key in self.visited:
            self.skipped.append(Skipped(source=rel, reason="symlink_loop",
                                        detail="folder already walked through another path"))
            return False
        self.visited.add(key)
        if all((folder / name).is_file() for name in INDEX_MARKERS):
            self.skipped.append(Skipped(source=rel or ".", reason="index",
                                        detail="holds a ragforge index; index folders are never indexed"))
            return False
        return True

    def _scan(self, folder: Path, rel: str) -> list[tuple[Path, str]]:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self.skipped.append(Skipped(source=rel or ".", reason="unreadable", detail=str(exc)))
            return []
        subdirs: list[tuple[Path, str]] = []
        for entry in entries:
            if entry.name.startswith(".") and not self.config.include_hidden:
                continue
            name = display_name(entry.name)
            source = f"{rel}/{name}" if rel else name
            if _matches_any(self.config.exclude, source):
                continue
            is_link = entry.is_symlink()
            if is_link and not self._follow(entry, source):
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if is_dir and is_link:
                self.linked_dirs.append((source, Path(entry.path)))
            elif is_dir:
                subdirs.append((Path(entry.path), source))
            else:
                self._add_file(Path(entry.path), source)
        return subdirs

    def _follow(self, entry: os.DirEntry, source: str) -> bool:
        if not self.config.follow_symlinks:
            return False
        if self.config.follow_links_outside:
            return True
        try:
            target = Path(entry.path).resolve()
        except (OSError, RuntimeError):
            return True  # a loop or a dangling link: reported when it is stat'ed
        if target == self.real_root or self.real_root in target.parents:
            return True
        self.skipped.append(Skipped(source=source, reason="outside_link",
                                    detail=f"symlink to {target}, outside the folder (--follow-links follows it)"))
        return False

    def _add_file(self, path: Path, source: str) -> None:
        config = self.config
        if config.include and not _matches_any(config.include, source):
            return
        if path.suffix.lower() not in self.suffixes:
            if config.include:
                detail = f"no reader for {path.suffix or 'files without a suffix'!r}"
                self.skipped.append(Skipped(source=source, reason="unsupported", detail=detail))
            return
        try:
            st = path.stat()
        except FileNotFoundError:
            reason = "unreadable" if os.path.lexists(path) else "vanished"
            self.skipped.append(Skipped(source=source, reason=reason, detail="broken symlink"
                                        if reason == "unreadable" else "file vanished during the walk"))
            return
        except OSError as exc:
            reason = "symlink_loop" if exc.errno == errno.ELOOP else "unreadable"
            self.skipped.append(Skipped(source=source, reason=reason, detail=str(exc)))
            return
        if not stat.S_ISREG(st.st_mode):
            self.skipped.append(Skipped(source=source, reason="not_regular",
                                        detail=f"{file_kind(st.st_mode)}, not a regular file"))
            return
        if source in self.sources:
            self.skipped.append(Skipped(source=source, reason="duplicate_name",
                                        detail="another file has the same (escaped) name"))
            return
        self.sources.add(source)
        if st.st_size > config.max_file_bytes:
            detail = f"{st.st_size} bytes > max_file_bytes={config.max_file_bytes}"
            self.skipped.append(Skipped(source=source, reason="too_large", detail=detail))
            return
        self.files.append(FileEntry(path=path, source=source, size=st.st_size, mtime_ns=st.st_mtime_ns))


def display_name(name: str) -> str:
    """The name itself when it is valid UTF-8; else its bytes with the invalid ones escaped as ``\\xNN``."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")
    return name


def walk(folder: Path | str, config: WalkConfig | None = None) -> WalkResult:
    """The files under ``folder`` to index (sorted by source) and the ones skipped, with reasons."""
    root = Path(folder)
    if not root.is_dir():
        reason = "unreadable" if root.exists() else "vanished"
        raise ReaderError(f"{root}: not a folder" if root.exists() else f"{root}: folder does not exist",
                          path=str(root), reason=reason)
    return _Walker(root, config or WalkConfig()).run()
