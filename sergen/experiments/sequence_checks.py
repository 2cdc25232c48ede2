"""Refusals of a sequence head (``attn``, ``cnn``) before anything trains (issue 25, "Bad input"): each
names what is wrong, where, and a command that works. A mean head never reaches these checks."""

from __future__ import annotations

import numpy as np

from sergen.errors import SergenError
from sergen.experiments.data import load_corpus
from sergen.train.frame_stream import MIN_UNITS
from sergen.train.framebank import BANK_STEP, units_of
from sergen.train.resident import ram_budget_bytes

BATCH_COPIES = 4  # a batch of frames is held ~4 times while it trains: drawn rows, padded, standardised, gradients


def window_units(window_s: float, frame_rate: float) -> int:
    """The sampler's window length in bank units (``WindowSampler.win_units``)."""
    return max(1, int(round(window_s * frame_rate / BANK_STEP)))


def batch_bytes(spec, frame_rate: float, longest_units: int, dim: int) -> int:
    """What a training batch of sequences holds while it trains (``BATCH_COPIES`` copies of the padded frames)."""
    joined = 2 if spec.sampler.mix_prob > 0 else 1  # a mixed sequence holds two windows
    units = min(window_units(spec.sampler.window_s[1], frame_rate), longest_units or 1)
    return spec.training.batch_size * joined * units * dim * 4 * BATCH_COPIES


def spec_batch_bytes(spec, stores_root=None) -> int:
    """:func:`batch_bytes` of a spec's training set (the grid's memory plan adds it to each worker's share)."""
    out = 0
    for corpus in spec.train:
        data = load_corpus(spec.model, corpus, stores_root, spec.layer)
        units = units_of(data.stop - data.start)
        out = max(out, batch_bytes(spec, data.frame_rate, int(units.max()) if len(units) else 1,
                                   data.columns.stop - data.columns.start))
    return out


def is_spectrogram(model: str) -> bool:
    """Whether the extractor of ``model`` writes spectrogram frames (a model sergen does not know: no)."""
    from sergen.extractors import EXTRACTORS, canonical_model

    name = canonical_model(model)
    return name in EXTRACTORS and bool(getattr(EXTRACTORS.get(name), "spectrogram", False))


def check_sequence_head(spec, stores_root=None) -> None:
    """``spec`` (a resolved ``ProbeSpec`` with a sequence head) fits its stores and the memory budget."""
    where = f"--model {spec.model} --train {spec.train_name} --head {spec.head}"
    mean_fix = "use a mean head (--head mlp or linear) on this store"
    if spec.pool != "mean":
        raise SergenError(f"--head {spec.head} pools the frames itself: --pool {spec.pool} is for the mean heads",
                          where=where, fix="leave --pool out (mean) with a sequence head")
    if spec.layer == "weighted":
        raise SergenError(f"--head {spec.head} takes one stored layer, not --layer weighted", where=where,
                          fix="pick a layer (--layer N, or - for the last), or " + mean_fix)
    if spec.head == "cnn" and not is_spectrogram(spec.model):
        raise SergenError(f"--head cnn convolves over time × frequency: the {spec.model} store holds embeddings, "
                          "not a spectrogram (its features have no order to convolve over)", where=where,
                          fix="use --model melspec (log-Mel) with --head cnn, or --head attn on this store")
    lo_s, hi_s = spec.sampler.window_s
    longest, dim = 0, 0
    for corpus in spec.train:
        data = load_corpus(spec.model, corpus, stores_root, spec.layer)
        rate = data.frame_rate
        lo, hi = window_units(lo_s, rate), window_units(hi_s, rate)
        if lo < MIN_UNITS:
            raise SergenError(
                f"the {spec.model} store of {corpus} has {rate:g} frames/s: a {lo_s:g} s window holds "
                f"{int(round(lo_s * rate))} frame(s), {lo} unit(s) of {BANK_STEP} frames, and a sequence head needs "
                f"{MIN_UNITS} units ({MIN_UNITS * BANK_STEP} frames) or more", where=where,
                fix=f"{mean_fix}, or lengthen the windows to {MIN_UNITS * BANK_STEP / rate:g} s or more "
                    f"(--set 'sampler.window_s=[{MIN_UNITS * BANK_STEP / rate:g}, {max(hi_s, MIN_UNITS * BANK_STEP / rate):g}]')"
                    f", or use a store with more frames per second (melspec 100/s, wavlm-large 50/s)")
        train = (data.split == "train") & (data.label >= 0) & data.is_clean
        units = units_of(data.stop[train] - data.start[train])
        if len(units) and np.median(units) < MIN_UNITS:
            raise SergenError(
                f"the {spec.model} store of {corpus} holds {np.median(units) * BANK_STEP:g} frames in its median "
                f"training utterance: too few for a sequence head ({MIN_UNITS * BANK_STEP} or more)", where=where,
                fix=mean_fix)
        longest = max(longest, int(units.max()) if len(units) else 0)
        dim = data.columns.stop - data.columns.start
    if longest and window_units(lo_s, rate) > longest:
        raise SergenError(
            f"a {lo_s:g} s window is longer than every training utterance of {spec.train_name} (the longest holds "
            f"{longest * BANK_STEP} frames, {longest * BANK_STEP / rate:.2f} s)", where=where,
            fix=f"shorten the windows: --set 'sampler.window_s=[{longest * BANK_STEP / rate / 2:.2g}, "
                f"{longest * BANK_STEP / rate:.2g}]'")
    joined = 2 if spec.sampler.mix_prob > 0 else 1
    batch = batch_bytes(spec, rate, longest, dim)
    budget = ram_budget_bytes()
    if batch > budget:
        raise SergenError(
            f"a batch of {spec.training.batch_size} sequences of up to {joined} × {hi_s:g} s of {dim} features needs "
            f"about {batch / 2**20:,.0f} MiB while it trains, more than the memory budget of {budget / 2**20:,.0f} MiB",
            where=where, fix="raise SERGEN_RAM_MIB, or lower the batch (--set training.batch_size=32) or the longest "
                             "window (--set 'sampler.window_s=[1, 2]')")
