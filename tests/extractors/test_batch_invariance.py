"""Batch invariance for every registered extractor (and the hf: families): utterances of mixed and of equal
lengths go through extraction's own batching (``embed_window``: ``batch_key`` buckets, ``batch_seconds``) and
must give the frames each gives alone, on tiny models of the real config classes saved as checkpoints are.
Tolerance: max |batched − alone| ≤ 1e-3 × RMS of the frames alone (``TOLERANCE["fp32"]``), and every frame's
cosine ≥ 0.9999. The test iterates the registry: a new extractor fails here until it has a tiny-model builder."""

import numpy as np
import pytest
import torch
import transformers

from sergen.batch_check import TOLERANCE, compare, with_common_length
from sergen.extract_window import _batches
from sergen.extractors import EXTRACTORS, get_extractor
from sergen.extractors.base import Extractor
from sergen.extractors.clap import CLAP2023
from sergen.extractors.dac import Dac44k
from sergen.extractors.encodec import Encodec
from sergen.extractors.phi4 import Phi4Audio
from sergen.extractors.vggish import VGGish
from sergen.extractors.wavlm import WavLMLarge
from sergen.extractors.whisper import WhisperEncoderFrames

from .test_hf_families import FAMILIES, SMALL

SECONDS = (0.4, 1.2, 1.2, 2.1)  # two of equal length: buckets of equal length batch them
CLAP_SECONDS = (1.0, 7.0, 8.5, 8.5)  # several 7 s windows per utterance


def build_wavlm(root):
    transformers.WavLMModel(transformers.WavLMConfig(
        hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64, conv_dim=(16,) * 7,
        feat_extract_norm="layer", do_stable_layer_norm=True, num_buckets=32, max_bucket_distance=100)).save_pretrained(root)
    return {"layers": (0, 3)}


def build_encodec(root):
    transformers.EncodecModel(transformers.EncodecConfig(
        hidden_size=16, num_filters=4, num_lstm_layers=1, codebook_size=16)).save_pretrained(root)
    return {}


def build_dac(root):
    transformers.DacModel(transformers.DacConfig(
        encoder_hidden_size=4, decoder_hidden_size=16, n_codebooks=2, codebook_size=16, codebook_dim=4,
        sampling_rate=44100)).save_pretrained(root)
    return {}


def build_phi4(root):
    config = transformers.Phi4MultimodalConfig(
        vocab_size=300, hidden_size=32, intermediate_size=48, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, bos_token_id=0, pad_token_id=0, eos_token_id=0,
        audio_config=dict(hidden_size=32, intermediate_size=48, num_blocks=2, num_attention_heads=2,
                          ext_pw_out_channel=32, depthwise_separable_out_channel=32, nemo_conv_channels=32),
        vision_config=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8, crop_size=32))
    transformers.Phi4MultimodalForCausalLM(config).save_pretrained(root)
    transformers.Phi4MultimodalFeatureExtractor().save_pretrained(root)
    return {}


def build_whisper(root):
    from .test_whisper import TINY, save_whisper

    save_whisper(root, transformers.WhisperForConditionalGeneration(transformers.WhisperConfig(num_mel_bins=128, **TINY)))
    return {"layers": (0, 3)}


def build_clap(root):
    from sergen.extractors.htsat import CLAPAudioEncoder

    from .clap_reference import TINY, seeded_state
    from .test_clap import save_checkpoint

    save_checkpoint(root, seeded_state(CLAPAudioEncoder(TINY).state_dict()))
    return {}


def build_vggish(root):
    from sergen.extractors.vggish import CHECKPOINT, build_network

    root.mkdir(parents=True, exist_ok=True)
    torch.save(build_network().state_dict(), root / CHECKPOINT)
    return {}


BUILDERS = {WavLMLarge: build_wavlm, Encodec: build_encodec, Dac44k: build_dac, Phi4Audio: build_phi4,
            WhisperEncoderFrames: build_whisper, CLAP2023: build_clap, VGGish: build_vggish}
"""A tiny checkpoint for each extractor class that reads weights: writes it into the folder, returns options."""


def tiny_extractor(name: str, root, monkeypatch) -> Extractor:
    cls = EXTRACTORS.get(name)
    builder = next((b for c, b in BUILDERS.items() if issubclass(cls, c)), None)
    if builder is None:  # no weights, or weights bundled with the package; never the network or the user's cache
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setenv("HF_HUB_CACHE", str(root / "empty-cache"))
        ex = get_extractor(name)
        assert ex.weights_present(), f"{name}: add a tiny-model builder to BUILDERS so its batching is tested"
        return ex.load()
    transformers.set_seed(0)
    torch.manual_seed(0)
    options = builder(root / name)
    return get_extractor(name, weights=root / name, **options).load()


def waves_for(ex: Extractor, seconds=SECONDS):
    rng = np.random.default_rng(0)
    waves = [(0.1 * rng.standard_normal(int(s * ex.sample_rate)) + 0.02).astype(np.float32) for s in seconds]
    return with_common_length([f"u{i}" for i in range(len(waves))], waves, ex.min_samples)


def assert_invariant(ex: Extractor, ids, waves, batch_seconds: float = 60.0):
    found = compare(ex, ids, waves, batch_seconds)
    assert len(found) == len(waves)
    for d in found:
        assert d.relative <= TOLERANCE["fp32"] and d.cosine >= 0.9999, (ex.name, d)


def batched_in_production(ex: Extractor, waves) -> int:
    """How many utterances share a call with another one in extraction's batching."""
    lengths = [max(len(w), ex.min_samples) for w in waves]
    return sum(len(b) for b in _batches(lengths, ex.sample_rate, 60.0, [ex.batch_key(n) for n in lengths]) if len(b) > 1)


@pytest.mark.parametrize("name", EXTRACTORS.names())
def test_every_registered_extractor_batches_exactly(name, tmp_path, monkeypatch):
    ex = tiny_extractor(name, tmp_path, monkeypatch)
    ids, waves = waves_for(ex, CLAP_SECONDS if name == "clap-2023" else SECONDS)
    assert batched_in_production(ex, waves) >= 2  # batching really happens (at least the equal lengths)
    assert_invariant(ex, ids, waves)
    padded = [np.pad(w, (0, max(0, ex.min_samples - len(w)))) for w in waves]  # embed called directly, keys mixed
    for together, w in zip(ex.embed(padded), padded):
        alone = ex.embed([w])[0]
        assert np.abs(together - alone).max() <= TOLERANCE["fp32"] * np.sqrt(np.mean(alone.astype(np.float64) ** 2))


def save_family(root, model_id):
    cls, config, normalise = FAMILIES[model_id]
    transformers.set_seed(0)
    folder = root / model_id.split("/")[-1]
    model = cls(config).eval()
    for norm in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)):  # trained statistics, not 0/1
        norm.running_mean.normal_()
        norm.running_var.uniform_(0.5, 1.5)
    model.save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(do_normalize=normalise).save_pretrained(folder)
    return folder


FAMILIES = dict(FAMILIES, **{"hubert-conv-pos-batch-norm": (  # transformers#47739's path
    transformers.HubertModel, transformers.HubertConfig(**SMALL, conv_pos_batch_norm=True,
                                                        feat_extract_norm="layer", do_stable_layer_norm=True), True)})
PADDED_WITH_MASK = {"facebook/hubert-large-ll60k", "facebook/wav2vec2-large-960h-lv60-self"}


@pytest.mark.parametrize("model_id", sorted(FAMILIES))
def test_hf_families_batch_exactly_each_its_own_way(model_id, tmp_path):
    ex = get_extractor(f"hf:{model_id}", weights=save_family(tmp_path, model_id), layers=(0, 2)).load()
    assert (ex.batch_key(16000) == ex.batch_key(8000) == 0) == (model_id in PADDED_WITH_MASK)
    ids, waves = waves_for(ex)
    assert_invariant(ex, ids, waves)


@pytest.mark.parametrize("model_id", ["facebook/data2vec-audio-base", "facebook/wav2vec2-base",
                                      "hubert-conv-pos-batch-norm"])
def test_the_known_traps_would_fail_padded(model_id, tmp_path, monkeypatch):
    """Forcing padded batches onto the models ``padding_trap`` keeps apart breaks the tolerance: the check
    detects what it guards against (data2vec-audio: transformers#25621; group norm; HuBERT#47739)."""
    import sergen.extractors.hf_generic as hf_generic

    ex = get_extractor(f"hf:{model_id}", weights=save_family(tmp_path, model_id), layers=(0, 2)).load()
    monkeypatch.setattr(hf_generic, "padding_trap", lambda config: None)
    ids, waves = waves_for(ex)
    worst = max(d.relative for d in compare(ex, ids, waves))
    assert worst > TOLERANCE["fp32"], worst


def test_batches_never_mix_keys_and_respect_the_budget():
    lengths = [100, 200, 200, 300, 300, 300, 50]
    keys = [1, 2, 2, 3, 3, 3, 0]
    batches = _batches(lengths, 100, 6.0, keys)  # 6 s: at most two 300-sample utterances (3 s each)
    assert batches == [[6], [0], [1, 2], [3, 4], [5]]
    assert _batches(lengths, 100, 100.0, [0] * 7) == [[6, 0, 1, 2, 3, 4, 5]]
