"""The endless, seeded stream of training vectors (the poster's "Methods"): class first, then an
utterance, a view, a random window, same-label mixing, frame masking, averaging, gaussian noise.

Windows and masked runs lie on the bank's two-frame grid (``framebank.BANK_STEP``); their lengths are
drawn in bank units, a masked run's length rounded at random so the masked share is ``mask_frac`` on
average even where windows are a few units long (Phi-4's 12.5 Hz). Draws are made ``PREFETCH`` batches at a
time: the per-call work of numpy and scipy, not the arithmetic, is what costs at batch 128."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from sergen.bounds import MAX_WINDOW_S
from sergen.errors import SergenError
from sergen.train.framebank import BANK_STEP, FrameBank
from sergen.train.pooling import pooling


NOISE_POOL_ROWS = 8192
PREFETCH = 8  # batches drawn per call


MAX_NOISE_STD = 10.0  # beyond this the windows are noise: almost surely a typo


@dataclass(frozen=True)
class SamplerConfig:
    """Every knob of the stream; the defaults are the settings sergen's results use."""

    window_s: tuple[float, float] = (1.0, 3.0)  # window length drawn uniformly in seconds
    corpus_first: bool = True  # multi-corpus: draw the corpus before the utterance
    class_first: bool = True  # draw a class uniformly, then an utterance; False: classes as often as the pool holds them
    aug_share: float = 0.0  # probability of taking an augmented view
    mix_prob: float = 0.2  # probability of joining a window of another same-class utterance
    mask_frac: float = 0.1  # fraction of the window's frames dropped, as two removed runs
    noise_std: float = 0.05  # gaussian noise, in units of each feature's standard deviation

    def __post_init__(self):
        try:
            lo, hi = self.window_s
        except (TypeError, ValueError):
            raise ValueError(f"window_s must be two lengths in seconds, min and max, got {self.window_s!r}") from None
        if not 0 < lo <= hi:
            raise ValueError(f"window_s must be two lengths in seconds with 0 < min <= max, got min {lo}, max {hi}")
        if not hi <= MAX_WINDOW_S:  # inf too: a window is counted in frames, which would overflow
            raise ValueError(f"window_s must be two lengths in seconds of at most {MAX_WINDOW_S:g} (longer than any "
                             f"utterance), got max {hi:g}")
        for name in ("aug_share", "mix_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie from 0 to 1, got {getattr(self, name)}")
        if not 0 <= self.mask_frac < 1:
            raise ValueError(f"mask_frac must lie from 0 up to (not including) 1, got {self.mask_frac}")
        if not 0 <= self.noise_std <= MAX_NOISE_STD:  # nan and inf fail too
            raise ValueError(f"noise_std must lie from 0 to {MAX_NOISE_STD} (units of each feature's standard "
                             f"deviation), got {self.noise_std}")
        # one spelling per value (1 and 1.0, [1, 3] and [1.0, 3.0]): equal settings, one run id
        for name in ("aug_share", "mix_prob", "mask_frac", "noise_std"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "window_s", (float(lo), float(hi)))

    def as_dict(self) -> dict:
        return asdict(self)


class WindowSampler:
    """Draws batches of averaged windows from a FrameBank; same seed, same stream."""

    def __init__(self, bank: FrameBank, frame_rate: float, config: SamplerConfig = SamplerConfig(), seed: int = 0):
        self.bank, self.cfg = bank, config
        self.pooling = pooling(bank.pool)  # how a window becomes the head's input (``sergen.train.pooling``)
        self.rng = np.random.default_rng(seed)
        self.win_units = (max(1, int(round(config.window_s[0] * frame_rate / BANK_STEP))),
                          max(1, int(round(config.window_s[1] * frame_rate / BANK_STEP))))
        self._buffer: tuple[np.ndarray, np.ndarray] | None = None
        self.classes = np.unique(bank.label[bank.is_clean])
        clean = np.flatnonzero(bank.is_clean)
        # pools of clean entries per class and per (class, corpus)
        self.by_class = {c: clean[bank.label[clean] == c] for c in self.classes}
        self.by_class_corpus = {
            c: [clean[(bank.label[clean] == c) & (bank.corpus[clean] == k)]
                for k in np.unique(bank.corpus[clean]) if ((bank.label[clean] == c) & (bank.corpus[clean] == k)).any()]
            for c in self.classes
        }
        # normalisation groups: a mixed window's partner comes from its anchor's class and group
        if bank.group is not None:
            keys = bank.label[clean].astype(np.int64) * (int(bank.group.max()) + 1) + bank.group[clean]
            order = np.argsort(keys, kind="stable")
            self.group_pool, self.group_keys = clean[order], keys[order]
        # augmented views of each utterance
        aug = np.flatnonzero(~bank.is_clean)
        order = np.argsort(bank.utt_key[aug], kind="stable")
        self.aug_sorted, self.aug_keys = aug[order], bank.utt_key[aug][order]
        # Gaussian noise rows drawn once, then taken as a run from a random row per draw: drawing B×D normals
        # cost more than all the window arithmetic together (measured: ~3× slower stream).
        self.noise_pool = (self.rng.standard_normal((NOISE_POOL_ROWS, bank.input_dim), dtype=np.float32)
                           * (config.noise_std * bank.feature_std))
        if config.aug_share > 0 and not len(aug):
            raise SergenError("aug_share > 0 but the training stores hold no augmented views",
                              fix="extract some first: `sergen extract --model M --corpus C --view pink-noise` "
                                  "(`sergen views` lists them)")

    # -- the draws -------------------------------------------------------------------------------
    def draw_classes(self, n: int) -> np.ndarray:
        if not self.cfg.class_first:  # a uniformly drawn clean utterance's class: the pool's class shares
            return self.bank.label[self.bank.is_clean][self.rng.integers(int(self.bank.is_clean.sum()), size=n)]
        return self.classes[self.rng.integers(len(self.classes), size=n)]

    def draw_utterances(self, classes: np.ndarray) -> np.ndarray:
        out = np.empty(len(classes), np.int64)
        for c in np.unique(classes):
            where = np.flatnonzero(classes == c)
            pools = self.by_class_corpus[c] if self.cfg.corpus_first else [self.by_class[c]]
            which = self.rng.integers(len(pools), size=len(where)) if len(pools) > 1 else np.zeros(len(where), int)
            for k, pool in enumerate(pools):
                sel = where[which == k]
                out[sel] = pool[self.rng.integers(len(pool), size=len(sel))]
        return out

    def pick_views(self, entries: np.ndarray) -> np.ndarray:
        if self.cfg.aug_share <= 0 or not len(self.aug_sorted):
            return entries
        take = self.rng.random(len(entries)) < self.cfg.aug_share
        keys = self.bank.utt_key[entries[take]]
        lo = np.searchsorted(self.aug_keys, keys, side="left")
        hi = np.searchsorted(self.aug_keys, keys, side="right")
        has = hi > lo
        pick = lo + (self.rng.random(len(keys)) * np.maximum(hi - lo, 1)).astype(np.int64)
        chosen = entries[take].copy()
        chosen[has] = self.aug_sorted[pick[has]]
        out = entries.copy()
        out[take] = chosen
        return out

    def draw_windows(self, entries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Windows as bank units ``[k0, k1)``: a length drawn uniformly, cut to the utterance, placed at random."""
        units = self.bank.units[entries]
        want = self.rng.integers(self.win_units[0], self.win_units[1] + 1, size=len(entries))
        size = np.minimum(want, units)
        k0 = (self.rng.random(len(entries)) * (units - size + 1)).astype(np.int64)
        return k0, k0 + size

    def masked_windows(self, entries, k0, k1):
        """The bank queries of windows with two runs removed (one in each half of the window): (entry,
        first unit, end unit, sign, window index) per query, and each window's frames left."""
        frames = self.bank.frames_before
        n = len(entries)
        count = (frames(entries, k1) - frames(entries, k0)).astype(np.float32)
        window, first, end, sign = [np.arange(n)], [k0], [k1], [np.ones(n, np.float32)]
        if self.cfg.mask_frac > 0:
            size = k1 - k0
            run = np.floor(size * self.cfg.mask_frac / 2 + self.rng.random(n)).astype(np.int64)
            half = size // 2
            for lo, span in ((k0, half), (k0 + half, size - half)):
                ok = np.flatnonzero((run > 0) & (span > run))
                if not len(ok):
                    continue
                r0 = lo[ok] + (self.rng.random(len(ok)) * (span[ok] - run[ok] + 1)).astype(np.int64)
                r1 = r0 + run[ok]
                window.append(ok), first.append(r0), end.append(r1), sign.append(-np.ones(len(ok), np.float32))
                count[ok] -= frames(entries[ok], r1) - frames(entries[ok], r0)
        window = np.concatenate(window)
        return entries[window], np.concatenate(first), np.concatenate(end), np.concatenate(sign), window, count

    def masked_sum(self, entries, k0, k1) -> tuple[np.ndarray, np.ndarray]:
        """Masked window sums and the frames left in each."""
        entry, first, end, sign, window, count = self.masked_windows(entries, k0, k1)
        return self.bank.unit_sum(entry, first, end, sign, window, len(entries)), count

    def draw(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` feature vectors ``[n, D]`` (``[n, 2D]``: mean and std, with mean+std pooling; float32) and
        their class indices. A mixed sample is the mean of the frames of both its windows; every window, run
        and partner is one weighted sum over the bank (weights ±1 / frames), so the means (and ``E[x²]``, from
        the squares table) come out of one call (``sergen.train.pooling`` says what std means here)."""
        classes = self.draw_classes(n)
        entries = self.pick_views(self.draw_utterances(classes))
        entry, first, end, sign, window, count = self.masked_windows(entries, *self.draw_windows(entries))
        mix = np.flatnonzero(self.rng.random(n) < self.cfg.mix_prob)
        if len(mix):
            partners = self.pick_views(self.draw_partners(classes[mix], entries[mix]))
            p_entry, p_first, p_end, p_sign, p_window, p_count = self.masked_windows(
                partners, *self.draw_windows(partners))
            count[mix] += p_count
            entry, first, end = (np.concatenate(pair) for pair in ((entry, p_entry), (first, p_first), (end, p_end)))
            sign, window = np.concatenate([sign, p_sign]), np.concatenate([window, mix[p_window]])
        halves = self.pooling.window(self.bank, entry, first, end, sign / count[window], window, n)
        self.drawn_corpus = self.bank.corpus[entries]  # for heads that learn against the corpus (mlp-dann)
        if self.bank.group is not None:  # each window by its own group's map (``sergen.train.norms``)
            g = self.bank.group[entries]
            halves = [self.bank.group_map.apply(halves[0], g),
                      *(self.bank.group_map.apply_std(h, g) for h in halves[1:])]
        x = halves[0] if len(halves) == 1 else np.concatenate(halves, axis=1)
        if self.cfg.noise_std > 0:
            x += self.noise_rows(n)
        return x, classes

    def draw_partners(self, classes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
        """Same-class partners; with normalisation groups, from the anchor's group too (one group's
        statistics then standardise the whole mixed window)."""
        if self.bank.group is None:
            return self.draw_utterances(classes)
        keys = classes.astype(np.int64) * (int(self.bank.group.max()) + 1) + self.bank.group[anchors]
        lo = np.searchsorted(self.group_keys, keys, side="left")
        hi = np.searchsorted(self.group_keys, keys, side="right")
        return self.group_pool[lo + (self.rng.random(len(keys)) * (hi - lo)).astype(np.int64)]

    def noise_rows(self, n: int) -> np.ndarray:
        """``n`` consecutive rows of the noise pool from a random row on (wrapping): a slice costs a third of
        a random gather, and within a draw no row repeats."""
        pool = self.noise_pool
        at = int(self.rng.integers(len(pool)))
        if at + n <= len(pool):
            return pool[at:at + n]
        rest = at + n - len(pool)
        if rest <= len(pool):  # np.resize would copy the whole pool first
            return np.concatenate([pool[at:], pool[:rest]])
        return np.concatenate([pool[at:], np.resize(pool, (rest, pool.shape[1]))])

    def sample(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """The next batch of the stream (drawn ``PREFETCH`` batches at a time)."""
        if self._buffer is None or len(self._buffer[1]) < batch_size:
            self._buffer = (*self.draw(batch_size * PREFETCH), self.drawn_corpus)
        x, y, corpus = self._buffer
        self._buffer = (x[batch_size:], y[batch_size:], corpus[batch_size:])
        self.last_corpus = corpus[:batch_size]  # the training corpus of each window of this batch
        return x[:batch_size], y[:batch_size]
