"""Running a grid's combinations on this machine: runs ordered so that those sharing banks go side by side
and the longest go first, one memory plan for all workers, and worker processes whose death costs only the
run they were doing.

Both cores stay busy (issue 26): the workers start before the store banks are built, build them themselves
(largest first, one store per worker), and a run starts as soon as the banks it trains on are ready, so the
runs on small corpora go on while the large bank is still being written.

Why not ``ProcessPoolExecutor``: when a worker dies (the OOM killer's SIGKILL) it breaks the whole pool
and every pending run fails with ``BrokenProcessPool``, without saying which run the dead worker had.
Here each worker has its own pipe: the grid knows what each one runs, records the death of one, starts a
fresh worker and goes on; at the end it names what did not finish and the command that resumes it.
"""

from __future__ import annotations

import multiprocessing as mp
import shlex
import signal
import sys
import traceback
from collections import deque
from multiprocessing.connection import wait

from sergen.errors import SergenError
from sergen.experiments import data, mapped_pages
from sergen.experiments.memory_plan import MemoryPlan, plan_grid
from sergen.experiments.store_index import views_of
from sergen.train.pooling import uses_squares


def order_runs(todo: list, touched: list[dict]) -> list[int]:
    """Indices of ``todo`` grouped by training set (the runs of one set share its banks), sets touching
    the most bank bytes first, and sets that share banks next to each other (largest shared bytes); where
    none shares bank files (banks built in RAM, as in the demo), the sets of the same model and layer next
    to each other: a worker keeps the stores it read for the runs that follow (``sergen.experiments.data``'s
    caches, 32 stores), and the demo's 50 stores, model after model, are read and banked once per worker
    instead of about twice."""
    groups: dict[tuple, list[int]] = {}
    for i, spec in enumerate(todo):
        groups.setdefault((spec.model, spec.layer, spec.train), []).append(i)
    keys = sorted(groups, key=lambda k: -sum(touched[groups[k][0]].values()))
    ordered, left = [], list(keys)
    while left:
        if not ordered:
            nxt = left[0]
        else:
            last_key = ordered[-1]
            last = set(touched[groups[last_key][0]])
            nxt = max(left, key=lambda k: (sum(v for b, v in touched[groups[k][0]].items() if b in last),
                                           k[:2] == last_key[:2]))
        ordered.append(nxt)
        left.remove(nxt)
    return [i for k in ordered for i in sorted(groups[k], key=lambda i: -run_cost(todo[i], touched[i]))]


# per optimiser step against the linear head; MLP heads ≈ 4× (bench/results.md); the sequence heads' steps
# are 40–170× an MLP's (bench/frame_stream.md), so their runs start first and never finish a grid alone
HEAD_STEP_COST = {"linear": 1.0, "attn": 200.0, "cnn": 500.0}


def run_cost(spec, touched: dict) -> float:
    """A run's estimated cost, to start the long ones first: bank bytes it trains on × its head's step cost."""
    return (1 + sum(touched.values())) * HEAD_STEP_COST.get(spec.head, 4.0)


def resume_command() -> str:
    if sys.argv and sys.argv[0].endswith(("sergen", "__main__.py")):
        return shlex.join(["sergen", *sys.argv[1:]])
    return "the same grid again (finished runs are skipped)"


def describe_spec(spec) -> str:
    return (f"{spec.model} train={spec.train_name} head={spec.head} seed={spec.seed}"
            + (" scrambled" if spec.scramble else "") + (f" aug={spec.aug_share:g}" if spec.aug_share else "")
            + (f" pool={spec.pool}" if spec.pool != "mean" else ""))


def describe_death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        likely = " — likely out of memory (the kernel's OOM killer; `dmesg` says)" if -exitcode == signal.SIGKILL else ""
        return f"its worker was killed by {name}{likely}"
    return f"its worker exited with code {exitcode}"


def _worker(conn, budget_bytes: int | None, run_one) -> None:
    import torch

    from sergen.train.resident import set_ram_budget

    torch.set_num_threads(1)
    set_ram_budget(budget_bytes)
    try:
        while True:
            job = conn.recv()
            if job is None:
                return
            if job[0] == "budget":  # a worker started before the memory plan: its share, before any job
                set_ram_budget(job[1])
                continue
            i, spec, stores_root, results_dir = job
            try:
                if i == "bank":  # spec: (model, store, layer, pool) of a store bank to build before runs need it
                    from sergen.config import data_dir

                    model, name, layer, pool = spec
                    data.prepare_store_bank(model, name, data.stores_root_key(stores_root or data_dir("stores")),
                                            layer, pool)
                else:
                    run_one(spec, stores_root, results_dir)
                mapped_pages.release()  # a run's bank pages and freed heap, not kept for the runs that follow
                conn.send((i, None))
            except SergenError as exc:
                conn.send((i, ("sergen", exc.what, exc.where, exc.fix)))
            except Exception:  # noqa: BLE001 - sent to the parent, which reports it with the run it belongs to
                conn.send((i, ("crash", traceback.format_exc(), None, None)))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        return  # Ctrl-C reaches the whole process group: the parent says it once; a killed run saved nothing


class _Worker:
    def __init__(self, ctx, budget_bytes, run_one):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, budget_bytes, run_one), daemon=True)
        self.proc.start()
        child.close()
        self.job: int | None = None

    def set_budget(self, budget_bytes: int | None) -> None:
        try:
            self.conn.send(("budget", budget_bytes))
        except (BrokenPipeError, OSError):
            pass  # died while the plan was made: the pool replaces it before its first job

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()  # reaped here, not left a zombie until the process exits


def plan_for(todo: list, stores_root, workers: int) -> tuple[MemoryPlan, list[dict]]:
    touched = [data.training_set_bytes(s.model, s.train, stores_root, s.layer, s.pool) for s in todo]
    return plan_grid(touched, workers, len(todo), worker_data_mib=worker_data_mib(todo, stores_root)), touched


def worker_data_mib(todo: list, stores_root) -> int:
    """The float32 utterance vectors a worker may load: every utterance of every store the runs train or
    test on (a worker keeps them for the runs that follow), and the training banks too small to be files,
    which each worker builds in its own RAM (``--layer weighted``'s are L× a layer's)."""
    from sergen.experiments.bank_cache import threshold_bytes

    stores = {(s.model, name, s.layer) for s in todo for corpus in (*s.train, *s.test)
              for name in (corpus, *(views_of(s.model, corpus, stores_root) if corpus in s.train else ()))}
    training = {(s.model, name, s.layer) for s in todo for corpus in s.train
                for name in (corpus, *views_of(s.model, corpus, stores_root))}
    total = 0
    for model, name, layer in stores:
        index = data.store_index(model, name, stores_root, layer)
        total += len(index.start) * (index.columns.stop - index.columns.start) * 4
        if (model, name, layer) in training:
            size = data.bank_bytes(data.bank_layout(index)[0])
            total += size if size < threshold_bytes() else 0
    total += sequence_data_bytes(todo, stores_root)
    return -(-total // 2**20)


def sequence_data_bytes(todo: list, stores_root) -> int:
    """What sequence heads (attn, cnn) add to a worker: the largest training batch of frames, and the banks
    of their test corpora small enough to be built in RAM (whole test utterances are read from them)."""
    from sergen.experiments.bank_cache import threshold_bytes
    from sergen.experiments.sequence_checks import spec_batch_bytes
    from sergen.train.heads import is_sequence

    sequence = [s for s in todo if is_sequence(s.head)]
    if not sequence:
        return 0
    total = max(spec_batch_bytes(s, stores_root) for s in sequence)
    for model, name, layer in {(s.model, c, s.layer) for s in sequence for c in s.test if c not in s.train}:
        size = data.bank_bytes(data.bank_layout(data.store_index(model, name, stores_root, layer))[0])
        total += size if size < threshold_bytes() else 0
    return total


def run_local(todo: list, stores_root, results_dir, workers: int, run_one, bar, task) -> None:
    """Run ``todo`` in worker processes (in this process when the plan allows one worker and one run). The
    stores do not change during a grid: each corpus's view stores are listed once (``views_listed_once``)."""
    from sergen.store.reader import views_listed_once

    with views_listed_once():
        _run_local(todo, stores_root, results_dir, workers, run_one, bar, task)


def _run_local(todo: list, stores_root, results_dir, workers: int, run_one, bar, task) -> None:
    from sergen.config import data_dir

    root = data.stores_root_key(stores_root or data_dir("stores"))
    # the workers spawn and import torch while this process plans (~5 CPU-s for the demo's 50 stores)
    early = _start_workers(min(workers, len(todo)), run_one) if workers > 1 and len(todo) > 1 else []
    try:
        _plan_and_run(todo, root, stores_root, results_dir, workers, run_one, bar, task, early)
    finally:
        for w in early:  # those the plan did not use (fewer workers, or none)
            w.stop()


def _start_workers(n: int, run_one) -> list:
    """``n`` grid workers, started before the memory plan gives them their budget (``_Worker.set_budget``)."""
    ctx = mp.get_context("spawn")
    return [_Worker(ctx, None, run_one) for _ in range(n)]


def _plan_and_run(todo, root, stores_root, results_dir, workers, run_one, bar, task, early: list) -> None:
    from sergen.console import err_console

    from sergen.train.resident import set_ram_budget

    # each store's bank once, before the runs that need it, in the order the runs need them
    plan, touched = plan_for(todo, root, workers)
    order = order_runs(todo, touched)
    # each run's training stores, found once: listing a corpus's view stores opens each of them
    listed = {i: _stores_of(todo[i], root) for i in order}
    trained_on = {i: set(names) for i, names in listed.items()}
    stores = list(dict.fromkeys((todo[i].model, name, todo[i].layer) for i in order for name in listed[i]))
    # the sums-of-squares bank of a store only where a mean+std run trains on it
    squares = {(todo[i].model, name, todo[i].layer) for i in order if uses_squares(todo[i].pool)
               for name in trained_on[i]}
    banks = [(model, name, layer, "mean+std" if (model, name, layer) in squares else "mean")
             for model, name, layer in stores]
    bank_task = bar.add_task("store banks", total=len(stores))
    err_console.print(plan.describe(), soft_wrap=False)  # folded at the width, as the commands' prose
    budget = (plan.resident_mib if plan.resident_mib is not None else plan.budget_mib) * 2**20
    if plan.workers > 1 and len(todo) > 1:
        sizes = {b: data.bank_bytes(data.bank_layout(data.store_index(b[0], b[1], root, b[2]))[0]) for b in banks}
        needs = {i: {b for b in banks if (b[0], b[2]) == (todo[i].model, todo[i].layer)
                     and b[1] in trained_on[i]} for i in order}
        jobs = [("bank", b) for b in sorted(banks, key=lambda b: -sizes[b])] + [("run", i) for i in order]
        started = [early.pop(0) for _ in range(min(plan.workers, len(early)))]
        for w in started:
            w.set_budget(budget)
        failures = _pool(todo, jobs, needs, stores_root, results_dir, plan.workers, budget, run_one,
                         lambda: bar.advance(task), lambda: bar.advance(bank_task), started)
        if failures:
            _raise(todo, failures)
        return
    while early:  # the plan leaves them nothing to do
        early.pop().stop()
    for bank in banks:  # one worker or one run: banks, then the runs, in this process as a plain loop
        data.prepare_store_bank(bank[0], bank[1], root, bank[2], bank[3])
        bar.advance(bank_task)
    set_ram_budget(budget)
    try:
        for i in order:
            run_one(todo[i], stores_root, results_dir)
            mapped_pages.release()
            bar.advance(task)
    finally:
        set_ram_budget(None)


def _stores_of(spec, root) -> list[str]:
    return [name for corpus in spec.train for name in (corpus, *views_of(spec.model, corpus, root))]


def _pool(todo, jobs, needs, stores_root, results_dir, n_workers, budget, run_one, advance,
          bank_built, started: list = ()) -> dict[int, tuple]:
    """Run ``jobs`` (``("bank", store)`` and ``("run", i)``, in order) on ``n_workers`` processes (``started``:
    workers already running, with their budget); a run is handed out once every bank in ``needs[i]`` is
    built. A bank job that fails counts as done: the runs that need it build it themselves and report their
    own error."""
    ctx = mp.get_context("spawn")
    queue = list(jobs)
    ready: set = set()
    n = min(n_workers, len(jobs))
    pool = list(started)[:n] + [_Worker(ctx, budget, run_one) for _ in range(n - len(started))]
    failures: dict[int, tuple] = {}

    def next_job():
        for k, (kind, what) in enumerate(queue):
            if kind == "bank" or needs[what] <= ready:
                return queue.pop(k)
        return None

    def finished(job, error) -> None:
        kind, what = job
        if kind == "bank":
            ready.add(what)
            bank_built()
        elif error:
            failures[what] = error
        else:
            advance()

    try:
        while queue or any(w.job is not None for w in pool):
            for k, w in enumerate(pool):
                if w.job is None and queue:
                    job = next_job()
                    if job is None:
                        break  # the runs left wait for a bank another worker is building
                    if not w.proc.is_alive():  # died while idle: nothing of it to report
                        pool[k] = w = _Worker(ctx, budget, run_one)
                    w.job = job
                    kind, what = job
                    w.conn.send(("bank", what, stores_root, results_dir) if kind == "bank"
                                else (what, todo[what], stores_root, results_dir))
            busy = [w for w in pool if w.job is not None]
            wait([w.conn for w in busy] + [w.proc.sentinel for w in busy])
            for k, w in enumerate(pool):
                if w.job is None:
                    continue
                try:
                    message = w.conn.recv() if w.conn.poll() else None
                except (EOFError, OSError):
                    message = None
                if message is not None:
                    finished(w.job, message[1])
                    w.job = None
                elif not w.proc.is_alive():
                    w.proc.join()
                    finished(w.job, ("died", describe_death(w.proc.exitcode), None, None))
                    pool[k] = _Worker(ctx, budget, run_one)  # a fresh worker for the runs left
    finally:
        for w in pool:
            w.stop()
    return failures


def _raise(todo, failures: dict[int, tuple]) -> None:
    if len(failures) == 1:
        (i, (kind, what, where, fix)), = failures.items()
        if kind == "sergen":
            raise SergenError(f"{describe_spec(todo[i])}: {what}", where=where, fix=fix)
    lines = []
    for i, (kind, what, where, fix) in failures.items():
        detail = what.strip().splitlines()[-1] if kind == "crash" else what
        lines.append(f"  {describe_spec(todo[i])}: {detail}")
    done = len(todo) - len(failures)
    raise SergenError(f"{len(failures)} of {len(todo)} grid run(s) did not finish ({done} finished and kept):\n"
                      + "\n".join(lines),
                      fix=f"resume with `{resume_command()}` (it runs only what is missing); on a small machine "
                          "set SERGEN_RAM_MIB lower or pass --workers 1")
