"""EmoBox's published metadata, read as EmoBox's own code reads it, with no audio involved.

An EmoBox checkout (https://github.com/emo-box/EmoBox) holds, per dataset, ``data/<ds>/<ds>.jsonl`` (one
JSON object per line: ``key``, ``wav``, ``emo``, ``length``, ``sample_rate``, ...), the folds
``data/<ds>/fold_<k>/<ds>_{train,test}_fold_<k>.jsonl`` (and ``..._valid_fold_<k>.jsonl`` where the corpus
has an official validation set, e.g. MSP-Podcast), an optional ``label_map.json`` (EmoBox scores
``label_map[emo]``: IEMOCAP's ``exc`` counts as ``Happy``) and ``data.seg.wrd.stm`` whose third column is
the speaker.

EmoBox's partitioning rule (its ``preprocess_utils.write_folds``): a dataset with 4 or more speakers and
speaker-balanced classes gets speaker folds (leave-one-speaker-out for 4–6 speakers, groups of about four
speakers otherwise; IEMOCAP by session); any other dataset gets one stratified random fold that ignores
speakers. So a dataset with several folds is meant to be speaker-independent; EmoBox's published files do not
always keep to it (its emodb puts every speaker in both sides of every fold). They are read as EmoBox ships them,
since EmoBox's numbers were made on them, with a warning naming the folds and speakers
(:func:`speaker_leak_warning`). A single random fold is not checked.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import pandas as pd

from sergen.errors import SergenError

ROLES = ("train", "valid", "test")
REQUIRED_FIELDS = ("key", "wav", "emo")
NOT_IN_FOLD = "-"
FOLD_DIR = re.compile(r"^fold_(\d+)$")
UNKNOWN_SPEAKER = "unknown"
CLONE_HINT = "git clone https://github.com/emo-box/EmoBox and pass --emobox with that folder (the one holding data/)"


@dataclass(frozen=True)
class EmoBoxDataset:
    """One EmoBox dataset: its utterances (one row per key of ``<ds>.jsonl``) and its folds."""

    name: str
    folder: Path
    utterances: pd.DataFrame  # key, wav, emo, emobox_class, speaker, length, sample_rate, segmented
    folds: list[dict[str, str]]  # fold k (index k-1): key -> train / valid / test
    label_map: dict[str, str] | None
    language: str | None
    warnings: tuple[str, ...] = ()  # EmoBox's own inconsistencies read around (case-only labels, no map, ...)
    speaker_leaks: bool = False  # a fold puts a speaker in both training and test (EmoBox's emodb does)
    extra_files: tuple[str, ...] = ()  # fold files beside train/valid/test (mer2023's test1..3): not read

    @property
    def n_folds(self) -> int:
        return len(self.folds)

    @property
    def speakers_known(self) -> bool:
        return bool((self.utterances["speaker"] != UNKNOWN_SPEAKER).any())

    @property
    def speaker_independent(self) -> bool:
        """EmoBox's protocol for this dataset keeps speakers apart (several speaker folds)."""
        return self.n_folds > 1 and self.speakers_known and not self.speaker_leaks

    def fold_roles(self) -> pd.DataFrame:
        """Per utterance: ``emobox_folds`` (its role in fold 1, 2, ... joined by ``|``, ``-`` where a fold does
        not list it) and ``fold`` (the fold whose test set holds it, 0 for none: the convention of IEMOCAP's
        session column, so leave-one-fold-out code reads both alike)."""
        keys = self.utterances["key"]
        roles = [keys.map(fold).fillna(NOT_IN_FOLD) for fold in self.folds]
        joined = roles[0].str.cat(roles[1:], sep="|") if len(roles) > 1 else roles[0]
        test_fold = pd.Series(0, index=keys.index)
        for k, role in enumerate(roles, 1):
            test_fold[role == "test"] = k
        return pd.DataFrame({"key": keys, "emobox_folds": joined, "fold": test_fold})


def data_dir(checkout: str | Path) -> Path:
    """The ``data/`` folder of an EmoBox checkout (the checkout's root or ``data/`` itself may be given)."""
    checkout = Path(checkout).expanduser()
    if not checkout.is_dir():
        raise SergenError("the EmoBox folder does not exist" if not checkout.exists() else "the EmoBox path is not a folder",
                          where=str(checkout), fix=CLONE_HINT)
    for candidate in (checkout / "data", checkout):
        if candidate.is_dir() and _datasets_in(candidate):
            return candidate
    raise SergenError(f"{checkout} is not an EmoBox checkout: it holds no data/<dataset>/<dataset>.jsonl",
                      where=str(checkout.absolute()), fix=CLONE_HINT)


def _datasets_in(folder: Path) -> list[str]:
    return sorted(d.name for d in folder.iterdir() if d.is_dir() and (
        (d / f"{d.name}.jsonl").is_file() or (d / "fold_1" / f"{d.name}_train_fold_1.jsonl").is_file()))


def list_datasets(checkout: str | Path) -> list[str]:
    """The datasets of an EmoBox checkout: every ``data/<ds>/`` holding ``<ds>.jsonl``, or only its fold
    files (EmoBox's msppodcast, m3ed and mead ship no ``<ds>.jsonl`` in a plain clone)."""
    return _datasets_in(data_dir(checkout))


def dataset_folder(checkout: str | Path, name: str | None) -> Path:
    """``data/<name>/`` of the checkout; an unknown or missing name lists the datasets found."""
    data = data_dir(checkout)
    found = _datasets_in(data)
    key = (name or "").strip().lower()
    if key and key not in found and (data / key).is_dir():
        raise SergenError(f"EmoBox's {key} folder holds neither {key}.jsonl nor fold_1/{key}_train_fold_1.jsonl: "
                          "its metadata is incomplete in this checkout", where=str(data / key),
                          fix=f"restore EmoBox's files (`git -C {data.parent} checkout -- data/{key}`; a clone "
                              "without its large files lacks them)")
    if key not in found:
        what = (f"EmoBox has no dataset {name!r}" if key else "no EmoBox dataset named") + f"; found in {data}: {', '.join(found)}"
        raise SergenError(what, where=str(data), fix=f"name one of them, e.g. `sergen manifest emobox:{found[0]} "
                                                     "--root AUDIO_DIR --emobox DIR`")
    return data / key


def read_jsonl(path: Path, checkout_fix: str) -> list[tuple[int, dict]]:
    """(line number, record) for every non-blank line; a line that is not a JSON object with string
    ``key``, ``wav`` and ``emo``, or a key used twice, is one error naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise SergenError(f"{path.name} is not UTF-8 text (line {line})", where=f"{path}:{line}", fix=checkout_fix) from None
    records, seen = [], {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SergenError(f"line {lineno} of {path.name} is not JSON ({exc.msg}, column {exc.colno})",
                              where=f"{path}:{lineno}", fix=checkout_fix) from None
        if not isinstance(record, dict):
            raise SergenError(f"line {lineno} of {path.name} is not a JSON object", where=f"{path}:{lineno}", fix=checkout_fix)
        bad = [f for f in REQUIRED_FIELDS if not isinstance(record.get(f), str) or not record[f].strip()]
        if bad:
            raise SergenError(f"line {lineno} of {path.name} lacks {', '.join(bad)} (EmoBox's fields: key, wav, emo, "
                              "length, ...)", where=f"{path}:{lineno}", fix=checkout_fix)
        if record["key"] in seen:
            raise SergenError(f"{path.name} lists the key {record['key']!r} twice (lines {seen[record['key']]} and {lineno})",
                              where=f"{path}:{lineno}", fix=checkout_fix)
        seen[record["key"]] = lineno
        records.append((lineno, record))
    if not records:
        raise SergenError(f"{path.name} lists no utterances", where=str(path), fix=checkout_fix)
    return records


def read_label_map(path: Path, checkout_fix: str) -> dict[str, str] | None:
    if not path.is_file():
        return None
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SergenError(f"{path.name} is not valid JSON ({exc})", where=str(path), fix=checkout_fix) from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise SergenError(f"{path.name} is not a JSON object of emotion → class names", where=str(path), fix=checkout_fix)
    return mapping


# key channel speaker start end <meta> emotion: the speaker may hold spaces (jlcorpus's is a folder path,
# "downloads/jlcorpus/Raw JL corpus (unchecked and unannotated)/JL(wav+txt)/male2"), so it is what lies
# between the channel and the two times before the ``<meta>`` field
STM_LINE = re.compile(r"^(\S+)\s+(\S+)\s+(.+?)\s+([-+.\deE]+)\s+([-+.\deE]+)\s+<")


def read_speakers(path: Path, checkout_fix: str) -> dict[str, str]:
    """key → speaker from ``data.seg.wrd.stm`` (``key channel speaker start end <meta> emotion``)."""
    if not path.is_file():
        return {}
    speakers = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        match = STM_LINE.match(line)
        parts = line.split()
        if match is None and len(parts) < 3:
            raise SergenError(f"line {lineno} of {path.name} has no speaker column (key channel speaker start end ...)",
                              where=f"{path}:{lineno}", fix=checkout_fix)
        speakers[parts[0]] = match.group(3) if match else parts[2]
    return speakers


def class_lookup(label_map: dict[str, str] | None, lines: list[tuple[int, dict]], main: Path,
                 fix: str) -> tuple[dict[str, str], list[str]]:
    """emotion → EmoBox class for every emotion the lines use, and the warnings of what was read around.

    EmoBox's own files disagree in places (emodb's ``label_map.json`` says ``Neutral``, 79 lines say
    ``neutral``): an emotion missing from the map whose case-folded form names exactly one key is mapped to
    it, with one warning naming the file, the label and the count. Without a map, the raw emotions are the
    classes (as EmoBox's loader without one), said once."""
    used = Counter(record["emo"] for _, record in lines)
    if label_map is None:
        return {emo: emo for emo in used}, [f"EmoBox's {main.parent.name} has no label_map.json: its raw emotion "
                                            f"labels are its classes ({', '.join(sorted(used))})"]
    folded: dict[str, list[str]] = {}
    for key in label_map:
        folded.setdefault(key.casefold(), []).append(key)
    classes, warnings = {}, []
    for emo, count in sorted(used.items()):
        if emo in label_map:
            classes[emo] = label_map[emo]
            continue
        keys = folded.get(emo.casefold(), [])
        lineno = next(n for n, r in lines if r["emo"] == emo)
        if len(keys) != 1:
            why = f"; it matches {', '.join(map(repr, keys))} by case alike" if keys else ""
            raise SergenError(f"line {lineno} of {main.name}: emotion {emo!r} is not in label_map.json "
                              f"({', '.join(sorted(label_map))}{why})", where=f"{main}:{lineno}", fix=fix)
        classes[emo] = label_map[keys[0]]
        warnings.append(f"{main.name}: {count} line(s) say {emo!r} where label_map.json says {keys[0]!r}; "
                        f"read as {label_map[keys[0]]!r} (EmoBox's files differ only in case)")
    return classes, warnings


def read_fold_utterances(folder: Path, name: str, fix: str) -> list[tuple[int, dict]]:
    """Every utterance of a dataset that ships only fold files: each key once, as its first fold file
    (train, valid, test of fold 1, 2, ...) lists it."""
    seen, lines = set(), []
    for files in fold_files(folder, name, fix):
        for path in files.values():
            for lineno, record in read_jsonl(path, fix):
                if record["key"] not in seen:
                    seen.add(record["key"])
                    lines.append((lineno, record))
    return lines


def read_language(path: Path) -> str | None:
    """``language = ..`` of EmoBox's ``corpus.cfg``."""
    if not path.is_file():
        return None
    match = re.search(r"^\s*language\s*=\s*(\S+)", path.read_text(encoding="utf-8", errors="replace"), re.M)
    return match.group(1) if match else None


def fold_files(folder: Path, name: str, checkout_fix: str) -> list[dict[str, Path]]:
    """Fold k's train/test (and optional valid) files, for k = 1..K with no gap."""
    numbers = sorted(int(m.group(1)) for d in folder.iterdir() if d.is_dir() and (m := FOLD_DIR.match(d.name)))
    if not numbers:
        raise SergenError(f"EmoBox's {name} has no fold_<k> folders", where=str(folder), fix=checkout_fix)
    expected = list(range(1, numbers[-1] + 1))
    if numbers != expected:
        gaps = ", ".join(f"fold_{k}" for k in expected if k not in numbers)
        raise SergenError(f"EmoBox's {name} lacks {gaps} (found {', '.join(f'fold_{k}' for k in numbers)})",
                          where=str(folder), fix=checkout_fix)
    folds = []
    for k in expected:
        files = {role: folder / f"fold_{k}" / f"{name}_{role}_fold_{k}.jsonl" for role in ROLES}
        for role in ("train", "test"):
            if not files[role].is_file():
                raise SergenError(f"fold {k} of EmoBox's {name} has no {role} file", where=str(files[role]),
                                  fix=checkout_fix)
        folds.append({role: path for role, path in files.items() if path.is_file()})
    return folds


def extra_fold_files(folder: Path, name: str, n_folds: int) -> tuple[str, ...]:
    """``.jsonl`` files in the fold folders other than each fold's train/valid/test (mer2023 ships extra test
    sets): EmoBox's fold protocol reads only those three, so their utterances are left out, said by name."""
    known = {f"{name}_{role}_fold_{k}.jsonl" for k in range(1, n_folds + 1) for role in ROLES}
    return tuple(sorted(p.relative_to(folder).as_posix() for k in range(1, n_folds + 1)
                        for p in (folder / f"fold_{k}").glob("*.jsonl") if p.name not in known))


def read_dataset(checkout: str | Path, name: str) -> EmoBoxDataset:
    """Every utterance of ``data/<name>/<name>.jsonl`` with its EmoBox class and speaker, and every fold."""
    folder = dataset_folder(checkout, name)
    name = folder.name
    fix = (f"restore EmoBox's files (`git -C {folder.parent.parent} checkout -- data/{name}`), "
           "or correct the line named")
    label_map = read_label_map(folder / "label_map.json", fix)
    speakers = read_speakers(folder / "data.seg.wrd.stm", fix)
    main = folder / f"{name}.jsonl"
    warnings = []
    if main.is_file():
        lines = read_jsonl(main, fix)
    else:
        lines = read_fold_utterances(folder, name, fix)
        warnings.append(f"EmoBox's {name} ships no {main.name}: its {len(lines)} utterances are read from its fold files")
    classes, read_around = class_lookup(label_map, lines, main, fix)
    warnings += read_around
    rows = []
    for lineno, record in lines:
        emo = record["emo"]
        rows.append({"key": record["key"], "wav": record["wav"], "emo": emo, "emobox_class": classes[emo],
                     "speaker": speakers.get(record["key"], UNKNOWN_SPEAKER),
                     "length": record.get("length"), "sample_rate": record.get("sample_rate"),
                     "segmented": "start_time" in record or "end_time" in record,
                     "start_time": segment_time(record, "start_time", main, lineno, fix),
                     "end_time": segment_time(record, "end_time", main, lineno, fix)})
    utterances = pd.DataFrame(rows)
    known = set(utterances["key"])
    folds = []
    for k, files in enumerate(fold_files(folder, name, fix), 1):
        roles: dict[str, str] = {}
        for role, path in files.items():
            records = read_jsonl(path, fix)
            unknown = [(n, r["key"]) for n, r in records if r["key"] not in known]
            if unknown:
                raise SergenError(f"{path.name} names {len(unknown)} key(s) that {main.name} does not list, e.g. "
                                  + ", ".join(f"{key!r} (line {n})" for n, key in unknown[:3]),
                                  where=f"{path}:{unknown[0][0]}", fix=fix)
            for n, record in records:
                if record["key"] in roles:
                    raise SergenError(f"fold {k} of EmoBox's {name} puts {record['key']!r} in both "
                                      f"{roles[record['key']]} and {role}", where=f"{path}:{n}", fix=fix)
                roles[record["key"]] = role
        folds.append(roles)
    dataset = EmoBoxDataset(name, folder, utterances, folds, label_map, read_language(folder / "corpus.cfg"),
                            tuple(warnings), extra_files=extra_fold_files(folder, name, len(folds)))
    check_test_sets(dataset, fix)
    leak = speaker_leak_warning(dataset)
    return replace(dataset, warnings=dataset.warnings + (leak,), speaker_leaks=True) if leak else dataset


def segment_time(record: dict, field: str, main: Path, lineno: int, fix: str) -> float | None:
    """``start_time``/``end_time`` (seconds within the file) of a segmented utterance, as pavoque's."""
    if field not in record:
        return None
    value = record[field]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != value:
        raise SergenError(f"line {lineno} of {main.name}: {field} {value!r} is not a time in seconds",
                          where=f"{main}:{lineno}", fix=fix)
    return float(value)


def check_test_sets(dataset: EmoBoxDataset, fix: str) -> None:
    """Each utterance is tested in at most one fold (cross-validation), so ``fold`` names one test fold."""
    tested = Counter(key for fold in dataset.folds for key, role in fold.items() if role == "test")
    twice = [key for key, n in tested.items() if n > 1]
    if twice:
        folds = [k for k, fold in enumerate(dataset.folds, 1) if fold.get(twice[0]) == "test"]
        raise SergenError(f"{len(twice)} utterance(s) of EmoBox's {dataset.name} are in the test sets of several folds, "
                          f"e.g. {twice[0]!r} in folds {', '.join(map(str, folds))}: not a cross-validation",
                          where=str(dataset.folder), fix=fix)


def speaker_leak_warning(dataset: EmoBoxDataset) -> str | None:
    """The folds of a several-fold protocol whose test speakers also train (or validate), as one warning,
    or None. EmoBox's own files do this (its emodb: every speaker in both sides of every fold), so they are
    read as EmoBox ships them — its numbers were made on them — and the warning says they are not
    speaker-independent, naming the folds and speakers."""
    if not dataset.n_folds > 1 or not dataset.speakers_known:
        return None
    speaker = dict(zip(dataset.utterances["key"], dataset.utterances["speaker"]))
    leaky = []
    for k, fold in enumerate(dataset.folds, 1):
        counts: dict[str, Counter] = {}
        for key, role in fold.items():
            if speaker[key] != UNKNOWN_SPEAKER:
                counts.setdefault(speaker[key], Counter())["test" if role == "test" else "train"] += 1
        leaked = sorted(s for s, c in counts.items() if c["test"] and c["train"])
        if leaked:
            leaky.append((k, leaked, counts))
    if not leaky:
        return None
    k, leaked, counts = leaky[0]
    shown = ", ".join(f"{s} ({counts[s]['train']} train/valid, {counts[s]['test']} test)" for s in leaked[:3])
    return (f"{len(leaky)} of EmoBox's {dataset.n_folds} folds of {dataset.name} put speakers in both training and "
            f"test (fold {k}: {len(leaked)} speaker(s), e.g. {shown}{' …' if len(leaked) > 3 else ''}; speakers "
            f"from {dataset.folder / 'data.seg.wrd.stm'}): read as EmoBox ships them, so these numbers, like "
            "EmoBox's, are not speaker-independent")


def relative_audio_path(wav: str) -> str:
    """EmoBox's ``wav`` is relative to the folder holding ``downloads/``: ``downloads/<dataset>/<path>``.
    The user's audio root stands for ``downloads/<dataset>/``, so that prefix is dropped."""
    parts = PurePosixPath(wav.replace("\\", "/")).parts
    if len(parts) > 2 and parts[0] == "downloads":
        return PurePosixPath(*parts[2:]).as_posix()
    return PurePosixPath(*parts).as_posix()
