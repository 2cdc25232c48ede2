"""EmoBox's cross-corpus benchmark on a look-alike: four track-2 files written in EmoBox's shapes over the demo
corpora (IEMOCAP and RAVDESS as themselves, CREMA-D standing in for MELD and EmoDB for SAVEE), resolved,
then probed under --protocol emobox-cross; and every bad input as one clear error, nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path, PurePosixPath

import pandas as pd
import pytest

from sergen.corpora.manifest import load_manifest
from sergen.errors import SergenError
from sergen.protocols.emobox_cross import (FILE_NAMES, build_protocol, protocol_path, read_track2, resolve,
                                           write_protocol)

STAND_INS = {"iemocap": "iemocap", "meld": "cremad", "ravdess": "ravdess", "savee": "emodb"}
NAMES = {"hap": "happy", "sad": "sad", "neu": "neutral", "ang": "angry"}
PER_CLASS = 6


def track2_name(benchmark_set: str, row) -> str:
    stem = PurePosixPath(row.path).stem
    return {"iemocap": f"{NAMES[row.label]}/{stem}.wav", "meld": f"audio/{stem}.wav",
            "ravdess": f"Actor_{row.speaker}/{stem}.wav", "savee": f"{row.speaker}/{stem}.wav"}[benchmark_set]


def write_track2(checkout: Path, manifests: dict[str, pd.DataFrame]) -> dict[str, list[str]]:
    """PER_CLASS test utterances per class of each corpus, as EmoBox's track-2 lines; → their utt ids."""
    folder = checkout / "data" / "track2"
    folder.mkdir(parents=True, exist_ok=True)
    chosen = {}
    for benchmark_set, corpus in STAND_INS.items():
        df = manifests[corpus]
        pick = pd.concat([df[df.label == c].head(PER_CLASS) for c in NAMES])  # any split: the protocol re-splits
        lines = [json.dumps({"wav_filename": track2_name(benchmark_set, r), "label": NAMES[r.label],
                             "speaker": str(r.speaker)}) for r in pick.itertuples()]
        (folder / FILE_NAMES[benchmark_set]).write_text("\n".join(lines) + "\n")
        chosen[corpus] = list(pick.utt_id)
    return chosen


@pytest.fixture
def bench(in_demo_workspace, tmp_path, monkeypatch):
    """The demo manifests copied (the protocol file is written beside them) and the four track-2 files."""
    manifests = tmp_path / "manifests"
    shutil.copytree(in_demo_workspace / "manifests", manifests)
    monkeypatch.setenv("SERGEN_MANIFESTS", str(manifests))
    frames = {c: load_manifest(c)[0] for c in set(STAND_INS.values())}
    chosen = write_track2(tmp_path / "EmoBox", frames)
    return tmp_path / "EmoBox", chosen, frames


def test_track2_sets_resolve_and_the_probe_tests_on_them(bench):
    from typer.testing import CliRunner

    from sergen.cli import app
    from sergen.experiments.probe import probe_run, resolve_spec
    from sergen.train.loop import TrainConfig

    checkout, chosen, frames = bench
    result = CliRunner().invoke(app, ["emobox-cross", "--emobox", str(checkout), "--meld", "cremad", "--savee", "emodb"])
    assert result.exit_code == 0, result.output
    assert "MELD: 24 test utterances of cremad" in result.output
    table = pd.read_csv(protocol_path())
    assert {c: sorted(table[table.corpus == c].utt_id) for c in chosen} == {c: sorted(v) for c, v in chosen.items()}
    spec = resolve_spec("melspec", "ravdess", "all", protocol="emobox-cross", head="linear",
                        training=TrainConfig(max_steps=100))
    assert spec.test == ("iemocap", "cremad", "emodb", "ravdess") and (spec.labels, spec.folds) == ("4", "emobox-cross")
    run = probe_run(replace_fold(spec))
    n_test = run.rows.drop_duplicates("test").set_index("test")["n_test"].to_dict()
    assert n_test == {c: 4 * PER_CLASS for c in chosen}  # every corpus tested on its track-2 set only
    assert sorted(run.scores["cremad"].utt_id) == sorted(chosen["cremad"])
    with pytest.raises(SergenError, match=r"--protocol emobox-cross trains on one of its corpora"):
        resolve_spec("melspec", "msp", "all", protocol="emobox-cross")


def replace_fold(spec):
    from sergen.experiments.probe import fold_specs

    (only,) = fold_specs(spec)
    return only


def test_an_ambiguous_name_is_resolved_by_class_and_speaker_or_named():
    manifest = pd.DataFrame({"utt_id": ["meld-dia1_utt0-train", "meld-dia1_utt0-dev", "meld-dia1_utt0-test"],
                             "path": ["train/dia1_utt0.mp4", "dev/dia1_utt0.mp4", "test/dia1_utt0.mp4"],
                             "label": ["neu", "neu", "ang"], "speaker": ["Monica", "Ross", "Monica"]})
    track = pd.DataFrame({"wav_filename": ["audio/dia1_utt0.wav"], "label": ["neu"], "speaker": ["Ross"]})
    assert resolve(track, manifest, "meld", "emobox-meld").tolist() == ["meld-dia1_utt0-dev"]
    track["speaker"] = "Chandler"
    with pytest.raises(SergenError) as err:
        resolve(track, manifest, "meld", "emobox-meld")
    assert err.value.what == ("1 of 1 track-2 names of MELD match several utterances of emobox-meld even by class "
                              "and speaker, e.g. audio/dia1_utt0.wav (meld-dia1_utt0-train, meld-dia1_utt0-dev)")
    track["wav_filename"] = "audio/dia9_utt9.wav"
    with pytest.raises(SergenError, match="1 of 1 track-2 names of MELD match no utterance of emobox-meld, e.g. "
                                          "audio/dia9_utt9.wav"):
        resolve(track, manifest, "meld", "emobox-meld")


def test_savee_names_match_emobox_own_file_names():
    """Track 2 says JK/sa09.wav, EmoBox's savee list JK_sa09.wav: the same utterance, not DC's sa09."""
    manifest = pd.DataFrame({"utt_id": ["savee-JK-sa09", "savee-DC-sa09"], "path": ["JK_sa09.wav", "DC_sa09.wav"],
                             "label": ["sad", "sad"], "speaker": ["JK", "DC"]})
    track = pd.DataFrame({"wav_filename": ["JK/sa09.wav"], "label": ["sad"], "speaker": ["JK"]})
    assert resolve(track, manifest, "savee", "emobox-savee").tolist() == ["savee-JK-sa09"]


@pytest.mark.parametrize("content, message", [
    (None, "EmoBox's track-2 file SAVEE_selected_balenced.jsonl is missing"),
    ('{"wav_filename": "JK/sa09.wav", "label": "sad"}\nnot json\n', "line 2 of SAVEE_selected_balenced.jsonl is not JSON"),
    ('{"wav_filename": "JK/sa09.wav"}\n', "line 1 of SAVEE_selected_balenced.jsonl lacks wav_filename or label"),
    ('{"wav_filename": "JK/f01.wav", "label": "fear"}\n', "line 1 of SAVEE_selected_balenced.jsonl names the class "
                                                          "'fear', outside the benchmark's four (angry, happy, neutral, sad)"),
])
def test_bad_track2_files(tmp_path, content, message):
    path = tmp_path / "SAVEE_selected_balenced.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SergenError) as err:
        read_track2(path)
    assert err.value.what.startswith(message)


def test_a_benchmark_corpus_without_a_manifest_writes_nothing(tmp_path, workspace):
    folder = tmp_path / "EmoBox" / "data" / "track2"
    folder.mkdir(parents=True)
    for name in FILE_NAMES.values():
        (folder / name).write_text('{"wav_filename": "a/b.wav", "label": "sad", "speaker": "x"}\n')
    with pytest.raises(SergenError) as err:
        build_protocol(tmp_path / "EmoBox", {"iemocap": "iemocap", "meld": "emobox-meld", "ravdess": "ravdess",
                                             "savee": "emobox-savee"})
    assert err.value.what == "the benchmark's IEMOCAP set needs the manifest of iemocap, and there is none"
    assert not protocol_path().exists()


def test_the_report_matrix_beside_table5():
    """Rows: test sets, columns: training sets (Table 5's caption); accuracy in %, mean over seeds, and Table 5's
    WavLM large cell with the difference; the diagonal and UA/macro-F1 have no Table 5 value."""
    from sergen.report.emobox_cross_section import emobox_cross_section, table5

    rows = []
    for seed, acc in ((0, 0.40), (1, 0.50)):
        for test in ("iemocap", "emobox-meld"):
            for metric, value in (("acc", acc), ("uar", acc - 0.1), ("emobox_f1", acc - 0.2)):
                rows.append(dict(model="wavlm-large", head="mlp", train="emobox-meld", test=test, metric=metric,
                                 value=value, seed=seed, protocol="emobox-cross", in_training=test == "emobox-meld"))
    text = "\n".join(emobox_cross_section(pd.DataFrame(rows)))
    ref = table5().set_index(["model", "test", "train"]).accuracy_pct[("WavLM large", "iemocap", "meld")]
    assert f"45.0 (2) · T5 {ref:.1f} · {45.0 - ref:+.1f}" in text
    assert "**UA**" in text and "35.0 (2)" in text and "**macro-F1**" in text and "25.0 (2)" in text
    first = text.split("**accuracy**")[1].split("**UA**")[0]
    meld_row = next(line for line in first.splitlines() if line.strip("| ").startswith("meld"))
    assert "45.0" not in meld_row  # the diagonal (trained and tested on MELD) is left out, as in Table 5
    assert emobox_cross_section(pd.DataFrame(rows).assign(protocol="")) == []
