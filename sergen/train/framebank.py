"""Training frames as compact per-store banks: float16 frames plus float32 block prefix sums, so that the
mean of any window of frames costs two prefix rows plus a few edge frames, whatever its length.

The design, with the numbers behind it (measured on this project's 2-core machine, 1024-d):

- *Why not per-sample store reads*: a random window read from Zarr per sample runs at ~210 windows/s, a
  per-utterance ``.npy`` load ~2,900/s (DESIGN.md §4). Frames must sit in a flat array (RAM or a mapped file).
- *Why not float32 prefix sums of every frame* (the previous bank): twice the float16 frames they come
  from — MSP-Podcast at 12.5 Hz is ~9 GiB of float16 frames, ~18 GiB of prefix sums.
- *Why not window sums computed directly from float16 frames*: a 1–3 s window is 12–38 frames at 12.5 Hz
  and 50–150 at 50 Hz; converting float16 to float32 costs ~2 ns per value here, so a batch of 128
  windows of 25 frames costs ~7 ms — several times the head's training step (~0.8 ms linear, ~3 ms MLP).
- *So*: the frames stay float16 (row ``r`` of the bank is row ``r`` of the store) and each utterance gets
  float32 prefix sums at every ``BLOCK_FRAMES``-th frame (restarting per utterance, so rounding stays at
  the scale of one utterance). A window sum is ``P[k_e] − P[k_s]`` at the block boundaries nearest to its
  ends plus/minus the frames between each end and its boundary (at most ``BLOCK_FRAMES / 2`` per end, 4 on
  average at 16); a window shorter than that is summed directly. The bank is ``1 + 2 / BLOCK_FRAMES`` times
  its float16 frames (1.125×: 16 frames of float16 = 32 bytes per feature, one float32 prefix = 4 bytes),
  plus one prefix row per utterance for its partial last block.

A :class:`StoreBank` covers every utterance of one store; a :class:`FrameBank` is a training set: a list
of store banks and the rows (entries) selected from them at run time, with labels, corpus indices and
the head's standardisation statistics. Nothing is copied to make one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse

BLOCK_FRAMES = 8


def block_rows(lengths: np.ndarray) -> np.ndarray:
    """Prefix rows each utterance needs: one per started block (row 0 of the array is the shared zero)."""
    return (np.asarray(lengths, np.int64) + BLOCK_FRAMES - 1) // BLOCK_FRAMES


@dataclass
class StoreBank:
    """One store's frames and block prefix sums; ``frames``/``blocks`` may be memory-mapped files."""

    frames: np.ndarray  # (n_frames, D) float16, row r = the store's frame row r
    blocks: np.ndarray  # (1 + sum(block_rows), D) float32; row 0 is zeros
    start: np.ndarray  # (n_utts,) first frame row of each utterance
    length: np.ndarray  # (n_utts,) frames per utterance
    block_base: np.ndarray  # (n_utts,) prefix P_u[k] (k >= 1) lives in blocks[block_base + k]

    @property
    def dim(self) -> int:
        return self.frames.shape[1]

    @property
    def nbytes(self) -> int:
        return self.frames.nbytes + self.blocks.nbytes

    def entry_bytes(self, utts: np.ndarray) -> np.ndarray:
        """Bytes of frames and prefix rows that sampling the utterances ``utts`` can touch."""
        return (self.length[utts] * 2 + block_rows(self.length[utts]) * 4) * self.dim

    def _endpoint(self, utt, x):
        """The block boundary nearest to frame position ``x``: its prefix row and its frame position."""
        n_blocks = block_rows(self.length[utt])
        k = np.minimum((x + BLOCK_FRAMES // 2) // BLOCK_FRAMES, n_blocks)
        return np.where(k == 0, 0, self.block_base[utt] + k), np.minimum(k * BLOCK_FRAMES, self.length[utt])

    def window_sum(self, utt: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
        """float32 sums of frames ``[start, stop)`` of each utterance, vectorised over the batch."""
        return self.signed_sum(utt, start, stop, np.ones(len(utt), np.float32), np.arange(len(utt)), len(utt))

    def signed_sum(self, utt, start, stop, sign, out_row, n_out: int) -> np.ndarray:
        """``out[out_row[i]] += sign[i] * sum(frames of utt[i] in [start[i], stop[i]))`` for every query, in
        one gather of frame rows and prefix rows and one sparse ±1 product (a masked window is a window and
        its removed runs: one call, not three)."""
        utt, start, stop = (np.asarray(a, np.int64) for a in (utt, start, stop))
        sign, out_row = np.asarray(sign, np.float32), np.asarray(out_row, np.int64)
        row_s, pos_s = self._endpoint(utt, start)
        row_e, pos_e = self._endpoint(utt, stop)
        direct = (stop - start) <= np.abs(start - pos_s) + np.abs(stop - pos_e) + 4
        # frame runs as (query, first frame within the utterance, frames, sign relative to the query)
        runs = [(np.flatnonzero(direct), start[direct], stop[direct] - start[direct], 1.0)]
        for pos, x, rel in ((pos_e, stop, 1.0), (pos_s, start, -1.0)):
            fwd = ~direct & (x > pos)  # boundary before x: add (or remove) the frames [pos, x)
            bwd = ~direct & (x < pos)  # boundary after x: remove (or add) the frames [x, pos)
            runs.append((np.flatnonzero(fwd), pos[fwd], (x - pos)[fwd], rel))
            runs.append((np.flatnonzero(bwd), x[bwd], (pos - x)[bwd], -rel))
        query = np.concatenate([r[0] for r in runs])
        first = np.concatenate([r[1] for r in runs]) + self.start[utt[query]]
        count = np.concatenate([r[2] for r in runs])
        weight = np.concatenate([np.full(len(r[0]), r[3], np.float32) for r in runs]) * sign[query]
        offsets = np.cumsum(count) - count
        frame_index = np.repeat(first - offsets, count) + np.arange(int(count.sum()))
        blk = np.flatnonzero(~direct)
        rows = np.concatenate([self.frames[frame_index].astype(np.float32),
                               self.blocks[np.concatenate([row_e[blk], row_s[blk]])]])
        targets = np.concatenate([np.repeat(out_row[query], count), out_row[blk], out_row[blk]])
        weights = np.concatenate([np.repeat(weight, count), sign[blk], -sign[blk]])
        order = np.argsort(targets, kind="stable")  # CSR rows in order: no format conversion
        indptr = np.concatenate([[0], np.cumsum(np.bincount(targets, minlength=n_out))])
        pick = scipy.sparse.csr_matrix((weights[order], order, indptr), shape=(n_out, len(rows)))
        return np.asarray(pick @ rows, np.float32)


def build_store_bank(frames_iter, lengths: np.ndarray, dim: int, allocate=None) -> StoreBank:
    """From consecutive per-utterance frame arrays ``[T_i, D]`` (a generator is fine): the bank in RAM, or
    in the arrays ``allocate(name, shape, dtype)`` returns (memory-mapped files)."""
    lengths = np.asarray(lengths, np.int64)
    start = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    n_blocks = block_rows(lengths)
    block_base = np.concatenate([[0], np.cumsum(n_blocks)[:-1]]).astype(np.int64)  # row 0 is the zero row
    alloc = allocate or (lambda name, shape, dtype: np.zeros(shape, dtype))
    frames = alloc("frames", (int(lengths.sum()), dim), np.float16)
    blocks = alloc("blocks", (int(n_blocks.sum()) + 1, dim), np.float32)
    for u, f in enumerate(frames_iter):
        if len(f) != lengths[u]:
            raise ValueError(f"utterance {u} has {len(f)} frames, {lengths[u]} were declared")
        frames[start[u]:start[u] + lengths[u]] = f
        blocks[block_base[u] + 1:block_base[u] + 1 + n_blocks[u]] = utterance_prefix(f)
    return StoreBank(frames, blocks, start, lengths, block_base)


def utterance_prefix(frames: np.ndarray) -> np.ndarray:
    """float32 prefix sums of one utterance's float16-rounded frames at each block end (the last one
    partial): ``P[k] = sum(frames[:min(k * BLOCK_FRAMES, T)])`` for k = 1 … ceil(T / BLOCK_FRAMES)."""
    f = np.asarray(frames, np.float16).astype(np.float64)
    n = block_rows([len(f)])[0]
    padded = np.zeros((n * BLOCK_FRAMES, f.shape[1]))
    padded[:len(f)] = f
    return np.cumsum(padded.reshape(n, BLOCK_FRAMES, -1).sum(1), axis=0).astype(np.float32)


@dataclass
class FrameBank:
    """A training set: entries (one per (utterance, view) drawn from) over a list of store banks. An
    *entry* is one utterance of one bank; ``utt_key`` ties the views of an utterance."""

    banks: list[StoreBank]
    bank_index: np.ndarray  # (n_entries,) which bank
    utt: np.ndarray  # (n_entries,) utterance within that bank
    label: np.ndarray  # (n_entries,) class index
    corpus: np.ndarray  # (n_entries,) corpus index
    utt_key: np.ndarray  # (n_entries,) utterance index (shared by its views)
    is_clean: np.ndarray  # (n_entries,) bool
    feature_mean: np.ndarray  # (D,) over all clean frames
    feature_std: np.ndarray  # (D,)

    def __post_init__(self):
        self.length = np.zeros(len(self.utt), np.int64)
        for b, bank in enumerate(self.banks):
            sel = self.bank_index == b
            self.length[sel] = bank.length[self.utt[sel]]

    @property
    def dim(self) -> int:
        return self.banks[0].dim

    def entry_bytes(self, entries: np.ndarray | None = None) -> np.ndarray:
        entries = np.arange(len(self.utt)) if entries is None else entries
        out = np.zeros(len(entries), np.int64)
        for b, bank in enumerate(self.banks):
            sel = self.bank_index[entries] == b
            out[sel] = bank.entry_bytes(self.utt[entries[sel]])
        return out

    def window_sum(self, entry: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
        """Sum of frames ``[start, stop)`` of each entry, vectorised over the batch (bank by bank)."""
        entry = np.asarray(entry, np.int64)
        if len(self.banks) == 1:
            return self.banks[0].window_sum(self.utt[entry], start, stop)
        out = np.empty((len(entry), self.dim), np.float32)
        which = self.bank_index[entry]
        for b in np.unique(which):
            sel = np.flatnonzero(which == b)
            out[sel] = self.banks[b].window_sum(self.utt[entry[sel]], start[sel], stop[sel])
        return out

    def signed_sum(self, entry, start, stop, sign, out_row, n_out: int) -> np.ndarray:
        """See :meth:`StoreBank.signed_sum`; queries on several banks are summed bank by bank."""
        entry, start, stop = (np.asarray(a, np.int64) for a in (entry, start, stop))
        sign, out_row = np.asarray(sign, np.float32), np.asarray(out_row, np.int64)
        if len(self.banks) == 1:
            return self.banks[0].signed_sum(self.utt[entry], start, stop, sign, out_row, n_out)
        out = np.zeros((n_out, self.dim), np.float32)
        which = self.bank_index[entry]
        for b in np.unique(which):
            sel = np.flatnonzero(which == b)
            out += self.banks[b].signed_sum(self.utt[entry[sel]], start[sel], stop[sel], sign[sel], out_row[sel],
                                            n_out)
        return out

    def window_mean(self, entry, start, stop) -> np.ndarray:
        return self.window_sum(entry, start, stop) / (np.asarray(stop) - np.asarray(start))[:, None]



def pooled_stats(means: np.ndarray, stds: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) std of all frames of several utterances from each one's mean, std and length:
    ``E[x] = Σ n_i m_i / N``, ``E[x²] = Σ n_i (s_i² + m_i²) / N``, ``var = E[x²] − E[x]²`` — no pass over
    the frames."""
    n = np.asarray(lengths, np.float64)[:, None]
    m, s = np.asarray(means, np.float64), np.asarray(stds, np.float64)
    total = max(n.sum(), 1.0)
    mean = (n * m).sum(0) / total
    var = (n * (s**2 + m**2)).sum(0) / total - mean**2
    return mean.astype(np.float32), np.sqrt(np.maximum(var, 1e-12)).astype(np.float32)


def build_framebank(frames_list, labels, corpora, utt_keys, clean, lengths=None, allocate=None) -> FrameBank:
    """One in-RAM store bank from per-entry frame arrays ``[T_i, D]`` with every entry selected — for
    tests, benchmarks and notebooks. Statistics come from the clean entries' frames."""
    frames_list = list(frames_list)
    lengths = np.array([len(f) for f in frames_list], np.int64) if lengths is None else np.asarray(lengths)
    store = build_store_bank(frames_list, lengths, frames_list[0].shape[1], allocate)
    clean = np.asarray(clean, bool)
    f16 = [np.asarray(f, np.float16).astype(np.float32) for f, c in zip(frames_list, clean) if c]
    mean, std = pooled_stats([f.mean(0) for f in f16], [f.std(0) for f in f16], [len(f) for f in f16])
    n = len(frames_list)
    return FrameBank([store], np.zeros(n, np.int64), np.arange(n), np.asarray(labels, np.int64),
                     np.asarray(corpora, np.int64), np.asarray(utt_keys, np.int64), clean, mean, std)
