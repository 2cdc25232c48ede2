"""A store's first and last windows ramp up from and down to ``RAMP_FIRST_UTTS`` utterances (issue 22: the
model's wait for the writer at a store's end, and the writer's for the model at its start, were a store's
serial share). The windows cover every pending utterance once, in order, none over ``window_utts``. A store
written in ramped windows equals one written in whole windows: value for value for melspec (each utterance
alone); for a torch model of the real config class, whose padded batches the windows group differently,
within the batch-invariance tolerance (``sergen.batch_check.TOLERANCE``; measured: 90 of 783,936 float16
values one unit in the last place apart, BLAS summing in another order for another batch shape)."""

import numpy as np
import pytest
import zarr

import sergen.extract as extract_module
from sergen.batch_check import TOLERANCE
from sergen.corpora import read_corpus, write_manifest
from sergen.extract import RAMP_FIRST_UTTS, _windows, extract
from tests.store.test_parallel_extract import assert_same_store


def _sizes(todo, max_utts):
    windows = _windows(np.asarray(todo), max_utts)
    return windows, [int(b - a) for a, b in windows]


@pytest.mark.parametrize("n", [1, 15, 16, 40, 100, 535, 1000, 5003])
def test_windows_cover_the_run_once_in_order_and_ramp_at_both_ends(n):
    windows, sizes = _sizes(range(n), 256)
    assert [int(i) for a, b in windows for i in range(a, b)] == list(range(n))
    assert max(sizes) <= 256
    if n >= 2 * RAMP_FIRST_UTTS:
        assert sizes[0] == sizes[-1] == RAMP_FIRST_UTTS
    if n >= 2 * (16 + 32 + 64 + 128) + 256:  # a whole ramp at each end, then whole windows between
        assert sizes[:5] == [16, 32, 64, 128, 256] and sizes[-4:] == [128, 64, 32, 16]


def test_windows_split_at_gaps_and_small_window_settings_are_unramped():
    windows, _ = _sizes([0, 1, 2, 5, 6, 7, 8, 20], 2)
    assert [(int(a), int(b)) for a, b in windows] == [(0, 2), (2, 3), (5, 7), (7, 9), (20, 21)]
    assert _sizes(range(100), 8)[1] == [8] * 12 + [4]  # below the ramp's first size: as before
    windows, sizes = _sizes(list(range(50)) + list(range(60, 600)), 256)
    assert sizes[:3] == [16, 18, 16] and sizes[3:7] == [16, 32, 64, 128]  # each run ramps on its own


def _whole_windows(monkeypatch):
    monkeypatch.setattr(extract_module, "RAMP_FIRST_UTTS", 10 ** 9)


def test_melspec_store_in_ramped_windows_equals_whole_windows(demo_root, tmp_path, monkeypatch):
    write_manifest(read_corpus("ravdess", demo_root / "ravdess"))
    ramped = extract("melspec", "ravdess", stores_root=tmp_path / "ramped", show_progress=False, window_utts=64)
    _whole_windows(monkeypatch)
    whole = extract("melspec", "ravdess", stores_root=tmp_path / "whole", show_progress=False, window_utts=64)
    assert ramped.complete and whole.complete and ramped.written == whole.written > 2 * 64
    assert_same_store(ramped.path, whole.path)


def test_torch_model_store_in_ramped_windows_equals_whole_windows(demo_root, tmp_path, monkeypatch):
    import transformers

    weights = tmp_path / "wavlm"
    transformers.set_seed(0)
    transformers.WavLMModel(transformers.WavLMConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, conv_dim=(16,) * 7,
        feat_extract_norm="layer", do_stable_layer_norm=True, num_buckets=32,
        max_bucket_distance=100)).save_pretrained(weights)
    write_manifest(read_corpus("emodb", demo_root / "emodb"))
    kwargs = dict(weights=weights, device="cpu", show_progress=False, window_utts=64, batch_seconds=8.0,
                  extractor_options={"layers": "1,2"})
    ramped = extract("wavlm-large", "emodb", stores_root=tmp_path / "ramped", **kwargs)
    _whole_windows(monkeypatch)
    whole = extract("wavlm-large", "emodb", stores_root=tmp_path / "whole", **kwargs)
    assert ramped.complete and whole.complete and ramped.written == whole.written > 2 * 16
    got, want = zarr.open_group(ramped.path, mode="r"), zarr.open_group(whole.path, mode="r")
    for name in ("offsets", "status"):
        np.testing.assert_array_equal(got[name][:], want[name][:], err_msg=name)
    a, b = got["frames"][:].astype(np.float32), want["frames"][:].astype(np.float32)
    assert np.abs(a - b).max() <= TOLERANCE["fp32"] * np.sqrt(np.mean(b.astype(np.float64) ** 2))
