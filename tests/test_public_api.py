"""The public surface is explicit: a sorted, pinned __all__ whose every name resolves."""

from __future__ import annotations

import ragforge

PINNED = [
    "Answer", "Chunk", "ChunkingConfig", "Citation", "Document", "Hit", "Index", "IndexConfig",
    "QueryConfig", "QueryEngine", "RagforgeError", "SearchOptions", "Section", "SyncReport", "WalkConfig",
    "Where", "__version__", "make_embedder", "open_index",
]


def test_all_is_sorted_and_pinned() -> None:
    assert ragforge.__all__ == sorted(ragforge.__all__)
    assert ragforge.__all__ == PINNED


def test_every_public_name_resolves() -> None:
    for name in ragforge.__all__:
        assert getattr(ragforge, name) is not None, name


def test_unknown_name_raises_attribute_error() -> None:
    try:
        ragforge.no_such_thing  # noqa: B018 - the attribute access is the test
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_errors_share_one_root() -> None:
    import inspect

    from ragforge import errors

    classes = [obj for _, obj in inspect.getmembers(errors, inspect.isclass) if obj.__module__ == errors.__name__]
    assert len(classes) > 20
    for cls in classes:
        assert issubclass(cls, ragforge.RagforgeError), cls
        assert cls.__name__ in errors.__doc__, f"{cls.__name__} missing from the tree in errors.py's docstring"
