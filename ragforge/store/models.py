"""Value objects of the store: search filters, index descriptions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ragforge.errors import ConfigError


class Where(BaseModel):
    """A search filter: ``path`` is a glob on the chunk's source (walk's glob rules), ``file_type`` exact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str | None = None
    file_type: str | None = None

    @classmethod
    def coerce(cls, where: Where | dict[str, Any] | None) -> Where | None:
        """``None``, a :class:`Where`, or a dict with the same keys; an empty filter becomes ``None``."""
        if where is None:
            return None
        if isinstance(where, dict):
            try:
                where = cls(**where)
            except Exception as exc:  # pydantic's error says which key is wrong
                raise ConfigError(f"bad search filter {where!r}: {exc}") from exc
        if not isinstance(where, Where):
            raise ConfigError(f"a search filter is a Where or a dict, not {type(where).__name__}")
        return where if (where.path or where.file_type) else None


class IndexInfo(BaseModel):
    """A description of an index on disk."""

    path: str
    root: str | None = None  # the folder it mirrors (absolute), if it was synced from one
    model: str  # the spec it was built with (what make_embedder takes)
    model_id: str
    dimension: int
    metric: str
    files: int
    chunks: int
    size_bytes: int
    format_version: int
    created_at: str
    ragforge_version: str
    chunking: dict[str, Any] = Field(default_factory=dict)
    embedder: dict[str, Any] = Field(default_factory=dict)  # how it embedded when built: precision, CPU flags
    vectors: dict[str, Any] = Field(default_factory=dict)  # the settings, and what the index holds now
