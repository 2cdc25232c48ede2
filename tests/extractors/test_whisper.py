"""whisper-*: encoder frames of a tiny random Whisper built from the real ``WhisperConfig``, saved as the hub's
checkpoints are (``WhisperForConditionalGeneration`` plus its feature extractor) and loaded through --weights.
The references are transformers' own pipeline: its feature extractor, its full model's encoder, and its own
frame count (the feature extractor's attention mask through ``_get_feat_extract_output_lengths``)."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch
import transformers

from sergen.errors import SergenError
from sergen.extractors import EXTRACTORS, get_extractor
from sergen.extractors.base import sha256_of
from sergen.extractors.whisper import default_layers
from sergen.config import data_dir

TINY = dict(d_model=16, encoder_layers=3, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
            encoder_ffn_dim=32, decoder_ffn_dim=32, vocab_size=64, max_target_positions=8, pad_token_id=0,
            bos_token_id=0, eos_token_id=0, decoder_start_token_id=0)
PIECE = 30 * 16000


def save_whisper(root, model, mel_bins=128, **save):
    model.save_pretrained(root, **save)
    transformers.WhisperFeatureExtractor(feature_size=mel_bins).save_pretrained(root)
    return root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """large-v3's layout (128 Mel bins) at toy size: the full model, so the decoder's weights are in the file."""
    transformers.set_seed(0)
    model = transformers.WhisperForConditionalGeneration(transformers.WhisperConfig(num_mel_bins=128, **TINY)).eval()
    return save_whisper(tmp_path_factory.mktemp("whisper"), model), model.model.encoder


def wave(n, seed=0):
    return (0.1 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def reference(encoder, w, layers):
    """transformers' own frames for audio of at most 30 s: the frames its attention mask says cover it."""
    features = transformers.WhisperFeatureExtractor(feature_size=encoder.config.num_mel_bins)
    f = features(w, sampling_rate=16000, return_tensors="pt", return_attention_mask=True)
    n = int(encoder._get_feat_extract_output_lengths(f["attention_mask"].sum(-1))[0])
    with torch.no_grad():
        out = encoder(f["input_features"], output_hidden_states=True)
    assert torch.equal(out.hidden_states[-1], out.last_hidden_state)  # the last state is after the final norm
    return np.concatenate([out.hidden_states[layer][0, :n].numpy() for layer in layers], axis=1)


def test_frames_are_the_encoder_frames_that_cover_the_audio(tiny):
    root, encoder = tiny
    ex = get_extractor("whisper-large-v3", weights=root, layers="0,3").load()
    assert (ex.dim, ex.sample_rate, ex.frame_rate, ex.batchable) == (32, 16000, 50.0, True)
    lengths = [1, 160, 161, 320, 321, 16001, PIECE - 1, PIECE]
    batched = ex.embed([wave(n, n) for n in lengths])  # one call: pieces encoded 8 at a time, like a store batch
    for n, out in zip(lengths, batched):
        ref = reference(encoder, wave(n, n), (0, 3))
        assert out.shape == ref.shape == (ex.num_frames(n), 32) == (-(-n // 320), 32), n
        np.testing.assert_allclose(out, ref, atol=2e-5, rtol=1e-4)


def test_audio_longer_than_30_s_is_encoded_in_30_s_pieces(tiny):
    root, encoder = tiny
    ex = get_extractor("whisper-large-v3", weights=root, layers=(3,)).load()
    n = 2 * PIECE + 321
    w = wave(n, 7)
    out = ex.embed([w])[0]
    assert out.shape == (ex.num_frames(n), 16) == (1500 + 1500 + 2, 16)
    ref = np.concatenate([reference(encoder, w[s:s + PIECE], (3,)) for s in (0, PIECE, 2 * PIECE)])
    np.testing.assert_allclose(out, ref, atol=2e-5, rtol=1e-4)


def test_frame_count_rule():
    ex = get_extractor("whisper-small")
    for n in list(range(1, 1300)) + [PIECE - 1, PIECE, PIECE + 1, 3 * PIECE + 5, 10**7 + 3]:
        assert ex.num_frames(n) == -(-n // 320), n
    assert ex.num_frames(0) == 1  # padded to one sample, as the store records
    assert [default_layers(d) for d in (32, 24, 12, 6, 3)] == [
        (8, 16, 24, 32), (6, 12, 18, 24), (3, 6, 9, 12), (2, 3, 5, 6), (1, 2, 3)]


def test_names_defaults_and_weights_record(tiny):
    root, _ = tiny
    assert [EXTRACTORS.canonical(n) for n in ("whisper", "Whisper-Large-V3", "whisper-base")] == [
        "whisper-large-v3", "whisper-large-v3", "whisper-base"]
    dims = {n: (EXTRACTORS.get(n).dim, get_extractor(n).dim) for n in
            ("whisper-large-v3", "whisper-medium", "whisper-small", "whisper-base")}
    assert dims == {"whisper-large-v3": (1280, 4 * 1280), "whisper-medium": (1024, 4 * 1024),
                    "whisper-small": (768, 4 * 768), "whisper-base": (512, 4 * 512)}
    assert get_extractor("whisper", weights=root).embed([wave(1000)])[0].shape == (4, 48)  # loads on first use
    ex = get_extractor("whisper", weights=root).load()  # default layers: the quarters of this encoder's 3 blocks
    assert (ex.name, ex.layers, ex.dim) == ("whisper-large-v3", (1, 2, 3), 48)
    assert ex.settings() == {"layers": [1, 2, 3], "piece_seconds": 30}
    assert type(ex.model).__name__ == "WhisperEncoder"  # the decoder is never built
    info = ex.weights_info()
    assert info["id"] == "openai/whisper-large-v3" and info["files"] == ["model.safetensors"]
    assert info["sha256"] == sha256_of(root / "model.safetensors")


def test_whisper_model_layout_in_shards(tmp_path):
    """A ``WhisperModel`` checkpoint (keys ``encoder.*``), sharded with an index, 80 Mel bins as in whisper-small."""
    transformers.set_seed(1)
    model = transformers.WhisperModel(transformers.WhisperConfig(num_mel_bins=80, **TINY)).eval()
    root = save_whisper(tmp_path / "w", model, mel_bins=80, max_shard_size="20KB")
    assert (root / "model.safetensors.index.json").exists()
    ex = get_extractor("whisper-small", weights=root, layers="2").load()
    w = wave(12345, 3)
    np.testing.assert_allclose(ex.embed([w])[0], reference(model.encoder, w, (2,)), atol=2e-5, rtol=1e-4)
    assert all("decoder" not in f for f in ex.weights_info()["files"]) and ex.weights_info()["files"]


def test_a_store_through_the_cli_with_layers(tiny, tmp_path):
    """`sergen config set-weights whisper DIR`, then `sergen extract --model whisper --layers 1,3`: every utterance,
    even one over 30 s, gets exactly the planned frames; the layers sit side by side in the store."""
    from typer.testing import CliRunner

    from sergen.cli.app import app
    from sergen.store.layout import store_path
    from sergen import open_store
    from sergen.store.reader import store_attrs

    root, _ = tiny
    corpus = tmp_path / "audio"
    corpus.mkdir()
    seconds = {"a.wav": 0.01, "b.wav": 1.3, "c.wav": 31.0, "d.wav": 2.0}
    for i, (name, s) in enumerate(seconds.items()):
        sf.write(corpus / name, wave(int(s * 16000), i), 16000, subtype="FLOAT")
    (corpus / "labels.csv").write_text("path,label,split\na.wav,happy,train\nb.wav,sad,train\nc.wav,angry,test\n"
                                       "d.wav,neutral,valid\n")
    runner = CliRunner()
    result = runner.invoke(app, ["manifest", "folder", "--root", str(corpus)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["config", "set-weights", "whisper", str(root)])  # remembered: no --weights below
    assert result.exit_code == 0 and "whisper-large-v3 weights set to" in result.output, result.output
    listed = {m["model"]: m for m in json.loads(runner.invoke(app, ["models", "ls", "--json"]).output)["models"]}
    assert listed["whisper-large-v3"]["weights_present"] and listed["whisper-large-v3"]["aliases"] == ["whisper"]
    assert not listed["whisper-base"]["weights_present"] and listed["whisper-base"]["dim"] == 512
    result = runner.invoke(app, ["extract", "--model", "whisper", "--corpus", "folder", "--layers", "1,3",
                                 "--device", "cpu"])
    assert result.exit_code == 0, result.output
    ds = open_store("whisper-large-v3", "folder")
    attrs = store_attrs(store_path("whisper-large-v3", "folder", data_dir("stores")))
    assert attrs["settings"] == {"layers": [1, 3], "piece_seconds": 30} and ds.sizes["feature"] == 32
    frames = dict(zip(ds["utt_id"].values, (ds["stop"] - ds["start"]).values))
    assert sorted(frames.values()) == sorted(-(-int(s * 16000) // 320) for s in seconds.values())  # 1, 65, 100, 1550


def test_bad_checkpoints_say_what_and_where(tiny, tmp_path, monkeypatch):
    root, _ = tiny
    with pytest.raises(SergenError, match=r"has hidden states 0…3; layer\(s\) \[7\] do not exist"):
        get_extractor("whisper-large-v3", weights=root, layers=(7,)).load()
    with pytest.raises(SergenError, match=r"whisper-large-v3: layers='1,1' is not valid \(a hidden state is named twice: \[1, 1\]\)"):
        get_extractor("whisper-large-v3", weights=root, layers="1,1").load()

    eighty = tmp_path / "eighty"
    shutil.copytree(root, eighty)
    transformers.WhisperFeatureExtractor(feature_size=80).save_pretrained(eighty)
    with pytest.raises(SergenError, match=r"Mel bins, encoder positions\) = \(16000, 160, 480000, 80, 1500\), "
                                          r"expected \(16000, 160, 480000, 128, 1500\)"):
        get_extractor("whisper-large-v3", weights=eighty).load()
    (eighty / "preprocessor_config.json").unlink()
    with pytest.raises(SergenError, match="no preprocessor_config.json beside the whisper-large-v3 weights") as exc:
        get_extractor("whisper-large-v3", weights=eighty).load()
    assert exc.value.where == str(eighty)

    wider = tmp_path / "wider"  # config of one size, weights of another
    shutil.copytree(root, wider)
    transformers.WhisperConfig(num_mel_bins=128, **dict(TINY, d_model=32)).save_pretrained(wider)
    with pytest.raises(SergenError, match="the whisper-large-v3 checkpoint does not match its config.json"):
        get_extractor("whisper-large-v3", weights=wider).load()

    hubert = tmp_path / "hubert"
    transformers.HubertModel(transformers.HubertConfig(
        hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, conv_dim=(8,) * 7,
    )).save_pretrained(hubert)
    with pytest.raises(SergenError, match="this is a hubert checkpoint, not Whisper") as exc:
        get_extractor("whisper-medium", weights=hubert).load()
    assert "hf:<model-id>" in exc.value.fix

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(SergenError, match="whisper-large-v3 weights not found: openai/whisper-large-v3") as exc:
        get_extractor("whisper-large-v3").load()
    assert "huggingface-cli download openai/whisper-large-v3" in exc.value.fix
