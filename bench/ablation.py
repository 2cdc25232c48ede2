"""``make bench``: what each part of the training stream buys (issue 13 §3).

The default stream (class-first draws, 1–3 s windows, same-label mixing, frame masking, gaussian noise)
against the same stream with one element off, and with all of them off (whole-utterance means drawn
class-first: the stream under which the linear head equals scikit-learn's LogisticRegression, see
tests/train/test_sklearn_equivalence.py). Each head is trained on each synthetic demo corpus with several
seeds and tested on every corpus's test split: *within* = its own corpus, *across* = the four others.
A cell is the mean over seeds (and corpora) ± the standard deviation over seeds of that mean.

Writes ``bench/ablation.md``. ``python bench/ablation.py --seeds 3 --heads linear,mlp``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
METRICS = ("auroc", "acc", "uar")


def variants():
    from sergen.train.sampler import SamplerConfig

    default = SamplerConfig()
    return {
        "default stream": default,
        "no windows (whole utterances)": replace(default, window_s=(1e4, 1e4)),
        "no mixing": replace(default, mix_prob=0.0),
        "no masking": replace(default, mask_frac=0.0),
        "no noise": replace(default, noise_std=0.0),
        "no class-first draws": replace(default, class_first=False),
        "all off (utterance means)": replace(default, window_s=(1e4, 1e4), mix_prob=0.0, mask_frac=0.0, noise_std=0.0),
    }


def demo_stores(work: Path) -> None:
    from sergen import CORPORA
    from sergen.corpora import read_corpus, write_manifest
    from sergen.corpora.demo import make_demo
    from sergen.extract import extract

    make_demo(work / "demo", seed=0, scale=1.0)
    for corpus in CORPORA:
        write_manifest(read_corpus(corpus, work / "demo" / corpus), work / "manifests" / f"{corpus}.csv")
        extract("melspec", corpus, stores_root=work / "stores", manifest_file=work / "manifests" / f"{corpus}.csv",
                show_progress=False)


def run(work: Path, heads: list[str], seeds: int) -> tuple[dict, float]:
    """``{(variant, head): array [seed, train corpus, test corpus, metric]}``."""
    from sergen import CORPORA
    from sergen.experiments.data import load_corpus, split_vectors, stores_root_key, training_bank
    from sergen.train.loop import TrainConfig, predict_proba, train_head
    from sergen.train.metrics import point_metrics
    from sergen.train.sampler import WindowSampler

    root = stores_root_key(work / "stores")
    tests = [split_vectors("melspec", c, "test", root) for c in CORPORA]
    out, started = {}, time.perf_counter()
    for name, stream in variants().items():
        for head in heads:
            scores = np.full((seeds, len(CORPORA), len(CORPORA), len(METRICS)), np.nan)
            for i, train in enumerate(CORPORA):
                bank = training_bank("melspec", (train,), root)
                x_val, y_val = split_vectors("melspec", train, "valid", root)
                rate = load_corpus("melspec", train, root).frame_rate
                for seed in range(seeds):
                    sampler = WindowSampler(bank, rate, stream, seed=seed)
                    model = train_head(sampler, x_val, y_val, 4, head, TrainConfig(), seed=seed).model
                    for j, (x, y) in enumerate(tests):
                        got = point_metrics(y, predict_proba(model, x))
                        scores[seed, i, j] = [got[m] for m in METRICS]
            out[name, head] = scores
            print(f"{name:32s} {head:6s} done ({time.perf_counter() - started:.0f} s)", flush=True)
    return out, time.perf_counter() - started


def cell(values: np.ndarray) -> str:
    """``values``: [seed, ...]: mean over everything ± std over seeds of the per-seed mean."""
    per_seed = values.reshape(len(values), -1).mean(1)
    return f"{per_seed.mean():.3f} ± {per_seed.std():.3f}"


def table(scores: dict, heads: list[str], seeds: int, seconds: float) -> list[str]:
    from sergen import CORPORA

    n = len(CORPORA)
    within = np.eye(n, dtype=bool)
    lines = ["# What each part of the training stream buys", "",
             f"Synthetic demo corpora (scale 1, melspec), {seeds} seeds, default training settings; "
             f"{seconds:.0f} s on {os.cpu_count()} cores (load average {os.getloadavg()[0]:.0f} at the end). "
             "Each head is trained on each corpus and tested on every corpus: *within* = its own test split, "
             "*across* = the other four. Mean over seeds and corpora ± standard deviation over seeds.", "",
             "Demo utterances last 0.6–3 s, so the 1–3 s windows mostly cover whole utterances: "
             "the windows element is nearly idle here and matters on longer real utterances.", ""]
    for head in heads:
        lines += [f"## {head}", "",
                  "| stream | AUROC within | ACC within | UAR within | AUROC across | ACC across | UAR across |",
                  "|---|---|---|---|---|---|---|"]
        for name in variants():
            s = scores[name, head]
            row = [cell(s[:, within, k]) for k in range(len(METRICS))]
            row += [cell(s[:, ~within, k]) for k in range(len(METRICS))]
            lines.append(f"| {name} | " + " | ".join(row) + " |")
        lines += ["", f"Within each corpus ({head}, AUROC / ACC):", "",
                  "| stream | " + " | ".join(CORPORA) + " |", "|---|" + "---|" * n]
        for name in variants():
            s = scores[name, head]
            lines.append(f"| {name} | " + " | ".join(
                f"{s[:, i, i, 0].mean():.3f} / {s[:, i, i, 1].mean():.3f}" for i in range(n)) + " |")
        lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--heads", default="linear,mlp")
    args = parser.parse_args()
    heads = args.heads.split(",")
    import torch

    torch.set_num_threads(1)  # small heads: one thread is as fast, and the machine is shared
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # a workspace of its own: nothing of the user's is read or written
        for kind in ("manifests", "stores", "results", "reports"):
            os.environ[f"SERGEN_{kind.upper()}"] = str(work / kind)
        os.environ["SERGEN_CONFIG"] = str(work / "sergen.toml")
        demo_stores(work)
        scores, seconds = run(work, heads, args.seeds)
    out = HERE / "ablation.md"
    out.write_text("\n".join(table(scores, heads, args.seeds, seconds)))
    print(f"written {out}")


if __name__ == "__main__":
    sys.exit(main())
