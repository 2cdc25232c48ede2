"""The grid on one machine: one memory plan for all workers, a worker's death costs only its own run,
runs that share banks go side by side."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from sergen.errors import SergenError
from sergen.experiments import grid_pool
from sergen.experiments.grid import grid_specs, run_grid
from sergen.experiments.memory_plan import PARENT_MIB, WORKER_MIB, plan_grid, shared_need_mib
from sergen.experiments.probe import runs_dir
from sergen.train.loop import TrainConfig

FAST = TrainConfig(max_steps=150, eval_every=50)


def dies_on_ravdess(spec, stores_root, results_dir):
    """A run that is killed like the OOM killer kills (SIGKILL) when it trains on ravdess alone."""
    from sergen.experiments.grid import _run_one

    if spec.train == ("ravdess",):
        os.kill(os.getpid(), signal.SIGKILL)
    return _run_one(spec, stores_root, results_dir)


class FakeBar:
    """Counts the grid task's advances (task 0); the store-bank task gets its own id."""

    def __init__(self):
        self.advanced, self.tasks = 0, 0

    def add_task(self, *a, **k):
        self.tasks += 1
        return self.tasks

    def advance(self, task):
        self.advanced += task == 0


def test_a_killed_worker_costs_only_its_run_and_a_rerun_completes_it(in_demo_workspace, tmp_path):
    specs = grid_specs(["melspec"], "emodb,ravdess,cremad", heads=("linear",), training=FAST, n_boot=10)
    results = tmp_path / "results"
    bar = FakeBar()
    with pytest.raises(SergenError) as err:
        grid_pool.run_local(specs, None, results, 2, dies_on_ravdess, bar, 0)
    message = err.value.message
    assert "1 of 3 grid run(s) did not finish (2 finished and kept)" in message
    assert "melspec train=ravdess head=linear seed=0: its worker was killed by SIGKILL — likely out of memory" in message
    assert "resume with" in message
    finished = {p.stem for p in runs_dir(results).glob("*.csv")}
    assert finished == {s.run_id for s in specs if s.train != ("ravdess",)} and bar.advanced == 2
    # the rerun (real workers) does only the missing run
    before = {p: p.stat().st_mtime_ns for p in runs_dir(results).glob("*.csv")}
    table = run_grid(specs, results_dir=results, workers=2, show_progress=False)
    assert set(table.train) == {"emodb", "ravdess", "cremad"}
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())  # finished runs untouched
    assert len(list(runs_dir(results).glob("*.csv"))) == 3


def test_memory_plan_counts_shared_banks_once_and_falls_back_to_resident_subsets():
    gib = 2**30
    msp, iemo, crema = {"msp": 7 * gib}, {"iemo": gib}, {"crema": gib}
    everything = {"msp": 7 * gib, "iemo": gib, "crema": gib}
    sets = [msp, iemo, crema, everything, {"iemo": gib, "crema": gib}]
    # msp and all share MSP's bank: two workers need the union (9 GiB), not the sum (16 GiB)
    assert shared_need_mib(sets, 2) == 9 * 1024
    plan = plan_grid(sets, 2, 14, budget_mib=12 * 1024)
    assert (plan.workers, plan.shared_mib, plan.resident_mib) == (2, 9 * 1024, None)
    # the utterance vectors each worker loads count too: with 500 MiB of them, only one worker fits
    assert plan_grid(sets, 2, 14, budget_mib=12 * 1024, worker_data_mib=500).workers == 1
    assert PARENT_MIB + 2 * WORKER_MIB + plan.shared_mib <= 12 * 1024
    # a smaller machine: banks do not fit next to the workers -> resident subsets within the budget
    plan = plan_grid(sets, 2, 14, budget_mib=6 * 1024)
    assert plan.resident_mib is not None
    assert PARENT_MIB + plan.workers * (WORKER_MIB + plan.resident_mib) <= 6 * 1024
    # a tiny budget: one worker, a small subset, never more workers than runs
    tiny = plan_grid(sets, 2, 14, budget_mib=1200)
    assert tiny.workers == 1
    assert tiny.describe().endswith("over the budget of 1,200 MiB (resident subsets of 64 MiB per worker; 2 asked for; "
                                    "raise SERGEN_RAM_MIB)")
    single = plan_grid([msp], 8, 1, budget_mib=64 * 1024)
    assert single.workers == 1 and "asked for" not in single.describe()  # one run needs one worker: nothing to say


def test_runs_sharing_banks_go_side_by_side():
    class Spec:
        def __init__(self, train, head):
            self.model, self.layer, self.train, self.head = "m", "-", train, head

    todo = [Spec(t, h) for t in (("emodb",), ("msp",), ("iemocap", "cremad"), ("msp", "emodb")) for h in "ab"]
    touched = [{"emodb": 1}, {"emodb": 1}, {"msp": 80}, {"msp": 80}, {"iemocap": 9, "cremad": 8},
               {"iemocap": 9, "cremad": 8}, {"msp": 80, "emodb": 1}, {"msp": 80, "emodb": 1}]
    order = [todo[i].train for i in grid_pool.order_runs(todo, touched)]
    # the largest set first, then the set sharing most with it; with nothing shared, the largest left
    assert order == [("msp", "emodb")] * 2 + [("msp",)] * 2 + [("iemocap", "cremad")] * 2 + [("emodb",)] * 2


def tree_pss_mib(pid: int) -> float:
    """Proportional set size of a process and all its descendants (shared pages split between them)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for p in procs:
        try:
            total += p.memory_full_info().pss
        except psutil.Error:
            pass
    return total / 2**20


def test_grid_under_a_small_ram_budget_stays_within_it(in_demo_workspace, tmp_path):
    budget = 1400
    env = dict(os.environ, SERGEN_RAM_MIB=str(budget), SERGEN_BANK_CACHE_MIB="0", SERGEN_CACHE=str(tmp_path / "banks"),
               SERGEN_RESULTS=str(tmp_path / "results"))
    proc = subprocess.Popen([sys.executable, "-m", "sergen.cli", "grid", "--models", "melspec", "--train",
                             "emodb,ravdess,emodb+ravdess", "--heads", "linear", "--workers", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0.0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_pss_mib(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, _ = proc.communicate(timeout=600)
    sampler.join()
    assert proc.returncode == 0, out
    assert "memory plan: 1 worker(s), estimated at" in out and "over the budget of 1,400 MiB" in " ".join(out.split())
    assert len(list((tmp_path / "results" / "runs").glob("*.csv"))) == 3
    assert 100 < peak[0] <= budget


@pytest.mark.parametrize("value", ["lots", "0", "-5", "12"])
def test_a_bad_ram_budget_is_refused_with_the_variable_named(monkeypatch, value):
    from sergen.config import ram_budget_mib

    monkeypatch.setenv("SERGEN_RAM_MIB", value)
    with pytest.raises(SergenError, match=f"SERGEN_RAM_MIB='{value}' is not a memory size in MiB of at least 64"):
        ram_budget_mib()
    monkeypatch.setenv("SERGEN_RAM_MIB", "2048.5")
    assert ram_budget_mib() == 2048
