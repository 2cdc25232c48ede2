"""One memory budget for a whole grid: how many workers run, and whether training sets are sampled from
their bank files whole or from resident subsets.

Why one budget: each worker used to take half the machine as its own, so two workers planned for the
whole machine and the kernel's OOM killer ended the grid. Here the budget (``SERGEN_RAM_MIB``, else half
the machine's memory) covers every process of the grid together, with two kinds of memory in it:

- *per process*: the interpreter, torch, numpy/pandas/zarr and a head (``WORKER_MIB`` per worker,
  ``PARENT_MIB`` for the process that runs the grid), plus, in each worker, the utterance vectors it loads
  (float32 means of every utterance of the corpora its runs train and test on: ``worker_data_mib``);
- *shared*: the page-cache pages of the store-bank files that the running training sets draw from. Workers
  read the rows they need from the files (``sergen.train.bank_rows``: none of these pages is mapped into a
  worker, so none counts in its memory), but sampling runs at memory speed only while the page cache holds
  them, so they are budgeted. They are counted once however many workers read them, and runs that share
  banks are run side by side (the grid's order), so the shared need is the union of the banks of the
  training sets that can run at once. A
  ``--pool mean+std`` run touches each store's sums-of-squares file too (as many bytes again, its own name in
  ``training_set_bytes``), so its training set counts twice the bytes of the same set pooled by its mean.

If the banks fit next to the workers, every run samples its banks whole. If not, fewer workers are tried
(fewer training sets at once, less per-process memory); if even one does not fit, each worker samples a
rotating resident subset of its share of what is left. A grid is then slower on a small machine; it is
never planned past its budget.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sergen.config import ram_budget_mib

# measured (PSS, bench/run.py's real-size grid at 1024-d, 50 Hz, 0.05 × the real sizes): the grid's own process
# 744 MiB, each worker 810 MiB besides its resident subset and ~20 MiB of utterance vectors
WORKER_MIB = 850  # a worker: Python, torch, numpy/pandas/zarr, read buffers, the sampler's pools, a head
PARENT_MIB = 800  # the process that runs the grid (and the CLI)
MIN_RESIDENT_MIB = 256  # a resident subset smaller than this holds too few utterances per class and corpus


@dataclass(frozen=True)
class MemoryPlan:
    budget_mib: int
    workers: int
    shared_mib: int  # bank-file pages the running training sets can read at once (page cache, not mapped)
    resident_mib: int | None  # per-worker resident subset; None: banks are sampled whole
    asked: int = 0  # workers the grid could use (asked for, and no more than its runs); 0: not known
    need_mib: int = 0  # what the plan takes at the least (processes, subsets, bank pages); over the budget: said

    def describe(self) -> str:
        if self.resident_mib is not None:
            how = f"resident subsets of {self.resident_mib:,} MiB per worker"
        elif self.shared_mib:
            how = (f"banks sampled whole, their rows read from bank files the page cache should hold: "
                   f"~{self.shared_mib:,} MiB of them at once")
        else:  # every bank under the cache threshold: built in each worker's memory, no bank file read
            how = "banks sampled whole, held in the workers' memory"
        fewer = (f"; {self.asked} asked for, {self.workers} fit the budget (raise SERGEN_RAM_MIB for more)"
                 if self.workers < self.asked else "")
        if self.need_mib > self.budget_mib:
            asked = f"; {self.asked} asked for" if fewer else ""
            return (f"memory plan: {self.workers} worker(s), estimated at ~{self.need_mib:,} MiB at the least, over "
                    f"the budget of {self.budget_mib:,} MiB ({how}{asked}; raise SERGEN_RAM_MIB)")
        return f"memory plan: {self.workers} worker(s) within {self.budget_mib:,} MiB ({how}{fewer})"


def _mib(n_bytes: int) -> int:
    return -(-int(n_bytes) // 2**20)


def shared_need_mib(training_sets: list[dict[str, int]], workers: int) -> int:
    """The largest union of bank bytes over any ``workers`` training sets (each a {bank: bytes it can
    touch}); with many sets, the sum of the largest ones bounds it."""
    sets = list({tuple(sorted(s.items())) for s in training_sets})
    if not sets:
        return 0
    k = min(workers, len(sets))
    if len(list(itertools.islice(itertools.combinations(range(len(sets)), k), 5000))) >= 5000:
        return _mib(sum(sorted((sum(b for _, b in s) for s in sets), reverse=True)[:k]))
    best = 0
    for combo in itertools.combinations(sets, k):
        union: dict[str, int] = {}
        for s in combo:
            for bank, size in s:
                union[bank] = max(union.get(bank, 0), size)
        best = max(best, sum(union.values()))
    return _mib(best)


def plan_grid(training_sets: list[dict[str, int]], requested_workers: int, n_runs: int,
              budget_mib: int | None = None, worker_data_mib: int = 0) -> MemoryPlan:
    """The plan for runs whose training sets touch ``training_sets`` (one {bank: bytes} per run), with
    ``worker_data_mib`` of utterance vectors in each worker."""
    budget = ram_budget_mib() if budget_mib is None else budget_mib
    most = max(1, min(requested_workers, n_runs))
    worker = WORKER_MIB + worker_data_mib
    for workers in range(most, 0, -1):
        shared = shared_need_mib(training_sets, workers)
        if PARENT_MIB + workers * worker + shared <= budget:
            return MemoryPlan(budget, workers, shared, None, most, PARENT_MIB + workers * worker + shared)
    # resident subsets: as many workers as leave each a useful subset
    for workers in range(most, 0, -1):
        per_worker = (budget - PARENT_MIB - workers * worker) // workers
        if per_worker >= MIN_RESIDENT_MIB or workers == 1:
            subset = max(per_worker, 64)
            return MemoryPlan(budget, workers, 0, subset, most, PARENT_MIB + workers * (worker + subset))
    raise AssertionError("unreachable")
