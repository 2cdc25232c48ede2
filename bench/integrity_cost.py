"""What the content checks cost (issue 21), each against the same work without them, in one process.

    .venv/bin/python bench/integrity_cost.py CORPUS_ROOT [--frames 100000] [--repeats 3]

1. extraction (melspec, the cheapest model, so the worst ratio): audio digests + frame digests + crc32c
   codecs against none of them;
2. a cold bank build (what a cold grid adds): frame digests and the NaN check while streaming a 1024-d store;
3. a warm map: the bank file's stat check (every process) and, when the stat changed, its full CRC-32C;
   the per-open audio stat check of a store's files.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def without_checks() -> ExitStack:
    import sergen.store.writer as writer
    from sergen import extract as ex

    stack = ExitStack()
    stack.enter_context(mock.patch.object(ex, "record_audio", lambda *a, **k: None))
    stack.enter_context(mock.patch.object(ex, "changed_audio", lambda *a, **k: []))
    # frame digests neither computed nor written (an absent digest array is what an older store has)
    stack.enter_context(mock.patch.object(writer, "utterance_crcs", lambda rows, bounds: bounds[:-1] * 0))
    stack.enter_context(mock.patch.object(writer, "DIGEST_ARRAY", "no-frame-digests"))
    stack.enter_context(mock.patch.object(writer, "checked_codecs", lambda codec: (codec,)))
    return stack


def extraction(root: Path, repeats: int) -> None:
    from sergen.corpora import read_corpus, write_manifest
    from sergen.extract import extract

    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "emodb.csv"
        write_manifest(read_corpus("emodb", root), manifest)
        extract("melspec", "emodb", stores_root=Path(tmp) / "warm", manifest_file=manifest, show_progress=False)
        times = {"with": [], "without": []}
        for i in range(repeats):
            for kind in (("with", "without") if i % 2 == 0 else ("without", "with")):  # order alternates
                run = lambda: extract("melspec", "emodb", stores_root=Path(tmp) / f"{kind}{i}", manifest_file=manifest,
                                      show_progress=False)
                if kind == "without":
                    with without_checks():
                        times[kind].append(timed(run))
                else:
                    times[kind].append(timed(run))
        w, wo = statistics.median(times["with"]), statistics.median(times["without"])
        print(f"extraction melspec/emodb: with checks {w:.2f} s, without {wo:.2f} s (medians of {repeats}): "
              f"{100 * (w / wo - 1):+.1f} %")
        share(lambda: extract("melspec", "emodb", stores_root=Path(tmp) / "profiled", manifest_file=manifest,
                              show_progress=False), "extract",
              ("record_audio", "utterance_crcs", "put_at", "audio_array_specs", "digest_array_specs",
               "changed_audio"))


def share(run, total: str, checks: tuple[str, ...]) -> None:
    """The checks' share of one run's time, from a profile (a ratio that a loaded machine disturbs less than
    two wall-clock runs do)."""
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.enable()
    run()
    profile.disable()
    stats = pstats.Stats(profile).stats
    def matches(key, name: str) -> bool:  # "file.py:function" or "function"
        where, _, func = name.rpartition(":")
        return key[2] == func and key[0].endswith(where)

    spent = {name: sum(v[3] for k, v in stats.items() if matches(k, name)) for name in (total, *checks)}
    inside = sum(spent[c] for c in checks)
    print(f"  profiled: checks {inside:.3f} s of {total} {spent[total]:.2f} s = {100 * inside / spent[total]:.1f} % "
          f"({', '.join(f'{c} {spent[c]:.3f}' for c in checks if spent[c])})")


def big_store(path: Path, n_frames: int, dim: int = 1024):
    from sergen.store.writer import StoreWriter, create_store

    lengths = np.full(n_frames // 250, 250)
    plan = pd.DataFrame({"utt_id": [f"u{i}" for i in range(len(lengths))], "label": "hap", "split": "train",
                         "duration_s": 1.0, "n_frames": lengths})
    group = create_store(path, plan, {"model": "m", "corpus": "c"}, dim)
    writer = StoreWriter(group)
    rng = np.random.default_rng(0)
    for first in range(0, len(lengths), 64):
        n = min(64, len(lengths) - first)
        writer.write_window(first, [rng.standard_normal((250, dim), np.float32) for _ in range(n)], [1] * n)
    writer.mark_complete()
    return lengths


def bank_build(n_frames: int, repeats: int) -> None:
    from sergen.experiments import data
    from sergen.experiments.bank_cache import RamWriter
    from sergen.experiments.store_index import StoreIndex

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m" / "c.zarr"
        lengths = big_store(path, n_frames)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        index = StoreIndex(str(path), slice(0, 1024), offsets[:-1], offsets[1:], np.full(len(lengths), "train"),
                           np.array([f"u{i}" for i in range(len(lengths))]), int(offsets[-1]))
        shapes, meta = data.bank_layout(index)
        times = {"with": [], "without": []}
        for _ in range(repeats):
            for kind in ("with", "without"):
                def run():
                    data._fill_bank(index, meta, RamWriter(shapes))
                if kind == "without":
                    with mock.patch.object(data, "FrameCheck", lambda path: (lambda lo, rows: None)):
                        times[kind].append(timed(run))
                else:
                    times[kind].append(timed(run))
        w, wo = statistics.median(times["with"]), statistics.median(times["without"])
        share(lambda: data._fill_bank(index, meta, RamWriter(shapes)), "_fill_bank",
              ("digests.py:__call__", "digests.py:non_finite", "digests.py:__init__"))
        gib = n_frames * 1024 * 2 / 2**30
        print(f"bank build, {n_frames} frames x 1024 ({gib:.2f} GiB float16): with frame checks {w:.2f} s, without "
              f"{wo:.2f} s: {100 * (w / wo - 1):+.1f} %")
        bank_map(Path(tmp), shapes, meta, index)


def bank_map(folder: Path, shapes, meta, index) -> None:
    from sergen.experiments import bank_digest, data
    from sergen.experiments.bank_cache import bank_files, ensure_bank_file

    ensure_bank_file(folder / "banks", "m-c-layerlast", "m-c-layerlast.0", shapes, meta,
                     lambda w: data._fill_bank(index, meta, w))
    files = bank_files(folder / "banks", "m-c-layerlast.0")
    size = files["prefix"].stat().st_size / 2**30
    stat = min(timed(lambda: bank_digest.problem(files["prefix"], files["meta"])) for _ in range(20))
    full = min(timed(lambda: bank_digest.file_crc32c(files["prefix"])) for _ in range(3))
    print(f"bank file {size:.2f} GiB: check before mapping (stat unchanged) {1e3 * stat:.2f} ms; full CRC-32C "
          f"(stat changed) {full:.2f} s = {size / full:.1f} GiB/s")


def audio_check(root: Path) -> None:
    import zarr

    from sergen.audio_digest import changed_audio
    from sergen.corpora import read_corpus, write_manifest
    from sergen.extract import extract

    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "emodb.csv"
        write_manifest(read_corpus("emodb", root), manifest)
        report = extract("melspec", "emodb", stores_root=Path(tmp), manifest_file=manifest, show_progress=False)
        group = zarr.open_group(str(report.path), mode="r")
        t = min(timed(lambda: changed_audio(group, root)) for _ in range(5))
        print(f"audio stat check at open: {report.n_utts} files in {1e3 * t:.1f} ms ({1e6 * t / report.n_utts:.0f} µs a file)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path, help="a demo EmoDB folder (sergen demo-data)")
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    extraction(args.root, args.repeats)
    bank_build(args.frames, args.repeats)
    audio_check(args.root)


if __name__ == "__main__":
    main()
