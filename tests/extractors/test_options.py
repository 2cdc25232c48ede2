"""Typed extractor options: declared once per extractor, read by --opt, the old flags, the preflight and
`models ls`; every bad value refused before a store is touched."""

import dataclasses
import re

import pytest
from typer.testing import CliRunner

from sergen.cli import app
from sergen.errors import SergenError
from sergen.extractors import EXTRACTORS
from sergen.extractors.options import DECLARED, NoOptions, build, describe, key_values
from sergen.preflight import check_model_options


def test_every_registered_extractor_declares_its_options_as_a_frozen_dataclass():
    for name in EXTRACTORS.names():
        options = EXTRACTORS.get(name).Options
        assert dataclasses.is_dataclass(options) and options.__dataclass_params__.frozen, name
        for field in dataclasses.fields(options):
            assert field.metadata["help"], (name, field.name)
    assert {name for name in DECLARED if name in EXTRACTORS.names() or name.startswith("hf:")} == {
        "wavlm-large", "clap-2023", "whisper-large-v3", "whisper-medium", "whisper-small", "whisper-base", "hf: models"}


def test_strings_from_the_command_line_become_typed_values():
    wavlm, clap, whisper = (EXTRACTORS.get(n).Options for n in ("wavlm-large", "clap-2023", "whisper-large-v3"))
    assert build(wavlm, {"layers": "6, 12"}, "wavlm-large").layers == (6, 12)
    assert build(wavlm, {}, "wavlm-large").layers == (6, 12, 18, 24)
    assert build(clap, {"hop_seconds": "0.5"}, "clap-2023").hop_seconds == 0.5
    assert build(whisper, {"input_mode": "trimmed", "layers": [32]}, "whisper-large-v3") == whisper(
        layers=(32,), input_mode="trimmed")
    assert build(NoOptions, {}, "melspec") == NoOptions()


@pytest.mark.parametrize("model, given, message", [
    ("wavlm-large", {"layers": "6,6"}, "wavlm-large: layers='6,6' is not valid (a hidden state is named twice: [6, 6])"),
    ("wavlm-large", {"layers": "-1"}, "wavlm-large: layers='-1' is not valid (give one or more hidden-state numbers of 0 or more)"),
    ("wavlm-large", {"layers": ""}, "wavlm-large: layers='' is not valid (layers are hidden-state numbers separated by commas"),
    ("clap-2023", {"hop_seconds": "0"}, "clap-2023: hop_seconds='0' is not valid (the hop must be in (0, 7] s"),
    ("clap-2023", {"hop_seconds": "fast"}, "clap-2023: hop_seconds='fast' is not valid (could not convert string to float"),
    ("whisper-small", {"input_mode": "short"}, "whisper-small: input_mode='short' is not one of its choices"),
    ("melspec", {"layers": "6"}, "melspec takes no --layers option"),
    ("melspec", {"colour": "red"}, "melspec takes no option 'colour'"),
    ("wavlm-large", {"layer": "3"}, "wavlm-large takes no option 'layer'"),
])
def test_bad_options_are_refused_with_the_model_and_the_value(model, given, message):
    with pytest.raises(SergenError) as exc:
        check_model_options(model, None, given)
    assert exc.value.what.startswith(message)


def test_the_fix_says_which_models_take_an_option_and_what_this_one_takes():
    with pytest.raises(SergenError) as exc:
        check_model_options("wavlm-large", None, {"layer": "3"})
    assert exc.value.fix == ("leave it out (--opt layer=… is for hf: models); wavlm-large takes: layers=6,12,18,24 "
                             "(hidden states stored side by side)")
    with pytest.raises(SergenError) as exc:
        check_model_options("melspec", None, {"hop_seconds": "1"})
    assert exc.value.fix == "leave it out (--hop-seconds is for clap-2023); melspec takes no options"


def test_key_value_pairs():
    assert key_values(["hop_seconds=0.5", " layers = 6,12 "]) == {"hop_seconds": "0.5", "layers": "6,12"}
    for bad, message in [(["layers"], "is not of the form key=value"), (["=3"], "is not of the form key=value"),
                         (["a=1", "a=2"], "--opt a is given twice ('1' and '2')")]:
        with pytest.raises(SergenError, match=re.escape(message)):
            key_values(bad)


def test_models_ls_lists_each_models_options():
    result = CliRunner().invoke(app, ["models", "ls", "--json"])
    import json

    models = {m["model"]: m for m in json.loads(result.output)["models"]}
    assert models["clap-2023"]["options"] == describe(EXTRACTORS.get("clap-2023").Options)
    assert models["clap-2023"]["options"].startswith("hop_seconds=1.0 (seconds between 7 s windows")
    assert models["melspec"]["options"] == "none"
