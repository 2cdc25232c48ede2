"""What every corpus reader shares: the manifest schema, problem collection, header reads and splits.

A reader only knows its corpus's native layout (``scan``) and split rule (``assign_splits``); the
checks that every manifest needs (missing files, unreadable headers, duplicate ids, empty corpora)
live here once.

A manifest holds every utterance that has an emotion class of its own: ``native_label`` is that class as a
readable word (the same word across corpora where the meaning is the same), ``label`` its 4-class name, or
:data:`OUTSIDE_FOUR` ("") when it is none of hap/sad/neu/ang. So ``--labels native`` finds every class of a
corpus without re-reading it, and the 4-class protocol simply skips the rows whose label is "". What has no
class at all (no majority among raters, song, a set that is not a split) is dropped and counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sergen import LABELS
from sergen.audio import AudioError, AudioInfo, check_segment, read_info
from sergen.errors import SergenError
from sergen.registry import Registry

MANIFEST_COLUMNS = [
    "utt_id", "corpus", "path", "label", "native_label", "speaker", "gender", "split",
    "duration_s", "sample_rate", "num_samples", "channels", "language",
]
SPLITS = ("train", "valid", "test")
OUTSIDE_FOUR = ""
"""``label`` of an utterance whose native class is none of the four: kept for ``--labels native``."""
DEMO_MARKER = "SERGEN_DEMO.json"
"""File that ``sergen demo-data`` leaves in each synthetic corpus root, so results say they are synthetic."""

CORPUS_READERS: Registry[type["CorpusReader"]] = Registry(
    "corpus", hint="use one of the names listed, e.g. `sergen manifest ravdess --root DIR`"
)


@dataclass
class Problems:
    """Per-file problems, collected so one bad file never stops a corpus and none is dropped silently."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, where: str | Path, message: str) -> None:
        self.items.append((str(where), message))

    def __len__(self) -> int:
        return len(self.items)

    def summary(self, limit: int = 5) -> str:
        if not self.items:
            return "no problems"
        kinds = Counter(msg.split(":")[0] for _, msg in self.items)
        lines = [f"{len(self.items)} file(s) excluded: " + ", ".join(f"{n} × {k}" for k, n in kinds.most_common())]
        lines += [f"  {where}: {msg}" for where, msg in self.items[:limit]]
        if len(self.items) > limit:
            lines.append(f"  … and {len(self.items) - limit} more")
        return "\n".join(lines)


@dataclass
class ManifestResult:
    """A manifest plus what was left out of it and why."""

    manifest: pd.DataFrame
    problems: Problems
    dropped: Counter  # utterances with no class of their own (no majority, ...), or excluded subsets (song, Test2)
    meta: dict
    warnings: list[str] = field(default_factory=list)  # e.g. a class left empty by the label map

    @property
    def outside_four(self) -> int:
        """Utterances kept with a native class that is none of the four (``label`` ""): ``--labels native`` only."""
        return int((self.manifest["label"] == OUTSIDE_FOUR).sum())


class CorpusReader:
    """Turns a corpus's native layout into a manifest. Subclasses implement ``scan`` and ``assign_splits``."""

    name: str = ""
    language: str = "en"
    layout: str = ""  # the native layout, quoted in errors about a wrong root
    required: tuple[str, ...] = ()  # paths under the root that must exist

    def __init__(self, root: str | Path, seed: int = 0):
        self.root = Path(root)
        self.seed = seed

    # -- to implement -------------------------------------------------------------------------
    def scan(self, problems: Problems, dropped: Counter) -> list[dict]:
        """One dict per utterance with a class of its own: utt_id, path (relative), native_label (a readable
        class name), label (its 4-class name or ``OUTSIDE_FOUR``), speaker, gender, and optionally split or
        extra columns. Utterances with no class go to ``dropped``, counted by reason."""
        raise NotImplementedError

    def assign_splits(self, df: pd.DataFrame) -> pd.Series:
        raise NotImplementedError

    def options(self) -> dict:
        return {"seed": self.seed}

    # -- shared ----------------------------------------------------------------------------------
    def check_layout(self) -> None:
        if not self.root.exists():
            raise SergenError(
                f"{self.name} root does not exist", where=str(self.root),
                fix=f"pass --root DIR with the corpus's own folder ({self.layout}), "
                f"or set it once with `sergen config set-root {self.name} DIR`",
            )
        if not self.root.is_dir():
            raise SergenError(f"{self.name} root is not a folder", where=str(self.root))
        missing = [p for p in self.required if not (self.root / p).exists()]
        if missing:
            raise SergenError(
                f"{self.root} does not look like {self.name}: missing {', '.join(missing)}",
                where=str(self.root), fix=f"point --root at the folder that holds {self.layout}",
            )

    def read(self) -> ManifestResult:
        self.check_layout()
        problems, dropped = Problems(), Counter()
        rows = self.scan(problems, dropped)
        if not rows and not dropped:
            raise SergenError(
                f"no {self.name} audio files found", where=str(self.root),
                fix=f"expected {self.layout}" + (f"; {problems.summary(3)}" if problems else ""),
            )
        rows = self._drop_duplicates(rows, problems)
        rows = self._read_headers(rows, problems)
        if not rows:
            raise SergenError(
                f"no usable {self.name} utterances with an emotion class",
                where=str(self.root), fix=problems.summary(5) if problems else f"expected {self.layout}",
            )
        df = pd.DataFrame(rows)
        df["corpus"] = self.name
        df["language"] = self.language
        if "split" not in df or df["split"].isna().any():
            df["split"] = self.assign_splits(df).values
        df = order_columns(df)
        meta = {
            "corpus": self.name, "root": str(self.root.resolve()), "options": self.options(),
            "synthetic": (self.root / DEMO_MARKER).exists(),
        }
        return ManifestResult(df, problems, dropped, meta, empty_class_warnings(df, self.name, dropped))

    def _drop_duplicates(self, rows: list[dict], problems: Problems) -> list[dict]:
        seen: dict[str, str] = {}
        kept = []
        for row in rows:
            if row["utt_id"] in seen:
                problems.add(row["path"], f"duplicate utterance id: {row['utt_id']!r} already used by {seen[row['utt_id']]}")
                continue
            seen[row["utt_id"]] = row["path"]
            kept.append(row)
        return kept

    def _read_headers(self, rows: list[dict], problems: Problems) -> list[dict]:
        kept, infos = [], {}  # one header read per file, however many segments it holds
        for row in rows:
            path = self.root / row["path"]
            if not path.exists():
                problems.add(row["path"], "missing audio: referenced file does not exist")
                continue
            try:
                info = infos[path] if path in infos else infos.setdefault(path, read_info(path))
            except AudioError as exc:
                problems.add(row["path"], f"unreadable audio: {exc}")
                continue
            if "segment" in row:
                info = segment_info(row, info, path)
            row.update(num_samples=info.num_samples, sample_rate=info.sample_rate,
                       channels=info.channels, duration_s=round(info.duration_s, 4))
            kept.append(row)
        return kept


def segment_info(row: dict, info: AudioInfo, path: Path) -> AudioInfo:
    """A row's ``segment`` (start, end in seconds within its file) as ``segment_offset`` (samples at the
    file's rate) and its own length; a segment past the file's end is refused, naming both."""
    start_s, end_s = row.pop("segment")
    offset = int(round(start_s * info.sample_rate))
    frames = int(round(end_s * info.sample_rate)) - offset
    try:
        check_segment(offset, frames, info.num_samples)
    except AudioError as exc:
        raise SergenError(f"utterance {row['utt_id']!r}: {exc} (segment {start_s}–{end_s} s, file {info.duration_s:.3f} s)",
                          where=str(path), fix="correct the segment's times, or restore the file it is cut from") from None
    row["segment_offset"] = offset
    return AudioInfo(frames, info.sample_rate, info.channels)


def read_table(path: str | Path, what: str, fix: str, **options) -> pd.DataFrame:
    """A CSV sergen reads (label tables, manifests): an empty, non-UTF-8, malformed or unreadable file is
    one clear error naming the file, instead of a pandas traceback."""
    try:
        return pd.read_csv(path, encoding="utf-8", **options)
    except pd.errors.EmptyDataError:
        raise SergenError(f"{what} is empty", where=str(path), fix=fix) from None
    except UnicodeDecodeError:
        raise SergenError(f"{what} is not UTF-8 text ({_first_non_utf8(Path(path))})",
                          where=str(path), fix=f"save it as UTF-8 CSV; {fix}") from None
    except pd.errors.ParserError as exc:
        raise SergenError(f"{what} is not a well-formed CSV ({str(exc).strip()})", where=str(path), fix=fix) from None
    except IsADirectoryError:
        raise SergenError(f"{what} is a folder, not a CSV file", where=str(path), fix=fix) from None
    except PermissionError:
        raise SergenError(f"{what} cannot be read (permission denied)", where=str(path),
                          fix="make it readable (chmod u+r) or copy it somewhere you can read") from None


def _first_non_utf8(path: Path) -> str:
    """Where the first byte that is not UTF-8 sits, as a line a user can open (pandas reports offsets
    within its own read buffer)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
        return "an undecodable byte"
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return f"line {line}, byte {data[exc.start]:#04x}"


def empty_class_warnings(df: pd.DataFrame, corpus: str, dropped: Counter) -> list[str]:
    """Classes of the four with no utterance in the manifest, or none in a split: training or scoring on
    them fails later (or silently lacks a class), so say it where the labels are read. Only rows with one
    of the four labels count: a split holding only utterances outside the four lacks every class."""
    outside = df.loc[df["label"] == OUTSIDE_FOUR, "native_label"].value_counts()
    left_out = ", ".join([f"{k} ({v})" for k, v in sorted(dropped.items())]
                         + [f"{k} ({v}, kept for --labels native)" for k, v in sorted(outside.items())]) or "none"
    df = df[df["label"] != OUTSIDE_FOUR]
    lines = []
    for label in LABELS:
        if not (df["label"] == label).any():
            lines.append(f"class {label} is empty in {corpus}: no utterance maps to it (left out: {left_out})")
            continue
        missing = [s for s in SPLITS if (df["split"] == s).any() and not ((df["split"] == s) & (df["label"] == label)).any()]
        if missing:
            lines.append(f"class {label} has no utterance in the {'/'.join(missing)} split of {corpus}")
    return lines


def order_columns(df: pd.DataFrame) -> pd.DataFrame:
    extra = [c for c in df.columns if c not in MANIFEST_COLUMNS]
    df = df[[c for c in MANIFEST_COLUMNS if c in df.columns] + extra]
    return df.sort_values("utt_id", kind="stable").reset_index(drop=True)


def check_label(label: str) -> str:
    """One of the four, or ``OUTSIDE_FOUR`` for an utterance whose native class is none of them."""
    if label != OUTSIDE_FOUR and label not in LABELS:
        raise ValueError(f"label {label!r} is neither one of {LABELS} nor {OUTSIDE_FOUR!r} (outside the four)")
    return label


# -- splits ------------------------------------------------------------------------------------------
def split_counts(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """Exact train/valid/test sizes for n items in the given proportions (valid and test rounded)."""
    total = sum(fractions)
    n_valid = int(round(n * fractions[1] / total))
    n_test = int(round(n * fractions[2] / total))
    return n - n_valid - n_test, n_valid, n_test


def random_split(utt_ids: pd.Series, fractions: tuple[float, float, float], seed: int) -> pd.Series:
    """Seeded utterance-level split; independent of row order (ids are sorted first)."""
    order = np.argsort(utt_ids.to_numpy(), kind="stable")
    perm = order[np.random.default_rng(seed).permutation(len(order))]
    n_train, n_valid, _ = split_counts(len(order), fractions)
    split = np.empty(len(order), dtype=object)
    split[perm[:n_train]] = "train"
    split[perm[n_train:n_train + n_valid]] = "valid"
    split[perm[n_train + n_valid:]] = "test"
    return pd.Series(split, index=utt_ids.index)


def random_split_four_first(df: pd.DataFrame, fractions: tuple[float, float, float], seed: int) -> pd.Series:
    """``random_split`` of the utterances of the four classes exactly as if they were alone (the poster's split
    sizes and membership do not move when classes outside the four are kept), then of each other native class
    on its own, in the same proportions (so each such class reaches every split it is large enough for)."""
    four = df["label"] != OUTSIDE_FOUR
    split = pd.Series(index=df.index, dtype=object)
    if four.any():
        split[four] = random_split(df.loc[four, "utt_id"], fractions, seed)
    for _, rows in df[~four].groupby("native_label", sort=True):
        split[rows.index] = random_split(rows["utt_id"], fractions, seed)
    return split


def speaker_split(speakers: pd.Series, valid: set[str], test: set[str]) -> pd.Series:
    """Speaker-disjoint split from explicit valid and test speaker sets; everyone else trains."""
    return speakers.map(lambda s: "test" if s in test else "valid" if s in valid else "train")


def seeded_speaker_split(speakers: pd.Series, n_valid: int, n_test: int, seed: int) -> pd.Series:
    """Speaker-disjoint split drawing n_valid and n_test speakers with a fixed seed."""
    names = sorted(speakers.unique())
    if len(names) < n_valid + n_test + 1:
        raise SergenError(f"only {len(names)} speakers: cannot hold out {n_valid} + {n_test} speakers")
    perm = np.random.default_rng(seed).permutation(len(names))
    test = {names[i] for i in perm[:n_test]}
    valid = {names[i] for i in perm[n_test:n_test + n_valid]}
    return speaker_split(speakers, valid, test)
