"""Real-time factors of every pretrained extractor on a GPU, through ``sergen extract`` as a user runs it.

Speed does not depend on the weights' values, so each model is its *full-size* architecture with random
weights, saved in the published checkpoint's layout and loaded through the same code path a real
checkpoint takes (``--weights DIR``). Each model first extracts a small warm-up corpus (CUDA context,
cuDNN autotuning, allocator), then the timed corpus: decoding, resampling, batching, the forward pass
and the Zarr writes are all in the figure, as in a user's run.

    python bench/gpu_rtf.py --out bench/gpu_rtf.md [--scale 4] [--models wavlm-large,phi4] [--device cuda]
    python bench/gpu_rtf.py --models phi4,encodec --replicas 1,4      # model copies per device (issue 22)
    python bench/gpu_rtf.py --models whisper-large-v3@trimmed          # a model option after @ (input mode)

Writes a Markdown table, one row per model (and batch size, and model copies): parameters, precision,
batch (audio seconds per batch, or one utterance at a time), audio seconds, wall seconds, real-time factor,
issue 22's target for that model and whether it is met, the GPU's mean utilisation while the timed corpus
ran (NVML, sampled every 0.1 s) and peak GPU memory. The table is rewritten after every row, and models
not started within ``--budget-s`` are listed as not run: a device session of minutes keeps what it measured
(``bench/gpu_session.sh`` runs this and the feed ceiling in one call). ``--tiny`` builds tiny models of the
same config classes instead, for a run on the CPU that checks this script (``tests/test_bench_gpu_rtf.py``).
Not a test: nothing depends on its figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

TIMED_CORPUS, WARMUP_CORPUS = "msp", "emodb"
PARAMS: dict[str, int] = {}  # parameter count of each model's saved checkpoint
TARGETS = {"wavlm-large": 2000, "hf:": 2000, "phi4": 800, "whisper-large-v3": 300, "whisper-large-v3@trimmed": 1500,
           "encodec": 1000, "dac-44khz": 1000, "clap-2023": 3000, "vggish": 3000}
"""Issue 22's real-time factor targets on one H100/H200 (``hf:`` stands for every large ``hf:`` model)."""
LAYERS = {"full": "6,12,18,24", "tiny": "2,4"}  # the layers wavlm-large and the hf: models store
TINY_ENCODER = dict(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
                    conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
TINY_WHISPER = dict(d_model=32, encoder_layers=4, encoder_attention_heads=2, encoder_ffn_dim=64,
                    decoder_attention_heads=2, decoder_ffn_dim=64)


def target(model: str) -> int | None:
    """Issue 22's target for a model spec (``whisper-large-v3@trimmed``, ``hf:facebook/…``), or None."""
    return TARGETS.get(model) or TARGETS.get(model.split("@")[0]) or (TARGETS["hf:"] if model.startswith("hf:") else None)


def split_spec(spec: str) -> tuple[str, dict]:
    """``model[@value]``: the model's name and its options (``@trimmed``: Whisper's input mode)."""
    name, _, mode = spec.partition("@")
    return name, ({"input_mode": mode} if mode else {})


def save_full_size(name: str, folder: Path, tiny: bool = False) -> int:
    """Write a random full-size checkpoint of ``name`` in its published layout; return its parameter count.
    ``tiny``: the same config class at a tiny size (a CPU check of this script), where a recipe has one."""
    import torch
    import transformers

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    if tiny and not (name in ("wavlm-large", "whisper-large-v3") or name.startswith("hf:")):
        raise ValueError(f"no tiny recipe for {name}")
    if name == "wavlm-large":  # microsoft/wavlm-large's config
        model = transformers.WavLMModel(transformers.WavLMConfig(**{
            **dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                   conv_dim=(512,) * 7, conv_bias=False, feat_extract_norm="layer", do_stable_layer_norm=True,
                   num_buckets=320, max_bucket_distance=800), **(TINY_ENCODER if tiny else {})}))
    elif name == "whisper-large-v3":  # openai/whisper-large-v3's encoder; the decoder (unused) is cut to one block
        model = transformers.WhisperModel(transformers.WhisperConfig(**{
            **dict(num_mel_bins=128, d_model=1280, encoder_layers=32, encoder_attention_heads=20, encoder_ffn_dim=5120,
                   decoder_layers=1, decoder_attention_heads=20, decoder_ffn_dim=5120, vocab_size=51866),
            **(TINY_WHISPER if tiny else {})}))
        transformers.WhisperFeatureExtractor(feature_size=128).save_pretrained(folder)
        model.save_pretrained(folder)
        return sum(p.numel() for p in model.encoder.parameters())
    elif name.startswith("hf:"):  # EmoBox's large wav2vec2-family encoders: WavLM-Large's shape
        large = {**dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                        feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True),
                 **(TINY_ENCODER if tiny else {})}
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
    for corpus, corpus_scale in ((TIMED_CORPUS, scale), (WARMUP_CORPUS, min(0.2, scale))):
        roots = make_demo(work / f"audio-{corpus}", seed=0, scale=corpus_scale)
        manifests[corpus] = write_manifest(read_corpus(corpus, roots[corpus]), work / "manifests" / f"{corpus}.csv")
    return manifests


class Utilisation:
    """The GPU's utilisation (NVML's percent of time a kernel ran), sampled every ``every`` seconds on a thread
    while the block runs; ``mean`` is None where NVML cannot be read (no GPU, no ``pynvml``)."""

    def __init__(self, device: str, every: float = 0.1):
        self.device, self.every, self.samples = device, every, []
        self._stop = threading.Event()

    def _run(self, torch) -> None:
        index = torch.device(self.device.split(",")[0]).index or 0
        while not self._stop.wait(self.every):
            try:
                self.samples.append(torch.cuda.utilization(index))
            except Exception:  # noqa: BLE001 - NVML unreadable: no figure, not a failed row
                return

    def __enter__(self) -> "Utilisation":
        import torch

        if self.device.startswith("cuda") and torch.cuda.is_available():
            self._thread = threading.Thread(target=self._run, args=(torch,), daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if hasattr(self, "_thread"):
            self._thread.join()

    @property
    def mean(self) -> float | None:
        return sum(self.samples) / len(self.samples) if self.samples else None


def model_options(name: str, extra: dict, precision: str, tiny: bool) -> dict:
    """What ``extract`` is given for ``name``: the layers stored (as the poster's), its options after ``@``, and
    ``precision`` where the model offers it (signal front ends and fixed networks run in float32)."""
    from sergen.extractors import EXTRACTORS, HFEncoder

    options = dict(extra)
    if name == "wavlm-large" or name.startswith("hf:"):
        options["layers"] = LAYERS["tiny" if tiny else "full"]
    cls = HFEncoder if name.startswith("hf:") else EXTRACTORS.get(name)
    if precision in cls.precisions:
        options["precision"] = precision
    return options


def time_model(spec: str, work: Path, manifests: dict[str, Path], device: str, batch_seconds: float,
               replicas: int = 1, precision: str = "bf16", tiny: bool = False) -> dict:
    import torch

    from sergen.extract import extract
    from sergen.extractors import get_extractor

    name, extra = split_spec(spec)
    weights = work / "weights" / name.replace(":", "-").replace("/", "--")
    if name not in PARAMS:  # one checkpoint per model, whatever the batch sizes, modes or copies timed
        PARAMS[name] = save_full_size(name, weights, tiny)
    options = model_options(name, extra, precision, tiny)
    common = dict(stores_root=work / "stores", device=device, weights=weights, batch_seconds=batch_seconds,
                  overwrite=True, show_progress=False, extractor_options=options, replicas=replicas)
    extract(name, WARMUP_CORPUS, manifest_file=manifests[WARMUP_CORPUS], **common)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    with Utilisation(device) as busy:
        report = extract(name, TIMED_CORPUS, manifest_file=manifests[TIMED_CORPUS], **common)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None
    batchable = get_extractor(name, weights=weights, **options).batchable
    return {"model": spec, "params_m": PARAMS[name] / 1e6, "precision": options.get("precision", "fp32"),
            "batch": f"{batch_seconds:g} s" if batchable else "1 utt", "copies": replicas * len(device.split(",")),
            "utts": report.n_utts, "audio_s": report.audio_s, "wall_s": report.wall_s,
            "rtf": report.realtime_factor, "target": target(spec), "utilisation": busy.mean, "peak_gib": peak,
            "failures": len(report.failures)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "gpu_rtf.md")
    parser.add_argument("--models", default="wavlm-large,phi4,whisper-large-v3,whisper-large-v3@trimmed,encodec,"
                        "dac-44khz,clap-2023,vggish,hf:facebook/hubert-large-ll60k,"
                        "hf:facebook/wav2vec2-large-960h-lv60-self,hf:facebook/data2vec-audio-large",
                        help="in the order run: the first ones are measured if the budget runs out")
    parser.add_argument("--scale", type=float, default=4.0, help="demo corpus scale of the timed corpus (4: about "
                        "1,500 s of audio in MSP-Podcast's mix of lengths)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="bf16", choices=("fp32", "bf16", "fp16"),
                        help="for the models that offer it (the others run in float32)")
    parser.add_argument("--batch-seconds", default="60", help="for batchable models: one row per value, e.g. 60,600")
    parser.add_argument("--replicas", default="1", help="model copies per device (`extract --replicas`): one row "
                        "per value, e.g. 1,4 for the models run one utterance at a time")
    parser.add_argument("--budget-s", type=float, default=float("inf"),
                        help="start no model after this many seconds (the rest are listed as not run)")
    parser.add_argument("--tiny", action="store_true", help="tiny models of the same config classes (a CPU check "
                        "of this script; the figures mean nothing)")
    args = parser.parse_args(argv)

    import torch

    started = time.monotonic()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    rows, failed, skipped = [], [], []
    specs = [m.strip() for m in args.models.split(",") if m.strip()]
    with tempfile.TemporaryDirectory(prefix="sergen-gpu-") as tmp:
        work = Path(tmp)
        os.environ["SERGEN_CONFIG"] = str(work / "sergen.toml")
        manifests = prepare_corpora(work, args.scale)
        for n, spec in enumerate(specs):
            if time.monotonic() - started > args.budget_s:
                skipped = specs[n:]
                break
            for seconds in (float(s) for s in args.batch_seconds.split(",")):
                row = None
                for copies in (int(r) for r in args.replicas.split(",")):
                    try:
                        row = time_model(spec, work, manifests, args.device, seconds, copies, args.precision,
                                         args.tiny)
                    except Exception as exc:  # one model's failure must not lose the others' figures
                        print(f"{spec}: failed: {exc!r}", flush=True)
                        failed.append(f"{spec} (batch {seconds:g} s, {copies} per device): {exc!r}")
                        row = None
                        break
                    rows.append(row)
                    write_table(args, gpu, rows, failed, skipped)
                    print(f"{row['model']:12s} batch {row['batch']:>7s} x{row['copies']}: {row['audio_s']:.0f} s of "
                          f"audio in {row['wall_s']:.1f} s = {row['rtf']:.0f}x real time", flush=True)
                if row is None or row["batch"] == "1 utt":
                    break  # a failure, or one utterance at a time: the batch size has no effect
    print(write_table(args, gpu, rows, failed, skipped))


def verdict(row: dict) -> str:
    """The row's target and whether its real-time factor meets it."""
    if row["target"] is None:
        return "–"
    return f"{row['target']:,}× ({'met' if row['rtf'] >= row['target'] else 'not met'})"


def write_table(args, gpu: str, rows: list[dict], failed: list[str], skipped: list[str] = ()) -> str:
    import torch

    size = "tiny models of the same config classes (a check of this script: the figures mean nothing)" if args.tiny \
        else "Full-size architectures with random weights (speed does not depend on their values)"
    lines = [
        "# GPU real-time factors of the pretrained extractors",
        "",
        f"{gpu}; {os.cpu_count()} CPU cores; torch {torch.__version__}; Python {platform.python_version()}.",
        f"{size}, loaded through `--weights`; `sergen extract` on the demo `{TIMED_CORPUS}` corpus (scale "
        f"{args.scale:g}) after a warm-up on `{WARMUP_CORPUS}`; decoding, resampling and Zarr writes included. "
        f"Precision: {args.precision} where the model offers it. GPU use: NVML's utilisation (the share of time a "
        "kernel ran), mean of samples every 0.1 s during the timed corpus.",
        "",
        "| model | parameters | precision | batch | model copies | utterances | audio | wall | real-time factor | "
        "target (issue 22) | GPU use | peak GPU memory |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        use = "n/a" if r["utilisation"] is None else f"{r['utilisation']:.0f} %"
        peak = "n/a" if r["peak_gib"] is None else f"{r['peak_gib']:.2f} GiB"
        params = f"{r['params_m']:.0f} M" if r["params_m"] >= 1 else f"{r['params_m'] * 1e3:.0f} k"
        lines.append(f"| {r['model']} | {params} | {r['precision']} | {r['batch']} | {r['copies']} | "
                     f"{r['utts']} | {r['audio_s']:.0f} s | {r['wall_s']:.1f} s | {r['rtf']:.0f}× | {verdict(r)} | "
                     f"{use} | {peak} |")
    lines += [f"\nFailed: {f}" for f in failed]
    if skipped:
        lines.append(f"\nNot run (the {args.budget_s:g} s budget was spent): {', '.join(skipped)}.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
