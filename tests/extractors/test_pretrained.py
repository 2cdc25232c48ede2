"""Pretrained extractors on tiny randomly initialised models built from the real config classes, saved
with ``save_pretrained`` and loaded through the same path a real checkpoint takes. No network."""

import numpy as np
import pytest
import transformers

from sergen.errors import SergenError
from sergen.extractors import get_extractor
from sergen.config import data_dir

LENGTHS = [1, 100, 319, 320, 399, 400, 401, 511, 512, 513, 1000, 4000, 16000, 23456]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    transformers.set_seed(0)
    models = {
        "wavlm-large": transformers.WavLMModel(transformers.WavLMConfig(
            hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64,
            conv_dim=(16,) * 7, feat_extract_norm="layer", do_stable_layer_norm=True, num_buckets=32,
            max_bucket_distance=100)),
        "encodec": transformers.EncodecModel(transformers.EncodecConfig(
            hidden_size=16, num_filters=4, num_lstm_layers=1, codebook_size=16)),
        "dac-44khz": transformers.DacModel(transformers.DacConfig(
            encoder_hidden_size=4, decoder_hidden_size=16, n_codebooks=2, codebook_size=16, codebook_dim=4,
            sampling_rate=44100)),
    }
    for name, model in models.items():
        model.save_pretrained(root / name)
    return root


def wave(n, seed=0):
    return (0.1 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


@pytest.mark.parametrize("name,dim", [("wavlm-large", 32 * 2), ("encodec", 16), ("dac-44khz", 4 * 16)])
def test_frame_counts_and_dims(tiny, name, dim):
    kwargs = {"layers": (1, 3)} if name == "wavlm-large" else {}
    ex = get_extractor(name, weights=tiny / name, **kwargs).load()
    assert ex.dim == dim
    for n in LENGTHS:
        out = ex.embed([wave(ex.padded_length(n), n)])[0]
        assert out.shape == (ex.num_frames(n), dim), (name, n)
        assert np.isfinite(out).all()
    info = ex.weights_info()
    assert info["id"] == ex.repo_id and len(info["sha256"]) == 64


def test_wavlm_batched_equals_one_at_a_time(tiny):
    ex = get_extractor("wavlm-large", weights=tiny / "wavlm-large", layers=(0, 3)).load()
    waves = [wave(n, n) for n in (4000, 9000, 16000)]
    batched = ex.embed(waves)
    for w, b in zip(waves, batched):
        np.testing.assert_allclose(b, ex.embed([w])[0], atol=2e-4, rtol=1e-3)


@pytest.mark.parametrize("name", ["encodec", "dac-44khz"])
def test_codecs_refuse_to_batch(name, tiny):
    """Convolution padding at the end differs between padded batches and single inputs: one at a time."""
    assert not get_extractor(name, weights=tiny / name).batchable


def test_missing_weights_say_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(SergenError) as exc:
        get_extractor("wavlm-large").load()
    msg = exc.value.message
    assert "wavlm-large weights not found: microsoft/wavlm-large" in msg
    assert "huggingface-cli download microsoft/wavlm-large" in msg and "--weights DIR" in msg
    with pytest.raises(SergenError, match="no encodec checkpoint in the folder given"):
        get_extractor("encodec", weights=tmp_path).load()


def test_wavlm_unknown_layer(tiny):
    with pytest.raises(SergenError, match=r"hidden states 0…3; layer\(s\) \[7\] do not exist"):
        get_extractor("wavlm-large", weights=tiny / "wavlm-large", layers=(7,)).load()


def test_wavlm_layers_into_a_store_and_the_probe_picks_one(tiny, demo_root):
    """extract with chosen layers → one store holding them side by side → probe --layer picks one."""
    from sergen.corpora import read_corpus, write_manifest
    from sergen.experiments.probe import resolve_spec, run_probe
    from sergen.extract import extract
    from sergen import open_store
    from sergen.train.loop import TrainConfig

    write_manifest(read_corpus("emodb", demo_root / "emodb"))
    report = extract("wavlm-large", "emodb", weights=tiny / "wavlm-large", extractor_options={"layers": "1,3"})
    assert report.complete
    ds = open_store("wavlm-large", "emodb")
    assert ds.sizes["feature"] == 64 and ds.attrs["dim"] == 64
    from sergen.store.layout import store_path
    from sergen.store.reader import store_attrs

    attrs = store_attrs(store_path("wavlm-large", "emodb", data_dir("stores")))
    assert attrs["weights"]["id"] == "microsoft/wavlm-large" and attrs["settings"]["layers"] == [1, 3]
    fast = TrainConfig(max_steps=100, eval_every=50)
    for layer in ("1", "3", "-"):
        result = run_probe(resolve_spec("wavlm-large", "emodb", "emodb", head="linear", layer=layer, training=fast,
                                        n_boot=10))
        assert set(result.layer) == {layer}
    with pytest.raises(SergenError, match="layer 2 is not stored in the wavlm-large/emodb store; stored layers: 1, 3"):
        run_probe(resolve_spec("wavlm-large", "emodb", "emodb", layer="2", training=fast))


@pytest.fixture(scope="module")
def tiny_phi4(tmp_path_factory):
    """A tiny full Phi-4-multimodal (language model, vision and audio), saved in shards with an index."""
    transformers.set_seed(0)
    config = transformers.Phi4MultimodalConfig(
        vocab_size=300, hidden_size=32, intermediate_size=48, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, bos_token_id=0, pad_token_id=0, eos_token_id=0,
        audio_config=dict(hidden_size=32, intermediate_size=48, num_blocks=2, num_attention_heads=2,
                          ext_pw_out_channel=32, depthwise_separable_out_channel=32, nemo_conv_channels=32),
        vision_config=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8, crop_size=32))
    model = transformers.Phi4MultimodalForCausalLM(config).eval()
    root = tmp_path_factory.mktemp("phi4")
    model.save_pretrained(root, max_shard_size="100KB")
    transformers.Phi4MultimodalFeatureExtractor().save_pretrained(root)
    return root, model


def test_phi4_encoder_alone_equals_the_full_model(tiny_phi4):
    import torch

    root, full = tiny_phi4
    assert (root / "model.safetensors.index.json").exists()  # sharded, as the real checkpoint
    ex = get_extractor("phi4", weights=root).load()
    assert ex.dim == 32 and not ex.batchable
    features = transformers.Phi4MultimodalFeatureExtractor()
    encoder = full.model.embed_tokens_extend.audio_embed.encoder
    for n in (1, 399, 400, 401, 1599, 1600, 16000, 16000 * 41):  # the last one is longer than 40 s
        w = wave(ex.padded_length(n), n)
        ours = ex.embed_one(w)
        assert ours.shape == (ex.num_frames(n), 32), n
        x = features(w, sampling_rate=16000, return_tensors="pt")["audio_input_features"]
        with torch.no_grad():
            ref = encoder(x, None)
        np.testing.assert_allclose(ours, ref[0].numpy(), atol=1e-5)


def test_phi4_reads_only_the_encoder_shards(tiny_phi4, monkeypatch):
    import json

    import safetensors

    from sergen.extractors.phi4 import ENCODER_PREFIX, encoder_state_dict

    root, _ = tiny_phi4
    weight_map = json.loads((root / "model.safetensors.index.json").read_text())["weight_map"]
    needed = {f for k, f in weight_map.items() if k.startswith(ENCODER_PREFIX)}
    assert needed < set(weight_map.values())  # some shards hold no encoder weights
    opened = []
    real = safetensors.safe_open
    monkeypatch.setattr(safetensors, "safe_open", lambda path, **kw: opened.append(path.split("/")[-1]) or real(path, **kw))
    state = encoder_state_dict(root)
    assert set(opened) == needed
    assert all(not k.startswith("model.") for k in state)


def test_hf_generic_encoder(tmp_path, demo_root):
    from sergen.corpora import read_corpus, write_manifest
    from sergen.extract import extract
    from sergen.extractors import canonical_model
    from sergen import open_store

    transformers.set_seed(0)
    model = transformers.HubertModel(transformers.HubertConfig(
        hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, conv_dim=(8,) * 7))
    model.save_pretrained(tmp_path / "hubert")
    transformers.Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(tmp_path / "hubert")
    ex = get_extractor("hf:facebook/hubert-base-ls960", weights=tmp_path / "hubert", layer=1).load()
    assert (ex.name, ex.dim, ex.sample_rate, ex.frame_rate, ex.min_samples) == (
        "hf-facebook--hubert-base-ls960", 16, 16000, 50.0, 400)
    for n in (1, 399, 400, 401, 719, 720, 16000, 33333):
        assert ex.embed_one(wave(ex.padded_length(n), n)).shape == (ex.num_frames(n), 16), n
    assert canonical_model("hf:facebook/hubert-base-ls960") == "hf-facebook--hubert-base-ls960"
    write_manifest(read_corpus("emodb", demo_root / "emodb"))
    report = extract("hf:facebook/hubert-base-ls960", "emodb", weights=tmp_path / "hubert")
    assert report.complete
    assert open_store("hf-facebook--hubert-base-ls960", "emodb").sizes["feature"] == 16


def test_vggish_checkpoint_frames_and_batching(tmp_path):
    import torch

    from sergen.extractors.vggish import CHECKPOINT, build_network, log_mel_examples, mel_matrix

    torch.manual_seed(0)
    torch.save(build_network().state_dict(), tmp_path / CHECKPOINT)  # the published format: a plain state dict
    ex = get_extractor("vggish", weights=tmp_path).load()
    assert ex.min_samples == 15600
    for n in (1, 15599, 15600, 15600 + 96 * 160 - 1, 15600 + 96 * 160, 16000 * 5 + 7):
        assert ex.embed([wave(ex.padded_length(n), n)])[0].shape == (ex.num_frames(n), 128), n
    waves = [wave(n, n) for n in (16000, 40000, 25000)]
    for batched, w in zip(ex.embed(waves), waves):
        np.testing.assert_allclose(batched, ex.embed([w])[0], atol=1e-5)
    # the front end: a 1 kHz tone peaks in the mel band holding 1 kHz, in every frame of the example
    t = np.arange(16000) / 16000
    examples = log_mel_examples(np.sin(2 * np.pi * 1000 * t), mel_matrix())
    assert examples.shape == (1, 96, 64)
    centres = 700 * (np.exp(np.linspace(1127 * np.log1p(125 / 700), 1127 * np.log1p(7500 / 700), 66)[1:-1] / 1127) - 1)
    assert abs(centres[examples[0].argmax(axis=1)] - 1000).max() < 60
    with pytest.raises(SergenError, match="VGGish checkpoint not found"):
        get_extractor("vggish", weights=tmp_path / "nowhere.pth").load()
