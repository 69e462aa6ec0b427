"""An index mirrors one folder: syncing another would silently empty it, so that takes ``retarget=True``."""

from __future__ import annotations

import pytest

from ragforge.errors import ConfigError
from ragforge.ingest import sync_folder


def test_a_second_folder_is_refused_then_retargeted_with_embeddings_from_the_cache(make_store, counting,
                                                                                   tmp_path, monkeypatch):
    first, moved = tmp_path / "notes", tmp_path / "notes-moved"
    first.mkdir()
    (first / "a.txt").write_text("otters hold hands while they sleep\n")
    (first / "b.txt").write_text("kestrels hover before they dive\n")
    store = make_store()
    sync_folder(store, first)
    monkeypatch.chdir(tmp_path)
    assert not sync_folder(store, "notes").changed_anything  # the same folder by another spelling is fine

    first.rename(moved)
    with pytest.raises(ConfigError, match="retarget") as caught:
        sync_folder(store, moved)
    assert str(first) in str(caught.value) and "2 files" in str(caught.value)
    assert {c.source for c, _ in store.lexical_search("otters kestrels", 5)} == {"a.txt", "b.txt"}  # untouched

    calls = counting.calls
    report = sync_folder(store, moved, retarget=True)
    assert report.changed_anything is False and report.unchanged == 2  # same sources, same content
    assert counting.calls == calls
    assert sync_folder(store, moved).unchanged == 2  # the new folder is now the index's own


def test_an_empty_index_takes_any_folder(make_store, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (two / "c.txt").write_text("walruses\n")
    store = make_store()
    sync_folder(store, one)  # nothing indexed from it
    assert sync_folder(store, two).added == 1
