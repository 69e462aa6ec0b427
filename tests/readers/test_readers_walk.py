"""walk(): globs, hidden files, symlinks and loops, size limits, index folders, determinism."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ragforge.config import WalkConfig
from ragforge.readers import glob_match, walk


def make_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


TREE = {
    "README.md": "# Readme\n",
    "notes.txt": "notes",
    "data.dat": "a,b",
    "image.png": b"\x89PNG",
    "docs/guide.md": "# Guide\n",
    "docs/api/ref.html": "<p>ref</p>",
    "docs/drafts/wip.md": "# WIP\n",
    "papers/one.pdf": b"%PDF-1.4",
    ".hidden.md": "# secret\n",
    ".git/config.txt": "git",
    "docs/.cache/cached.md": "# cached\n",
}


def sources(result) -> list[str]:
    return [f.source for f in result.files]


def test_default_walk_is_sorted_and_quiet_about_unsupported(tmp_path):
    make_tree(tmp_path, TREE)
    result = walk(tmp_path, WalkConfig())
    assert sources(result) == ["README.md", "docs/api/ref.html", "docs/drafts/wip.md", "docs/guide.md",
                               "notes.txt", "papers/one.pdf"]
    assert result.skipped == []  # data.dat and image.png are ignored quietly
    entry = result.files[0]
    assert entry.path == tmp_path / "README.md" and entry.size == len("# Readme\n") and entry.mtime_ns > 0


def test_hidden_files_can_be_included(tmp_path):
    make_tree(tmp_path, TREE)
    got = sources(walk(tmp_path, WalkConfig(include_hidden=True)))
    assert {".hidden.md", ".git/config.txt", "docs/.cache/cached.md"} <= set(got)


def test_include_and_exclude(tmp_path):
    make_tree(tmp_path, TREE)
    assert sources(walk(tmp_path, WalkConfig(include=("*.md",)))) == [
        "README.md", "docs/drafts/wip.md", "docs/guide.md"]
    assert sources(walk(tmp_path, WalkConfig(include=("docs/**",), exclude=("drafts",)))) == [
        "docs/api/ref.html", "docs/guide.md"]
    assert sources(walk(tmp_path, WalkConfig(exclude=("docs/*", "*.pdf")))) == ["README.md", "notes.txt"]


def test_explicitly_included_unsupported_files_are_reported(tmp_path):
    make_tree(tmp_path, TREE)
    result = walk(tmp_path, WalkConfig(include=("*.dat", "*.md")))
    assert sources(result) == ["README.md", "docs/drafts/wip.md", "docs/guide.md"]
    assert [(s.source, s.reason) for s in result.skipped] == [("data.dat", "unsupported")]


def test_too_large(tmp_path):
    make_tree(tmp_path, {"small.txt": "x" * 10, "big.txt": "x" * 1000})
    result = walk(tmp_path, WalkConfig(max_file_bytes=100))
    assert sources(result) == ["small.txt"]
    assert [(s.source, s.reason) for s in result.skipped] == [("big.txt", "too_large")]


def test_index_folders_are_never_walked(tmp_path):
    make_tree(tmp_path, {"doc.md": "# Doc\n", "idx/manifest.json": "{}", "idx/ragforge.sqlite": b"",
                         "idx/notes.txt": "inside the index", "other/manifest.json": "{}",
                         "other/page.txt": "a folder with only a manifest is walked"})
    assert sources(walk(tmp_path, WalkConfig(include=("*.md", "*.txt")))) == ["doc.md", "other/page.txt"]


def test_symlink_loop_terminates_and_lists_each_file_once(tmp_path):
    make_tree(tmp_path, {"a/one.md": "# One\n", "a/b/two.md": "# Two\n"})
    (tmp_path / "a" / "b" / "up").symlink_to(tmp_path / "a", target_is_directory=True)
    (tmp_path / "a" / "self").symlink_to(".", target_is_directory=True)
    result = walk(tmp_path, WalkConfig())
    assert sources(result) == ["a/b/two.md", "a/one.md"]
    assert sorted((s.source, s.reason) for s in result.skipped) == [
        ("a/b/up", "symlink_loop"), ("a/self", "symlink_loop")]


def test_symlinks_leaving_the_folder_are_followed_only_when_asked(tmp_path):
    outside = tmp_path / "outside"
    make_tree(outside, {"far.md": "# Far\n"})
    root = tmp_path / "root"
    make_tree(root, {"near.md": "# Near\n", "sub/inner.md": "# Inner\n"})
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "alias.md").symlink_to(outside / "far.md")
    (root / "etc.txt").symlink_to("/etc/hostname")
    (root / "inside.md").symlink_to(root / "sub" / "inner.md")  # stays inside: followed
    result = walk(root, WalkConfig())
    assert sources(result) == ["inside.md", "near.md", "sub/inner.md"]
    assert {(s.source, s.reason) for s in result.skipped} == {
        ("alias.md", "outside_link"), ("etc.txt", "outside_link"), ("linked", "outside_link")}
    assert "--follow-links" in result.skipped[0].detail
    followed = walk(root, WalkConfig(follow_links_outside=True))
    assert sources(followed) == ["alias.md", "etc.txt", "inside.md", "linked/far.md", "near.md", "sub/inner.md"]
    assert sources(walk(root, WalkConfig(follow_symlinks=False))) == ["near.md", "sub/inner.md"]


def test_only_regular_files_are_listed(tmp_path):
    make_tree(tmp_path, {"a.txt": "text\n"})
    os.mkfifo(tmp_path / "x.txt")
    result = walk(tmp_path, WalkConfig())
    assert sources(result) == ["a.txt"]
    assert [(s.source, s.reason, s.detail) for s in result.skipped] == [
        ("x.txt", "not_regular", "a FIFO (named pipe), not a regular file")]


def test_a_name_that_is_not_utf8_gets_a_lossless_escaped_source(tmp_path):
    raw = os.fsencode(str(tmp_path)) + b"/caf\xe9.txt"
    with open(raw, "wb") as handle:
        handle.write(b"cafe au lait\n")
    (tmp_path / "caf\\xe9.txt").write_text("a real backslash in the name\n")  # escapes to the same source
    result = walk(tmp_path, WalkConfig())
    assert sources(result) == ["caf\\xe9.txt"]
    assert [s.reason for s in result.skipped] == ["duplicate_name"]
    entry = result.files[0]
    assert os.fsencode(entry.source.encode().decode("unicode_escape").encode("latin-1")) == b"caf\xe9.txt"


def test_a_folder_holding_an_index_is_reported_not_walked(tmp_path):
    make_tree(tmp_path, {"a.txt": "text\n", "idx/manifest.json": "{}", "idx/ragforge.sqlite": "",
                         "idx/notes.txt": "inside the index\n"})
    result = walk(tmp_path, WalkConfig())
    assert sources(result) == ["a.txt"]
    assert [(s.source, s.reason) for s in result.skipped] == [("idx", "index")]


def test_real_path_wins_over_an_earlier_sorted_link(tmp_path):
    make_tree(tmp_path, {"z_real/file.md": "# F\n"})
    (tmp_path / "a_link").symlink_to(tmp_path / "z_real", target_is_directory=True)
    result = walk(tmp_path, WalkConfig())
    assert sources(result) == ["z_real/file.md"]
    assert [(s.source, s.reason) for s in result.skipped] == [("a_link", "symlink_loop")]


def test_dangling_file_symlink_is_reported(tmp_path):
    make_tree(tmp_path, {"ok.md": "# ok\n"})
    (tmp_path / "broken.md").symlink_to(tmp_path / "nowhere.md")
    result = walk(tmp_path, WalkConfig())
    assert sources(result) == ["ok.md"]
    assert [(s.source, s.reason) for s in result.skipped] == [("broken.md", "unreadable")]


def test_walk_is_deterministic(tmp_path):
    make_tree(tmp_path, {f"d{i % 3}/f{i}.txt": str(i) for i in range(30)})
    assert walk(tmp_path, WalkConfig()) == walk(tmp_path, WalkConfig())


@pytest.mark.parametrize("pattern,path,expected", [
    ("*.md", "a.md", True),
    ("*.md", "deep/er/a.md", True),          # no slash: matched against every component
    ("docs/*.md", "docs/a.md", True),
    ("docs/*.md", "docs/sub/a.md", False),   # * does not cross /
    ("docs/**", "docs/sub/a.md", True),
    ("docs/**/*.md", "docs/a.md", True),     # **/ matches zero folders too
    ("docs/**/*.md", "docs/x/y/a.md", True),
    ("**/drafts/*", "a/b/drafts/x.txt", True),
    ("drafts", "a/drafts/x.txt", True),      # a folder name excludes its whole subtree
    ("docs/api", "docs/api/ref.html", True),
    ("docs/api", "docs/apis/ref.html", False),
    ("?.txt", "a.txt", True),
    ("?.txt", "ab.txt", False),
    ("[ab].txt", "b.txt", True),
    ("[!ab].txt", "b.txt", False),
    ("./docs/*.md", "docs/a.md", True),
    ("*.MD", "a.md", False),                 # case-sensitive
    ("", "a.md", False),
])
def test_glob_match(pattern, path, expected):
    assert glob_match(pattern, path) is expected


@pytest.mark.skipif(os.geteuid() == 0, reason="root can list any folder")
def test_unreadable_folder_is_reported(tmp_path):
    make_tree(tmp_path, {"ok.md": "# ok\n", "locked/secret.md": "# s\n"})
    (tmp_path / "locked").chmod(0)
    try:
        result = walk(tmp_path, WalkConfig())
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert sources(result) == ["ok.md"]
    assert [(s.source, s.reason) for s in result.skipped] == [("locked", "unreadable")]


def test_self_referencing_file_symlink(tmp_path):
    make_tree(tmp_path, {"ok.md": "# ok\n"})
    (tmp_path / "loop.md").symlink_to(tmp_path / "loop.md")
    result = walk(tmp_path, WalkConfig())
    assert sources(result) == ["ok.md"]
    assert [(s.source, s.reason) for s in result.skipped] == [("loop.md", "symlink_loop")]
