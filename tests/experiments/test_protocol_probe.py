"""Protocols end to end on the demo stores: another label set or folds reuse the same stores (no extraction),
folds give one run each and aggregate as stated, cross-corpus runs keep the shared classes and name the rest,
and SUPERB's IEMOCAP protocol runs its five sessions."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import sergen.extract
from sergen import LABELS
from sergen.cli import app
from sergen.errors import SergenError
from sergen.experiments.probe import ProbeSpec


def run_json(*args) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def no_extraction(in_demo_workspace, monkeypatch):
    """Fails the test if anything extracts, and returns a snapshot of the stores' files to compare."""
    def refuse(*args, **kwargs):
        raise AssertionError("a protocol change must not extract")

    monkeypatch.setattr(sergen.extract, "extract", refuse)
    stores = in_demo_workspace / "stores" / "melspec"
    return lambda: {p: p.stat().st_mtime_ns for p in stores.rglob("*") if p.is_file()}


def manifest(ws, corpus) -> pd.DataFrame:
    return pd.read_csv(ws / "manifests" / f"{corpus}.csv", dtype=str, keep_default_na=False)


def test_native_labels_with_speaker_folds_as_a_user_types_it(in_demo_workspace, no_extraction):
    before = no_extraction()
    args = ["probe", "--model", "melspec", "--train", "ravdess", "--test", "ravdess", "--labels", "native",
            "--folds", "speaker:4", "--head", "linear"]
    out = run_json(*args)
    natives = manifest(in_demo_workspace, "ravdess").native_label
    assert [f["fold"] for f in out["folds"]] == [1, 2, 3, 4]
    assert all(f["classes"] == sorted(set(natives) - {""}) for f in out["folds"])
    assert len({f["run_id"] for f in out["folds"]}) == 4
    tested = sum(next(r["n_test"] for r in f["rows"]) for f in out["folds"])
    assert tested == (natives != "").sum()  # every utterance with a class is tested in exactly one fold
    auroc = [next(r["value"] for r in f["rows"] if r["metric"] == "auroc") for f in out["folds"]]
    summary = next(s for s in out["summary"] if s["metric"] == "auroc")
    assert summary["folds"] == 4 and summary["mean"] == pytest.approx(np.mean(auroc))
    assert summary["std"] == pytest.approx(np.std(auroc, ddof=1))
    assert all(r["labels"] == "native" and r["folds"] == "speaker:4" for f in out["folds"] for r in f["rows"])
    text = CliRunner().invoke(app, args).stdout  # the same runs, now reused from the results folder's cache
    assert "mean ± std over 4 folds" in text and "classes (each corpus's own, shared by all):" in text
    assert no_extraction() == before


def test_a_label_map_across_corpora_keeps_shared_classes_and_names_the_rest(in_demo_workspace, no_extraction, tmp_path):
    lines = ["native,label,corpus"]
    expected = {}
    for corpus in ("emodb", "ravdess"):
        df = manifest(in_demo_workspace, corpus)
        pairs = df[["native_label", "label"]].drop_duplicates()
        for native, four in pairs.itertuples(index=False):
            lines.append(f"{native},{four or 'other-' + corpus},{corpus}")  # each corpus's extra classes stay its own
        expected[corpus] = df.label.where(df.label != "", "other-" + corpus)
    mapping = tmp_path / "map.csv"
    mapping.write_text("\n".join(lines) + "\n")
    out = run_json("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb,ravdess", "--labels",
                   str(mapping), "--head", "linear")
    assert out["classes"] == sorted(LABELS)
    left = {c: {k: v for k, v in e.value_counts().items() if k not in LABELS} for c, e in expected.items()}
    assert out["left_out"] == {c: v for c, v in left.items() if v}
    digest = hashlib.sha256(mapping.read_bytes()).hexdigest()[:8]  # keyed by content: two maps of one name differ
    assert {r["labels"] for r in out["rows"]} == {f"map:map.csv@{digest}"}


def test_superb_emotion_protocol_runs_five_sessions(in_demo_workspace, no_extraction):
    df = manifest(in_demo_workspace, "iemocap")
    out = run_json("probe", "--model", "melspec", "--protocol", "superb-er", "--train", "iemocap", "--test",
                   "iemocap", "--head", "linear")
    assert [f["fold"] for f in out["folds"]] == [1, 2, 3, 4, 5]
    for f in out["folds"]:
        session = df[(df.fold == str(f["fold"])) & (df.label != "")]
        assert next(r["n_test"] for r in f["rows"]) == len(session)
        assert {(r["protocol"], r["folds"], r["labels"]) for r in f["rows"]} == {("superb-er", "corpus", "4")}
    result = CliRunner().invoke(app, ["probe", "--model", "melspec", "--protocol", "superb-er", "--train", "emodb"])
    assert isinstance(result.exception, SergenError)  # `sergen` turns it into exit code 2 and what/where/fix
    assert "--protocol superb-er trains and tests on iemocap only" in result.exception.message
    result = CliRunner().invoke(app, ["probe", "--model", "melspec", "--protocol", "superb", "--train", "iemocap"])
    assert result.exit_code == 2 and "unknown protocol 'superb'; known: superb-er" in result.output


def test_protocol_fields_leave_the_poster_run_ids_unchanged():
    spec = ProbeSpec(model="melspec", train=("emodb",), test=("emodb",))
    assert not {"labels", "folds", "fold", "protocol"} & set(spec.as_dict())
    native = ProbeSpec(model="melspec", train=("emodb",), test=("emodb",), labels="native")
    assert native.run_id != spec.run_id and native.as_dict()["labels"] == "native"
