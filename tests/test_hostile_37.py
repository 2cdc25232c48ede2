"""Hostile pass 37: a probe file's `scramble = [false]` ran scrambled (the truth of a list); `n_boot` from a file had
no bounds (a crash after training); a fold file numbered 1, 2, 10**12 hung the probe, and one numbered 1, 50 made
runs without a test set."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sergen.cli import app
from sergen.errors import SergenError
from sergen.protocols.protocol import parse_folds


def invoke(*args):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("value, words", [
    ("[false]", None),  # one value in a list: read as that value
    ("[true, false]", "scramble = [true, false]: a probe runs one value of scramble; a list of them is the grid's"),
    ("[]", "scramble = []: a probe runs one value of scramble"),
])
def test_a_probe_reads_a_listed_scramble_as_its_one_value_or_refuses_it(in_demo_workspace, tmp_path, value, words):
    exp = tmp_path / "p.toml"
    exp.write_text(f'model = "melspec"\ntrain = "emodb"\ntest = "emodb"\nscramble = {value}\n'
                   '[training]\nmax_steps = 50\n')
    got = invoke("probe", "--config", str(exp), "--json")
    if words is None:
        assert got.exit_code == 0, got.output
        assert '"scramble": false' in got.stdout and "scrambled" not in got.stderr
    else:
        assert isinstance(got.exception, SergenError) and got.exception.what.startswith(words)
        assert got.exception.where == f"{exp}, line 4"
    via_set = invoke("probe", "--model", "melspec", "--train", "emodb", "--set", f"scramble={value}")
    if words is not None:
        assert isinstance(via_set.exception, SergenError) and via_set.exception.what.startswith(words)


@pytest.mark.parametrize("value", ["-5", "100001", "100000000000"])
def test_n_boot_outside_its_bounds_is_refused_before_any_training(in_demo_workspace, value):
    for command in (["probe", "--model", "melspec", "--train", "emodb"],
                    ["grid", "--models", "melspec", "--train", "emodb"]):
        got = invoke(*command, "--set", f"n_boot={value}")
        assert isinstance(got.exception, SergenError), got.output
        assert got.exception.what == f"n_boot = {int(value)!r} is not a whole number from 0 to 100000"
        assert got.exception.where == f"--set n_boot={value}"


def test_fold_numbers_with_gaps_are_refused_not_looped_over(tmp_path):
    huge = tmp_path / "huge.csv"
    huge.write_text("utt_id,fold\na,1\nb,2\nc,1000000000000\n")
    with pytest.raises(SergenError) as refused:
        parse_folds(str(huge))
    assert refused.value.what == ("the fold file numbers its folds 1, 2, 1,000,000,000,000, without fold 3, 4, 5 "
                                     "…: each number from 1 to the largest is one run, testing on that fold")
    gapped = tmp_path / "gapped.csv"
    gapped.write_text("utt_id,fold\na,1\nb,50\n")
    with pytest.raises(SergenError, match=r"numbers its folds 1, 50, without fold 2, 3, 4 …"):
        parse_folds(str(gapped))
    whole = tmp_path / "whole.csv"
    whole.write_text("utt_id,fold\na,2\nb,1\nc,3\n")
    assert parse_folds(str(whole)) == f"file:{whole}"


def test_the_probe_header_names_a_normalisation_that_is_not_the_default(in_demo_workspace):
    got = invoke("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb", "--norm", "corpus",
                 "--set", "training.max_steps=50")
    assert got.exit_code == 0, got.output
    assert "norm corpus" in got.stdout
    plain = invoke("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb", "--set", "training.max_steps=50")
    assert plain.exit_code == 0 and "norm " not in plain.stdout.split("\n* =")[0].split("trained on")[1]


def test_an_edited_utterance_count_is_named_as_the_attribute_not_blamed_on_an_array(in_demo_workspace, tmp_path,
                                                                                      monkeypatch):
    """n_utts = 1e9 in zarr.json was named by extract as "its stats_crc32c holds 70 entries for 1000000000
    utterances"; every per-utterance array agrees on 70, so it is the attribute that was edited."""
    import json
    import shutil

    shutil.copytree(in_demo_workspace / "stores" / "melspec" / "emodb.zarr", tmp_path / "melspec" / "emodb.zarr")
    monkeypatch.setenv("SERGEN_STORES", str(tmp_path))
    meta = tmp_path / "melspec" / "emodb.zarr" / "zarr.json"
    doc = json.loads(meta.read_text())
    n = doc["attributes"]["sergen"]["n_utts"]
    doc["attributes"]["sergen"]["n_utts"] = 10**9
    meta.write_text(json.dumps(doc))
    got = invoke("extract", "--model", "melspec", "--corpus", "emodb")
    assert isinstance(got.exception, SergenError), got.output
    assert (f"its attribute sergen.n_utts holds 1,000,000,000, but its arrays (offsets, status, stats_crc32c, "
            f"frame_crc32c) all hold {n:,} utterances (zarr.json was edited)") in str(got.exception)


def test_a_head_option_from_a_file_is_named_where_the_file_gives_it(in_demo_workspace, tmp_path):
    """A head option the head does not take is checked when the specs are made; from a file it was named as
    `--head-opt`, with no file or line."""
    exp = tmp_path / "p.toml"
    exp.write_text('model = "melspec"\ntrain = "emodb"\nhead = "linear"\nhead_opt = "hidden=5"\n')
    got = invoke("probe", "--config", str(exp))
    assert isinstance(got.exception, SergenError), got.output
    assert got.exception.what.startswith("head_opt: hidden: head linear has no such hyper-parameter")
    assert got.exception.where == f'head_opt = "hidden=5" at {exp}, line 4'
    typed = invoke("probe", "--model", "melspec", "--train", "emodb", "--head", "linear", "--head-opt", "hidden=5")
    assert typed.exception.what.startswith("--head-opt hidden: head linear") and typed.exception.where is None
