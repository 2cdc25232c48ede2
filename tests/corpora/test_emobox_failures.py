"""The EmoBox datasets that did not read (issue 24), on look-alikes of EmoBox's own files: video/WebM
containers (meld, enterface, mer2023, emns), emodb's label case, jlcorpus's speakers with spaces, pavoque's
segments, and the fold-only datasets (msppodcast, m3ed, mead). The shapes copy EmoBox's head
(github.com/emo-box/EmoBox): keys, ``downloads/<ds>/...`` paths, stm lines, start_time/end_time."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from sergen.corpora import read_corpus
from sergen.corpora.manifest import load_manifest, write_manifest
from sergen.errors import SergenError
from sergen.protocols.emobox import list_datasets, read_dataset
from tests.conftest import write_wav
from tests.containers import tone, write_container
from tests.emobox_files import record, write_dataset, write_jsonl

# dataset → (EmoBox's wav path pattern, suffix), as in its <ds>.jsonl
CONTAINER_DATASETS = {
    "meld": "train/train_splits/dia{i}_utt0.mp4",
    "enterface": "subject {s}/anger/sentence {i}/s{s}_an_{i}.avi",
    "mer2023": "train/sample_{i:05d}.avi",
    "emns": "cleaned_webm/{i}.webm",
}


def emotion_folds(keys: list[str]) -> list[dict[str, list[str]]]:
    return [{"train": keys[: len(keys) // 2], "test": keys[len(keys) // 2:]}]


@pytest.mark.parametrize("dataset", sorted(CONTAINER_DATASETS))
def test_video_and_webm_containers_read_with_emobox_counts(tmp_path, dataset):
    checkout, audio = tmp_path / "EmoBox", tmp_path / "audio"
    emos = ["neutral", "happy", "sad", "angry"]
    records, lengths = [], {}
    for i, emo in enumerate(emos):
        rel = CONTAINER_DATASETS[dataset].format(i=i, s=i + 1)
        key = f"{dataset}-{i}"
        records.append(record(dataset, key, emo, rel))
        write_container(audio / rel, tone(8000 + 1000 * i))
    write_dataset(checkout, dataset, records, emotion_folds([r["key"] for r in records]),
                  {e: e.capitalize() for e in emos})
    result = read_corpus("emobox", audio, dataset=dataset, emobox=checkout)
    df = result.manifest.set_index("utt_id")
    assert len(df) == len(records) and not result.problems  # EmoBox's utterance count, nothing unreadable
    assert df["label"].tolist() == ["neu", "hap", "sad", "ang"]
    lossless = dataset in ("enterface", "mer2023")  # pcm in avi: the exact sample count
    for i in range(4):
        n = int(df.loc[f"{dataset}-{i}", "num_samples"])
        rate = int(df.loc[f"{dataset}-{i}", "sample_rate"])
        if lossless:
            assert (n, rate) == (8000 + 1000 * i, 16000)
        else:
            assert n >= (8000 + 1000 * i) * rate // 16000


def test_a_meld_video_is_extracted_at_its_recorded_length(tmp_path, workspace):
    """Extraction decodes the mp4 again and finds the length the manifest recorded (else the row fails)."""
    from sergen.extract import extract
    from sergen import open_store

    checkout, audio = tmp_path / "EmoBox", tmp_path / "audio"
    records = [record("meld", f"meld-dia{i}_utt0-train", emo, f"train/train_splits/dia{i}_utt0.mp4")
               for i, emo in enumerate(["neutral", "joy", "sadness", "anger"])]
    for i, r in enumerate(records):
        write_container(audio / r["wav"].removeprefix("downloads/meld/"), tone(4000 + 800 * i))
    write_dataset(checkout, "meld", records, emotion_folds([r["key"] for r in records]))
    write_manifest(read_corpus("emobox", audio, dataset="meld", emobox=checkout))
    report = extract("melspec", "emobox-meld", show_progress=False)
    assert report.failures == {} and report.complete
    ds = open_store("melspec", "emobox-meld")
    assert sorted(ds["utt_id"].values) == sorted(r["key"] for r in records)


# --- emodb: label_map.json says Neutral, 79 lines say neutral ----------------------------------------------

EMODB_MAP = {"anger": "Angry", "boredem": "Boredom", "disgust": "Disgust", "fear": "Fear", "happy": "Happy",
             "Neutral": "Neutral", "sad": "Sad"}


def emodb(tmp_path, label_map=EMODB_MAP, emos=("anger", "neutral", "neutral", "happy", "sad", "neutral")):
    checkout, audio = tmp_path / "EmoBox", tmp_path / "audio"
    records = [record("emodb", f"emodb-03a01{i}", emo, f"wav/03a01{i}.wav") for i, emo in enumerate(emos)]
    for r in records:
        write_wav(audio / r["wav"].removeprefix("downloads/emodb/"))
    write_dataset(checkout, "emodb", records, emotion_folds([r["key"] for r in records]), label_map)
    return checkout, audio


def test_emodb_case_only_labels_are_mapped_with_one_warning(tmp_path):
    checkout, audio = emodb(tmp_path)
    result = read_corpus("emobox", audio, dataset="emodb", emobox=checkout)
    df = result.manifest
    assert (df["native_label"] == "Neutral").sum() == 3 and (df.loc[df.native_label == "Neutral", "label"] == "neu").all()
    assert (df["emobox_emo"] == "neutral").sum() == 3
    said = [w for w in result.warnings if "differ only in case" in w]
    assert said == ["emodb.jsonl: 3 line(s) say 'neutral' where label_map.json says 'Neutral'; read as 'Neutral' "
                    "(EmoBox's files differ only in case)"]


def test_a_label_matching_two_keys_by_case_is_refused(tmp_path):
    checkout, audio = emodb(tmp_path, dict(EMODB_MAP, NEUTRAL="Neutral2"))
    with pytest.raises(SergenError) as err:
        read_corpus("emobox", audio, dataset="emodb", emobox=checkout)
    assert err.value.what == ("line 2 of emodb.jsonl: emotion 'neutral' is not in label_map.json (NEUTRAL, Neutral, "
                              "anger, boredem, disgust, fear, happy, sad; it matches 'Neutral', 'NEUTRAL' by case alike)")


def test_a_label_in_no_case_is_still_refused(tmp_path):
    checkout, audio = emodb(tmp_path, emos=("anger", "calm"))
    with pytest.raises(SergenError, match=r"emotion 'calm' is not in label_map.json \(Neutral, anger, boredem, disgust, fear, happy, sad\)"):
        read_corpus("emobox", audio, dataset="emodb", emobox=checkout)


def test_a_dataset_without_label_map_uses_raw_labels_and_says_so(tmp_path):
    checkout, audio = emodb(tmp_path, label_map=None)
    result = read_corpus("emobox", audio, dataset="emodb", emobox=checkout)
    assert sorted(set(result.manifest["native_label"])) == ["anger", "happy", "neutral", "sad"]
    assert ("EmoBox's emodb has no label_map.json: its raw emotion labels are its classes (anger, happy, neutral, sad)"
            in result.warnings)


# --- jlcorpus: the speaker is a path with spaces ------------------------------------------------------------

JL_FOLDER = "Raw JL corpus (unchecked and unannotated)/JL(wav+txt)"


def test_jlcorpus_speakers_with_spaces_give_four_speaker_folds(tmp_path):
    checkout, audio = tmp_path / "EmoBox", tmp_path / "audio"
    speakers = ["male1", "male2", "female1", "female2"]
    records, spk = [], {}
    for s in speakers:
        for emo in ("angry", "happy", "sad", "neutral"):
            key = f"jlcorpus-{s}-{emo}-6b-1"
            records.append(record("jlcorpus", key, emo, f"{JL_FOLDER}/{s}_{emo}_6b_1.wav"))
            spk[key] = f"downloads/jlcorpus/{JL_FOLDER}/{s}"  # EmoBox's stm: the speaker column is this path
            write_wav(audio / JL_FOLDER / f"{s}_{emo}_6b_1.wav")
    keys = {s: [k for k in spk if spk[k].endswith("/" + s)] for s in speakers}
    folds = [{"train": [k for t in speakers if t != s for k in keys[t]], "test": keys[s]} for s in speakers]
    folder = write_dataset(checkout, "jlcorpus", records, folds, {e: e.capitalize() for e in ("angry", "happy", "sad", "neutral")},
                           spk)
    line = (folder / "data.seg.wrd.stm").read_text().splitlines()[0]
    assert line.startswith("jlcorpus-male1-angry-6b-1 1 downloads/jlcorpus/Raw JL corpus (unchecked and unannotated)/"
                           "JL(wav+txt)/male1 0 0.2 <id=")
    dataset = read_dataset(checkout, "jlcorpus")
    assert dataset.speaker_independent and dataset.n_folds == 4
    result = read_corpus("emobox", audio, dataset="jlcorpus", emobox=checkout)
    df = result.manifest
    assert len(df) == 16
    assert sorted(df["speaker"].unique()) == sorted(f"downloads/jlcorpus/{JL_FOLDER}/{s}" for s in speakers)
    assert df.groupby("speaker")["fold"].nunique().tolist() == [1, 1, 1, 1]  # each speaker tested in one fold


# --- pavoque: utterances are segments of one long file per emotion ------------------------------------------

PAVOQUE_SEGMENTS = [(0.0, 0.25), (0.25, 0.6), (0.6, 1.0)]


def pavoque(tmp_path, segments=PAVOQUE_SEGMENTS, cut=False):
    """pavoque-<emo>.flac holding three segments (EmoBox's start_time/end_time); with ``cut``, the same
    utterances each in a file of its own (no segment), under the same keys."""
    checkout, audio = tmp_path / ("cut" if cut else "EmoBox"), tmp_path / ("cut_audio" if cut else "audio")
    name = "pavoquecut" if cut else "pavoque"
    records, rate = [], 44100
    for j, emo in enumerate(("angry", "happy", "sad", "neutral")):
        x = (0.1 * np.sin(2 * np.pi * (200 + 50 * j) * np.arange(rate) / rate)).astype(np.float32)
        audio.mkdir(parents=True, exist_ok=True)
        if not cut:
            sf.write(audio / f"pavoque-{emo}.flac", x, rate, subtype="PCM_16")
            x = sf.read(audio / f"pavoque-{emo}.flac", dtype="float32")[0]
        else:
            x = sf.read(tmp_path / "audio" / f"pavoque-{emo}.flac", dtype="float32")[0]
        for n, (start, end) in enumerate(segments):
            key = f"pavoque-{emo}_n{n:04d}-{emo}"
            if cut:
                sf.write(audio / f"{key}.wav", x[round(start * rate):round(end * rate)], rate, subtype="FLOAT")
                records.append(record(name, key, emo, f"{key}.wav"))
            else:
                records.append(dict(record(name, key, emo, f"pavoque-{emo}.flac"), start_time=start, end_time=end))
    keys = [r["key"] for r in records]
    write_dataset(checkout, name, records, [{"train": keys[::2], "test": keys[1::2]}],
                  {e: e.capitalize() for e in ("angry", "happy", "sad", "neutral")})
    return checkout, audio, name


def test_pavoque_segments_are_one_row_each(tmp_path):
    checkout, audio, name = pavoque(tmp_path)
    df = read_corpus("emobox", audio, dataset=name, emobox=checkout).manifest.set_index("utt_id")
    assert len(df) == 12 and df["path"].nunique() == 4
    row = df.loc["pavoque-happy_n0001-happy"]
    assert (row["segment_offset"], row["num_samples"], row["sample_rate"]) == (11025, 15435, 44100)
    assert row["duration_s"] == 0.35


def test_segments_extracted_equal_the_same_audio_cut_into_files(tmp_path, workspace):
    from sergen.extract import extract
    from sergen import open_store
    from sergen.store.reader import utterance_frames

    checkout, audio, name = pavoque(tmp_path)
    write_manifest(read_corpus("emobox", audio, dataset=name, emobox=checkout))
    cut_checkout, cut_audio, cut_name = pavoque(tmp_path, cut=True)
    write_manifest(read_corpus("emobox", cut_audio, dataset=cut_name, emobox=cut_checkout))
    for corpus in ("emobox-pavoque", "emobox-pavoquecut"):
        assert extract("melspec", corpus, show_progress=False).failures == {}
    segments, files = open_store("melspec", "emobox-pavoque"), open_store("melspec", "emobox-pavoquecut")
    assert sorted(segments["utt_id"].values) == sorted(files["utt_id"].values)
    for utt in segments["utt_id"].values:
        a, b = utterance_frames(segments, utt), utterance_frames(files, utt)
        assert a.shape == b.shape and np.array_equal(a, b), utt


def test_a_segment_past_its_file_end_is_refused_and_nothing_written(tmp_path, workspace):
    checkout, audio, name = pavoque(tmp_path, segments=[(0.0, 0.5), (0.5, 1.2)])
    with pytest.raises(SergenError) as err:
        read_corpus("emobox", audio, dataset=name, emobox=checkout)
    assert err.value.what == ("utterance 'pavoque-angry_n0001-angry': segment [22050, 52920) ends past the file's "
                              "end (44100 samples) (segment 0.5–1.2 s, file 1.000 s)")
    assert err.value.where.endswith("pavoque-angry.flac")
    assert not (workspace / "manifests").exists()


def test_a_segment_with_only_a_start_is_refused(tmp_path):
    checkout, audio, name = pavoque(tmp_path)
    main = checkout / "data" / name / f"{name}.jsonl"
    lines = main.read_text().splitlines()
    first = json.loads(lines[0])
    del first["end_time"]
    main.write_text("\n".join([json.dumps(first)] + lines[1:]) + "\n")
    with pytest.raises(SergenError, match="1 utterance.s. of EmoBox's pavoque have a start_time or an end_time but "
                                          "not both, e.g. 'pavoque-angry_n0000-angry'"):
        read_corpus("emobox", audio, dataset=name, emobox=checkout)


# --- msppodcast, m3ed, mead: fold files only -----------------------------------------------------------------

@pytest.mark.parametrize("dataset", ["msppodcast", "m3ed", "mead"])
def test_fold_only_datasets_read_from_their_folds(tmp_path, dataset):
    checkout, audio = tmp_path / "EmoBox", tmp_path / "audio"
    emos = ["neutral", "happy", "sad", "angry"] * 3
    records = [record(dataset, f"{dataset}-{i:03d}", emo, f"Audios/{i:03d}.wav") for i, emo in enumerate(emos)]
    for r in records:
        write_wav(audio / r["wav"].removeprefix(f"downloads/{dataset}/"))
    keys = [r["key"] for r in records]
    folder = write_dataset(checkout, dataset, records, [{"train": keys[:6], "valid": keys[6:8], "test": keys[8:]}],
                           {e: e.capitalize() for e in set(emos)})
    (folder / f"{dataset}.jsonl").unlink()  # as EmoBox's clone: only the fold files
    assert dataset in list_datasets(checkout)
    result = read_corpus("emobox", audio, dataset=dataset, emobox=checkout)
    assert len(result.manifest) == 12
    assert result.manifest.set_index("utt_id")["split"].value_counts().to_dict() == {"train": 6, "test": 4, "valid": 2}
    assert (f"EmoBox's {dataset} ships no {dataset}.jsonl: its 12 utterances are read from its fold files"
            in result.warnings)
