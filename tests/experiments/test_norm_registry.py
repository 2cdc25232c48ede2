"""The normalisations as registered strategies (``sergen.train.norms``): the numbers of ``global``, ``corpus``
and ``speaker`` are those the code gave before they became strategies (recorded on the same stores and seed),
and every layer reads the registry (the probe, the checks, the report's transductive note)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sergen import LABELS
from sergen.experiments.probe import probe_run, resolve_spec
from sergen.train.loop import TrainConfig

DIM = 5
FAST = TrainConfig(max_steps=300, eval_every=100, min_steps=100)


def write_store(root, corpus: str, seed: int, scale, offset, n: int = 160):
    """Four classes apart along four features, every corpus scaled and shifted per feature its own way."""
    from sergen.store.writer import StoreWriter, create_store

    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(4), n // 4)
    split = np.repeat(["train", "valid", "test"], [n // 2, n // 4, n // 4])
    plan = pd.DataFrame({"utt_id": [f"{corpus}{i:04d}" for i in range(n)], "label": [LABELS[c] for c in labels],
                         "native_label": [LABELS[c] for c in labels], "speaker": [f"{corpus}-s{i // 8}" for i in range(n)],
                         "gender": "F", "split": split, "path": "-", "duration_s": 2.0, "n_frames": 20})
    group = create_store(root / "toy" / f"{corpus}.zarr", plan, {
        "model": "toy", "corpus": corpus, "frame_rate": 10.0, "sample_rate": 16000, "synthetic": True,
        "weights": {}, "settings": {}, "manifest_sha256": "-"}, DIM)
    centres = np.zeros((4, DIM), np.float32)
    centres[np.arange(4), np.arange(4)] = 1.0
    mixing = np.eye(DIM) + 0.3 * rng.standard_normal((DIM, DIM))  # correlated features, per corpus
    frames = [((centres[c] + 0.9 * rng.standard_normal((20, DIM))) @ mixing) * scale + offset for c in labels]
    writer = StoreWriter(group)
    writer.write_window(0, [f.astype(np.float32) for f in frames], [1] * n)
    writer.mark_complete()


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("norm-registry")
    write_store(root, "emodb", 0, np.ones(DIM), np.zeros(DIM))
    write_store(root, "cremad", 1, np.array([2.0, 0.5, 1.0, 3.0, 1.0]), np.array([1.0, -1.0, 0.5, 2.0, 3.0]))
    write_store(root, "ravdess", 2, np.array([0.5, 2.0, 1.5, 1.0, 0.7]), np.array([-2.0, 1.0, 0.0, 1.0, -3.0]))
    return root


def aurocs(run) -> dict:
    rows = run.rows[run.rows.metric == "auroc"]
    return {t: float(v) for t, v in zip(rows.test, rows.value)}


def run_of(stores, norm: str, pool: str = "mean", train: str = "emodb+cremad", head: str = "linear"):
    spec = resolve_spec("toy", train, "emodb,cremad,ravdess", stores, head=head, norm=norm, pool=pool,
                        training=FAST)
    return probe_run(spec, stores)


RECORDED = {  # (norm, pool, training set) → test corpus → AUROC, from the code before the registry (f3e3d02)
    ('global', 'mean', 'emodb'): {'cremad': 0.7516666666666667, 'emodb': 0.9750000000000001, 'ravdess': 0.7066666666666667},
    ('global', 'mean', 'emodb+cremad'): {'cremad': 0.8708333333333333, 'emodb': 0.9691666666666666, 'ravdess': 0.8816666666666667},
    ('global', 'mean+std', 'emodb'): {'cremad': 0.8675, 'emodb': 0.8350000000000001, 'ravdess': 0.8866666666666667},
    ('global', 'mean+std', 'emodb+cremad'): {'cremad': 0.8791666666666667, 'emodb': 0.9425, 'ravdess': 0.9533333333333334},
    ('corpus', 'mean', 'emodb'): {'cremad': 0.9158333333333333, 'emodb': 0.9750000000000001, 'ravdess': 0.845},
    ('corpus', 'mean', 'emodb+cremad'): {'cremad': 0.9450000000000001, 'emodb': 0.9816666666666667, 'ravdess': 0.8674999999999999},
    ('corpus', 'mean+std', 'emodb'): {'cremad': 0.8608333333333333, 'emodb': 0.8374999999999999, 'ravdess': 0.9191666666666667},
    ('corpus', 'mean+std', 'emodb+cremad'): {'cremad': 0.8591666666666667, 'emodb': 0.8825000000000001, 'ravdess': 0.8758333333333334},
    ('speaker', 'mean', 'emodb'): {'cremad': 0.9216666666666666, 'emodb': 0.9858333333333333, 'ravdess': 0.8491666666666666},
    ('speaker', 'mean', 'emodb+cremad'): {'cremad': 0.95, 'emodb': 0.995, 'ravdess': 0.8683333333333333},
    ('speaker', 'mean+std', 'emodb'): {'cremad': 0.8591666666666666, 'emodb': 0.8416666666666667, 'ravdess': 0.9225},
    ('speaker', 'mean+std', 'emodb+cremad'): {'cremad': 0.8633333333333334, 'emodb': 0.8891666666666667, 'ravdess': 0.8733333333333335},
}


@pytest.mark.parametrize("norm, pool, train", list(RECORDED))
def test_numbers_are_those_before_the_registry(stores, norm, pool, train):
    assert aurocs(run_of(stores, norm, pool, train)) == RECORDED[norm, pool, train]


def test_every_layer_reads_the_registry():
    """The CLI's help and allowed values, the spec check, the report's transductive note: from the registry."""
    from sergen.cli import experiments as cli
    from sergen.cli.run_options import base_help
    from sergen.report import remedies
    from sergen.spec import OPTION
    from sergen.train.norms import NORMS, transductive_norms

    names = NORMS.names()
    assert names[:3] == ["global", "corpus", "speaker"]
    help_text = base_help(OPTION["norm"])
    assert all(f"{n}: {NORMS.get(n).help}" in help_text for n in names)
    assert cli.ALLOWED["norm"] == ", ".join(f'"{n}"' for n in names[:-1]) + f' or "{names[-1]}"'
    assert set(transductive_norms()) == {n for n in names if n != "global"}
    assert remedies.TRANSDUCTIVE == transductive_norms()
    assert all(f"`--norm {n}`" in remedies.TRANSDUCTIVE_NOTE for n in transductive_norms())
    assert "`--norm global`" not in remedies.TRANSDUCTIVE_NOTE


def test_the_console_notes_are_those_of_before(stores):
    from sergen.cli.experiments import norm_note

    def note(norm, train="emodb", test="emodb,cremad"):
        return norm_note(resolve_spec("toy", train, test, stores, norm=norm))

    assert note("global") is None and note("corpus", test="emodb") is None
    assert note("corpus") == ("--norm corpus: cremad standardised by the statistics of their own unlabelled "
                              "utterances (transductive)")
    assert note("speaker", test="emodb") == ("--norm speaker: each test speaker standardised by the statistics of "
                                             "their own test utterances (transductive)")


def test_poolings_are_registered_with_what_they_need_and_the_cli_reads_them():
    from sergen.cli import experiments as cli
    from sergen.cli.run_options import base_help
    from sergen.spec import OPTION
    from sergen.train.pooling import POOLS, input_dim, uses_squares

    assert POOLS.names() == ["mean", "mean+std"]
    assert [uses_squares(n) for n in POOLS.names()] == [False, True]
    assert [input_dim(n, 1024) for n in POOLS.names()] == [1024, 2048]
    assert cli.ALLOWED["pool"] == '"mean" or "mean+std"'
    assert cli.GRID_ALLOWED["pool"] == '"mean" or "mean+std", or a list of them'
    assert base_help(OPTION["pool"]).endswith("— mean: the window's mean (the poster's); mean+std: the window's "
                                              "mean and standard deviation (2×D inputs)")


def test_a_pooling_turns_utterances_and_statistics_into_the_heads_input():
    from sergen.train.pooling import pooling

    mean, std = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.5, 1.0], [1.5, 1.0]])

    def never():
        raise AssertionError("mean pooling read the stds")

    assert [h.tolist() for h in pooling("mean").utterance(mean, never)] == [mean.tolist()]
    assert [h.tolist() for h in pooling("mean+std").utterance(mean, lambda: std)] == [mean.tolist(), std.tolist()]
    head_mean, head_std = pooling("mean+std").head_statistics(np.zeros(2), np.ones(2), lambda: std)
    assert head_mean.tolist() == [0.0, 0.0, 1.0, 1.0]  # the std half: mean and spread across utterances
    assert head_std.tolist() == [1.0, 1.0, 0.5, 1.0]  # a constant column divides by 1
    assert [a.tolist() for a in pooling("mean").head_statistics(np.zeros(2), np.ones(2), never)] == [[0, 0], [1, 1]]
