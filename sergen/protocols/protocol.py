"""A protocol: which class and which split (of which fold) each utterance of a store has. It is read at probe
time from the corpus's manifest (the store's own copy of the manifest's columns where no manifest is at hand)
and joined to the store by ``utt_id``, so changing the label set, the folds or a label never re-extracts frames.

Label sets (``labels``):
- ``4``: the poster's hap/sad/neu/ang (the manifest's ``label``; utterances without one of the four are out);
- ``native``: every class of the corpus (``native_label``);
- ``map:FILE``: a CSV ``native,label[,corpus]`` mapping native classes to the user's; classes not listed, or
  mapped to an empty label, are left out.

Folds (``folds``):
- ``""``: the corpus's own train/valid/test split (the manifest's ``split``), one run;
- ``speaker:K``: the corpus's speakers (sorted, shuffled with a fixed seed) dealt into K folds; fold k tests
  on its speakers;
- ``corpus``: the corpus's own folds: EmoBox's (``emobox_folds``: train/valid/test per fold), or the
  ``fold`` column (IEMOCAP's sessions: leave one session out);
- ``file:FILE``: a CSV ``utt_id,fold`` (fold numbers from 1); fold k tests on the utterances it lists.

Validation, when the fold does not name one: 20 % of the training speakers (at least one), drawn with a fixed
seed, so early stopping never sees a training speaker; without speakers, or for SUPERB's protocol (as s3prl's
``valid_ratio=0.2``), 20 % of the training utterances at random. Folds apply to the training corpora; a test
corpus outside the training set is scored on its own test split in every fold.

The named protocol ``superb-er`` is SUPERB's emotion task: IEMOCAP only, the four classes with ``exc`` merged
into ``hap`` (sergen's IEMOCAP reader does this by default), five leave-one-session-out folds, accuracy.
The named protocol ``emobox-cross`` is EmoBox's cross-corpus benchmark (``sergen.protocols.emobox_cross``):
every corpus, trained on or not, is tested on its balanced track-2 set; a training corpus trains on the rest
of its four-class utterances, 20 % of its speakers held out for validation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from sergen import LABELS
from sergen.errors import SergenError

FOUR = "4"
NATIVE = "native"
VALID_SHARE = 0.2
FOLD_SEED = 0  # folds and validation draws are part of the protocol, not of a run's seed
NAMED = {"superb-er": {"labels": FOUR, "folds": "corpus", "corpora": ("iemocap",), "valid_by": "utterance"},
         # EmoBox's cross-corpus benchmark: its corpora are those resolved by `sergen emobox-cross`
         "emobox-cross": {"labels": FOUR, "folds": "emobox-cross", "corpora": None, "valid_by": "speaker"}}
EMOBOX_CROSS = "emobox-cross"
TABLE_COLUMNS = ("utt_id", "path", "label", "native_label", "speaker", "split", "fold", "emobox_folds")


@dataclass(frozen=True)
class Protocol:
    """What a run's labels and splits are; hashable, so it keys the per-process caches."""

    labels: str = FOUR
    folds: str = ""
    fold: int = 0
    name: str = ""  # a named protocol (``superb-er``), which fixes labels and folds

    @property
    def is_default(self) -> bool:
        return self == Protocol()

    @property
    def valid_by(self) -> str:
        return NAMED.get(self.name, {}).get("valid_by", "speaker")


# ------------------------------------------------------------------------------------------- parsing options

def parse_labels(text: str) -> str:
    """``4``, ``native`` or a mapping file (given as ``map:FILE`` or ``FILE``) → its canonical spelling."""
    text = (text or "").strip()
    if text in (FOUR, NATIVE):
        return text
    path = Path(text[4:] if text.startswith("map:") else text).expanduser()
    if not path.is_file():
        raise SergenError(f"--labels {text!r} is neither 4, native nor a mapping file",
                          where=str(path) if text else None,
                          fix="pass 4 (the poster's classes), native (each corpus's own), or a CSV file with "
                              "columns native,label (optionally corpus) mapping native classes to yours")
    read_label_map(str(path.resolve()), path.stat().st_mtime_ns)  # refuse a broken file before any run
    return f"map:{path.resolve()}"


def parse_folds(text: str) -> str:
    text = (text or "").strip()
    if text in ("", "none", "split"):
        return ""
    if text in ("corpus", EMOBOX_CROSS):
        return text
    if text.startswith("speaker:"):
        k = text.split(":", 1)[1]
        if not k.isdigit() or not 2 <= int(k) <= 100:
            raise SergenError(f"--folds {text!r}: the number of speaker folds must be a whole number from 2 to 100",
                              fix="e.g. --folds speaker:4")
        return f"speaker:{int(k)}"
    path = Path(text[5:] if text.startswith("file:") else text).expanduser()
    if path.is_file():
        read_fold_file(str(path.resolve()), path.stat().st_mtime_ns)
        return f"file:{path.resolve()}"
    if text.startswith("file:") or "/" in text or text.lower().endswith(".csv"):  # meant as a file: say it is not there
        raise SergenError(f"--folds {text!r}: no such fold file", where=str(path),
                          fix="give the path of a CSV file with columns utt_id,fold (or speaker:K, or corpus)")
    raise SergenError(f"--folds {text!r} is not a fold scheme", where=None,
                      fix="use speaker:K (K speaker folds), corpus (the corpus's own folds: IEMOCAP's sessions, "
                          "EmoBox's), or a CSV file with columns utt_id,fold")


def parse_named(name: str | None) -> str:
    if not name:
        return ""
    if name not in NAMED:
        raise SergenError(f"unknown protocol {name!r}; known: {', '.join(NAMED)}",
                          fix="leave --protocol out, or use superb-er (SUPERB's IEMOCAP emotion task) or "
                              "emobox-cross (EmoBox's cross-corpus benchmark)")
    return name


def named_protocol(name: str, train: tuple[str, ...], test: tuple[str, ...], labels: str, folds: str) -> tuple[str, str]:
    """The labels and folds a named protocol fixes; its corpora are checked, and a conflicting option refused."""
    rules = NAMED[name]
    if rules["corpora"] is None:
        from sergen.protocols.emobox_cross import benchmark_corpora

        corpora = benchmark_corpora()
        outside = [c for c in dict.fromkeys(train + test) if c not in corpora]
        if outside or len(train) != 1:
            raise SergenError(f"--protocol {name} trains on one of its corpora ({', '.join(corpora)}) and tests on them; "
                              f"this run trains on {'+'.join(train)} and tests on {', '.join(test)}",
                              fix=f"pass --train one of {', '.join(corpora)} (and --test all)")
    elif set(train) | set(test) != set(rules["corpora"]):
        raise SergenError(f"--protocol {name} trains and tests on {', '.join(rules['corpora'])} only; this run "
                          f"trains on {'+'.join(train)} and tests on {', '.join(test)}",
                          fix=f"pass --train {rules['corpora'][0]} --test {rules['corpora'][0]}")
    if labels != rules["labels"]:
        raise SergenError(f"--protocol {name} fixes --labels {rules['labels']}; got {labels}", fix="leave --labels out")
    if folds not in ("", rules["folds"]):
        raise SergenError(f"--protocol {name} fixes --folds {rules['folds']}; got {folds}", fix="leave --folds out")
    return rules["labels"], rules["folds"]


# ------------------------------------------------------------------------------------------- files

def label_map(path: str) -> pd.DataFrame:
    """The label map at ``path`` (cached per version of the file)."""
    return read_label_map(path, _mtime(path, "label map"))


def fold_file(path: str) -> pd.Series:
    return read_fold_file(path, _mtime(path, "fold file"))


def _mtime(path: str, kind: str) -> int:
    """A protocol file's version; a file gone since the option was checked (or since a saved run used it) is
    an error that says so."""
    try:
        return Path(path).stat().st_mtime_ns
    except OSError as exc:
        raise SergenError(f"the {kind} {path} cannot be read ({exc.strerror.lower()})", where=path,
                          fix=f"restore the {kind} there, or pass another one") from None


def protocol_file(value: str) -> tuple[str, str] | None:
    """``(kind, path)`` of a label map (``map:FILE``) or fold file (``file:FILE``) option; None otherwise."""
    if value.startswith("map:"):
        return "label map", value[4:]
    if value.startswith("file:"):
        return "fold file", value[5:]
    return None


def file_digest(value: str) -> str | None:
    """The first 8 hex digits of the SHA-256 of a label map's or fold file's bytes (None for other options,
    or a file that is gone): rows key such files by content, so two files of one name never share a cell."""
    found = protocol_file(value)
    if found is None:
        return None
    try:
        return hashlib.sha256(Path(found[1]).read_bytes()).hexdigest()[:8]
    except OSError:
        return None


def shown_option(value: str) -> str:
    """A label map or fold file as rows show it: its name and content digest (``map:arousal.csv@1a2b3c4d``),
    not its absolute path; other options as they are."""
    found = protocol_file(value)
    if found is None:
        return value
    prefix = value.split(":", 1)[0]
    digest = file_digest(value)
    return f"{prefix}:{Path(found[1]).name}" + (f"@{digest}" if digest else "")

@lru_cache(maxsize=16)
def read_label_map(path: str, mtime_ns: int) -> pd.DataFrame:
    """A mapping file's rows (native, label, corpus), checked: columns, no native class mapped twice."""
    from sergen.corpora.base import read_table

    table = read_table(Path(path), "the label map", "write it as a CSV with a header line `native,label`",
                       dtype=str, keep_default_na=False)
    table.columns = [str(c).strip().lower() for c in table.columns]
    if not {"native", "label"} <= set(table.columns):
        raise SergenError(f"the label map has columns {', '.join(table.columns)}; it needs native and label "
                          "(and optionally corpus)", where=path,
                          fix="write a header line `native,label` and one line per native class, e.g. `excited,happy`")
    table = table.fillna("").astype(str).apply(lambda c: c.str.strip())
    table["native"] = table["native"].str.lower()  # matched as class_labels does: `Angry` is angry
    if "corpus" not in table:
        table["corpus"] = ""
    if (table["native"] == "").any():
        line = int(np.flatnonzero(table["native"] == "")[0]) + 2
        raise SergenError(f"line {line} of the label map has no native class", where=path,
                          fix="fill in the native class or delete the line")
    twice = table.duplicated(["corpus", "native"], keep=False)
    if twice.any():
        lines = ", ".join(str(i + 2) for i in np.flatnonzero(twice)[:5])
        raise SergenError(f"the label map maps the same native class twice (lines {lines})", where=path,
                          fix="keep one line per native class (add a corpus column to map a class per corpus)")
    if (table["label"] == "").all():
        raise SergenError("the label map maps every class to nothing (its label column is empty)", where=path,
                          fix="give each native class you keep the class it becomes")
    table["corpus"] = [_map_corpus(name, i + 2, path) for i, name in enumerate(table["corpus"])]
    return table[["native", "label", "corpus"]]


def _map_corpus(name: str, line: int, path: str) -> str:
    """A label map's corpus column, canonical (``crema-d`` → ``cremad``); a name that is no corpus sergen
    knows (registered, or with a manifest here) is an error, not a line silently never used."""
    from sergen.corpora import CORPUS_READERS
    from sergen.corpora.manifest import manifest_path

    if not name:
        return ""
    canon = CORPUS_READERS.resolve(name)
    if canon in CORPUS_READERS or manifest_path(canon).exists():
        return canon
    known = sorted(set(CORPUS_READERS.names()) | {p.stem for p in manifest_path("x").parent.glob("*.csv")})
    raise SergenError(f"line {line} of the label map names corpus {name!r}, which is not a corpus sergen knows "
                      f"(known: {', '.join(known)})", where=path,
                      fix="correct the corpus name, or leave the corpus column empty to map the class in every corpus")


def missing_folds(folds: pd.Series) -> str:
    """The fold numbers between 1 and the largest that no utterance has ("" where none): a run is made for every
    number up to the largest, so a gap (1, 50) made 48 runs without a test set, and a number like 10**12 a loop
    that never ended (hostile pass 37)."""
    present = set(int(f) for f in folds.dropna().unique())
    if not present:
        return ""
    if max(present) > len(present):
        absent = [k for k in range(1, min(max(present), len(present) + 4)) if k not in present]
        return ", ".join(str(k) for k in absent[:3]) + (" …" if max(present) - len(present) > 3 else "")
    return ""


def fold_numbers(folds: pd.Series) -> str:
    present = sorted(set(int(f) for f in folds.dropna().unique()))
    return ", ".join(f"{k:,}" for k in present[:5]) + (f" … ({len(present)} numbers)" if len(present) > 5 else "")


@lru_cache(maxsize=16)
def read_fold_file(path: str, mtime_ns: int) -> pd.Series:
    """``utt_id → fold`` (whole numbers from 1) from a fold file."""
    from sergen.corpora.base import read_table

    table = read_table(Path(path), "the fold file", "write it as a CSV with a header line `utt_id,fold`",
                       dtype=str, keep_default_na=False)
    table.columns = [str(c).strip().lower() for c in table.columns]
    if not {"utt_id", "fold"} <= set(table.columns):
        raise SergenError(f"the fold file has columns {', '.join(table.columns)}; it needs utt_id and fold",
                          where=path, fix="write a header line `utt_id,fold` and one line per utterance")
    folds = pd.to_numeric(table["fold"], errors="coerce")
    bad = folds.isna() | (folds < 1) | (folds != folds.round())
    if bad.any():
        line = int(np.flatnonzero(bad)[0]) + 2
        raise SergenError(f"line {line} of the fold file has fold {table['fold'].iloc[line - 2]!r}; folds are whole "
                          "numbers from 1", where=path, fix="number the folds 1, 2, …")
    if folds.nunique() < 2:
        raise SergenError(f"the fold file has a single fold ({int(folds.iloc[0]) if len(folds) else 'none'}): each run "
                          "tests on one fold and trains on the others, so it needs at least 2", where=path,
                          fix="number the utterances' folds 1, 2, … (e.g. one per speaker group), or use "
                              "--folds speaker:K")
    gaps = missing_folds(folds)
    if gaps:
        raise SergenError(f"the fold file numbers its folds {fold_numbers(folds)}, without fold {gaps}: each number "
                          "from 1 to the largest is one run, testing on that fold", where=path,
                          fix="number the folds 1, 2, … without gaps")
    ids = table["utt_id"].astype(str).str.strip()
    if ids.duplicated().any():
        raise SergenError(f"utterance {ids[ids.duplicated()].iloc[0]!r} is in the fold file twice", where=path,
                          fix="list each utterance once")
    return pd.Series(folds.astype(int).to_numpy(), index=ids.to_numpy())


# ------------------------------------------------------------------------------------------- the table

@dataclass(frozen=True, eq=False)  # hashed by identity: tables are cached per manifest version
class ProtocolTable:
    """A corpus's per-utterance protocol columns and where they came from."""

    corpus: str
    table: pd.DataFrame  # index utt_id; TABLE_COLUMNS[1:] (missing ones empty)
    source: str
    fingerprint: str


def table_from(df: pd.DataFrame, corpus: str, source: str) -> ProtocolTable:
    df = df.copy()
    for column in TABLE_COLUMNS:
        if column not in df:
            df[column] = ""
    df = df[list(TABLE_COLUMNS)].fillna("").astype(str)
    df = df.drop_duplicates("utt_id").set_index("utt_id")
    blob = df.sort_index().to_csv().encode()
    return ProtocolTable(corpus, df, source, hashlib.sha256(blob).hexdigest()[:16])


def class_labels(pt: ProtocolTable, labels: str) -> pd.Series:
    """Each utterance's class under ``labels`` ("" = left out)."""
    df = pt.table
    if labels == FOUR:
        return df["label"].where(df["label"].isin(LABELS), "")
    if labels == NATIVE:
        return df["native_label"]
    path = labels[4:]
    mapping = label_map(path)
    rows = mapping[mapping["corpus"].isin(["", pt.corpus])]
    specific = dict(rows[rows["corpus"] == pt.corpus][["native", "label"]].itertuples(index=False))
    general = dict(rows[rows["corpus"] == ""][["native", "label"]].itertuples(index=False))
    # native classes match ignoring case and surrounding spaces (a map's `Angry` or `happy ` is angry, happy)
    out = df["native_label"].str.strip().str.lower().map(lambda native: specific.get(native, general.get(native, "")))
    if not (out != "").any():
        natives = ", ".join(sorted(set(df["native_label"]) - {""})[:12])
        raise SergenError(f"the label map maps no utterance of {pt.corpus} to a class (its native classes: {natives})",
                          where=path, fix=f"add lines for {pt.corpus}'s native classes")
    return out


def n_folds(pt: ProtocolTable, folds: str) -> int:
    if folds in ("", EMOBOX_CROSS):
        return 1
    if folds.startswith("speaker:"):
        return int(folds.split(":")[1])
    if folds == "corpus":
        roles = pt.table["emobox_folds"]
        if (roles != "").any():
            return int(roles[roles != ""].str.count(r"\|").max()) + 1
        numbers = pd.to_numeric(pt.table["fold"], errors="coerce")
        if numbers.notna().any() and numbers.max() >= 1:
            gaps = missing_folds(numbers[numbers >= 1])
            if gaps:
                raise SergenError(f"{pt.corpus}'s manifest numbers its folds {fold_numbers(numbers[numbers >= 1])}, "
                                  f"without fold {gaps}: each number from 1 to the largest is one run",
                                  where=pt.source, fix="number the fold column 1, 2, … without gaps")
            return int(numbers.max())
        raise SergenError(f"{pt.corpus} has no folds of its own in its manifest (no fold or emobox_folds column)",
                          where=pt.source, fix="use --folds speaker:K, or a fold file (CSV utt_id,fold)")
    path = folds[5:]
    return int(fold_file(path).max())


def fold_splits(pt: ProtocolTable, folds: str, fold: int, valid_by: str = "speaker") -> pd.Series:
    """Each utterance's split (train/valid/test, "" = not used) in ``fold`` of ``folds``."""
    df = pt.table
    if folds == "":
        return df["split"].where(df["split"].isin(["train", "valid", "test"]), "")
    if folds == EMOBOX_CROSS:
        return _emobox_cross_split(pt, valid_by)
    k = n_folds(pt, folds)
    if not 1 <= fold <= k:
        raise SergenError(f"fold {fold} of {folds} does not exist for {pt.corpus} ({k} folds)")
    if folds == "corpus" and (df["emobox_folds"] != "").any():
        roles = df["emobox_folds"].str.split("|").map(lambda r: r[fold - 1] if len(r) >= fold else "-")
        split = roles.where(roles.isin(["train", "valid", "test"]), "")
        if not (split == "valid").any():
            split = _carve_valid(df, split, valid_by)
        _refuse_leaks(pt, split, folds, fold)
        return split
    test = _test_mask(pt, folds, fold, k)
    split = pd.Series(np.where(test, "test", "train"), index=df.index, dtype=object)
    if folds.startswith("file:"):
        listed = df.index.isin(fold_file(folds[5:]).index)
        split[~listed] = ""
    split = _carve_valid(df, split, valid_by)
    _refuse_leaks(pt, split, folds, fold)
    return split


def _emobox_cross_split(pt: ProtocolTable, valid_by: str) -> pd.Series:
    """Test: the corpus's track-2 set; train: the rest; validation carved from it by speaker."""
    from sergen.protocols.emobox_cross import test_ids

    tests = test_ids(pt.corpus)
    if not tests:
        raise SergenError(f"{pt.corpus} is none of the corpora resolved for --protocol emobox-cross",
                          fix="rerun `sergen emobox-cross` naming it, or train and test on those it names")
    unknown = tests - set(pt.table.index)
    if unknown:
        raise SergenError(f"{len(unknown)} track-2 utterance(s) resolved for {pt.corpus} are not in its manifest now, "
                          f"e.g. {sorted(unknown)[0]!r}", where=pt.source, fix="rerun `sergen emobox-cross`")
    test = pt.table.index.isin(tests)
    split = pd.Series(np.where(test, "test", "train"), index=pt.table.index, dtype=object)
    return _carve_valid(pt.table, split, valid_by)


def _test_mask(pt: ProtocolTable, folds: str, fold: int, k: int) -> np.ndarray:
    df = pt.table
    if folds.startswith("speaker:"):
        speakers = sorted(set(df["speaker"]) - {""})
        if (df["speaker"] == "").any():
            raise SergenError(f"{int((df['speaker'] == '').sum())} utterance(s) of {pt.corpus} have no speaker, "
                              f"so --folds {folds} cannot place them", where=pt.source,
                              fix="use the corpus's folds (--folds corpus) or a fold file")
        if len(speakers) < k + 1:
            raise SergenError(f"{pt.corpus} has {len(speakers)} speakers: too few for {k} speaker folds with a "
                              "validation speaker", where=pt.source, fix=f"use at most speaker:{max(2, len(speakers) - 1)}")
        order = np.random.default_rng(FOLD_SEED).permutation(len(speakers))
        fold_of = {speakers[i]: j % k + 1 for j, i in enumerate(order)}
        return (df["speaker"].map(fold_of) == fold).to_numpy()
    if folds == "corpus":
        return (pd.to_numeric(df["fold"], errors="coerce") == fold).to_numpy()
    fold_of = fold_file(folds[5:])
    unknown = fold_of.index.difference(df.index)
    if len(unknown):
        raise SergenError(f"the fold file names {len(unknown)} utterance(s) that {pt.corpus} does not have "
                          f"(e.g. {unknown[0]!r})", where=folds[5:],
                          fix=f"list utterances of {pt.corpus}'s manifest only (or rebuild the manifest)")
    return df.index.map(fold_of).to_numpy() == fold


def _carve_valid(df: pd.DataFrame, split: pd.Series, valid_by: str) -> pd.Series:
    """20 % of the training speakers (or utterances) become validation, with a fixed seed."""
    split = split.copy()
    train = split == "train"
    rng = np.random.default_rng(FOLD_SEED)
    speakers = sorted(set(df.loc[train, "speaker"]) - {""})
    if valid_by == "speaker" and len(speakers) >= 2 and not (df.loc[train, "speaker"] == "").any():
        n = max(1, int(round(VALID_SHARE * len(speakers))))
        chosen = {speakers[i] for i in rng.permutation(len(speakers))[:n]}
        split[train & df["speaker"].isin(chosen)] = "valid"
    else:
        rows = np.flatnonzero(train.to_numpy())
        n = max(1, int(round(VALID_SHARE * len(rows))))
        split.iloc[np.sort(rng.permutation(rows)[:n])] = "valid"
    return split


def _refuse_leaks(pt: ProtocolTable, split: pd.Series, folds: str, fold: int) -> None:
    speaker = pt.table["speaker"]
    known = speaker != ""
    both = set(speaker[known & (split == "test")]) & set(speaker[known & split.isin(["train", "valid"])])
    if both:
        names = ", ".join(sorted(both)[:5])
        raise SergenError(f"fold {fold} of --folds {folds} puts speaker(s) {names} of {pt.corpus} in both training "
                          "and test: the scores would be speaker-dependent", where=pt.source,
                          fix="use folds that keep each speaker on one side (--folds speaker:K), or fix the fold file")


# ------------------------------------------------------------------------------------------- a run's classes

def run_classes(per_corpus: dict[str, pd.Series], labels: str, train: tuple[str, ...], test: tuple[str, ...]):
    """The classes one head learns and is scored on, and what each corpus leaves out.

    With the four classes every corpus shares them (a class missing from a test split is reported as absent,
    as before). Otherwise the classes are those every corpus of the run has; the others are left out and
    counted per corpus, so a cross-corpus number is always over shared classes."""
    if labels == FOUR:
        return tuple(LABELS), {}
    have = {c: set(per_corpus[c][per_corpus[c] != ""]) for c in dict.fromkeys(train + test)}
    shared = set.intersection(*have.values())
    if len(shared) < 2:
        detail = "; ".join(f"{c}: {', '.join(sorted(v)[:10])}" for c, v in have.items())
        raise SergenError(f"the corpora of this run share {len(shared)} class(es) under --labels "
                          f"{labels.split('/')[-1]} ({', '.join(sorted(shared)) or 'none'}); a head needs two",
                          fix=f"train and test on corpora with common classes, or map them with a label map "
                              f"(classes: {detail})")
    left_out = {}
    for corpus, labels_of in per_corpus.items():
        out = labels_of[(labels_of != "") & ~labels_of.isin(shared)].value_counts()
        if len(out):
            left_out[corpus] = {str(k): int(v) for k, v in out.sort_index().items()}
    return tuple(sorted(shared)), left_out
