"""Value objects of the store: search filters, sync reports, index descriptions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ragforge.errors import ConfigError
from ragforge.readers import Skipped


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
            except Exception as exc:  # noqa: BLE001 - pydantic's error says which key is wrong
                raise ConfigError(f"bad search filter {where!r}: {exc}") from exc
        if not isinstance(where, Where):
            raise ConfigError(f"a search filter is a Where or a dict, not {type(where).__name__}")
        return where if (where.path or where.file_type) else None


class SyncReport(BaseModel):
    """What one sync did. Counts are of files unless named ``chunks_*``."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    renamed: int = 0
    skipped: list[Skipped] = Field(default_factory=list)
    kept_on_error: list[str] = Field(default_factory=list)  # indexed before, unreadable now: old chunks kept
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_embedded: int = 0
    chunks_from_cache: int = 0
    seconds: float = 0.0

    @property
    def chunks_per_second(self) -> float:
        return self.chunks_added / self.seconds if self.seconds > 0 else 0.0

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.renamed)

    def summary(self) -> str:
        lines = [
            f"added {self.added}, changed {self.changed}, removed {self.removed}, renamed {self.renamed}, "
            f"unchanged {self.unchanged}, skipped {len(self.skipped)}; chunks +{self.chunks_added} "
            f"-{self.chunks_removed} ({self.chunks_embedded} embedded, {self.chunks_from_cache} from cache) "
            f"in {self.seconds:.2f} s ({self.chunks_per_second:.1f} chunks/s)"
        ]
        for item in self.skipped[:20]:
            detail = f" ({item.detail})" if item.detail else ""
            lines.append(f"  skipped {item.source}: {item.reason}{detail}")
        if len(self.skipped) > 20:
            lines.append(f"  ... and {len(self.skipped) - 20} more skipped")
        for source in self.kept_on_error[:20]:
            lines.append(f"  kept the previously indexed version of {source} (it could not be read now)")
        return "\n".join(lines)


class IndexInfo(BaseModel):
    """A description of an index on disk."""

    path: str
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
