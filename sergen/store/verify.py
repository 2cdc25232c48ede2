"""``sergen stores verify``: check a store against its own contract and name the utterances a problem
touches (missing or unreadable chunks, NaN/Inf, bad offsets, unfinished work, a changed manifest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zarr
from zarr.core.sync import sync

from sergen.store.layout import FAILED, PENDING
from sergen.store.location import is_remote


@dataclass
class VerifyReport:
    path: Path
    problems: list[str] = field(default_factory=list)
    affected: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.problems


def _owners(offsets: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Utterance indices whose frames overlap rows [start, stop)."""
    first = np.searchsorted(offsets, start, side="right") - 1
    last = np.searchsorted(offsets, stop, side="left")
    return np.arange(max(first, 0), min(last, len(offsets) - 1))


def verify_store(path: str | Path, manifest_sha256: str | None = None) -> VerifyReport:
    path = path if is_remote(path) else Path(path)
    report = VerifyReport(path)
    try:
        group = zarr.open_group(str(path), mode="r")
        attrs = dict(group.attrs["sergen"])
    except Exception as exc:
        report.problems.append(f"not a sergen store: {exc}")
        return report
    offsets = group["offsets"][:]
    ids = np.asarray(group["utt"]["utt_id"][:].tolist(), dtype=object)
    frames = group["frames"]
    status = group["status"][:]

    def flag(what: str, utts) -> None:
        names = [ids[i] for i in utts]
        report.affected.update(names)
        shown = ", ".join(names[:5]) + (f" … ({len(names)} in all)" if len(names) > 5 else "")
        report.problems.append(f"{what}: {shown}" if names else what)

    if offsets[0] != 0 or np.any(np.diff(offsets) <= 0) or offsets[-1] != frames.shape[0]:
        report.problems.append(f"offsets are inconsistent with {frames.shape[0]} stored frames")
    if len(offsets) - 1 != attrs.get("n_utts") or len(ids) != attrs.get("n_utts"):
        report.problems.append(f"{attrs.get('n_utts')} utterances recorded, {len(ids)} present")
    if not attrs.get("complete"):
        report.problems.append("store is not marked complete")
    if (status == PENDING).any():
        flag("not yet written", np.flatnonzero(status == PENDING))
    if (status == FAILED).any():
        flag("failed during extraction", np.flatnonzero(status == FAILED))
    if manifest_sha256 and attrs.get("manifest_sha256") != manifest_sha256:
        report.problems.append("manifest changed since extraction (hash differs); rerun extract with --overwrite")

    rows = frames.chunks[0]
    prefix = frames.store_path.path
    for c in range(frames.cdata_shape[0]):
        start, stop = c * rows, min((c + 1) * rows, frames.shape[0])
        key = f"{prefix}/c/{c}/0".lstrip("/")
        if not sync(frames.store_path.store.exists(key)):
            flag(f"frame chunk {c} (frames {start}–{stop}) is missing", _owners(offsets, start, stop))
            continue
        try:
            block = frames[start:stop]
        except Exception as exc:
            flag(f"frame chunk {c} is unreadable ({exc.__class__.__name__})", _owners(offsets, start, stop))
            continue
        bad_rows = np.flatnonzero(~np.isfinite(block).all(axis=1))
        if len(bad_rows):
            utts = np.unique(np.searchsorted(offsets, bad_rows + start, side="right") - 1)
            flag(f"NaN or Inf frames in chunk {c}", utts)
    return report
