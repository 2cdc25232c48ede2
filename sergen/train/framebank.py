"""Training frames as compact per-store banks: float32 prefix sums of each utterance at every second
frame and nothing else, so the sum of any window on that two-frame grid costs two rows, whatever its length.

The design, with the numbers behind it (measured on this project's 2-core machine, 1024-d, one thread):

- *Why not per-sample store reads*: a random window read from Zarr per sample runs at ~210 windows/s, a
  per-utterance ``.npy`` load ~2,900/s (DESIGN.md §4). The bank is a flat array (RAM or a mapped file).
- *Why not prefix sums at every frame* (the first bank): float32 is twice the float16 frames it comes from —
  MSP-Podcast at 12.5 Hz is ~9 GiB of float16 frames, ~18 GiB of prefix sums.
- *Why not float16 frames summed directly*, or frames plus sparser prefix rows (the second bank: frames +
  a prefix row every 8 frames, 1.25×): converting float16 to float32 costs ~2 ns a value in numpy, and the
  edge frames of each window dominated the stream (137 batches of 128 a second at 50 Hz, 330 at 12.5 Hz,
  against 1,480 linear-head training steps a second).
- *So*: one float32 prefix row per two frames, ``P_u[k] = sum(frames_u[:min(2k, T_u)])``, restarting per
  utterance (rounding stays at the scale of one utterance; computed in float64 from the float16-rounded
  frames, so a window sum is exact to float32 rounding). Two float16 frames are 4 bytes per feature, one
  float32 row is 4 bytes: the bank is the size of its float16 frames (plus half a row for each odd-length
  utterance: its last row holds one frame). Windows and masked runs start and end on the two-frame grid
  (``BANK_STEP`` frames = 40 ms at 50 Hz, 160 ms at 12.5 Hz) or at the utterance's end; their means are
  still exact means of the frames they cover, and the sampler counts those frames.

A :class:`StoreBank` covers every utterance of one store; a :class:`FrameBank` is a training set: a list
of store banks and the rows (entries) selected from them at run time, with labels, corpus indices and
the head's standardisation statistics. Nothing is copied to make one. Positions are in *units* (bank
rows: ``BANK_STEP`` frames each, the last one of an odd-length utterance holding one frame).

Statistics pooling (``--pool mean+std``, ``sergen.train.pooling``) adds a second table of the same layout to a
store bank: ``squares``, the float32 prefix sums of the frames' squares (``Q_u[k] = sum(frames_u[:min(2k,
T_u)]²)``, float64 from the float16-rounded frames, as ``prefix``). It is built only for runs that pool
mean+std, in its own bank file, and doubles the bank's bytes. A window's ``E[x²]`` then costs the same rows as
its mean (the same gathers, weights and masked runs), and its std is ``sqrt(max(E[x²] − mean², 0))``.
Rounding: two float32 rows of an utterance of T frames put an absolute error of about 6e-8 · (T / n) · E[x²]
on the E[x²] of an n-frame window; the variance, a difference, loses that much, which matters only for a
feature whose mean is hundreds of times its std (its std is then off by a few parts in a thousand, never negative).
"""

from __future__ import annotations

from dataclasses import dataclass

import warnings

import numpy as np

from sergen.train.bank_rows import gather
from sergen.train.pooling import input_dim, pooling, uses_squares

BANK_STEP = 2  # frames per prefix row
BANK_FORMAT = 5  # 4: meta files carry the prefix file's digest, 5: and one of their own arrays; bumped when the bank files' layout changes: older files are rebuilt, never misread


def units_of(lengths) -> np.ndarray:
    """Prefix rows (units) of utterances of ``lengths`` frames: one per started pair of frames."""
    return (np.asarray(lengths, np.int64) + BANK_STEP - 1) // BANK_STEP


@dataclass
class StoreBank:
    """One store's prefix rows; ``prefix`` may be a memory-mapped file."""

    prefix: np.ndarray  # (1 + sum(units), D) float32; row 0 is zeros
    length: np.ndarray  # (n_utts,) frames per utterance
    base: np.ndarray  # (n_utts,) P_u[k] (k >= 1) lives in prefix[base[u] + k]
    squares: np.ndarray | None = None  # same layout: prefix sums of squared frames (mean+std pooling only)

    @property
    def dim(self) -> int:
        return self.prefix.shape[1]

    @property
    def tables(self) -> int:
        """Row tables held: 1 (sums), 2 (sums and sums of squares)."""
        return 1 if self.squares is None else 2

    @property
    def nbytes(self) -> int:
        return self.prefix.nbytes * self.tables

    @property
    def mapped(self) -> bool:
        return isinstance(self.prefix, np.memmap)

    def entry_bytes(self, utts: np.ndarray) -> np.ndarray:
        """Bytes of bank rows (both tables where squares are held) that sampling the utterances ``utts`` can touch."""
        return units_of(self.length[utts]) * 4 * self.dim * self.tables

    def frames_before(self, utt: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Frames of utterance ``utt`` before unit ``k``."""
        return np.minimum(np.asarray(k) * BANK_STEP, self.length[utt])

    def unit_sum(self, utt, k0, k1, sign, out_row, n_out: int) -> np.ndarray:
        """``out[out_row[i]] += sign[i] * sum(frames of utt[i] in units [k0[i], k1[i]))`` for every query:
        one gather of two prefix rows per query and one sparse ±1 product (a masked window is a window and
        its removed runs: one call, not three)."""
        rows, offsets, weights = self._bag_inputs(utt, k0, k1, sign, out_row, n_out)
        table, rows = gather(self.prefix, rows)
        return self._bag(self._table_tensor(table), rows, offsets, weights)

    def unit_moments(self, utt, k0, k1, sign, out_row, n_out: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`unit_sum` of the frames and of their squares (the same rows and weights from both tables)."""
        if self.squares is None:
            raise ValueError("this store bank holds no sums of squares (built for mean pooling only)")
        rows, offsets, weights = self._bag_inputs(utt, k0, k1, sign, out_row, n_out)
        sums, local, squares = gather(self.prefix, rows, self.squares)  # the same distinct rows from both
        return (self._bag(self._table_tensor(sums), local, offsets, weights),
                self._bag(self._table_tensor(squares), local, offsets, weights))

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """``prefix[rows]`` as float32, read from the bank file where it is mapped (``bank_rows``)."""
        table, local = gather(self.prefix, rows)
        return np.asarray(table[local], np.float32)

    def _bag_inputs(self, utt, k0, k1, sign, out_row, n_out: int):
        """(bank rows, bag offsets, weights): the rows as numpy (``bank_rows.gather`` reads them), the rest as
        tensors."""
        utt, k0, k1 = (np.asarray(a, np.int64) for a in (utt, k0, k1))
        sign, out_row = np.asarray(sign, np.float32), np.asarray(out_row, np.int64)
        rows = np.concatenate([np.where(k1 == 0, 0, self.base[utt] + k1), np.where(k0 == 0, 0, self.base[utt] + k0)])
        targets = np.concatenate([out_row, out_row])
        weights = np.concatenate([sign, -sign])
        order = np.argsort(targets, kind="stable")  # each output's rows together: one bag per output
        offsets = np.concatenate([[0], np.cumsum(np.bincount(targets, minlength=n_out))[:-1]])
        import torch  # here, not at the top: the CLI lists the normalisations without starting torch

        return rows[order], torch.from_numpy(offsets), torch.from_numpy(weights[order])

    @staticmethod
    def _bag(table: torch.Tensor, rows: np.ndarray, offsets, weights) -> np.ndarray:
        # gather and weighted sum in one pass (2.7× faster than a gather and a sparse product)
        import torch

        return torch.nn.functional.embedding_bag(torch.from_numpy(rows), table, offsets, mode="sum",
                                                 per_sample_weights=weights).numpy()

    def _table_tensor(self, table: np.ndarray) -> torch.Tensor:
        """A whole table's tensor is made once (``tensor``, ``squares_tensor``); rows read for one call are not kept."""
        if table is self.prefix:
            return self.tensor
        if self.squares is not None and table is self.squares:
            return self.squares_tensor
        return _shared_tensor(table)

    @property
    def tensor(self) -> torch.Tensor:
        """``prefix`` as a torch tensor sharing its memory (a mapped file stays mapped, nothing is copied)."""
        if getattr(self, "_tensor", None) is None:
            self._tensor = _shared_tensor(self.prefix)
        return self._tensor

    @property
    def squares_tensor(self) -> torch.Tensor:
        if getattr(self, "_squares_tensor", None) is None:
            self._squares_tensor = _shared_tensor(self.squares)
        return self._squares_tensor

    def window_sum(self, utt, start, stop) -> np.ndarray:
        """float32 sums of frames ``[start, stop)``; both ends on the ``BANK_STEP`` grid or at the end."""
        utt, start, stop = (np.asarray(a, np.int64) for a in (utt, start, stop))
        k0, k1 = to_units(start, self.length[utt]), to_units(stop, self.length[utt])
        return self.unit_sum(utt, k0, k1, np.ones(len(utt), np.float32), np.arange(len(utt)), len(utt))


def _shared_tensor(array: np.ndarray) -> torch.Tensor:
    import torch

    with warnings.catch_warnings():  # a read-only mapping: torch warns, and never writes to it here
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(array)


def to_units(position: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Frame positions as units; a position off the grid (other than the utterance's end) is an error:
    the bank holds no sum that starts or ends there."""
    position = np.asarray(position, np.int64)
    off = (position % BANK_STEP != 0) & (position != length)
    if off.any() or (position > length).any() or (position < 0).any():
        bad = int(np.flatnonzero(off | (position > length) | (position < 0))[0])
        raise ValueError(f"frame position {position[bad]} (utterance of {length[bad]} frames) is not on the "
                         f"{BANK_STEP}-frame grid of the bank")
    return units_of(position)


def build_store_bank(frames_iter, lengths: np.ndarray, dim: int, allocate=None, squares: bool = False) -> StoreBank:
    """From consecutive per-utterance frame arrays ``[T_i, D]`` (a generator is fine): the bank in RAM, or
    in the array ``allocate(name, shape, dtype)`` returns (a memory-mapped file); ``squares``: with the sums
    of squares too (mean+std pooling)."""
    lengths = np.asarray(lengths, np.int64)
    units = units_of(lengths)
    base = np.concatenate([[0], np.cumsum(units)[:-1]]).astype(np.int64)  # row 0 is the zero row
    alloc = allocate or (lambda name, shape, dtype: np.zeros(shape, dtype))
    prefix = alloc("prefix", (int(units.sum()) + 1, dim), np.float32)
    sq = alloc("squares", (int(units.sum()) + 1, dim), np.float32) if squares else None
    for u, f in enumerate(frames_iter):
        if len(f) != lengths[u]:
            raise ValueError(f"utterance {u} has {len(f)} frames, {lengths[u]} were declared")
        prefix[base[u] + 1:base[u] + 1 + units[u]] = utterance_prefix(f)
        if squares:
            sq[base[u] + 1:base[u] + 1 + units[u]] = utterance_prefix(f, squared=True)
    return StoreBank(prefix, lengths, base, sq)


def utterance_prefix(frames: np.ndarray, squared: bool = False) -> np.ndarray:
    """float32 prefix sums of one utterance's float16-rounded frames (``squared``: of their squares) at each
    unit's end (the last one partial): ``P[k] = sum(frames[:min(k * BANK_STEP, T)])`` for k = 1 … ceil(T /
    BANK_STEP)."""
    f = np.asarray(frames, np.float16).astype(np.float64)
    cum = np.cumsum(f * f if squared else f, axis=0)
    ends = np.minimum(np.arange(1, units_of(len(f)) + 1) * BANK_STEP, len(f)) - 1
    return cum[ends].astype(np.float32)


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
    feature_mean: np.ndarray  # (D,) over all clean frames (zeros and ones when groups normalise instead)
    feature_std: np.ndarray  # (D,)
    group: np.ndarray | None = None  # (n_entries,) normalisation group, an index into ``group_map.names``
    group_map: object = None  # the fitted ``--norm`` (``sergen.train.norms.base.GroupMap``); None: global
    pool: str = "mean"  # ``sergen.train.pooling``; mean+std: feature_mean/std are 2×D and every bank holds squares

    def __post_init__(self):
        if uses_squares(self.pool) and any(b.squares is None for b in self.banks):
            raise ValueError(f"pool {self.pool!r} needs the sums of squares in every store bank")
        self.length = np.zeros(len(self.utt), np.int64)
        for b, bank in enumerate(self.banks):
            sel = self.bank_index == b
            self.length[sel] = bank.length[self.utt[sel]]
        self.units = units_of(self.length)

    @property
    def dim(self) -> int:
        """Frame features (D); the head's input is ``input_dim``."""
        return self.banks[0].dim

    @property
    def input_dim(self) -> int:
        return input_dim(self.pool, self.dim)

    def entry_bytes(self, entries: np.ndarray | None = None) -> np.ndarray:
        entries = np.arange(len(self.utt)) if entries is None else entries
        out = np.zeros(len(entries), np.int64)
        for b, bank in enumerate(self.banks):
            sel = self.bank_index[entries] == b
            out[sel] = bank.entry_bytes(self.utt[entries[sel]])
        return out

    def frames_before(self, entry: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Frames of each entry before its unit ``k``."""
        return np.minimum(np.asarray(k) * BANK_STEP, self.length[entry])

    def unit_sum(self, entry, k0, k1, sign, out_row, n_out: int) -> np.ndarray:
        """See :meth:`StoreBank.unit_sum`; queries on several banks are summed bank by bank."""
        entry, k0, k1 = (np.asarray(a, np.int64) for a in (entry, k0, k1))
        sign, out_row = np.asarray(sign, np.float32), np.asarray(out_row, np.int64)
        if len(self.banks) == 1:
            return self.banks[0].unit_sum(self.utt[entry], k0, k1, sign, out_row, n_out)
        out = np.zeros((n_out, self.dim), np.float32)
        which = self.bank_index[entry]
        for b in np.unique(which):
            sel = np.flatnonzero(which == b)
            out += self.banks[b].unit_sum(self.utt[entry[sel]], k0[sel], k1[sel], sign[sel], out_row[sel], n_out)
        return out

    def unit_moments(self, entry, k0, k1, sign, out_row, n_out: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`unit_sum` of the frames and of their squares."""
        entry, k0, k1 = (np.asarray(a, np.int64) for a in (entry, k0, k1))
        sign, out_row = np.asarray(sign, np.float32), np.asarray(out_row, np.int64)
        if len(self.banks) == 1:
            return self.banks[0].unit_moments(self.utt[entry], k0, k1, sign, out_row, n_out)
        out = np.zeros((n_out, self.dim), np.float32), np.zeros((n_out, self.dim), np.float32)
        which = self.bank_index[entry]
        for b in np.unique(which):
            sel = np.flatnonzero(which == b)
            sums, squares = self.banks[b].unit_moments(self.utt[entry[sel]], k0[sel], k1[sel], sign[sel],
                                                       out_row[sel], n_out)
            out[0][:] += sums
            out[1][:] += squares
        return out

    def window_sum(self, entry, start, stop) -> np.ndarray:
        """Sums of frames ``[start, stop)`` of each entry; both ends on the ``BANK_STEP`` grid or at the end."""
        entry = np.asarray(entry, np.int64)
        k0, k1 = to_units(start, self.length[entry]), to_units(stop, self.length[entry])
        return self.unit_sum(entry, k0, k1, np.ones(len(entry), np.float32), np.arange(len(entry)), len(entry))

    def window_mean(self, entry, start, stop) -> np.ndarray:
        return self.window_sum(entry, start, stop) / (np.asarray(stop) - np.asarray(start))[:, None]


STATS_ROWS = 4096  # utterances per block of ``pooled_stats``: float64 temporaries of 4096 × D, not N × D


def pooled_stats(means: np.ndarray, stds: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) std of all frames of several utterances from each one's mean, std and length:
    ``E[x] = Σ n_i m_i / N``, ``E[x²] = Σ n_i (s_i² + m_i²) / N``, ``var = E[x²] − E[x]²`` — no pass over
    the frames (``StatsSum`` sums them)."""
    total = StatsSum()
    total.add(means, stds, lengths)
    return total.result()


class StatsSum:
    """``pooled_stats`` over utterances given part after part (a training set's stores one by one), the same
    bits as over their concatenation.

    Summed in blocks of ``STATS_ROWS`` utterances into a running float64 row (issue 26): the N × D float64
    temporaries of a one-shot sum were ~2.5 GiB for the real-size ``all`` training set, in each worker at
    once, and parts added as they come need no concatenated copy. Each block is reduced with the running row
    on top, row after row, as numpy reduces axis 0 of a whole array; the lengths are whole numbers, whose
    float64 sums are exact in any order."""

    def __init__(self):
        self.first = self.second = None
        self.frames = 0.0

    def add(self, means, stds, lengths) -> None:
        n_all = np.asarray(lengths, np.float64)
        self.frames += n_all.sum()
        if self.first is None:
            dim = np.shape(means)[1] if len(means) else np.shape(stds)[1]
            self.first, self.second = np.zeros(dim), np.zeros(dim)
        for lo in range(0, len(n_all), STATS_ROWS):
            n = n_all[lo:lo + STATS_ROWS, None]
            m = np.asarray(means[lo:lo + STATS_ROWS], np.float64)
            s = np.asarray(stds[lo:lo + STATS_ROWS], np.float64)
            self.first = np.add.reduce(np.concatenate([self.first[None], n * m]), axis=0)
            np.square(s, out=s)
            s += np.square(m, out=m)
            self.second = np.add.reduce(np.concatenate([self.second[None], n * s]), axis=0)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        total = max(self.frames, 1.0)
        mean = self.first / total
        var = self.second / total - mean**2
        return mean.astype(np.float32), np.sqrt(np.maximum(var, 1e-12)).astype(np.float32)


def build_framebank(frames_list, labels, corpora, utt_keys, clean, lengths=None, allocate=None,
                    pool: str = "mean") -> FrameBank:
    """One in-RAM store bank from per-entry frame arrays ``[T_i, D]`` with every entry selected — for
    tests, benchmarks and notebooks. Statistics come from the clean entries' frames (the std half's, with
    ``pool="mean+std"``, from their utterance stds: ``pooling.std_half_stats``)."""
    frames_list = list(frames_list)
    lengths = np.array([len(f) for f in frames_list], np.int64) if lengths is None else np.asarray(lengths)
    store = build_store_bank(frames_list, lengths, frames_list[0].shape[1], allocate, squares=uses_squares(pool))
    clean = np.asarray(clean, bool)
    f16 = [np.asarray(f, np.float16).astype(np.float32) for f, c in zip(frames_list, clean) if c]
    mean, std = pooled_stats([f.mean(0) for f in f16], [f.std(0) for f in f16], [len(f) for f in f16])
    mean, std = pooling(pool).head_statistics(mean, std, lambda: [f.std(0) for f in f16])
    n = len(frames_list)
    return FrameBank([store], np.zeros(n, np.int64), np.arange(n), np.asarray(labels, np.int64),
                     np.asarray(corpora, np.int64), np.asarray(utt_keys, np.int64), clean, mean, std, pool=pool)
