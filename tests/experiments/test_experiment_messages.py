"""What a hostile tester typed into experiment files, --set and the probe/grid options, run through the real
entry point: every bad key or value is refused with exit code 2 and no traceback, naming the key, where it
was set (the file and its line, or the --set item) and what is allowed, in TOML's spelling, never Python's."""

from __future__ import annotations

import pytest

from sergen.train.loop import TrainConfig
from tests.test_bad_input import cli  # noqa: F401 (fixture)

PYTHON_WORDS = ("Traceback", "UnicodeDecodeError", "IsADirectoryError", "unpack", "non-iterable", " a int",
                "expected int", "expected str", "expected a float", "expected a bool", "True", "SamplerConfig",
                "TrainConfig", "sergen.train")

FILE_CASES = {  # file text → (command, what, line, fix)
    "norm": ('model = "melspec"\ntrain = "emodb"\nnorm = "bogus"\n', "probe",
             "norm = \"bogus\": unknown --norm 'bogus'; known: global, corpus, speaker", 3,
             'fix: give norm as "global", "corpus", "speaker" or "coral"'),
    "grid norm": ('models = ["melspec"]\nnorm = ["global", "bad"]\n', "grid",
                  "norm = [\"global\", \"bad\"]: in 'global,bad': unknown --norm 'bad'", 2,
                  'fix: give norm as "global", "corpus", "speaker" or "coral", or a list of them'),
    "head": ('model = "melspec"\ntrain = "emodb"\n\nhead = "bogus"\n', "probe",
             "head = \"bogus\": 'bogus' is not a head: give linear, mlp, mlp-dann (several training corpora only), "
             "attn", 4,
             "fix: give head as linear, mlp, mlp-dann (several training corpora only), attn (attentive statistics pooling over frames) or cnn (log-Mel stores only)"),
    "grid heads": ('models = ["melspec"]\nheads = ["mlp", "mlpp"]\n', "grid",
                   "heads = [\"mlp\", \"mlpp\"]: in 'mlp,mlpp': 'mlpp' is not a head", 2,
                   "fix: give heads as a list of heads: linear, mlp, mlp-dann (several training corpora only), attn"),
    "layer": ('model = "melspec"\ntrain = "emodb"\nlayer = "x"\n', "probe",
              "layer = \"x\": 'x' is not a layer: give - (the last stored), all (one run per stored layer), "
              "weighted (a learned mix of the stored layers) or a layer number, e.g. 12", 3,
              'fix: give layer as "-", "all", "weighted" or a layer number, e.g. 12'),
    "layer float": ('model = "melspec"\ntrain = "emodb"\nlayer = 1.5\n', "probe",
                    "layer = 1.5: expected a string or a whole number", 3,
                    "fix: give layer as a string or a whole number"),
    "protocol": ('models = ["melspec"]\nprotocol = "nope"\n', "grid",
                 "protocol = \"nope\": unknown protocol 'nope'; known: superb-er", 2,
                 'fix: give protocol as "superb-er", or leave it out'),
    "misspelt table": ('models = ["melspec"]\n\n[Training]\nlr = 0.1\n', "grid",
                       "unknown table [Training] in the experiment file; known: [sampler], [training]", 3,
                       "fix: write [training] (table names are case-sensitive)"),
    "unknown table": ('models = ["melspec"]\n[samplr]\nmix_prob = 0.3\n', "grid",
                      "unknown table [samplr] in the experiment file", 2, "fix: rename it to one of them, or delete it"),
    "table as a value": ('models = ["melspec"]\nsampler = 3\n', "grid",
                         "sampler = 3: [sampler] is a table of settings, not a value; its keys: window_s, "
                         "corpus_first, class_first, aug_share, mix_prob, mask_frac, noise_std", 2,
                         "fix: write the table header [sampler] on its own line, then KEY = VALUE lines below it, "
                         "e.g. window_s = [1.0, 3.0]"),
    "training as a value": ('model = "melspec"\ntrain = "emodb"\ntraining = 3\n', "probe",
                            "training = 3: [training] is a table of settings, not a value; its keys: batch_size", 3,
                            "e.g. batch_size = 128"),
    "window a number": ('models = ["melspec"]\n[sampler]\nwindow_s = 2\n', "grid",
                        "[sampler] window_s = 2: expected a list of 2 numbers [min, max]", 3,
                        "fix: e.g. window_s = [1.0, 3.0] (the default)"),
    "window reversed": ('models = ["melspec"]\n[sampler]\nwindow_s = [3, 1]\n', "grid",
                        "[sampler] window_s = [3, 1] is out of range: window_s must be two lengths in seconds with "
                        "0 < min <= max, got min 3, max 1", 3, "fix: e.g. window_s = [1.0, 3.0] (the default)"),
    "bool as 1": ('models = ["melspec"]\n[sampler]\ncorpus_first = 1\n', "grid",
                  "[sampler] corpus_first = 1: expected true or false", 3,
                  "fix: e.g. corpus_first = true (the default)"),
    "number as text": ('models = ["melspec"]\n[sampler]\nmix_prob = "lots"\n', "grid",
                       '[sampler] mix_prob = "lots": expected a number', 3, "fix: e.g. mix_prob = 0.2 (the default)"),
    "seeds as text": ('seeds = ["zero"]\n', "grid",
                      'seeds = ["zero"]: expected a whole number or a list of whole numbers', 1,
                      "fix: give seeds as a whole number or a list of whole numbers"),
    "warm-up above the cap": ('models = ["melspec"]\n[training]\nmin_steps = 900\nmax_steps = 600\n', "grid",
                              "[training] min_steps = 900 is above max_steps = 600: the warm-up, before which no "
                              "head is kept, would outlast the run", 4,
                              "fix: give min_steps at most max_steps, or leave min_steps out (its default, 500, is "
                              "cut to max_steps)"),
}


@pytest.mark.parametrize("text, command, what, line, fix", list(FILE_CASES.values()), ids=list(FILE_CASES))
def test_a_bad_value_in_a_file_names_the_key_the_file_the_line_and_what_is_allowed(cli, tmp_path, text, command,
                                                                                  what, line, fix):
    exp = tmp_path / "exp.toml"
    exp.write_text(text)
    code, out = cli(command, "--config", exp)
    assert code == 2, out
    assert f"error: {what}" in out, out
    assert f"where: {exp}, line {line}" in out, out
    assert fix in out, out
    assert not [w for w in PYTHON_WORDS if w in out], out


def test_the_other_key_of_a_step_conflict_is_named_too(cli, tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text('models = ["melspec"]\n[training]\nmax_steps = 600\nmin_steps = 900\n')
    code, out = cli("grid", "--config", exp)
    assert code == 2 and f"where: {exp}, line 4; max_steps: {exp}, line 3" in out, out


UTF8_FIX = "fix: give the path of a UTF-8 TOML file (see experiments/ for examples)"


@pytest.mark.parametrize("content, what, fix", [
    (b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "the experiment file is not UTF-8 text (byte 0 cannot be read as text): it is "
                                       "not a TOML file", UTF8_FIX),
    (None, "the experiment file is a folder, not a file", UTF8_FIX),
    (b'models = ["melspec"\n', "the experiment file is not valid TOML: Unclosed array (at end of document)",
     "fix: fix the line named (strings in quotes, lists in [ ], true/false in lower case)"),
])
def test_a_config_path_that_is_no_toml_text_says_what_it_is(cli, tmp_path, content, what, fix):
    path = tmp_path / "exp.toml"
    path.mkdir() if content is None else path.write_bytes(content)
    code, out = cli("grid", "--config", path)
    assert code == 2 and f"error: {what}" in out and f"where: {path} {fix}" in out, out
    assert not [w for w in PYTHON_WORDS if w in out], out


SET_CASES = {  # --set item → (what, fix)
    "run key misspelt": ("haeds=3", "unknown key 'haeds' in --set KEY=VALUE; known: models",
                         "fix: use a known key, e.g. --set seeds=[0,1] or --set sampler.mix_prob=0.3"),
    "number as a word": ("training.lr=abc", '[training] lr = "abc": expected a number',
                         "fix: e.g. --set training.lr=0.001 (the default)"),
    "window a number": ("sampler.window_s=2", "[sampler] window_s = 2: expected a list of 2 numbers [min, max]",
                        "fix: e.g. --set sampler.window_s=[1.0,3.0] (the default)"),
    "section as a value": ("sampler=3", "sampler is a section of settings, not a value; its keys: window_s",
                           "fix: set one key, e.g. --set sampler.window_s=[1.0,3.0]"),
    "section misspelt": ("Training.lr=0.1", "unknown section 'Training' in --set KEY=VALUE; known: sampler, training",
                         "fix: write training.KEY (names are case-sensitive)"),
    "no equals sign": ("training.lr", "--set 'training.lr': expected KEY=VALUE",
                       "fix: e.g. --set sampler.mix_prob=0.3, --set training.lr=0.0005 or --set seeds=[0,1]"),
    "head": ("heads=[\"mlp\",\"mlpp\"]", "heads = [\"mlp\", \"mlpp\"]: in 'mlp,mlpp': 'mlpp' is not a head",
             "fix: give heads as a list of heads"),
}


@pytest.mark.parametrize("item, what, fix", list(SET_CASES.values()), ids=list(SET_CASES))
def test_a_bad_set_names_the_set_item_not_a_file(cli, item, what, fix):
    code, out = cli("grid", "--models", "melspec", "--set", item)
    assert code == 2, out
    assert f"error: {what}" in out and f"where: --set {item}" in out and fix in out, out
    assert "experiment file" not in out and not [w for w in PYTHON_WORDS if w in out], out


def test_a_set_value_after_a_file_is_named_as_the_set_item(cli, tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text('models = ["melspec"]\nnorm = "global"\n[training]\nmin_steps = 900\n')
    code, out = cli("grid", "--config", exp, "--set", "norm=speakers")
    assert code == 2 and "where: --set norm=speakers" in out, out
    code, out = cli("grid", "--config", exp, "--set", "training.max_steps=600")
    assert code == 2 and f"where: --set training.max_steps=600; min_steps: {exp}, line 4" in out, out


def test_train_config_refuses_a_warm_up_above_its_step_cap():
    with pytest.raises(ValueError, match=r"min_steps \(900\) must not exceed max_steps \(600\)"):
        TrainConfig(min_steps=900, max_steps=600)
    assert TrainConfig(min_steps=600, max_steps=600).min_steps == 600
    assert TrainConfig(max_steps=100).min_steps == 500  # the default warm-up is cut to the cap by train_head


@pytest.mark.parametrize("args, message", [
    (["probe", "--model", "melspec", "--train", "emodb", "--layer", "x"],
     "Invalid value for '--layer': 'x' is not a layer: give - (the last stored), all (one run per stored layer), "
     "weighted (a learned mix of the stored layers) or a layer number, e.g. 12"),
    (["probe", "--model", "melspec", "--train", "emodb", "--head", "mlpp"],
     "Invalid value for '--head': 'mlpp' is not a head: give linear, mlp, mlp-dann (several training corpora "
     "only), attn"),
    (["grid", "--models", "melspec", "--heads", "linear,mlpp"],
     "Invalid value for '--heads': in 'linear,mlpp': 'mlpp' is not a head"),
    (["grid", "--models", "melspec", "--scramble", "no,maybe"],
     "Invalid value for '--scramble': in 'no,maybe': 'maybe' is neither yes nor no: give no, yes, or no,yes (both)"),
    (["grid", "--models", "melspec", "--norm", "global,speakers"],
     "Invalid value for '--norm': in 'global,speakers': unknown --norm 'speakers'; known: global, corpus, speaker"),
])
def test_option_values_name_every_allowed_value(cli, args, message):
    code, out = cli(*args)
    assert code == 2 and message in out, out


def test_probe_help_names_every_head_and_layer_form(cli):
    code, out = cli("probe", "--help")
    assert code == 0
    assert "linear, mlp (128x256), mlp-dann" in out and "attn (attentive statistics pooling" in out and "cnn (a small CNN" in out and "- (the last), N, all (one run per layer) or weighted (a learned weighted sum of them)" in out


def test_a_layer_of_a_single_layer_store_says_where_and_what_to_do(cli, in_demo_workspace, tmp_path):
    code, out = cli("probe", "--model", "melspec", "--train", "emodb", "--layer", "5")
    assert code == 2, out
    assert ("error: layer 5 requested, but the melspec/emodb store holds a single layer where: the melspec/emodb "
            "store fix: leave --layer out (layer = \"-\" in an experiment file) to use its one vector; layers are "
            "picked only in stores extracted with --layers") in out, out
    exp = tmp_path / "exp.toml"
    exp.write_text('model = "melspec"\ntrain = "emodb"\nlayer = 5\n')
    code, out = cli("probe", "--config", exp)
    assert code == 2 and f"where: layer = 5 at {exp}, line 3; the melspec/emodb store fix: leave --layer out" in out, out


def test_an_adversarial_head_on_single_corpus_sets_is_named_as_skipped(cli, in_demo_workspace):
    from sergen.experiments.grid import grid_specs

    code, out = cli("grid", "--models", "melspec", "--heads", "mlp-dann", "--train", "each")
    assert code == 2, out
    assert ("error: the grid is empty: --heads mlp-dann skipped for the single-corpus training set(s) iemocap, "
            "cremad, msp, emodb, ravdess (it trains against the corpus of each window, so only on several corpora), "
            "and no other head was asked for where: --train each --heads mlp-dann fix: add a multi-corpus training "
            "set (e.g. --train each,all or --train iemocap+cremad), or another head") in out, out
    specs = grid_specs(["melspec"], "emodb,emodb+ravdess", heads=("linear", "mlp-dann"))
    assert [(s.head, s.train) for s in specs] == [("linear", ("emodb",)), ("linear", ("emodb", "ravdess")),
                                                  ("mlp-dann", ("emodb", "ravdess"))]
    assert specs.skipped == {"mlp-dann": ["emodb"]}
    assert specs.skipped_note().startswith("--heads mlp-dann skipped for the single-corpus training set(s) emodb ")
