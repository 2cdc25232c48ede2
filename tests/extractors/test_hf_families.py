"""``hf:<id>`` on the checkpoint families EmoBox names — HuBERT (facebook/hubert-large-ll60k), wav2vec 2.0
(facebook/wav2vec2-base, a pre-training checkpoint; facebook/wav2vec2-large-960h-lv60-self, a CTC fine-tune),
data2vec-audio (facebook/data2vec-audio-base) — each a tiny random model of its real config class and head,
saved with its feature extractor and loaded through ``hf:`` as a real checkpoint is. References: the saved
model's own encoder on its own feature extractor's input."""

import numpy as np
import pytest
import soundfile as sf
import torch
import transformers
from safetensors.torch import load_file, save_file

from sergen.errors import SergenError
from sergen.extractors import get_extractor
from sergen.config import data_dir

SMALL = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, conv_dim=(8,) * 7)
LARGE_STYLE = dict(feat_extract_norm="layer", do_stable_layer_norm=True)  # the large / lv60 architectures
FAMILIES = {  # hub id: (class saved, config, normalise per utterance as the checkpoint's feature extractor says)
    "facebook/hubert-large-ll60k": (transformers.HubertModel, transformers.HubertConfig(**SMALL, **LARGE_STYLE), True),
    "facebook/wav2vec2-base": (transformers.Wav2Vec2ForPreTraining, transformers.Wav2Vec2Config(**SMALL), False),
    "facebook/wav2vec2-large-960h-lv60-self": (
        transformers.Wav2Vec2ForCTC, transformers.Wav2Vec2Config(vocab_size=12, **SMALL, **LARGE_STYLE), True),
    "facebook/data2vec-audio-base": (transformers.Data2VecAudioModel, transformers.Data2VecAudioConfig(
        **SMALL, num_conv_pos_embedding_layers=2, conv_pos_kernel_size=3), True),
}
LENGTHS = [1, 399, 400, 401, 719, 720, 16000, 33333]


def wave(n, seed=0):
    return (0.1 * np.random.default_rng(seed).standard_normal(n) + 0.05).astype(np.float32)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Each family saved as its hub checkpoint is: model and preprocessor_config.json in one folder."""
    root = tmp_path_factory.mktemp("families")
    models = {}
    for i, (model_id, (cls, config, normalise)) in enumerate(FAMILIES.items()):
        transformers.set_seed(i)
        model = cls(config).eval()
        folder = root / model_id.split("/")[1]
        model.save_pretrained(folder)
        transformers.Wav2Vec2FeatureExtractor(do_normalize=normalise).save_pretrained(folder)
        models[model_id] = (folder, model.base_model)
    return models


def reference(folder, encoder, w, layers):
    x = transformers.AutoFeatureExtractor.from_pretrained(folder)(w, sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        states = encoder(x["input_values"], output_hidden_states=True).hidden_states
    return torch.cat([states[layer] for layer in layers], dim=-1)[0].numpy()


@pytest.mark.parametrize("model_id", list(FAMILIES))
def test_family_frames_layers_and_values(saved, model_id):
    folder, encoder = saved[model_id]
    normalise = FAMILIES[model_id][2]
    ex = get_extractor(f"hf:{model_id}", weights=folder, layers="0,2").load()
    assert (ex.dim, ex.sample_rate, ex.frame_rate, ex.min_samples) == (32, 16000, 50.0, 400)
    assert ex.settings() == {"layers": [0, 2], "normalise": normalise}
    for n in LENGTHS:
        w = wave(ex.padded_length(n), n)
        out = ex.embed_one(w)
        assert out.shape == (ex.num_frames(n), 32) == ((max(n, 400) - 400) // 320 + 1, 32), (model_id, n)
        if n in (400, 16000):  # the checkpoint's weights, not random ones; its own input normalisation
            np.testing.assert_allclose(out, reference(folder, encoder, w, (0, 2)), atol=1e-4, rtol=1e-3)
    last = get_extractor(f"hf:{model_id}", weights=folder).load()  # one layer: the last, as before
    assert last.dim == 16 and last.settings() == {"layer": -1, "normalise": normalise}
    w = wave(16000, 1)
    np.testing.assert_allclose(last.embed_one(w), reference(folder, encoder, w, (2,)), atol=1e-4, rtol=1e-3)


def test_layers_into_a_store_through_the_cli(saved, tmp_path):
    """`sergen extract --model hf:… --layers 1,2 --weights DIR`: both layers side by side; the probe's --layer
    finds each."""
    from typer.testing import CliRunner

    from sergen.cli.app import app
    from sergen.experiments.data import layer_columns
    from sergen.store.layout import store_path
    from sergen import open_store
    from sergen.store.reader import store_attrs

    folder, _ = saved["facebook/hubert-large-ll60k"]
    corpus = tmp_path / "audio"
    corpus.mkdir()
    for i, name in enumerate("abcd"):
        sf.write(corpus / f"{name}.wav", wave(4000 + 1000 * i, i), 16000, subtype="FLOAT")
    (corpus / "labels.csv").write_text("path,label,split\na.wav,happy,train\nb.wav,sad,train\nc.wav,angry,test\n"
                                       "d.wav,neutral,valid\n")
    runner = CliRunner()
    assert runner.invoke(app, ["manifest", "folder", "--root", str(corpus)]).exit_code == 0
    result = runner.invoke(app, ["extract", "--model", "hf:facebook/hubert-large-ll60k", "--corpus", "folder",
                                 "--weights", str(folder), "--layers", "1,2", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    model = "hf-facebook--hubert-large-ll60k"
    ds = open_store(model, "folder")
    attrs = store_attrs(store_path(model, "folder", data_dir("stores")))
    assert attrs["settings"] == {"layers": [1, 2], "normalise": True} and ds.sizes["feature"] == 32
    assert sorted((ds["stop"] - ds["start"]).values) == [(n - 400) // 320 + 1 for n in (4000, 5000, 6000, 7000)]
    assert [layer_columns(attrs, layer, "here") for layer in ("1", "2", "-")] == [
        slice(0, 16), slice(16, 32), slice(16, 32)]


def test_checkpoints_hf_cannot_use_say_why(saved, tmp_path):
    folder, _ = saved["facebook/hubert-large-ll60k"]
    with pytest.raises(SergenError, match=r"facebook/hubert-large-ll60k encoder has hidden states 0…2; "
                                          r"layer\(s\) \[5\] do not exist"):
        get_extractor("hf:facebook/hubert-large-ll60k", weights=folder, layers="5").load()
    with pytest.raises(SergenError, match="has hidden states 0…2; layer 3 does not exist"):
        get_extractor("hf:facebook/hubert-large-ll60k", weights=folder, layer=3).load()
    with pytest.raises(SergenError, match="give one layer or several layers, not both"):
        get_extractor("hf:facebook/hubert-large-ll60k", weights=folder, layer=1, layers="1,2")

    bert = tmp_path / "bert"  # a text encoder
    transformers.BertModel(transformers.BertConfig(vocab_size=10, hidden_size=16, num_hidden_layers=1,
                                                   num_attention_heads=2, intermediate_size=32)).save_pretrained(bert)
    with pytest.raises(SergenError, match="bert-base-uncased is a bert model, not a wav2vec2-family encoder") as exc:
        get_extractor("hf:bert-base-uncased", weights=bert).load()
    assert exc.value.where == str(bert)

    whisper = tmp_path / "whisper"  # an encoder-decoder: its own extractor, not hf:
    transformers.WhisperModel(transformers.WhisperConfig(
        d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=32, decoder_ffn_dim=32, vocab_size=64, pad_token_id=0, bos_token_id=0, eos_token_id=0,
        decoder_start_token_id=0)).save_pretrained(whisper)
    with pytest.raises(SergenError, match="openai/whisper-large-v3 is a whisper model, not a wav2vec2-family encoder") as exc:
        get_extractor("hf:openai/whisper-large-v3", weights=whisper).load()
    assert "whisper-large-v3" in exc.value.fix and "--weights" in exc.value.fix

    partial = tmp_path / "partial"  # a checkpoint that lost one of the encoder's weights
    partial.mkdir()
    for f in ("config.json", "preprocessor_config.json"):
        (partial / f).write_bytes((folder / f).read_bytes())
    state = load_file(folder / "model.safetensors")
    del state["encoder.layers.1.attention.k_proj.weight"]
    save_file(state, partial / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(SergenError, match=r"1 weight\(s\) of the HubertModel are not in the facebook/hubert-large-"
                                          r"ll60k checkpoint \(e.g. encoder.layers.1.attention.k_proj.weight\); "
                                          "they would be random"):
        get_extractor("hf:facebook/hubert-large-ll60k", weights=partial).load()

    (partial / "model.safetensors").unlink()
    with pytest.raises(SergenError, match="transformers cannot load facebook/hubert-large-ll60k: .*model.safetensors"):
        get_extractor("hf:facebook/hubert-large-ll60k", weights=partial).load()

    (partial / "config.json").write_text('{"model_type": "no-such-model"}')
    with pytest.raises(SergenError, match="transformers cannot read the config of facebook/hubert-large-ll60k: .*"
                                          "no-such-model"):
        get_extractor("hf:facebook/hubert-large-ll60k", weights=partial).load()

    bare = tmp_path / "bare"  # weights without preprocessor_config.json
    bare.mkdir()
    for f in ("config.json", "model.safetensors"):
        (bare / f).write_bytes((folder / f).read_bytes())
    with pytest.raises(SergenError, match="no preprocessor_config.json beside the facebook/hubert-large-ll60k weights"):
        get_extractor("hf:facebook/hubert-large-ll60k", weights=bare).load()
