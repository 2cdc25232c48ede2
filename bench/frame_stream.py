"""The frame stream against the heads it feeds (issue 25): batches of sequences drawn per second
(``FrameSampler``, masking, joining and noise on) against training steps per second of the ``attn`` and
``cnn`` heads on those very batches, one thread each, in one process. The stream must stay ≥ 3× ahead of the
step for the stream not to be what a run waits on. The mean stream (``WindowSampler``) against the mean MLP is
measured beside it for reference.

Shapes: 128-d frames (melspec's bins) at 100 frames/s and 1024-d frames (WavLM-Large) at 50 frames/s, windows
of 1–3 s (the defaults), batches of 128. Only ratios are reported: timings on a shared machine are noisy,
and a ratio taken in one process is what survives the noise.

``python bench/frame_stream.py [--seconds S]`` writes ``bench/frame_stream.md``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from sergen.train.frame_stream import FrameSampler
from sergen.train.framebank import build_framebank
from sergen.train.heads import make_head
from sergen.train.frame_stream import model_inputs
from sergen.train.sampler import SamplerConfig, WindowSampler

HERE = Path(__file__).resolve().parent
BATCH = 128


def toy_bank(dim: int, rate: float, n_utts: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(int(2 * rate), int(8 * rate), size=n_utts)  # 2–8 s utterances
    frames = [rng.standard_normal((int(n), dim)).astype(np.float16) for n in lengths]
    labels = np.arange(n_utts) % 4
    return build_framebank(frames, labels, np.arange(n_utts) % 2, np.arange(n_utts), np.ones(n_utts, bool))


def rate(fn, seconds: float) -> float:
    fn()  # warm-up (first allocations)
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        count += 1
    return count / (time.perf_counter() - t0)


def step_rate(head: str, sampler, dim: int, seconds: float) -> float:
    torch.manual_seed(0)
    model = make_head(head, dim, 4, np.zeros(dim, np.float32), np.ones(dim, np.float32))
    optimiser, loss_fn = torch.optim.Adam(model.parameters(), 1e-3), torch.nn.CrossEntropyLoss()
    batches = [sampler.sample(BATCH) for _ in range(4)]  # drawn beforehand: the step alone is timed
    state = {"i": 0}

    def step():
        x, y = batches[state["i"] % len(batches)]
        state["i"] += 1
        loss = loss_fn(model(*model_inputs(x)), torch.from_numpy(y))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    return rate(step, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="timing per figure")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load = os.getloadavg()
    lines = ["# Frame stream against the heads' training steps", "",
             f"Load average while measuring: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} ({os.cpu_count()} cores); "
             "one thread each. Ratios only: re-time absolute figures on a quiet machine.", "",
             "| frames | stream | batches/s | head | steps/s | stream ÷ step |", "|---|---|---:|---|---:|---:|"]
    for dim, frame_rate, heads in ((128, 100.0, ("attn", "cnn")), (1024, 50.0, ("attn",))):
        bank = toy_bank(dim, frame_rate)
        frames = FrameSampler(bank, frame_rate, SamplerConfig(), seed=0)
        means = WindowSampler(bank, frame_rate, SamplerConfig(), seed=0)
        frame_rate_b = rate(lambda: frames.sample(BATCH), args.seconds)
        mean_rate_b = rate(lambda: means.sample(BATCH), args.seconds)
        for head in heads:
            steps = step_rate(head, frames, dim, args.seconds)
            lines.append(f"| {dim}-d, {frame_rate:g}/s | frames | {frame_rate_b:,.1f} | {head} | {steps:,.1f} | "
                         f"{frame_rate_b / steps:.1f}× |")
        steps = step_rate("mlp", means, dim, args.seconds)
        lines.append(f"| {dim}-d, {frame_rate:g}/s | means | {mean_rate_b:,.1f} | mlp | {steps:,.1f} | "
                     f"{mean_rate_b / steps:.1f}× |")
        print("\n".join(lines[-len(heads) - 1:]), flush=True)
    (HERE / "frame_stream.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {HERE / 'frame_stream.md'}")


if __name__ == "__main__":
    main()
