"""The run-option table (``sergen.spec``) is the one declaration every layer reads: each option shows up in the
probe and grid commands, the experiment-file keys, the report's grouping and the results' columns; a planted
new option shows up in everything derived; the saved spec and run ids of existing runs do not move."""

import json
from dataclasses import fields

import pytest
import typer

from sergen.bounds import MAX_SEED
from sergen.cli import app
from sergen.cli import experiments as cli
from sergen.errors import SergenError
from sergen.experiments.experiment_file import RUN_KEYS, Experiment
from sergen.experiments.probe import ID_DEFAULTS, ProbeSpec, _spec_of
from sergen.report import protocols, remedies
from sergen.results import ROW_COLUMNS, SAVED_COLUMNS, columns_of
from sergen.spec import (OPTION, OPTIONS, REPORT_ROLES, RunOption, baselines, cell_keys, grid_keys, group_keys,
                         id_defaults, probe_keys, remedy_flags, row_defaults, run_keys, spec_fields)
from sergen.train.sampler import SamplerConfig
from tests.fixtures.run_ids.write_fixtures import FIXTURES, build

COMMANDS = typer.main.get_command(app).commands


def params_of(command: str) -> dict:
    """flag → click parameter of a command."""
    return {opt: p for p in COMMANDS[command].params for opt in p.opts}


@pytest.mark.parametrize("option", [o for o in OPTIONS if o.cli], ids=lambda o: o.name)
def test_every_command_line_option_is_a_flag_of_probe_and_grid_with_its_declared_default(option):
    probe, grid = params_of("probe"), params_of("grid")
    assert option.flag in probe and option.grid_flag in grid
    if option.default is not None:
        assert (probe[option.flag].default or option.type()) == option.default  # None: "" (--protocol)
    if option.grid_default_value is not None:
        assert str(grid[option.grid_flag].default or "") == str(option.grid_default_value)


@pytest.mark.parametrize("option", [o for o in OPTIONS if o.in_file], ids=lambda o: o.name)
def test_every_file_option_is_an_experiment_key_of_both_commands(option):
    assert option.name in RUN_KEYS and option.name in cli.PROBE_KEYS
    assert option.grid_name in RUN_KEYS and option.grid_name in cli.GRID_KEYS
    assert cli.ALLOWED[option.name] and cli.GRID_ALLOWED[option.grid_name]


def test_the_experiment_keys_are_those_files_have_always_had():
    assert RUN_KEYS == {
        "models": (list, str), "model": (str,), "train": (str,), "test": (str,), "heads": (list, str), "head": (str,),
        "head_opt": (str,), "seeds": (list, int), "seed": (int,), "scramble": (list, bool), "aug_share": (list, float, int),
        "norm": (list, str), "pool": (list, str), "labels": (str,), "folds": (str,), "protocol": (str,),
        "layer": (str, int), "n_boot": (int,)}
    assert cli.PROBE_KEYS == ("model", "train", "test", "head", "head_opt", "seed", "scramble", "aug_share", "layer", "labels",
                              "folds", "protocol", "norm", "pool", "n_boot")
    assert cli.GRID_KEYS == ("models", "train", "test", "heads", "head_opt", "seeds", "scramble", "aug_share", "layer", "labels",
                             "folds", "protocol", "norm", "pool", "n_boot")


def test_a_file_with_every_probe_key_is_read_and_each_key_takes_its_declared_kinds(tmp_path):
    values = {"model": "melspec", "train": "emodb", "test": "all", "head": "linear", "head_opt": "", "seed": 3, "scramble": True,
              "aug_share": 0.5, "layer": 12, "labels": "native", "folds": "speaker:4", "protocol": "",
              "norm": "corpus", "pool": "mean+std", "n_boot": 50}
    assert set(values) == set(cli.PROBE_KEYS)
    path = tmp_path / "exp.toml"
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()), encoding="utf-8")
    assert Experiment(path).run == values
    with pytest.raises(SergenError, match=r"seed = \[1\]: expected a whole number\n"):
        Experiment().apply_sets(["seed=[1]"])  # the probe's key takes one value; the grid's ``seeds`` a list
    assert Experiment().apply_sets(["seeds=[1, 2]", "norm=[\"global\", \"corpus\"]"]).run == {
        "seeds": [1, 2], "norm": ["global", "corpus"]}


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.name)
def test_every_option_has_a_place_in_the_report_and_the_results(option):
    assert option.report in REPORT_ROLES
    if option.report == "group":
        assert option.name in protocols.GROUP_KEYS and option.name in protocols.PROTOCOL_DEFAULTS
    if option.report == "cell":
        assert option.name in protocols.CELL_KEYS and option.name not in protocols.GROUP_KEYS
    if option.report == "spread":  # averaged over: never splits a cell or a group
        assert option.name not in protocols.CELL_KEYS + protocols.GROUP_KEYS
    assert (option.name in ROW_COLUMNS) == option.row
    if option.is_remedy_option:
        assert remedies.BASELINES[option.name] == option.baseline
        assert remedies.OPTION_FLAGS[option.name] == option.grid_flag


def test_the_report_constants_are_those_of_before():
    assert protocols.GROUP_KEYS == ("labels", "folds", "protocol", "norm", "pool")
    assert set(protocols.CELL_KEYS) == {"model", "layer", "head", "head_opt", "train", "test", "classes", "scramble",
                                        "aug_share", "settings"}
    assert protocols.PROTOCOL_DEFAULTS == {"labels": "4", "folds": "", "fold": 0, "classes": "hap,sad,neu,ang",
                                           "protocol": "", "norm": "global", "pool": "mean", "settings": "",
                                           "layer": "-", "head_opt": ""}
    assert remedies.BASELINES == {"norm": "global", "head": "mlp", "pool": "mean", "layer": "-"}
    assert remedies.OPTION_FLAGS == {"norm": "--norm", "head": "--heads", "pool": "--pool", "layer": "--layer"}
    # one option added since (head_opt, issue 25): after the saved columns, so older files keep their header
    assert ROW_COLUMNS == SAVED_COLUMNS + ("head_opt",)


@pytest.mark.parametrize("option, value, remedy", [
    ("head", "mlp-dann", True), ("head", "linear", False), ("head", "mlp", False), ("layer", "weighted", True),
    ("layer", "12", False), ("layer", "-", False), ("norm", "corpus", True), ("norm", "speaker", True),
    ("norm", "global", False), ("pool", "mean+std", True), ("pool", "mean", False)])
def test_is_remedy_reads_the_table(option, value, remedy):
    assert remedies.is_remedy(option, value) is remedy


def test_probe_spec_fields_and_defaults_are_the_tables():
    own = {f.name: f for f in fields(ProbeSpec)}
    assert set(own) == set(spec_fields()) | {"sampler", "training"}
    for name in spec_fields():
        if OPTION[name].default is not None and name != "test":
            assert own[name].default == OPTION[name].default, name
    assert SamplerConfig().aug_share == OPTION["aug_share"].default
    assert ID_DEFAULTS == {"labels": "4", "folds": "", "fold": 0, "protocol": "", "norm": "global", "pool": "mean",
                           "head_opt": ""}


def test_the_seed_bound_is_the_one_of_sergen_bounds_and_a_record_past_it_is_refused():
    assert OPTION["seed"].bounds == (0, MAX_SEED)
    record = json.loads(FIXTURES.read_text(encoding="utf-8"))[0]["record"]
    assert _spec_of(dict(record, seed=MAX_SEED), "r.json", "edited").seed == MAX_SEED
    for bad, why in ((MAX_SEED + 1, f"seed = {MAX_SEED + 1} is not a whole number from 0 to {MAX_SEED}"),
                     (-1, f"seed = -1 is not a whole number from 0 to {MAX_SEED}"),
                     (1.5, f"seed = 1.5 is not a whole number from 0 to {MAX_SEED}")):
        with pytest.raises(SergenError) as caught:
            _spec_of(dict(record, seed=bad), "r.json", "edited")
        assert why in caught.value.what and caught.value.where == "r.json"
    with pytest.raises(SergenError, match="n_boot = -3 is not a whole number from 0 to 100000"):
        _spec_of(dict(record, n_boot=-3), "r.json", "edited")
    with pytest.raises(SergenError, match="scramble = 'yes' is not true or false"):
        _spec_of(dict(record, scramble="yes"), "r.json", "edited")


def test_the_fixture_ids_hold():
    entries = json.loads(FIXTURES.read_text(encoding="utf-8"))
    assert [build(e["inputs"]).run_id for e in entries] == [e["run_id"] for e in entries]


PLANTED = RunOption("balance", str, "off", "draw each corpus equally often", '"off" or "corpus"', "group",
                    several=True, check="names", grid_check="names", id_default="off", row_default="off",
                    baseline="off")


def test_a_planted_option_shows_up_in_everything_derived():
    planted = OPTIONS + (PLANTED,)
    assert probe_keys(planted)[-1] == "balance" and grid_keys(planted)[-1] == "balance"
    assert run_keys(planted)["balance"] == (list, str)
    assert group_keys(planted)[-1] == "balance" and "balance" not in cell_keys(planted)
    assert row_defaults(planted)["balance"] == "off" and row_defaults(planted, types=(int,)) == {"fold": 0}
    assert baselines(planted)["balance"] == "off" and remedy_flags(planted)["balance"] == "--balance"
    assert id_defaults(planted)["balance"] == "off"
    assert columns_of(planted) == SAVED_COLUMNS + ("head_opt", "balance")
    assert PLANTED.is_remedy("corpus") and not PLANTED.is_remedy("off")
    # the current table is untouched
    assert "balance" not in probe_keys() and "balance" not in RUN_KEYS


def test_a_bad_declaration_is_refused():
    with pytest.raises(ValueError, match="report must be one of group, cell, spread, none"):
        RunOption("x", str, "", "help", "anything", "table")
    with pytest.raises(ValueError, match="type must be one of"):
        RunOption("x", list, [], "help", "anything", "cell")


@pytest.mark.parametrize("option", [o for o in OPTIONS if o.cli], ids=lambda o: o.name)
def test_probe_and_grid_share_one_help_text(option):
    from sergen.cli.run_options import base_help

    probe, grid = params_of("probe")[option.flag].help, params_of("grid")[option.grid_flag].help
    assert probe == base_help(option)  # the option's help, with a registry's choices where it has one
    assert grid == option.grid_help or grid == (f"{base_help(option)}; several, comma-separated (one run each)"
                                                if option.several else base_help(option))


def test_a_planted_option_is_an_option_of_both_commands():
    from typer.testing import CliRunner

    from sergen.cli.run_options import with_run_options

    planted = OPTIONS + (PLANTED,)
    seen = {}
    demo = typer.Typer()

    @demo.command("probe")
    @with_run_options(grid=False, options=planted)
    def probe(ctx: typer.Context, verbose: bool = typer.Option(False), **options):
        seen.update(options, verbose=verbose)

    @demo.command("grid")
    @with_run_options(grid=True, options=planted)
    def grid(ctx: typer.Context, **options):
        seen.update(options)

    runner = CliRunner()
    result = runner.invoke(demo, ["probe", "--model", "m", "--balance", "corpus", "--verbose"])
    assert result.exit_code == 0, result.output
    assert seen["balance"] == "corpus" and seen["verbose"] is True and seen["head"] == "mlp" and seen["seed"] == 0
    seen.clear()
    assert runner.invoke(demo, ["grid", "--balance", "off,corpus"]).exit_code == 0
    assert seen["balance"] == "off,corpus" and seen["heads"] == "linear,mlp" and seen["train"] == "each,all"
    result = runner.invoke(demo, ["grid", "--balance", "off,,corpus"])
    assert result.exit_code == 2 and "'off,,corpus' has an empty item" in result.output


def test_remedies_compare_runs_equal_in_every_other_option_a_planted_one_too():
    assert set(remedies.CONTEXT) == {"model", "train", "n_train_corpora", "labels", "folds", "protocol", "classes", "head_opt",
                                     "aug_share", "settings"}
    other = RunOption("balance", str, "off", "draw each corpus equally often", '"off" or "corpus"', "group")
    assert "balance" in remedies.context_columns(OPTIONS + (other,))
    assert "balance" not in remedies.context_columns(OPTIONS + (PLANTED,))  # a remedy itself: its own comparison


def test_the_settings_tag_leaves_out_the_run_options_the_sampler_keeps():
    from sergen.results import settings_tag

    assert settings_tag({"sampler": {"aug_share": 0.5}, "training": {}}) == ""
    assert settings_tag({"sampler": {"aug_share": 0.5, "mix_prob": 0.3}, "training": {"max_steps": 100}}) == \
        "mix_prob=0.3,max_steps=100"
