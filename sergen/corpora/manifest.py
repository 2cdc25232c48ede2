"""Manifest files: ``manifests/<corpus>.csv`` (one row per utterance) and a ``.json`` sidecar holding the
corpus root, reader options and whether the corpus is synthetic."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

import sergen
from sergen import LABELS
from sergen.config import configured_root, data_dir, locate_dir
from sergen.corpora.base import (CORPUS_READERS, MANIFEST_COLUMNS, OUTSIDE_FOUR, SPLITS, ManifestResult,
                                 read_table)
from sergen.paths import check_writable
from sergen.errors import SergenError

HASHED_COLUMNS = ["utt_id", "path", "label", "speaker", "split", "num_samples", "sample_rate", "segment_offset"]


def recorded_root(corpus: str) -> Path | None:
    """The root recorded in ``manifests/<corpus>.json`` when the manifest was last built."""
    sidecar = manifest_path(corpus).with_suffix(".json")
    try:
        root = json.loads(sidecar.read_text()).get("root")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(root) if isinstance(root, str) and root else None


def read_corpus(corpus: str, root: str | Path | None = None, **options) -> ManifestResult:
    """Read a corpus from its native layout (root from the argument, else the configured root, else the
    root recorded beside its manifest)."""
    name = CORPUS_READERS.canonical(corpus)
    root = root or configured_root(name) or recorded_root(name)
    if root is None:
        raise SergenError(
            f"no root given for {name}, none configured, and no manifest recorded one",
            where=f"{manifest_path(name).with_suffix('.json')} ({locate_dir('manifests')[1]})",
            fix=f"pass --root DIR, set SERGEN_ROOT_{name.upper()}, or run `sergen config set-root {name} DIR`",
        )
    reader = CORPUS_READERS.get(name)(root, **{k: v for k, v in options.items() if v is not None})
    return reader.read()


def manifest_path(corpus: str) -> Path:
    return data_dir("manifests") / f"{corpus}.csv"


AUDIO_COLUMNS = ["utt_id", "path", "num_samples", "sample_rate", "segment_offset"]


def audio_hash(df: pd.DataFrame) -> str:
    """Hash of what extraction reads (which utterances, from which audio): labels, speakers and splits are
    a protocol joined at probe time, so editing them never makes a store out of date."""
    cols = [c for c in AUDIO_COLUMNS if c in df.columns]
    canon = df[cols].sort_values("utt_id").to_csv(index=False)
    return hashlib.sha256(canon.encode()).hexdigest()


def manifest_hash(df: pd.DataFrame) -> str:
    """Content hash of what extraction depends on; order-independent (rows sorted by utt_id)."""
    cols = [c for c in HASHED_COLUMNS if c in df.columns]
    canon = df[cols].sort_values("utt_id").to_csv(index=False)
    return hashlib.sha256(canon.encode()).hexdigest()


def _is_sergen_sidecar(path: Path) -> bool:
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "manifest_sha256" in meta and "sergen_version" in meta


def check_manifest_target(out: Path) -> None:
    """A manifest replaces only a manifest sergen wrote: ``--out`` pointing at a config, an audio file or any
    file of the user's (or a ``.json`` beside it that is not sergen's sidecar) is refused, nothing written."""
    if out.suffix.lower() != ".csv":
        raise SergenError(f"a manifest is a .csv file, not {out.name!r}", where=str(out),
                          fix="give --out a path ending in .csv")
    sidecar = out.with_suffix(".json")
    for path, what in ((out, "a file"), (sidecar, "a .json file")):
        if path.exists() and not _is_sergen_sidecar(sidecar):
            raise SergenError(f"{what} that is not a sergen manifest is in the way; nothing was written",
                              where=str(path), fix="choose another --out, or move that file away first")


def write_manifest(result: ManifestResult, out: str | Path | None = None) -> Path:
    if not out:  # a name in another case beside it: one file on macOS, ambiguous elsewhere
        from sergen.corpora.manifest_names import refuse_case_twin

        refuse_case_twin(result.meta["corpus"], manifest_path(result.meta["corpus"]).parent)
    out = Path(out) if out else manifest_path(result.meta["corpus"])
    check_manifest_target(out)
    check_writable(out.parent, "manifests folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    result.manifest.to_csv(out, index=False)
    meta = dict(result.meta, sergen_version=sergen.__version__, rows=len(result.manifest),
                manifest_sha256=manifest_hash(result.manifest),
                created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                excluded=len(result.problems), dropped=dict(result.dropped))
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2))
    return out


def manifest_command(corpus: str) -> str:
    """The command that writes ``corpus``'s manifest, as a user types it: a corpus sergen reads by its name;
    an EmoBox dataset (``emobox-<dataset>``) by ``emobox:<dataset>``; any other name is a folder corpus."""
    from sergen.corpora.manifest_names import emobox_spelled

    base = emobox_spelled(str(corpus).partition("@")[0])
    if base in CORPUS_READERS:
        return f"`sergen manifest {CORPUS_READERS.canonical(base)} --root DIR`"
    if base.startswith("emobox-"):
        return f"`sergen manifest emobox:{base.removeprefix('emobox-')} --root DIR --emobox EMOBOX_DIR`"
    return f"`sergen manifest folder --name {base} --csv LABELS.csv --root DIR`"


def unknown_emobox_dataset(name: str, folder: Path) -> None:
    """An ``emobox-<dataset>`` with no manifest: unknown, like any name, with the EmoBox manifests there are and
    the command that makes this one (before pass 37 the fix suggested `sergen manifest ravdess`)."""
    from sergen.errors import UnknownNameError

    present = sorted(p.stem for p in folder.glob("emobox-*.csv")) if folder.is_dir() else []
    raise UnknownNameError(f"unknown corpus {name!r}; known: {', '.join(CORPUS_READERS.names())}"
                           + (f"; EmoBox manifests: {', '.join(present)}" if present else ""),
                           fix=f"run {manifest_command(name)} (it lists the datasets the checkout holds when "
                               "the name is none of them)")


def load_manifest(corpus: str, path: str | Path | None = None) -> tuple[pd.DataFrame, dict]:
    """A manifest and its sidecar; a missing one names the command that makes it."""
    given = path is not None
    # a registered name or alias, else a manifest written under its own name (folder --name, emobox-<dataset>)
    name = corpus if given else CORPUS_READERS.resolve(corpus)
    path = Path(path) if given else manifest_path(name)
    if not given and not path.exists() and corpus not in CORPUS_READERS:
        if name.startswith("emobox-"):  # the fix names `manifest emobox:<dataset>`, not a reader's example
            unknown_emobox_dataset(name, path.parent)
        CORPUS_READERS.canonical(corpus)  # neither: the unknown-name error, listing the corpora sergen reads
    if not path.exists():
        raise SergenError(f"no manifest for {name}",
                          where=str(path) if given else f"{path} ({locate_dir('manifests')[1]})",
                          fix=f"run {manifest_command(name)} (or `sergen demo-data` first for the demo)")
    check_not_cut(path, name)
    df = read_table(path, f"the {name} manifest", f"rebuild it with {manifest_command(name)}",
                    dtype={"utt_id": str, "speaker": str, "label": str, "native_label": str})
    missing = [c for c in MANIFEST_COLUMNS if c not in df.columns]
    if missing:
        raise SergenError(f"manifest lacks the column(s) {', '.join(missing)}", where=str(path),
                          fix=f"rebuild it with `sergen manifest {name}`")
    # "" (a class outside the four) is an empty field, which pandas reads as NaN; read the label columns again as
    # written, so "" comes back as "" while a label "nan" or "NA" typed into the file is refused, not read as ""
    labels = read_table(path, f"the {name} manifest", f"rebuild it with `sergen manifest {name} --root DIR`",
                        usecols=["label", "native_label"], dtype=str, keep_default_na=False)
    df[["label", "native_label"]] = labels.to_numpy()
    check_manifest_values(df, path, name)
    sidecar = path.with_suffix(".json")
    try:
        meta = json.loads(sidecar.read_text()) if sidecar.exists() else {"corpus": name}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SergenError(f"the manifest's sidecar is not valid JSON ({exc})", where=str(sidecar),
                          fix=f"rebuild both with `sergen manifest {name} --root DIR`") from None
    return df, meta


def rows_since_written(df: pd.DataFrame, meta: dict, name: str) -> str | None:
    """A note where the manifest holds another number of rows than its sidecar records ``sergen manifest``
    wrote, else None. A copy cut at a row's end, or rows deleted by hand, reads as a whole manifest; its
    utterances would be extracted without a word. A note, not a refusal: a store follows its manifest, and an
    edited one may be meant."""
    rows = meta.get("rows")
    if not isinstance(rows, int) or isinstance(rows, bool) or rows == len(df) or "manifest_sha256" not in meta:
        return None
    return (f"the {name} manifest holds {len(df):,} rows, but `sergen manifest` wrote {rows:,}: rows were "
            f"{'removed' if len(df) < rows else 'added'} since (a copy cut at a row's end, or an edit); this run "
            f"follows the manifest as it is. To list the corpus again: {manifest_command(name)}")


def check_not_cut(path: Path, name: str) -> None:
    """A manifest sergen wrote (its sidecar says so) ends every row with a newline: one whose last line lacks it
    was cut (a copy or a write stopped midway), and its last row may be cut inside a field (``…,1,d`` for a
    language ``de``), which pandas reads as a whole row. Named with its line; only the file's last byte is read
    when it is whole (the sidecar only when it is not)."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            if size == 0:
                return  # empty: read_table names it
            fh.seek(size - 1)
            if fh.read(1) == b"\n" or not _is_sergen_sidecar(path.with_suffix(".json")):
                return  # whole; or not sergen's: a hand-made file may end without a newline
            fh.seek(0)
            data = fh.read()
    except OSError:
        return  # unreadable: read_table names why
    line = data.count(b"\n") + 1
    last = data[data.rfind(b"\n") + 1:].decode("utf-8", "replace")
    shown = last if len(last) <= 40 else "…" + last[-40:]
    raise SergenError(f"the {name} manifest is cut: its last line (line {line}, {shown!r}) ends without the newline "
                      "sergen writes after every row (a copy or a write stopped midway)", where=str(path),
                      fix=f"rebuild it with {manifest_command(name)}")


def check_manifest_values(df: pd.DataFrame, path: Path, name: str) -> None:
    """Values extraction and training rely on: unique ids, a path per row, labels of the four or "" (a native
    class outside them, which must then be named), known splits, audio lengths as positive whole numbers. A
    hand-edited manifest breaks one of these; name the rows."""
    def refuse(what: str, rows: pd.Series) -> None:
        lines = ", ".join(str(i + 2) for i in rows[rows].index[:5])
        raise SergenError(f"the {name} manifest {what} (line(s) {lines}{' …' if rows.sum() > 5 else ''})",
                          where=str(path), fix=f"correct those rows, or rebuild it with `sergen manifest {name} --root DIR`")

    if df.empty:
        raise SergenError(f"the {name} manifest has no rows", where=str(path),
                          fix=f"rebuild it with `sergen manifest {name} --root DIR`")
    for col in ("utt_id", "path"):
        if df[col].isna().any():
            refuse(f"has rows without {col}", df[col].isna())
    if df["utt_id"].duplicated().any():
        refuse("repeats utterance ids", df["utt_id"].duplicated())
    known = df["label"].isin((*LABELS, OUTSIDE_FOUR))
    if not known.all():
        refuse(f"has labels other than {', '.join(LABELS)} or empty (a class outside the four)", ~known)
    classless = (df["label"] == OUTSIDE_FOUR) & (df["native_label"] == "")
    if classless.any():
        refuse("has rows with neither a label nor a native_label (an utterance without a class)", classless)
    if not df["split"].isin(SPLITS).all():
        refuse(f"has splits outside {', '.join(SPLITS)}", ~df["split"].isin(SPLITS))
    for col in ("num_samples", "sample_rate"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() | (values <= 0) | (values != values.round())
        if bad.any():
            refuse(f"has {col} values that are not positive whole numbers", bad)
