"""What the record checks (attributes, array metadata, utt/ column digests: ``sergen.store.record``) add to
``stores verify`` and to ``open_store``: CPU seconds of the same call with them on and stubbed out, alternating,
best of N, in one process. Usage: ``python bench/verify_record_35.py STORE_PATH [N]``; also times the column check
alone on 68,000 synthetic rows (MSP-Podcast's size)."""

from __future__ import annotations

import sys
import time

import numpy as np


def cpu(call) -> float:
    t = time.process_time()
    call()
    return time.process_time() - t


def main(path: str, n: int = 5) -> None:
    import sergen.store.record as record
    import sergen.store.verify as verify

    real = (record.attribute_problem, record.metadata_problem, verify.record_problem, verify.column_edits)
    stubs = (lambda *a, **k: None, lambda *a, **k: None, lambda *a, **k: None, lambda *a, **k: [])

    def use(fns) -> None:
        record.attribute_problem, record.metadata_problem, verify.record_problem, verify.column_edits = fns

    on, off = [], []
    for _ in range(n):
        use(stubs)
        off.append(cpu(lambda: verify.verify_store(path)))
        use(real)
        on.append(cpu(lambda: verify.verify_store(path)))
    assert verify.verify_store(path).ok
    print(f"verify {path}: without record checks {min(off) * 1e3:.1f} ms CPU, with {min(on) * 1e3:.1f} ms "
          f"(best of {n}; +{(min(on) - min(off)) * 1e3:.1f} ms, x{min(on) / min(off):.3f})")
    import zarr

    group = zarr.open_group(path, mode="r")
    cols = [cpu(lambda: record.column_edits(group)) for _ in range(n)]
    print(f"column_edits alone ({group['utt']['utt_id'].shape[0]} utterances): {min(cols) * 1e3:.2f} ms CPU")
    rows = 68_000
    ids = np.array([f"MSP-PODCAST_{i:04d}_{i % 97:04d}.wav" for i in range(rows)], dtype=object)
    dur = np.random.default_rng(0).random(rows).astype(np.float32)
    big = [cpu(lambda: [record.column_crcs(ids) for _ in range(8)] + [record.column_crcs(dur)]) for _ in range(3)]
    print(f"CRCs of 8 string columns and 1 float column, {rows} rows: {min(big) * 1e3:.0f} ms CPU (best of 3)")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5)
