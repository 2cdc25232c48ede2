"""Experiments as files: a TOML file and the equivalent command line make the same run ids; bad keys and
values are named with their line; a saved run repeats exactly with --rerun; the shipped files parse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sergen.cli import app
from sergen.errors import SergenError
from sergen.experiments.experiment_file import Experiment

SHIPPED = sorted((Path(__file__).resolve().parents[2] / "experiments").glob("*.toml"))


def invoke(*args):
    return CliRunner().invoke(app, list(args))


def test_a_file_and_the_equivalent_command_line_give_the_same_run_ids(in_demo_workspace, tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text('models = ["melspec"]\ntrain = "emodb"\ntest = "emodb,ravdess"\nheads = ["linear"]\n'
                   'seeds = [0, 1]\nn_boot = 20\n\n[sampler]\nmix_prob = 0.3\n\n[training]\nmax_steps = 600\n')
    from_file = invoke("grid", "--config", str(exp), "--json")
    assert from_file.exit_code == 0, from_file.output
    ids = json.loads(from_file.stdout)["run_ids"]
    assert len(ids) == 2 and json.loads(from_file.stdout)["ran"] == 2
    cli = invoke("grid", "--models", "melspec", "--train", "emodb", "--test", "emodb,ravdess", "--heads", "linear",
                 "--seeds", "0,1", "--set", "n_boot=20", "--set", "sampler.mix_prob=0.3",
                 "--set", "training.max_steps=600", "--json")
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout)["run_ids"] == ids and json.loads(cli.stdout)["ran"] == 0  # the same runs
    overridden = invoke("grid", "--config", str(exp), "--seeds", "1", "--json")  # the command line wins
    assert json.loads(overridden.stdout)["run_ids"] == ids[1:]


def test_rerun_repeats_a_saved_run_exactly(in_demo_workspace, tmp_path):
    first = invoke("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb", "--head", "linear",
                   "--set", "training.max_steps=600", "--json")
    assert first.exit_code == 0, first.output
    out = json.loads(first.stdout)
    again = invoke("probe", "--rerun", str(Path(out["results"]).with_suffix(".json")), "--json")
    assert again.exit_code == 0, again.output
    repeat = json.loads(again.stdout)
    assert repeat["run_id"] == out["run_id"] and repeat["spec"] == out["spec"]
    assert [r["value"] for r in repeat["rows"]] == [r["value"] for r in out["rows"]]
    mixed = invoke("probe", "--rerun", str(Path(out["results"]).with_suffix(".json")), "--seed", "3")
    assert isinstance(mixed.exception, SergenError) and "--seed does not apply" in mixed.exception.message
    with_set = invoke("probe", "--rerun", str(Path(out["results"]).with_suffix(".json")), "--set", "n_boot=5")
    assert isinstance(with_set.exception, SergenError) and "--set does not apply" in with_set.exception.message
    missing = invoke("probe", "--rerun", str(tmp_path / "nope.json"))
    assert isinstance(missing.exception, SergenError) and "no such run record" in missing.exception.message


@pytest.mark.parametrize("text, message, line", [
    ('models = ["melspec"]\n\n[sampler]\nmix_prob = 0.3\nwindow = [1, 2]\n', "unknown key 'window' in [sampler]", 5),
    ('models = ["melspec"]\nhaeds = ["mlp"]\n', "unknown key 'haeds' in the experiment file", 2),
    ('[training]\nlr = -1.0\n', "[training] lr = -1.0 is out of range", 2),
    ('[training]\nmax_steps = 2.5\n', "[training] max_steps = 2.5: expected a whole number", 2),
    ('[sampler]\nmix_prob = "lots"\n', '[sampler] mix_prob = "lots": expected a number', 2),
    ('seeds = ["zero"]\n', 'seeds = ["zero"]: expected a whole number or a list of whole numbers', 1),
    ('[samplr]\nmix_prob = 0.3\n', "unknown table [samplr]", 1),
])
def test_bad_keys_and_values_name_the_key_the_file_and_the_line(tmp_path, text, message, line):
    exp = tmp_path / "bad.toml"
    exp.write_text(text)
    with pytest.raises(SergenError) as info:
        Experiment(exp)
    assert message in info.value.what
    assert info.value.where == (f"{exp}, line {line}" if line else str(exp))


def test_broken_files_and_settings_for_the_other_command(tmp_path, in_demo_workspace):
    exp = tmp_path / "broken.toml"
    exp.write_text('models = ["melspec"\n')
    with pytest.raises(SergenError, match="not valid TOML"):
        Experiment(exp)
    with pytest.raises(SergenError, match="does not exist"):
        Experiment(tmp_path / "none.toml")
    grid_file = tmp_path / "grid.toml"
    grid_file.write_text('models = ["melspec"]\ntrain = "emodb"\n')
    result = invoke("probe", "--config", str(grid_file))
    assert isinstance(result.exception, SergenError)
    assert "models is a `sergen grid` setting" in result.exception.message
    assert f"{grid_file}, line 1" in result.exception.message
    bad_set = invoke("probe", "--model", "melspec", "--train", "emodb", "--set", "sampler.mix_prob=2")
    assert isinstance(bad_set.exception, SergenError) and "mix_prob = 2 is out of range" in bad_set.exception.message


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_the_shipped_experiments_parse(path):
    experiment = Experiment(path)
    assert experiment.run["models"] and experiment.run["train"]
