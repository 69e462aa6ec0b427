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
    dropped: list[str] = Field(default_factory=list)  # indexed before, skipped now: their chunks were removed
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

    def summary(self, *, show_skipped: bool = False, limit: int = 20) -> str:
        """Counts on one line, then the skipped files with reasons (the first ``limit``, or all)."""
        lines = [
            f"added {self.added}, changed {self.changed}, removed {self.removed}, renamed {self.renamed}, "
            f"unchanged {self.unchanged}, skipped {len(self.skipped)}; chunks +{self.chunks_added} "
            f"-{self.chunks_removed} ({self.chunks_embedded} embedded, {self.chunks_from_cache} from cache) "
            f"in {self.seconds:.2f} s ({self.chunks_per_second:.1f} chunks/s)"
        ]
        dropped = set(self.dropped)
        shown = self.skipped if show_skipped else self.skipped[:limit]
        for item in shown:
            detail = f" ({item.detail})" if item.detail else ""
            note = "; its previous chunks were removed" if item.source in dropped else ""
            lines.append(f"  skipped {item.source}: {item.reason}{detail}{note}")
        if len(shown) < len(self.skipped):
            lines.append(f"  ... and {len(self.skipped) - len(shown)} more skipped (--show-skipped lists "
                         f"them all, --json too)")
        return "\n".join(lines)
