"""Usability leftovers of stop 35.

1. Options with a fixed set of choices (``--norm``, ``--pool``, ``--labels``, ``--folds`` …) were case-sensitive,
   unlike the list options: each now goes through ``validate.one_of`` (any case, canonical spelling, one note).
   The test below walks the whole CLI, so an option added later is covered without being named here.
2. Positional names (``probe --head Linear``, ``stores verify Melspec EMODB``, ``config set-root RAVDESS``) were
   read without the note the list options give.
3. A manifest cut inside its last field (``…,1,d`` for ``de``) kept its cut row.
4. A FLAC's header was opened two to four times at manifest time; now once.
"""

from __future__ import annotations

import inspect
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import typer

from sergen.errors import SergenError
from tests.test_bad_input import cli, private_ws  # noqa: F401 - fixtures


# -- 1 and 2: every choice option, found by walking the app -------------------------------------------------------

def _commands(app: typer.Typer, path=()):
    """(command path, its function) of every command of ``app`` and of its sub-apps."""
    for info in app.registered_commands:
        yield (*path, info.name or info.callback.__name__.replace("_", "-")), info.callback
    for group in app.registered_groups:
        yield from _commands(group.typer_instance, (*path, group.name))


def _parameters():
    """(command path, parameter name, its typer info) of every option and argument of the CLI, run options
    (added to probe and grid from the run-option table) included."""
    from sergen.cli.app import app

    for path, function in _commands(app):
        for name, parameter in inspect.signature(function).parameters.items():
            info = parameter.default
            if isinstance(info, (typer.models.OptionInfo, typer.models.ArgumentInfo)):
                yield path, name, info, parameter.annotation


def _choice_parameters():
    return [(path, name, info) for path, name, info, _ in _parameters()
            if getattr(info.callback, "choices", None) is not None]


def _click_parameter(path: tuple, name: str):
    from sergen.cli.app import app

    command = typer.main.get_command(app)
    for part in path:
        command = command.commands[part]
    return command, next(p for p in command.params if p.name == name)


def _flag(param) -> str:
    return max(param.opts, key=len) if param.param_type_name == "option" else param.name.upper()


def _other_case(word: str) -> str:
    return word.upper() if word != word.upper() else word.lower()


CHOICE_CASES = [(" ".join(path), name, choice) for path, name, info in _choice_parameters()
                for choice in info.callback.choices() if _other_case(choice) != choice]


def test_the_walk_finds_the_choice_options_of_every_command():
    found = {(" ".join(path), name) for path, name, _ in _choice_parameters()}
    assert {("probe", "norm"), ("probe", "pool"), ("probe", "labels"), ("probe", "folds"), ("probe", "head"),
            ("grid", "norm"), ("grid", "pool"), ("extract", "model"), ("extract", "workers_mode"),
            ("stores verify", "model"), ("stores verify", "corpus"), ("config set-root", "corpus"),
            ("compare", "metric"), ("analyze fragmentation", "method"), ("manifest", "labels"),
            ("models check", "model"), ("demo", "models")} <= found
    assert len(CHOICE_CASES) > 60


@pytest.mark.parametrize("command, name, choice", CHOICE_CASES)
def test_every_choice_is_read_in_any_case_with_one_note(command, name, choice, capsys):
    """The value in another case reaches the command in its canonical spelling, and one note says so."""
    import click
    from click.core import ParameterSource

    from sergen.console import err_console

    err_console.width = 4000
    click_command, param = _click_parameter(tuple(command.split()), name)
    given = _other_case(choice)
    with click.Context(click_command) as ctx:
        ctx.set_parameter_source(param.name, ParameterSource.COMMANDLINE)  # as parsing a typed option sets it
        capsys.readouterr()
        value = param.process_value(ctx, [given] if param.multiple else given)
    assert value == ([choice] if param.multiple else choice)
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert notes == [f"note: {_flag(param)} {given} read as {choice}"]


# Parameters whose values are free (paths, numbers, run ids, key=value pairs, new names): every other string
# parameter must be a choice option, so a new option with fixed choices fails here until it is routed.
FREE = {("compare", "run_a"), ("compare", "run_b"), ("manifest", "test_set"), ("manifest", "name"),
        ("probe", "head_opt"), ("grid", "head_opt"), ("grid", "seeds"), ("grid", "aug_share"), ("grid", "scheduler"),
        ("extract", "revision"), ("extract", "layers"), ("extract", "scheduler"), ("extract", "opt"),
        ("stores ls", "root"), ("stores verify", "root"), ("models check", "layers"), ("models check", "opt"),
        ("demo", "seeds"), ("probe", "sets"), ("grid", "sets"),
        *(("emobox-cross", dataset) for dataset in ("iemocap", "meld", "ravdess", "savee"))}


def test_every_string_parameter_is_a_choice_option_or_known_free():
    unrouted = []
    for path, name, info, annotation in _parameters():
        text = str(annotation)
        if "str" not in text or "Path" in text or (" ".join(path), name) in FREE:
            continue
        if getattr(info.callback, "choices", None) is None:
            unrouted.append((" ".join(path), name))
    assert unrouted == []


def test_probe_options_in_another_case_make_the_same_run_with_one_note_each(private_ws, cli):
    """The same run (same id, same numbers) as the canonical spelling; before, --norm GLOBAL was refused."""
    args = ["probe", "--model", "melspec", "--train", "emodb", "--test", "ravdess", "--seed", "0"]
    code, plain = cli(*args, "--norm", "global", "--pool", "mean", "--head", "linear", "--folds", "none")
    assert code == 0, plain
    code, cased = cli(*args, "--norm", "GLOBAL", "--pool", "Mean", "--head", "Linear", "--folds", "NONE")
    assert code == 0, cased
    for note in ("--norm GLOBAL read as global", "--pool Mean read as mean", "--head Linear read as linear",
                 "--folds NONE read as none"):
        assert cased.count(f"note: {note}") == 1
    run = re.compile(r"results/runs/\w+\.csv")
    assert run.findall(cased) == run.findall(plain) != []
    table = re.compile(r"ravdess [\d.]+ [\d.]+–[\d.]+( [\d.]+)+")
    assert table.search(cased).group(0) == table.search(plain).group(0)


def test_stores_verify_names_in_another_case_get_the_note(private_ws, cli):
    code, out = cli("stores", "verify", "Melspec", "EMODB")
    assert code == 0, out
    assert "note: MODEL Melspec read as melspec" in out and "note: CORPUS EMODB read as emodb" in out
    assert "melspec/emodb: ok" in out


def test_a_view_after_the_corpus_is_spelled_by_its_own_registry():
    from sergen.cli.validate import _stored_corpus

    assert _stored_corpus("EMODB@Pink-Noise") == "emodb@pink-noise"
    assert _stored_corpus("ALL") == "ALL"  # a keyword: read in any case, without a note, as --train reads it


def test_config_set_root_reads_the_corpus_in_any_case_with_the_note(cli, workspace, tmp_path):
    root = tmp_path / "ravdess_root"
    root.mkdir()
    code, out = cli("config", "set-root", "RAVDESS", str(root))
    assert code == 0, out
    assert out.count("note: CORPUS RAVDESS read as ravdess") == 1
    assert 'ravdess = "' in (workspace / "sergen.toml").read_text()


def test_a_value_outside_the_choices_is_still_refused_by_its_own_check(cli):
    code, out = cli("probe", "--model", "melspec", "--train", "emodb", "--norm", "GLOBL")
    assert code == 2
    assert "Invalid value for '--norm': unknown --norm 'GLOBL'; known:" in out and "note:" not in out


# -- 3: a manifest cut inside its last line -----------------------------------------------------------------------

def test_a_manifest_cut_inside_its_last_field_is_named_with_its_line(private_ws):
    from sergen.corpora.manifest import load_manifest

    path = private_ws / "manifests" / "emodb.csv"
    whole = path.read_bytes()
    assert whole.endswith(b",de\n")
    lines = whole.count(b"\n")
    path.write_bytes(whole[:-2])  # the last field `de` cut to `d`
    with pytest.raises(SergenError) as err:
        load_manifest("emodb")
    tail = whole[:-2].decode().rsplit("\n", 1)[1]
    assert err.value.what == (f"the emodb manifest is cut: its last line (line {lines}, {'…' + tail[-40:]!r}) ends "
                              "without the newline sergen writes after every row (a copy or a write stopped midway)")
    assert err.value.where == str(path)
    assert err.value.fix == "rebuild it with `sergen manifest emodb --root DIR`"


def test_a_whole_manifest_and_one_not_written_by_sergen_are_read_as_before(private_ws):
    from sergen.corpora.manifest import load_manifest

    path = private_ws / "manifests" / "emodb.csv"
    before, _ = load_manifest("emodb")
    hand_made = private_ws / "hand" / "emodb.csv"
    hand_made.parent.mkdir()
    hand_made.write_bytes(path.read_bytes().rstrip(b"\n"))  # no sidecar: a user's file may lack the newline
    read, _ = load_manifest("emodb", hand_made)
    assert read.equals(before) and len(read) == path.read_bytes().count(b"\n") - 1


# -- 4: a FLAC's header opened once ------------------------------------------------------------------------------

SAMPLES = 48000


@pytest.fixture
def opens(monkeypatch) -> list:
    """Every ``soundfile.SoundFile`` made (``sf.info`` makes one too), by path."""
    made = []

    class Counted(sf.SoundFile):
        def __init__(self, file, *args, **kwargs):
            made.append(str(file))
            super().__init__(file, *args, **kwargs)

    monkeypatch.setattr(sf, "SoundFile", Counted)
    return made


def _flac(path: Path) -> Path:
    sf.write(path, (0.3 * np.sin(np.arange(SAMPLES) / 10)).astype(np.float32), 16000, format="FLAC")
    return path


def _no_length(path: Path) -> Path:
    data = bytearray(_flac(path).read_bytes())
    data[21] &= 0xF0
    data[22:26] = b"\0\0\0\0"
    path.write_bytes(bytes(data))
    return path


def _cut(path: Path) -> Path:
    raw = _flac(path).read_bytes()
    path.write_bytes(raw[:len(raw) * 6 // 10])
    return path


def _garbage(path: Path) -> Path:
    path.write_bytes(b"fLaC" + b"\x07" * 100)
    return path


def test_a_whole_flac_is_opened_once_and_read_as_before(tmp_path, opens):
    from sergen.audio import AudioInfo, read_info

    path = _flac(tmp_path / "a.flac")
    opens.clear()  # writing it made one
    assert read_info(path) == AudioInfo(SAMPLES, 16000, 1)
    assert opens == [str(path)]


@pytest.mark.parametrize("make, message", [
    (_cut, r"^audio file cut short: its header declares 48,000 samples, but the file \([\d,]+ bytes\) ends before "
           r"the last of them \(truncated, or still being copied\): .*a\.flac; restore the whole file"),
    (_no_length, r"^audio file's header records no length \(a FLAC from a streaming encoder: total samples 0\)"),
    (_garbage, r"^unreadable audio header \("),
])
def test_a_damaged_flac_is_opened_once_and_named_as_before(tmp_path, opens, make, message):
    from sergen.audio import AudioError, read_info

    path = make(tmp_path / "a.flac")
    opens.clear()  # writing it made one
    with pytest.raises(AudioError, match=message):
        read_info(path)
    assert opens == [str(path)]


def test_a_folder_corpus_of_flac_files_opens_each_header_once(tmp_path, opens):
    from sergen.corpora import read_corpus

    root = tmp_path / "corpus"
    (root / "audio").mkdir(parents=True)
    rows = ["path,label,speaker,split"]
    for i, label in enumerate(["hap", "sad", "neu", "ang"] * 2):
        _flac(root / "audio" / f"u{i}.flac")
        rows.append(f"audio/u{i}.flac,{label},s{i % 2},{'train' if i < 4 else 'test'}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    opens.clear()  # writing them made one each
    result = read_corpus("folder", root, csv=str(root / "labels.csv"), name="flacs")
    assert len(result.manifest) == 8 and set(result.manifest["num_samples"]) == {SAMPLES}
    assert sorted(opens) == sorted(str(root / "audio" / f"u{i}.flac") for i in range(8))


@pytest.mark.parametrize("args, named", [
    (("extract", "--model", "melspec", "--precision", "FP64"), "'FP64' is not one of fp32, bf16, fp16"),
    (("extract", "--model", "melspec", "--input-mode", "TRIMMEDX"), "'TRIMMEDX' is not one of padded, trimmed"),
    (("models", "check", "melspec", "--precision", "int8"), "'int8' is not one of fp32, bf16, fp16")])
def test_an_unknown_precision_or_input_mode_is_a_usage_error_quoting_what_was_typed(cli, args, named):
    # hostile pass 36: `--precision FP64` was refused after the command started, quoted lower-cased
    code, text = cli(*args)
    assert code == 2 and named in text and "Invalid value for" in text


def test_a_folder_corpus_named_in_another_case_is_read_as_its_manifest_names_it(cli, private_ws):
    # hostile pass 36: `stores verify melspec MINE` (the manifest is Mine.csv) listed the readers' names
    from sergen.cli.validate import corpus_spelled

    (private_ws / "manifests" / "Mine.csv").write_text("utt_id\n")
    assert corpus_spelled("MINE") == "Mine" and corpus_spelled("Mine") == "Mine" and corpus_spelled("EMODB") == "emodb"
    assert corpus_spelled("other") == "other"  # no manifest of that name in any case: as given, for its own check
    (private_ws / "manifests" / "mine.csv").write_text("utt_id\n")
    assert corpus_spelled("mine") == "mine"
    with pytest.raises(SergenError, match="ambiguous: the manifests Mine, mine"):  # two: not guessed (pass 37)
        corpus_spelled("MINE")
    (private_ws / "manifests" / "mine.csv").unlink()
    code, text = cli("stores", "verify", "melspec", "MINE")
    assert code == 2 and "note: CORPUS MINE read as Mine" in text and "no store melspec/Mine" in text


def test_an_experiment_files_choices_in_another_case_make_the_same_run_with_a_note(private_ws, cli):
    # stop 36: the file's values went through the options' checks, but the canonical spelling the checks give
    # was dropped, so `norm = "GLOBAL"` passed the check and was then refused as an unknown normalisation
    args = ["probe", "--model", "melspec", "--train", "emodb", "--test", "ravdess", "--seed", "0"]
    code, plain = cli(*args, "--norm", "global", "--pool", "mean", "--head", "linear")
    assert code == 0, plain
    exp = private_ws / "cased.toml"
    exp.write_text('norm = "GLOBAL"\npool = "Mean"\nhead = "Linear"\n')
    code, cased = cli(*args, "--config", exp)
    assert code == 0, cased
    for note in ("norm = GLOBAL read as global", "pool = Mean read as mean", "head = Linear read as linear"):
        assert cased.count(f"note: {note}") == 1
    run = re.compile(r"results/runs/\w+\.csv")
    assert run.findall(cased) == run.findall(plain) != []
    exp.write_text('norm = "GLOBL"\n')  # still refused, naming the key, the file and the choices
    code, refused = cli(*args, "--config", exp)
    assert code == 2 and "norm = \"GLOBL\"" in refused and str(exp) in refused
