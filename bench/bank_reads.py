"""Bank rows through the mapping or read from the file (issue 26's memory target): what a run truly reads,
what the mapping makes resident, and what each costs per draw.

Why: the real-size grid's peak PSS was two-thirds mapped bank pages. This draws the sampler's default stream
(8 batches of 128 per draw) over one bank file, as a run does, and reports per mode: CPU ms per draw (best
of ``--rounds`` alternating rounds, one process), the bank file's resident mapping after the draws
(/proc/self/smaps Rss, and how much of it is PMD-mapped), and the distinct 4 KiB pages and 2 MiB folios the
queried rows cover. Run it on a bank the real-size grid built: ``python bench/bank_reads.py BANKS_DIR msp``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sergen.experiments import mapped_pages  # noqa: E402
from sergen.experiments.bank_cache import open_bank  # noqa: E402
from sergen.train import bank_rows  # noqa: E402
from sergen.train.framebank import FrameBank  # noqa: E402
from sergen.train.sampler import SamplerConfig, WindowSampler  # noqa: E402

FOLIO = 2 << 20


def mapping_kib(path: Path) -> tuple[int, int]:
    """(Rss, FilePmdMapped) KiB of this process's mappings of ``path``."""
    rss = pmd = 0
    inside = False
    with open("/proc/self/smaps") as fh:
        for line in fh:
            head = line.split()
            if head and "-" in head[0] and not head[0].endswith(":"):
                inside = line.rstrip().endswith(str(path))
            elif inside and head[0] == "Rss:":
                rss += int(head[1])
            elif inside and head[0] == "FilePmdMapped:":
                pmd += int(head[1])
    return rss, pmd


def training_set(folder: Path, store: str, n_classes: int = 4, seed: int = 0) -> tuple[FrameBank, Path]:
    meta = next(p for p in sorted(folder.glob(f"*-{store}-*.meta.npz")) if "-squares" not in p.name)
    name = meta.name[:-len(".meta.npz")]
    bank = open_bank(folder, name)
    n = len(bank.length)
    rng = np.random.default_rng(seed)
    labels = rng.choice(n_classes, n, p=[0.2, 0.15, 0.45, 0.2])
    d = bank.dim
    return FrameBank([bank], np.zeros(n, np.int64), np.arange(n), labels, np.zeros(n, np.int64), np.arange(n),
                     np.ones(n, bool), np.zeros(d, np.float32), np.ones(d, np.float32)), folder / f"{name}.prefix.npy"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("banks", type=Path, help="the bank cache folder (SERGEN_CACHE of the run that built it)")
    parser.add_argument("store", help="the store whose bank is drawn from, e.g. msp")
    parser.add_argument("--draws", type=int, default=40, help="draws per round (a 1,500-step run makes ~190)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=12.5, help="the store's frame rate (Hz)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    bank, path = training_set(args.banks, args.store)
    offset = bank.banks[0].prefix.offset
    row_bytes = bank.dim * 4
    seen_rows: list[np.ndarray] = []
    real_gather = bank_rows.gather

    def recording_gather(table, rows):
        seen_rows.append(np.asarray(rows))
        return real_gather(table, rows)

    bank_rows.gather = recording_gather
    import sergen.train.framebank as framebank

    framebank.gather = recording_gather
    cpu = {True: [], False: []}
    resident = {}
    for r in range(args.rounds):
        for by_rows in (True, False) if r % 2 == 0 else (False, True):
            bank_rows.READ_BY_ROWS = by_rows
            mapped_pages.register("bench", bank.banks[0].prefix)
            mapped_pages.release()
            sampler = WindowSampler(bank, args.rate, SamplerConfig(), seed=r)
            seen_rows.clear()
            t = time.process_time()
            for _ in range(args.draws):
                sampler.draw(128 * 8)
            cpu[by_rows].append((time.process_time() - t) / args.draws * 1e3)
            resident[by_rows] = mapping_kib(path)
    rows = np.unique(np.concatenate(seen_rows))
    first = offset + rows * row_bytes
    pages = np.unique(np.concatenate([first // 4096, (first + row_bytes - 1) // 4096]))
    folios = np.unique(np.concatenate([first // FOLIO, (first + row_bytes - 1) // FOLIO]))
    size = path.stat().st_size
    print(f"bank {path.name}: {size / 2**30:.2f} GiB, {len(bank.length):,} utterances; {args.draws} draws of "
          f"8 × 128 windows per round; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"queried rows (last round): {len(rows):,} distinct = {len(pages) * 4 / 2**20:.2f} GiB of 4 KiB pages "
          f"({len(pages) / (size / 4096):.1%} of the file), in {len(folios):,} of {size / FOLIO:,.0f} 2 MiB folios")
    for by_rows, label in ((False, "through the mapping"), (True, "read by rows")):
        rss, pmd = resident[by_rows]
        print(f"{label:20s}: CPU {min(cpu[by_rows]):.1f} ms per draw (rounds: "
              f"{', '.join(f'{c:.1f}' for c in cpu[by_rows])}); mapped after the draws {rss / 2**20:.2f} GiB "
              f"(PMD-mapped {pmd / 2**20:.2f} GiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
