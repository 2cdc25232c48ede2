"""The endless, seeded stream of training vectors (the poster's "Methods"): class first, then an
utterance, a view, a random window, same-label mixing, frame masking, averaging, gaussian noise."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from sergen.errors import SergenError
from sergen.train.framebank import FrameBank


NOISE_POOL_ROWS = 8192


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
        lo, hi = self.window_s
        if not 0 < lo <= hi:
            raise ValueError(f"window_s must be 0 < min <= max, got {self.window_s}")
        for name in ("aug_share", "mix_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if not 0 <= self.mask_frac < 1:
            raise ValueError(f"mask_frac must lie in [0, 1), got {self.mask_frac}")
        if self.noise_std < 0:
            raise ValueError(f"noise_std must be >= 0, got {self.noise_std}")

    def as_dict(self) -> dict:
        return asdict(self)


class WindowSampler:
    """Draws batches of averaged windows from a FrameBank; same seed, same stream."""

    def __init__(self, bank: FrameBank, frame_rate: float, config: SamplerConfig = SamplerConfig(), seed: int = 0):
        self.bank, self.cfg = bank, config
        self.rng = np.random.default_rng(seed)
        self.win_frames = (max(1, int(round(config.window_s[0] * frame_rate))),
                           max(1, int(round(config.window_s[1] * frame_rate))))
        self.classes = np.unique(bank.label[bank.is_clean])
        clean = np.flatnonzero(bank.is_clean)
        # pools of clean entries per class and per (class, corpus)
        self.by_class = {c: clean[bank.label[clean] == c] for c in self.classes}
        self.by_class_corpus = {
            c: [clean[(bank.label[clean] == c) & (bank.corpus[clean] == k)]
                for k in np.unique(bank.corpus[clean]) if ((bank.label[clean] == c) & (bank.corpus[clean] == k)).any()]
            for c in self.classes
        }
        # augmented views of each utterance
        aug = np.flatnonzero(~bank.is_clean)
        order = np.argsort(bank.utt_key[aug], kind="stable")
        self.aug_sorted, self.aug_keys = aug[order], bank.utt_key[aug][order]
        # Gaussian noise rows drawn once and picked at random per sample: drawing B×D normals per batch
        # cost more than all the window arithmetic together (measured: ~3× slower stream).
        self.noise_pool = (self.rng.standard_normal((NOISE_POOL_ROWS, bank.dim), dtype=np.float32)
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
            if self.cfg.corpus_first and len(self.by_class_corpus[c]) > 1:
                pools = self.by_class_corpus[c]
                which = self.rng.integers(len(pools), size=len(where))
                out[where] = [pools[k][self.rng.integers(len(pools[k]))] for k in which]
            else:
                pool = self.by_class[c]
                out[where] = pool[self.rng.integers(len(pool), size=len(where))]
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
        lengths = self.bank.length[entries]
        want = self.rng.integers(self.win_frames[0], self.win_frames[1] + 1, size=len(entries))
        size = np.minimum(want, lengths)
        start = (self.rng.random(len(entries)) * (lengths - size + 1)).astype(np.int64)
        return start, start + size

    def masked_sum(self, entries, start, stop) -> tuple[np.ndarray, np.ndarray]:
        """Window sums with two runs of frames removed (one in each half), and the frames left; the
        window and its runs are summed in one call to the bank."""
        count = (stop - start).astype(np.float32)
        if self.cfg.mask_frac <= 0:
            return self.bank.window_sum(entries, start, stop), count
        n = len(entries)
        queries = [(np.arange(n), start, stop, 1.0)]
        size = stop - start
        run = np.floor(size * self.cfg.mask_frac / 2).astype(np.int64)
        half = size // 2
        for lo, span in ((start, half), (start + half, size - half)):
            ok = (run > 0) & (span > run)
            if not ok.any():
                continue
            r0 = lo[ok] + (self.rng.random(ok.sum()) * (span[ok] - run[ok] + 1)).astype(np.int64)
            queries.append((np.flatnonzero(ok), r0, r0 + run[ok], -1.0))
            count[ok] -= run[ok]
        rows = np.concatenate([q[0] for q in queries])
        total = self.bank.signed_sum(entries[rows], np.concatenate([q[1] for q in queries]),
                                     np.concatenate([q[2] for q in queries]),
                                     np.concatenate([np.full(len(q[0]), q[3], np.float32) for q in queries]),
                                     rows, n)
        return total, count

    def sample(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """A batch of feature vectors ``[B, D]`` (float32) and their class indices."""
        classes = self.draw_classes(batch_size)
        entries = self.pick_views(self.draw_utterances(classes))
        start, stop = self.draw_windows(entries)
        total, count = self.masked_sum(entries, start, stop)
        mix = self.rng.random(batch_size) < self.cfg.mix_prob
        if mix.any():
            partners = self.pick_views(self.draw_utterances(classes[mix]))
            p_start, p_stop = self.draw_windows(partners)
            p_total, p_count = self.masked_sum(partners, p_start, p_stop)
            total[mix] += p_total
            count[mix] += p_count
        x = total / count[:, None]
        if self.cfg.noise_std > 0:
            x += self.noise_pool[self.rng.integers(len(self.noise_pool), size=batch_size)]
        return x, classes
