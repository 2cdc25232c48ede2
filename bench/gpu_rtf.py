"""Real-time factors of every pretrained extractor on a GPU, through ``sergen extract`` as a user runs it.

Speed does not depend on the weights' values, so each model is its *full-size* architecture with random
weights, saved in the published checkpoint's layout and loaded through the same code path a real
checkpoint takes (``--weights DIR``). Each model first extracts a small warm-up corpus (CUDA context,
cuDNN autotuning, allocator), then the timed corpus: decoding, resampling, batching, the forward pass
and the Zarr writes are all in the figure, as in a user's run.

    python bench/gpu_rtf.py --out bench/gpu_rtf.md [--scale 3] [--models wavlm-large,phi4] [--device cuda]
    python bench/gpu_rtf.py --models phi4,encodec --replicas 1,4      # model copies per device (issue 22)

Writes a Markdown table: model, parameters, batch (audio seconds per batch, or one utterance at a time),
audio seconds, wall seconds, real-time factor, peak GPU memory. Not a test: nothing depends on it.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

TIMED_CORPUS, WARMUP_CORPUS = "msp", "emodb"
PARAMS: dict[str, int] = {}  # parameter count of each model's saved checkpoint


def save_full_size(name: str, folder: Path) -> int:
    """Write a random full-size checkpoint of ``name`` in its published layout; return its parameter count."""
    import torch
    import transformers

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    if name == "wavlm-large":  # microsoft/wavlm-large's config
        model = transformers.WavLMModel(transformers.WavLMConfig(
            hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
            conv_dim=(512,) * 7, conv_bias=False, feat_extract_norm="layer", do_stable_layer_norm=True,
            num_buckets=320, max_bucket_distance=800))
    elif name == "whisper-large-v3":  # openai/whisper-large-v3's encoder; the decoder (unused) is cut to one block
        model = transformers.WhisperModel(transformers.WhisperConfig(
            num_mel_bins=128, d_model=1280, encoder_layers=32, encoder_attention_heads=20, encoder_ffn_dim=5120,
            decoder_layers=1, decoder_attention_heads=20, decoder_ffn_dim=5120, vocab_size=51866))
        transformers.WhisperFeatureExtractor(feature_size=128).save_pretrained(folder)
        model.save_pretrained(folder)
        return sum(p.numel() for p in model.encoder.parameters())
    elif name.startswith("hf:"):  # EmoBox's large wav2vec2-family encoders: WavLM-Large's shape
        large = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                     feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True)
        family = {"hf:facebook/hubert-large-ll60k": ("HubertModel", "HubertConfig", False),
                  "hf:facebook/wav2vec2-large-960h-lv60-self": ("Wav2Vec2Model", "Wav2Vec2Config", True),
                  "hf:facebook/data2vec-audio-large": ("Data2VecAudioModel", "Data2VecAudioConfig", True)}
        model_class, config_class, normalise = family[name]
        if config_class == "Data2VecAudioConfig":
            large = {k: v for k, v in large.items() if k not in ("feat_extract_norm", "do_stable_layer_norm")}
        model = getattr(transformers, model_class)(getattr(transformers, config_class)(**large))
        transformers.Wav2Vec2FeatureExtractor(do_normalize=normalise).save_pretrained(folder)
    elif name == "encodec":  # facebook/encodec_24khz is the config class's default
        model = transformers.EncodecModel(transformers.EncodecConfig())
    elif name == "dac-44khz":  # descript/dac_44khz: hop 512 (2·4·8·8), 1024-d latent, 9 codebooks
        model = transformers.DacModel(transformers.DacConfig(
            sampling_rate=44100, encoder_hidden_size=64, downsampling_ratios=[2, 4, 8, 8],
            upsampling_ratios=[8, 8, 4, 2], decoder_hidden_size=1536, n_codebooks=9, codebook_size=1024,
            codebook_dim=8, hidden_size=1024))
    elif name == "phi4":  # the audio encoder's config defaults are Phi-4-multimodal's; the LM is kept tiny
        from sergen.extractors.phi4 import ENCODER_PREFIX
        from safetensors.torch import save_file

        config = transformers.Phi4MultimodalConfig(
            vocab_size=300, hidden_size=32, intermediate_size=48, num_hidden_layers=1, num_attention_heads=2,
            num_key_value_heads=1, bos_token_id=0, pad_token_id=0, eos_token_id=0,
            vision_config=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=1, num_attention_heads=2,
                               image_size=32, patch_size=8, crop_size=32))
        encoder = transformers.Phi4MultimodalAudioModel(config.audio_config)
        config.save_pretrained(folder)
        transformers.Phi4MultimodalFeatureExtractor().save_pretrained(folder)
        state = {ENCODER_PREFIX + k: v.contiguous() for k, v in encoder.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"))
        return sum(v.numel() for v in encoder.state_dict().values())
    elif name == "clap-2023":
        from sergen.extractors.clap import FILENAME
        from sergen.extractors.htsat import CLAPAudioEncoder

        encoder = CLAPAudioEncoder()  # HTSATShape() defaults are CLAP 2023's
        torch.save({"model": {f"audio_encoder.{k}": v for k, v in encoder.state_dict().items()}}, folder / FILENAME)
        return sum(p.numel() for p in encoder.parameters())
    elif name == "vggish":
        from sergen.extractors.vggish import CHECKPOINT, build_network

        network = build_network()
        torch.save(network.state_dict(), folder / CHECKPOINT)
        return sum(p.numel() for p in network.parameters())
    else:
        raise ValueError(f"no full-size recipe for {name}")
    model.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def prepare_corpora(work: Path, scale: float) -> dict[str, Path]:
    """The timed corpus at ``scale``; the warm-up corpus small (it only has to touch every code path)."""
    from sergen.corpora import read_corpus, write_manifest
    from sergen.corpora.demo import make_demo

    manifests = {}
    for corpus, corpus_scale in ((TIMED_CORPUS, scale), (WARMUP_CORPUS, 0.2)):
        roots = make_demo(work / f"audio-{corpus}", seed=0, scale=corpus_scale)
        manifests[corpus] = write_manifest(read_corpus(corpus, roots[corpus]), work / "manifests" / f"{corpus}.csv")
    return manifests


def time_model(name: str, work: Path, manifests: dict[str, Path], device: str, batch_seconds: float,
               replicas: int = 1) -> dict:
    import torch

    from sergen.extract import extract
    from sergen.extractors import get_extractor

    weights = work / "weights" / name.replace(":", "-").replace("/", "--")
    if name not in PARAMS:  # one checkpoint per model, whatever the batch sizes timed
        PARAMS[name] = save_full_size(name, weights)
    options = {"layers": "6,12,18,24"} if name == "wavlm-large" or name.startswith("hf:") else {}
    common = dict(stores_root=work / "stores", device=device, weights=weights, batch_seconds=batch_seconds,
                  overwrite=True, show_progress=False, extractor_options=options, replicas=replicas)
    extract(name, WARMUP_CORPUS, manifest_file=manifests[WARMUP_CORPUS], **common)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    report = extract(name, TIMED_CORPUS, manifest_file=manifests[TIMED_CORPUS], **common)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else float("nan")
    batchable = get_extractor(name, weights=weights, **options).batchable
    return {"model": name, "params_m": PARAMS[name] / 1e6, "batch": f"{batch_seconds:g} s" if batchable else "1 utt",
            "copies": replicas * len(device.split(",")), "utts": report.n_utts, "audio_s": report.audio_s, "wall_s": report.wall_s,
            "rtf": report.realtime_factor, "peak_gib": peak,
            "failures": len(report.failures)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "gpu_rtf.md")
    parser.add_argument("--models", default="wavlm-large,phi4,clap-2023,encodec,dac-44khz,vggish,whisper-large-v3,"
                        "hf:facebook/hubert-large-ll60k,hf:facebook/wav2vec2-large-960h-lv60-self,"
                        "hf:facebook/data2vec-audio-large")
    parser.add_argument("--scale", type=float, default=2.0, help="demo corpus scale of the timed corpus")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch-seconds", default="60,600", help="for batchable models: one row per value")
    parser.add_argument("--replicas", default="1", help="model copies per device (`extract --replicas`): one row "
                        "per value, e.g. 1,4 for the models run one utterance at a time")
    args = parser.parse_args()

    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    rows, failed = [], []
    with tempfile.TemporaryDirectory(prefix="sergen-gpu-") as tmp:
        work = Path(tmp)
        os.environ["SERGEN_CONFIG"] = str(work / "sergen.toml")
        manifests = prepare_corpora(work, args.scale)
        for name in [m.strip() for m in args.models.split(",") if m.strip()]:
            for seconds in (float(s) for s in args.batch_seconds.split(",")):
                row = None
                for copies in (int(r) for r in args.replicas.split(",")):
                    try:
                        row = time_model(name, work, manifests, args.device, seconds, copies)
                    except Exception as exc:  # one model's failure must not lose the others' figures
                        print(f"{name}: failed: {exc!r}", flush=True)
                        failed.append(f"{name} (batch {seconds:g} s, {copies} per device): {exc!r}")
                        row = None
                        break
                    rows.append(row)
                    write_table(args, gpu, rows, failed)
                    print(f"{row['model']:12s} batch {row['batch']:>7s} x{row['copies']}: {row['audio_s']:.0f} s of "
                          f"audio in {row['wall_s']:.1f} s = {row['rtf']:.0f}x real time, peak "
                          f"{row['peak_gib']:.2f} GiB", flush=True)
                if row is None or row["batch"] == "1 utt":
                    break  # a failure, or one utterance at a time: the batch size has no effect
    print(write_table(args, gpu, rows, failed))


def write_table(args, gpu: str, rows: list[dict], failed: list[str]) -> str:
    import torch

    lines = [
        "# GPU real-time factors of the pretrained extractors",
        "",
        f"{gpu}; {os.cpu_count()} CPU cores; torch {torch.__version__}; Python {platform.python_version()}.",
        f"Full-size architectures with random weights (speed does not depend on their values), loaded through "
        f"`--weights`; `sergen extract` on the demo `{TIMED_CORPUS}` corpus (scale {args.scale:g}) after a "
        f"warm-up on `{WARMUP_CORPUS}`; decoding, resampling and Zarr writes included; bf16 autocast.",
        "",
        "| model | parameters | batch | model copies | utterances | audio | wall | real-time factor | "
        "peak GPU memory |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['model']} | {r['params_m']:.0f} M | {r['batch']} | {r['copies']} | {r['utts']} | "
                     f"{r['audio_s']:.0f} s "
                     f"| {r['wall_s']:.1f} s | {r['rtf']:.0f}× | {r['peak_gib']:.2f} GiB |")
    lines += [f"\nFailed: {f}" for f in failed]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
