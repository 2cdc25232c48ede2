"""A probe run computes with BLAS and OpenMP on one thread whatever its caller set (issue 26): its numbers do
not depend on the machine's cores, and two grid workers on two cores do not each spin a second BLAS thread.
The caller's thread counts are restored after the run."""

import json

import pandas as pd
from threadpoolctl import threadpool_info, threadpool_limits

import sergen.experiments.probe as probe
from sergen.experiments.probe import probe_run, resolve_spec
from sergen.train.loop import TrainConfig


def blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_runs_on_one_thread_and_equal_whatever_the_caller_set(in_demo_workspace, monkeypatch):
    spec = resolve_spec("melspec", "emodb+ravdess", "all", head="mlp", training=TrainConfig(max_steps=300),
                        n_boot=10, seed=4)
    seen = []
    train_head = probe.train_head

    def recording(*args, **kwargs):
        seen.append(blas_threads())
        return train_head(*args, **kwargs)

    monkeypatch.setattr(probe, "train_head", recording)
    runs = []
    for outer in (1, 2):
        with threadpool_limits(limits=outer, user_api="blas"):
            assert blas_threads() == {outer}
            run = probe_run(spec)
            assert blas_threads() == {outer}  # restored
        record = json.loads(run.record.to_json())
        record.pop("finished", None)
        runs.append((record, run.rows.drop(columns="seconds")))
    assert seen == [{1}, {1}]
    assert runs[0][0] == runs[1][0] and runs[0][0]["corpus_id_accuracy"] is not None
    pd.testing.assert_frame_equal(runs[0][1], runs[1][1], check_exact=True)
