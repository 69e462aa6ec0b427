"""What one sync did: counts, skipped files with reasons, and a readable summary."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ragforge.readers import Skipped


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
