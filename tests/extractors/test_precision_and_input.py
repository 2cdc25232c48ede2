"""Precision (fp32 / bf16 / fp16) and Whisper's input mode (padded / trimmed): what is allowed where, that
both are recorded in the store's settings (another store), that a probe refuses to mix stores made
differently, and how far bf16 and trimmed frames move from the defaults on tiny models."""

import numpy as np
import pytest
import torch
import transformers

from sergen.errors import SergenError
from sergen.extractors import get_extractor
from sergen.extractors.whisper import PIECE_SAMPLES, trimmed_hidden_states

from .test_whisper import TINY, save_whisper
from sergen.config import data_dir


def wave(n, seed=0):
    return (0.1 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def deviation(a, b) -> tuple[float, float]:
    """(max |a − b|, smallest per-frame cosine)."""
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(np.abs(a - b).max()), float(cos.min())


@pytest.fixture(scope="module")
def tiny_wavlm(tmp_path_factory):
    root = tmp_path_factory.mktemp("wavlm")
    transformers.set_seed(0)
    transformers.WavLMModel(transformers.WavLMConfig(
        hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64, conv_dim=(16,) * 7,
        feat_extract_norm="layer", do_stable_layer_norm=True, num_buckets=32, max_bucket_distance=100)).save_pretrained(root)
    return root


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory):
    transformers.set_seed(0)
    model = transformers.WhisperForConditionalGeneration(transformers.WhisperConfig(num_mel_bins=128, **TINY)).eval()
    return save_whisper(tmp_path_factory.mktemp("whisper"), model), model.model.encoder


def test_what_precision_is_allowed_where(tiny_wavlm):
    with pytest.raises(SergenError, match="fp16 runs on CUDA only") as exc:
        get_extractor("wavlm-large", weights=tiny_wavlm, precision="fp16", device="cpu")
    assert "--precision bf16" in exc.value.fix
    with pytest.raises(SergenError, match=r"melspec runs in fp32 only \(no network under autocast\): precision bf16"):
        get_extractor("melspec", precision="bf16")
    with pytest.raises(SergenError, match="unknown precision 'fp8'"):
        get_extractor("wavlm-large", weights=tiny_wavlm, precision="fp8")
    fp32 = get_extractor("wavlm-large", weights=tiny_wavlm, layers="1,3").load()
    bf16 = get_extractor("wavlm-large", weights=tiny_wavlm, layers="1,3", precision="bf16").load()
    assert fp32.store_settings() == {"layers": [1, 3], "normalise": "per-utterance"}  # as before: old stores resume
    assert bf16.store_settings() == {"layers": [1, 3], "normalise": "per-utterance", "precision": "bf16"}
    assert get_extractor("wavlm-large", weights=tiny_wavlm, precision="fp16", device="cuda").precision == "fp16"


@pytest.mark.parametrize("name", ["wavlm-large", "whisper-large-v3"])
def test_bf16_frames_stay_close_to_fp32_on_cpu(name, tiny_wavlm, tiny_whisper, capsys):
    """bf16 really runs (frames differ) and stays close: per-frame cosine ≥ 0.99 on tiny random models."""
    weights = tiny_wavlm if name == "wavlm-large" else tiny_whisper[0]
    layers = "1,3"
    fp32 = get_extractor(name, weights=weights, layers=layers).load()
    bf16 = get_extractor(name, weights=weights, layers=layers, precision="bf16").load()
    w = wave(3 * 16000 + 7, 3)
    a, b = fp32.embed([w])[0], bf16.embed([w])[0]
    max_abs, cosine = deviation(a, b)
    print(f"{name} bf16 vs fp32 (CPU, tiny): max |Δ| {max_abs:.3g} (frames' max |x| {np.abs(a).max():.3g}), "
          f"min cosine {cosine:.5f}")
    assert 1e-4 < max_abs and cosine >= 0.99


def test_trimmed_forward_at_full_length_is_transformers_encoder(tiny_whisper):
    """The trimmed forward pass is transformers' encoder: at 3,000 Mel frames it gives its hidden states."""
    _, encoder = tiny_whisper
    mel = torch.randn(2, 128, 3000)
    with torch.no_grad():
        ours = trimmed_hidden_states(encoder, mel)
        ref = encoder(mel, output_hidden_states=True).hidden_states
    assert len(ours) == len(ref) == TINY["encoder_layers"] + 1
    for o, r in zip(ours, ref):
        torch.testing.assert_close(o, r, atol=1e-5, rtol=1e-5)


def test_trimmed_frames_counts_settings_and_distance(tiny_whisper, capsys):
    root, _ = tiny_whisper
    padded = get_extractor("whisper-large-v3", weights=root, layers="0,3").load()
    trimmed = get_extractor("whisper-large-v3", weights=root, layers="0,3", input_mode="trimmed").load()
    assert trimmed.store_settings() == {"layers": [0, 3], "piece_seconds": 30, "input": "trimmed"}
    assert padded.store_settings() == {"layers": [0, 3], "piece_seconds": 30}
    assert not trimmed.batchable and trimmed.batch_key(16000) == 50 and trimmed.batch_key(16001) == 51
    for n in (1, 319, 320, 321, 3 * 16000 + 7, PIECE_SAMPLES, PIECE_SAMPLES + 5000):
        out = trimmed.embed([wave(n, n)])[0]
        assert out.shape == (padded.num_frames(n), 32) == (-(-n // 320), 32), n
    w = wave(3 * 16000, 1)  # a 3 s utterance: 150 frames either way
    a, b = padded.embed([w])[0], trimmed.embed([w])[0]
    assert a.shape == b.shape == (150, 32)
    # hidden state 0 (convolutions + positions) is equal but for the last frame, whose Mel window reaches past the
    # audio: reflect padding at the end of the trimmed input, zeros in the 30 s one
    np.testing.assert_allclose(a[:-1, :16], b[:-1, :16], atol=1e-4)
    assert np.abs(a[-1, :16] - b[-1, :16]).max() > 1e-4
    max_abs, cosine = deviation(a[:, 16:], b[:, 16:])  # the last block: attention no longer sees 27 s of padding
    print(f"whisper trimmed vs padded (3 s, tiny, last layer): max |Δ| {max_abs:.3g}, min cosine {cosine:.4f}")
    assert max_abs > 1e-3  # it is another computation, hence another store
    long = wave(PIECE_SAMPLES + 3 * 16000, 2)  # the first 30 s piece is encoded whole in both modes
    np.testing.assert_allclose(padded.embed([long])[0][:1500], trimmed.embed([long])[0][:1500], atol=1e-4)
    with pytest.raises(SergenError, match="whisper-large-v3: input_mode='short' is not one of its choices"):
        get_extractor("whisper-large-v3", weights=root, input_mode="short")


def test_stores_record_precision_and_a_probe_refuses_to_mix_them(tiny_wavlm, demo_root):
    from sergen.corpora import read_corpus, write_manifest
    from sergen.experiments.probe import resolve_spec
    from sergen.extract import extract
    from sergen.store.layout import store_path
    from sergen.store.reader import store_attrs

    for corpus in ("emodb", "ravdess"):
        write_manifest(read_corpus(corpus, demo_root / corpus))
    opts = {"layers": "1,3"}
    assert extract("wavlm-large", "emodb", weights=tiny_wavlm, device="cpu", show_progress=False,
                   extractor_options=dict(opts, precision="bf16")).complete
    assert store_attrs(store_path("wavlm-large", "emodb", data_dir("stores")))["settings"] == {
        "layers": [1, 3], "normalise": "per-utterance", "precision": "bf16"}
    with pytest.raises(SergenError, match="made with other extractor settings"):  # fp32 is another store
        extract("wavlm-large", "emodb", weights=tiny_wavlm, device="cpu", show_progress=False, extractor_options=opts)
    assert extract("wavlm-large", "ravdess", weights=tiny_wavlm, device="cpu", show_progress=False,
                   extractor_options=opts).complete
    assert "precision" not in store_attrs(store_path("wavlm-large", "ravdess", data_dir("stores")))["settings"]
    resolve_spec("wavlm-large", "emodb", "emodb")  # one kind: fine
    with pytest.raises(SergenError) as exc:
        resolve_spec("wavlm-large", "emodb", "ravdess")
    assert ("the wavlm-large stores of this run were computed differently (emodb: precision bf16, input padded; "
            "ravdess: precision fp32, input padded)") in exc.value.message
    assert "--precision" in exc.value.fix
