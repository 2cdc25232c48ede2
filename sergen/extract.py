"""The extraction stage: manifest → decode and resample (worker threads, one per core) →
length-bucketed batches → extractor → compression and store writes (one background thread), resumable
at any point.

Utterances are processed in manifest order, in windows of consecutive utterances; inside a window
they are sorted by length and batched by total audio seconds. Each finished window is written in one
go (a contiguous frame range), so the store only ever holds whole utterances marked written. Where
each stage runs: ``sergen.extract_pool`` (decoding, views, signal-processing features) and
``sergen.store.write_behind`` (the writes, while the model computes the next window).
"""

from __future__ import annotations

import contextlib
import errno
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import zarr
from rich.progress import TextColumn

import sergen
from sergen.audio_digest import BackgroundDigests, changed_audio, describe as describe_audio, record_audio, with_frames
from sergen.audio import resampled_length
from sergen.augment import VIEWS, View, view_rng
from sergen.console import progress_bar
from sergen.corpora.manifest import audio_hash, manifest_hash, rows_since_written
from sergen.errors import SergenError
from sergen.extractors import get_extractor
from sergen.extractors import default_device
from sergen.extractors.base import Extractor
from sergen.extract_pool import embeds_in_workers, local_windows, resolve_workers, start_workers
from sergen.preflight import device_slots, preflight
from sergen.store.digests import digest_layout_problem, drop_cut_chunks, refuse_foreign_chunk_slots
from sergen.store.drift import describe_audio_drift
from sergen.store.layout import FAILED, PADDED, PENDING, WRITTEN, store_path
from sergen.store.location import check_store_slot
from sergen.store.lock import StoreLock
from sergen.config import data_dir
from sergen.store.reader import store_attrs
from sergen.store.record import column_edits, uninitialised_edit
from sergen.store.verify import STORE_READ_ERRORS, chunk_damage, drop_write_temporaries, unreadable_store
from sergen.store.write_behind import WriteBehind
from sergen.store.writer import StoreWriter, create_store
from sergen.threads import blas_threads


@dataclass
class ExtractReport:
    model: str
    corpus: str
    path: Path
    n_utts: int
    done_before: int = 0
    written: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    padded: int = 0
    audio_s: float = 0.0
    wall_s: float = 0.0
    complete: bool = False
    skipped: bool = False
    repaired: int = 0  # utterances rewritten because their chunk files were lost
    notes: list[str] = field(default_factory=list)  # what the user should know (``rows_since_written``)

    @property
    def realtime_factor(self) -> float:
        return self.audio_s / self.wall_s if self.wall_s else float("nan")



def plan_frames(manifest: pd.DataFrame, extractor: Extractor, view: View | None = None, view_seed: int = 0) -> pd.DataFrame:
    """Each utterance's length at the model's rate (after its view, if any) and its exact frame count,
    before any decoding. Its text columns are plain Python strings (object), not pandas' Arrow-backed strings:
    every utterance's row is read from them one by one (``itertuples``), three times faster so (issue 22)."""
    plan = manifest.astype({c: object for c, dtype in manifest.dtypes.items() if isinstance(dtype, pd.StringDtype)})
    plan["n_model"] = [resampled_length(int(n), int(sr), extractor.sample_rate)
                       for n, sr in zip(plan["num_samples"], plan["sample_rate"])]
    if view is not None:
        plan["n_view"] = [view.out_length(n, view.draw(view_rng(u, view.name, view_seed), n, extractor.sample_rate))
                          for u, n in zip(plan["utt_id"], plan["n_model"])]
        plan["view"] = view.name
    else:
        plan["n_view"] = plan["n_model"]
    plan["n_frames"] = [extractor.num_frames(n) for n in plan["n_view"]]
    return plan


RAMP_FIRST_UTTS = 16  # a store's first and last windows: 16, 32, 64, ... utterances up to ``window_utts``


def _windows(todo: np.ndarray, max_utts: int) -> list[tuple[int, int]]:
    """Runs of consecutive pending utterances, cut into windows of at most ``max_utts`` each; each run's first and
    last windows ramp up from and down to ``RAMP_FIRST_UTTS`` utterances. Why: the writer starts on a store's
    first window only when the model has finished it, and the model waits at its end while the last windows are
    written; with whole windows of 256 utterances (hundreds of MB of a large model's frames) those two waits
    were a store's serial share, most of it for a corpus of a few windows (EmoDB: 3). Windows only group the
    work: each utterance's frames are the same in any window (``tests/store/test_window_ramp.py``)."""
    runs, start = [], None
    for i, idx in enumerate(todo):
        if start is None:
            start = idx
        elif idx != prev + 1:
            runs.append((start, prev + 1))
            start = idx
        prev = idx
    if start is not None:
        runs.append((start, prev + 1))
    return [window for run in runs for window in _ramped(*run, max_utts)]


def _ramped(start: int, end: int, max_utts: int) -> list[tuple[int, int]]:
    """``start:end`` in windows of 16, 32, ... up to ``max_utts`` utterances, then down again at the end."""
    ramp, size = [], RAMP_FIRST_UTTS
    while size < max_utts:
        ramp.append(size)
        size *= 2
    head, tail, left = [], [], end - start
    for size in ramp:  # a window at each end while the run still holds both
        if left < 2 * size:
            break
        head.append(size)
        tail.append(size)
        left -= 2 * size
    middle = [max_utts] * (left // max_utts) + ([left % max_utts] if left % max_utts else [])
    windows, at = [], start
    for size in head + middle + tail[::-1]:
        windows.append((at, at + size))
        at += size
    return windows


def extract(model: str, corpus: str, *, stores_root=None, manifest_file=None, corpus_root=None,
            device: str | None = None, weights=None, batch_seconds: float = 60.0, window_utts: int = 256,
            workers: int | None = None, workers_mode: str = "auto", overwrite: bool = False,
            allow_failures: bool = False, show_progress: bool = True, extractor_options: dict | None = None,
            view: str | None = None, view_seed: int = 0, scheduler: str | None = None, replicas: int = 1) -> ExtractReport:
    """Extract one (model, corpus[, view]) store; see the module docstring. ``view`` names a waveform
    augmentation; its store is the sibling ``<corpus>@<view>.zarr``. ``workers`` (default: one per available
    core) and ``workers_mode`` (``auto``, ``processes``, ``threads``) size the CPU side (``sergen.extract_pool``).
    ``scheduler`` (``local[:N]`` or a Dask scheduler address) computes windows on Dask workers instead; this
    process stays the only writer either way. ``device`` may list several GPUs (``cuda:0,cuda:1``) and
    ``replicas`` sets the model copies per device (``sergen.extract_devices``)."""
    manifest, meta, root = preflight(model, corpus, stores_root=stores_root, manifest_file=manifest_file, corpus_root=corpus_root,
                                     device=device, weights=weights, batch_seconds=batch_seconds,
                                     window_utts=window_utts, workers=workers, workers_mode=workers_mode,
                                     extractor_options=extractor_options, view=view, scheduler=scheduler,
                                     replicas=replicas)
    workers, workers_mode = resolve_workers(workers, workers_mode)
    corpus = meta.get("corpus", corpus)
    notes = [n for n in [rows_since_written(manifest, meta, corpus)] if n]
    slots = [d or default_device(model) for d in device_slots(device, replicas)]
    device = slots[0] if device is not None else None  # the Dask path and worker processes take one device
    extractor = get_extractor(model, device=slots[0], weights=weights, **(extractor_options or {})).load()
    augment = VIEWS.get(view)() if view else None
    if not scheduler:
        start_workers(extractor, workers, workers_mode)
    store_name = f"{corpus}@{augment.name}" if augment else corpus
    path = store_path(extractor.name, store_name, stores_root or data_dir("stores"))
    plan = plan_frames(manifest, extractor, augment, view_seed)
    settings = dict(extractor.store_settings(), **({"view": augment.name, "view_seed": view_seed} if augment else {}))
    m_hash, a_hash = manifest_hash(manifest), audio_hash(manifest)
    started = time.perf_counter()
    check_store_slot(path)

    def start_windows(todo: np.ndarray, rows: list):
        """The windows of utterances ``todo``: computed here as they are asked for (``local_windows``), or on Dask.
        ``rows``: the plan's rows, made once."""
        size = window_utts
        if workers > 1 and embeds_in_workers(extractor):
            # features computed in the workers: windows small enough to keep every worker busy on a small corpus
            size = max(1, min(window_utts, math.ceil(len(todo) / (4 * workers))))
        windows = _windows(todo, size)
        if scheduler:
            from sergen.scale import dask_windows

            return dask_windows(scheduler, windows, plan, root, model, device, weights, extractor_options,
                                augment, view_seed, batch_seconds)
        spec = (model, device or default_device(model), weights, tuple(sorted((extractor_options or {}).items())))
        copies = [extractor] + [get_extractor(model, device=d, weights=weights, **(extractor_options or {})).load()
                                for d in slots[1:]]
        return local_windows(windows, plan, root, extractor, augment, view_seed, batch_seconds, workers,
                             workers_mode, spec, copies, rows)

    with StoreLock(path), contextlib.ExitStack() as running:
        # decoding and embedding run inside (see sergen.threads); entered before any window starts, so that the
        # thread counts are restored in the order they were set
        running.enter_context(blas_threads(extractor))
        attrs = store_attrs(path)
        digests = None
        edited = None if overwrite else uninitialised_edit(attrs)
        if edited:  # its record says sergen made it whole: named as edited, as any recorded attribute is
            raise SergenError(f"this store is damaged: {edited}", where=str(path),
                              fix="rerun with --overwrite to rebuild it")
        if attrs.get("initialised") and not overwrite:
            try:
                group = zarr.open_group(str(path), mode="r+")
                if (attrs.get("audio_sha256") != a_hash if "audio_sha256" in attrs  # older stores: the whole manifest
                        else attrs.get("manifest_sha256") != m_hash):
                    raise SergenError(
                        f"the {corpus} manifest changed since this store was made: "
                        f"{describe_audio_drift(group, manifest)}",
                        where=str(path), fix="rerun with --overwrite to rebuild the store from the current manifest",
                    )
                if attrs.get("settings") != settings or attrs.get("weights") != extractor.weights_info():
                    raise SergenError("this store was made with other extractor settings or weights",
                                      where=str(path), fix="rerun with --overwrite to rebuild it")
                damaged = digest_layout_problem(group, attrs) or next(iter(column_edits(group)), None)
                if damaged:  # its digests, record or columns: what guards its frames can no longer be trusted
                    raise SergenError(f"this store is damaged: {damaged}", where=str(path),
                                      fix="rerun with --overwrite to rebuild it")
                drop_write_temporaries(group)  # a kill -9 inside one of Zarr's atomic writes leaves its temporary
                refuse_foreign_chunk_slots(group, str(path))  # a folder where a chunk belongs: never written over
                damage = chunk_damage(group)
                if damage.structural:
                    raise SergenError("this store lost chunks it cannot be repaired without: "
                                      f"{', '.join(damage.structural)}", where=str(path),
                                      fix="rerun with --overwrite to rebuild it")
                edited = offsets_problem(group, plan)
                if edited:  # windows written at other offsets would land in other utterances' rows
                    raise SergenError(f"this store is damaged: {edited}", where=str(path),
                                      fix="rerun with --overwrite to rebuild it")
                # only utterances with frames: a file that failed and was fixed since is what a rerun redoes
                changed = changed_audio(group, root, with_frames(group))
                if changed:  # even at the same length: the store's frames stand for audio that is gone
                    raise SergenError(f"{describe_audio(changed)}; this store was made from the old audio",
                                      where=str(path), fix="rerun with --overwrite to rebuild it from the current files")
                if len(damage.utts):  # lost or cut chunk files: rewrite the utterances they held, not "complete"
                    drop_cut_chunks(group, damage.cut)
                    StoreWriter(group).mark_pending(damage.utts)
                elif attrs.get("complete"):
                    return ExtractReport(extractor.name, store_name, path, len(plan), len(plan), complete=True,
                                         skipped=True, failures=dict(attrs.get("failures", {})), notes=notes)
            except SergenError:
                raise
            except STORE_READ_ERRORS as exc:  # a metadata or small-array file corrupted or cut short
                raise unreadable_store(path, exc) from None
        else:  # a new store: every file is digested while its layout is written (see record_audio below)
            digests = BackgroundDigests(root, plan["path"].tolist(), np.arange(len(plan)), workers)
            group = create_store(path, plan, {
                "model": extractor.name, "corpus": corpus, "weights": extractor.weights_info(),
                "sample_rate": extractor.sample_rate, "frame_rate": extractor.frame_rate,
                "manifest_sha256": m_hash, "audio_sha256": a_hash, "sergen_version": sergen.__version__,
                "settings": settings, "view": augment.name if augment else "clean",
                "synthetic": bool(meta.get("synthetic", False)), "source": extractor.source,
                "audio_root": str(Path(root).resolve()),
            }, extractor.dim)
        writer = StoreWriter(group)
        status = writer.status
        todo = np.flatnonzero((status != WRITTEN) & (status != PADDED))
        report = ExtractReport(extractor.name, store_name, path, len(plan), done_before=len(plan) - len(todo),
                               notes=notes)
        if not overwrite and attrs.get("initialised"):
            report.repaired = len(damage.utts)
        failures = dict(writer.attrs.get("failures", {}))
        rows = list(plan.itertuples(index=False))
        record_audio(group, root, plan["path"].tolist(), todo, workers, digests)  # what the frames stand for
        # windows not started before the store's layout and digests: measured, that overlap (workers beside
        # create_store and the digest threads) cost wall time on 2 cores (bench/extract_profile.md)
        results = start_windows(todo, rows)

        bar = progress_bar(TextColumn("{task.fields[rate]}"), enabled=show_progress)
        with bar:
            task = bar.add_task(f"{extractor.name} {corpus}", total=len(plan), completed=report.done_before, rate="")
            t0 = time.perf_counter()
            try:
                with contextlib.closing(results), WriteBehind(writer, prepare_threads=workers) as behind:
                    for first, last, frames, codes, errors in results:
                        for row in rows[first:last]:
                            if row.utt_id in errors:
                                failures[row.utt_id] = errors[row.utt_id]
                            else:
                                failures.pop(row.utt_id, None)
                        behind.put(first, frames, codes, failures)
                        report.written += sum(c != FAILED for c in codes)
                        report.padded += sum(c == PADDED for c in codes)
                        # the audio embedded: a failed utterance's seconds are not in the rate printed
                        report.audio_s += sum(r.n_view for r, c in zip(rows[first:last], codes)
                                              if c != FAILED) / extractor.sample_rate
                        elapsed = time.perf_counter() - t0
                        bar.update(task, advance=last - first, rate=f"{report.written / elapsed:.1f} utt/s "
                                   f"{report.audio_s / elapsed:.1f} audio-s/s")
            except OSError as exc:
                kept = int(np.isin(writer.status, (WRITTEN, PADDED)).sum())
                raise _disk_error(exc, path, plan, extractor, kept) from exc
        report.failures = failures
        report.wall_s = time.perf_counter() - started
        pending = int((writer.status == PENDING).sum())
        if pending:  # never mark complete what is not all written, whatever went wrong upstream
            raise SergenError(f"{pending} utterance(s) of {store_name} were not written", where=str(path),
                              fix="rerun the same command to finish them")
        if not failures or allow_failures:
            writer.mark_complete()
            report.complete = True
    return report


def offsets_problem(group, plan: pd.DataFrame) -> str | None:
    """Why the store's ``offsets`` are not those its manifest gives (an edited or damaged array), or None: a
    window written at wrong offsets would land in other utterances' rows."""
    want = np.concatenate([[0], np.cumsum(plan["n_frames"].to_numpy(np.int64))])
    got = group["offsets"][:]
    if got.shape != want.shape or not np.array_equal(got, want):
        bad = int(np.flatnonzero(got != want)[0]) if got.shape == want.shape else None
        where = f" (first at utterance edge {bad}: {int(got[bad])}, the manifest gives {int(want[bad])})" \
            if bad is not None else f" ({got.shape[0]} edges, the manifest gives {want.shape[0]})"
        return f"its offsets array is not the one its manifest gives{where}"
    return None


def _disk_error(exc: OSError, path: Path, plan: pd.DataFrame, extractor: Extractor, kept: int) -> Exception:
    """A full disk (or any write failure) as a message that says what survives and how to go on."""
    if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
        return exc
    need = int(plan["n_frames"].sum()) * extractor.dim * 2
    size = f"{need / 2**30:.1f} GiB" if need >= 2**30 else f"{need / 2**20:.1f} MiB"
    return SergenError(
        f"disk full while writing the {extractor.name} store ({exc.strerror})", where=str(path),
        fix=f"nothing written was lost: the {kept} utterances already written are kept; free space (the whole "
            f"store needs about {size} before compression) and rerun the same command: only the rest is extracted")


