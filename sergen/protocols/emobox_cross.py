"""EmoBox's cross-corpus benchmark (its "track 2"): four balanced test sets, each 240 utterances (60 per class:
angry, happy, neutral, sad) of IEMOCAP, MELD, RAVDESS and SAVEE, in ``data/track2/<SET>_selected_balenced.jsonl``
of an EmoBox checkout (lines ``{"wav_filename", "label", "speaker"}``).

Their ``wav_filename`` follows no corpus's own layout (``happy/Ses02F_impro03_F019.wav``, ``JK/sa09.wav`` where
EmoBox's own list says ``JK_sa09.wav``, ``audio/dia933_utt6.wav`` which MELD's train, dev and test each may
hold). So each name is matched to the corpus manifest's utterances whose file stem is the name's stem, or
``<folder>_<stem>``; several matches are narrowed by the line's class and then its speaker; a name that still
matches several, or none, is an error naming them, with the count: never a guess.

The split rule (EmoBox's repository gives only the test side): a corpus's **test** set is its track-2 set;
its **training** set is its utterances of the four classes minus that set; **validation** is 20 % of the
training speakers (at least one), held out with a fixed seed, as sergen's other protocols. The resolved
table (``manifests/protocols/emobox-cross.csv``: benchmark set, corpus, utt_id) is what ``--protocol
emobox-cross`` reads."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pandas as pd

from sergen.errors import SergenError

SETS = ("iemocap", "meld", "ravdess", "savee")
FILE_NAMES = {s: f"{s.upper()}_selected_balenced.jsonl" for s in SETS}  # EmoBox's spelling
TRACK2_CLASSES = {"angry": "ang", "happy": "hap", "neutral": "neu", "sad": "sad"}
PROTOCOL_FILE = "protocols/emobox-cross.csv"  # a subfolder: manifests/*.csv are corpora


def track2_folder(checkout: str | Path) -> Path:
    checkout = Path(checkout).expanduser()
    for folder in (checkout / "data" / "track2", checkout / "track2", checkout):
        if folder.is_dir() and any((folder / name).is_file() for name in FILE_NAMES.values()):
            return folder
    raise SergenError(f"{checkout} holds no EmoBox track-2 files (data/track2/*_selected_balenced.jsonl)",
                      where=str(checkout), fix="git clone https://github.com/emo-box/EmoBox and pass --emobox with it")


def read_track2(path: Path) -> pd.DataFrame:
    """wav_filename, label (the four, sergen's names), speaker; each bad line is an error naming it."""
    fix = "restore EmoBox's file (git checkout -- data/track2)"
    if not path.is_file():
        raise SergenError(f"EmoBox's track-2 file {path.name} is missing", where=str(path), fix=fix)
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SergenError(f"line {lineno} of {path.name} is not JSON ({exc.msg})", where=f"{path}:{lineno}",
                              fix=fix) from None
        if not isinstance(record, dict) or not all(isinstance(record.get(k), str) and record[k].strip()
                                                   for k in ("wav_filename", "label")):
            raise SergenError(f"line {lineno} of {path.name} lacks wav_filename or label", where=f"{path}:{lineno}",
                              fix=fix)
        label = record["label"].strip().lower()
        if label not in TRACK2_CLASSES:
            raise SergenError(f"line {lineno} of {path.name} names the class {record['label']!r}, outside the "
                              f"benchmark's four ({', '.join(TRACK2_CLASSES)})", where=f"{path}:{lineno}", fix=fix)
        rows.append({"line": lineno, "wav_filename": record["wav_filename"], "label": TRACK2_CLASSES[label],
                     "speaker": str(record.get("speaker") or "")})
    if not rows:
        raise SergenError(f"EmoBox's track-2 file {path.name} lists no utterances", where=str(path), fix=fix)
    table = pd.DataFrame(rows)
    twice = table[table.wav_filename.duplicated()]
    if not twice.empty:
        raise SergenError(f"{path.name} lists {twice.wav_filename.iloc[0]!r} twice", where=f"{path}:{twice.line.iloc[0]}",
                          fix=fix)
    return table


def _names(wav: str) -> tuple[str, ...]:
    """The file stems a track-2 name may stand for: its stem, and ``<folder>_<stem>`` (SAVEE's ``JK/sa09``)."""
    path = PurePosixPath(wav.replace("\\", "/"))
    return (path.stem, f"{path.parent.name}_{path.stem}") if path.parent.name else (path.stem,)


def _same_speaker(track: str, manifest: str) -> bool:
    """IEMOCAP's track-2 speaker ``02F`` is the manifest's ``Ses02F``; RAVDESS's ``15`` its ``Actor_15``."""
    track, manifest = track.strip().lower(), str(manifest).strip().lower()
    return bool(track) and (manifest == track or manifest.endswith(track) and not manifest[-len(track) - 1].isdigit())


def resolve(track: pd.DataFrame, manifest: pd.DataFrame, benchmark_set: str, corpus: str) -> pd.Series:
    """utt_id of each track-2 line, in its order (see the module for the rule)."""
    stems = manifest["path"].map(lambda p: PurePosixPath(str(p).replace("\\", "/")).stem)
    by_stem: dict[str, list[int]] = {}
    for i, stem in enumerate(stems):
        by_stem.setdefault(stem, []).append(i)
    found, unmatched, ambiguous = [], [], []
    for row in track.itertuples(index=False):
        hits = sorted({i for name in _names(row.wav_filename) for i in by_stem.get(name, [])})
        if len(hits) > 1:
            hits = [i for i in hits if manifest["label"].iloc[i] == row.label] or hits
        if len(hits) > 1:
            hits = [i for i in hits if _same_speaker(row.speaker, manifest["speaker"].iloc[i])] or hits
        if not hits:
            unmatched.append(row.wav_filename)
        elif len(hits) > 1:
            ambiguous.append(f"{row.wav_filename} ({', '.join(manifest['utt_id'].iloc[hits][:3])})")
        found.append(manifest["utt_id"].iloc[hits[0]] if len(hits) == 1 else "")
    fix = (f"check that manifest {corpus} is the whole of {benchmark_set.upper()} (every utterance, EmoBox's file "
           "names), or name the right corpus for it")
    if unmatched:
        raise SergenError(f"{len(unmatched)} of {len(track)} track-2 names of {benchmark_set.upper()} match no utterance "
                          f"of {corpus}, e.g. {', '.join(unmatched[:3])}", where=corpus, fix=fix)
    if ambiguous:
        raise SergenError(f"{len(ambiguous)} of {len(track)} track-2 names of {benchmark_set.upper()} match several "
                          f"utterances of {corpus} even by class and speaker, e.g. {'; '.join(ambiguous[:3])}",
                          where=corpus, fix=fix)
    ids = pd.Series(found)
    if ids.duplicated().any():
        raise SergenError(f"two track-2 names of {benchmark_set.upper()} resolve to the same utterance "
                          f"{ids[ids.duplicated()].iloc[0]!r} of {corpus}", where=corpus, fix=fix)
    return ids


def build_protocol(checkout: str | Path, corpora: dict[str, str]) -> pd.DataFrame:
    """benchmark set, corpus, utt_id of every track-2 utterance: ``corpora`` maps each of the four sets to the
    sergen corpus (manifest) that holds it. Everything is read and checked before anything is written."""
    from sergen.corpora.manifest import load_manifest, manifest_path

    missing = [s for s in SETS if not corpora.get(s)]
    if missing:
        raise SergenError(f"the benchmark needs a corpus for each of its four sets; none given for {', '.join(missing)}",
                          fix="e.g. --iemocap iemocap --meld emobox-meld --ravdess ravdess --savee emobox-savee")
    folder = track2_folder(checkout)
    parts = []
    for benchmark_set in SETS:
        track = read_track2(folder / FILE_NAMES[benchmark_set])
        corpus = corpora[benchmark_set]
        if not manifest_path(corpus).is_file():
            raise SergenError(f"the benchmark's {benchmark_set.upper()} set needs the manifest of {corpus}, and there "
                              "is none", where=str(manifest_path(corpus)),
                              fix=f"write it first (`sergen manifest {corpus} --root DIR`, or emobox:<dataset>)")
        manifest, _ = load_manifest(corpus)
        ids = resolve(track, manifest, benchmark_set, corpus)
        parts.append(pd.DataFrame({"set": benchmark_set, "corpus": corpus, "utt_id": ids}))
    return pd.concat(parts, ignore_index=True)


def protocol_path() -> Path:
    from sergen.config import data_dir

    return Path(data_dir("manifests")) / PROTOCOL_FILE


def write_protocol(table: pd.DataFrame) -> Path:
    path = protocol_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    table.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def read_protocol() -> pd.DataFrame:
    path = protocol_path()
    if not path.is_file():
        raise SergenError("--protocol emobox-cross needs the resolved track-2 sets, and there are none",
                          where=str(path), fix="run `sergen emobox-cross --emobox DIR --iemocap C --meld C --ravdess C "
                                               "--savee C` first")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def benchmark_corpora() -> dict[str, str]:
    """corpus → benchmark set, as resolved."""
    table = read_protocol()
    return dict(table[["corpus", "set"]].drop_duplicates().itertuples(index=False))


def test_ids(corpus: str) -> set[str]:
    table = read_protocol()
    return set(table.loc[table.corpus == corpus, "utt_id"])
