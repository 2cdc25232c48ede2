"""Small datasets in EmoBox's published format (``data/<ds>/<ds>.jsonl``, ``fold_<k>/<ds>_<role>_fold_<k>.jsonl``,
``label_map.json``, ``data.seg.wrd.stm``), written by the tests: sergen ships none of EmoBox's files."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import write_wav

# toyravdess: 4 speakers x 5 emotions, two speaker folds (s1+s2 tested in fold 1, s3+s4 in fold 2),
# a label map as RAVDESS's (Calm is its own class in EmoBox)
RAVDESS_MAP = {"neutral": "Neutral", "calm": "Calm", "happy": "Happy", "sad": "Sad", "angry": "Angry"}
RAVDESS_SPEAKERS = ("s1", "s2", "s3", "s4")


def record(dataset: str, key: str, emo: str, rel: str) -> dict:
    return {"key": key, "dataset": dataset, "wav": f"downloads/{dataset}/{rel}", "type": "raw", "sample_rate": 16000,
            "num_frame": 3200.0, "task": "category", "length": 0.2, "emo": emo, "channel": 1}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def write_dataset(checkout: Path, name: str, records: list[dict], folds: list[dict[str, list[str]]],
                  label_map: dict | None = None, speakers: dict[str, str] | None = None) -> Path:
    folder = checkout / "data" / name
    by_key = {r["key"]: r for r in records}
    write_jsonl(folder / f"{name}.jsonl", records)
    for k, fold in enumerate(folds, 1):
        for role, keys in fold.items():
            write_jsonl(folder / f"fold_{k}" / f"{name}_{role}_fold_{k}.jsonl", [by_key[key] for key in keys])
    if label_map is not None:
        (folder / "label_map.json").write_text(json.dumps(label_map, indent=4))
    if speakers is not None:
        (folder / "data.seg.wrd.stm").write_text("".join(
            f"{r['key']} 1 {speakers[r['key']]} 0 0.2 <id={r['key']},lang=en,spk={speakers[r['key']]},"
            f"emotion={r['emo']}> {r['emo']}\n" for r in records))
    (folder / "corpus.cfg").write_text(f"[Corpus]\nname = {name}\nlanguage = en\n")
    return folder


def toy_ravdess(checkout: Path, audio: Path | None = None) -> list[dict]:
    records, speakers = [], {}
    for spk in RAVDESS_SPEAKERS:
        for emo in RAVDESS_MAP:
            rel = f"Actor_{spk}/{spk}_{emo}.wav"
            key = f"toyravdess-{spk}_{emo}"
            records.append(record("toyravdess", key, emo, rel))
            speakers[key] = spk
            if audio is not None:
                write_wav(audio / rel)
    keys_of = {spk: [k for k, s in speakers.items() if s == spk] for spk in RAVDESS_SPEAKERS}
    fold1 = {"train": keys_of["s3"] + keys_of["s4"], "test": keys_of["s1"] + keys_of["s2"]}
    fold2 = {"train": keys_of["s1"] + keys_of["s2"], "test": keys_of["s3"] + keys_of["s4"]}
    write_dataset(checkout, "toyravdess", records, [fold1, fold2], RAVDESS_MAP, speakers)
    return records


def toy_crema(checkout: Path, audio: Path | None = None) -> list[dict]:
    """One fold with an official valid file, raw emotion codes, no label map, no speaker file."""
    emos = ["hap", "sad", "neu", "ang", "dis"] * 2
    records = []
    for i, emo in enumerate(emos):
        rel = f"AudioWAV/{i:04d}_{emo.upper()}.wav"
        records.append(record("toycrema", f"toycrema-{i:04d}", emo, rel))
        if audio is not None:
            write_wav(audio / rel)
    keys = [r["key"] for r in records]
    write_dataset(checkout, "toycrema", records, [{"train": keys[:6], "valid": keys[6:8], "test": keys[8:]}])
    return records
