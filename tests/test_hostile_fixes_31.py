"""What a hostile new user found at stop 31, each as it was typed: a run's scores file changed after it was
saved, an --out sergen cannot write, a folder corpus named like a built-in one in another case, ``each`` given
to probe, and a folder corpus's manifest command."""

import zipfile

import pytest

from sergen.corpora.manifest import manifest_command
from sergen.errors import SergenError
from sergen.results import UnreadableRun, load_runs, read_run
from tests.test_bad_input import cli  # noqa: F401 - the in-process CLI fixture


def test_a_runs_scores_changed_after_saving_leave_the_run_out_so_a_grid_reruns_it(in_demo_workspace, workspace):
    from sergen.experiments.probe import probe_run, resolve_spec, save_run
    from sergen.experiments.run_scores import read_scores, scores_path
    from sergen.train.loop import TrainConfig

    spec = resolve_spec("melspec", "emodb", "emodb", head="linear", training=TrainConfig(max_steps=50))
    save_run(probe_run(spec))
    rows, record = read_run(spec.run_id)
    assert record.scores_sha256 and len(read_scores(spec.run_id)["emodb"].utt_id) == rows.n_test.iloc[0]
    path = scores_path(spec.run_id)
    whole = path.read_bytes()
    for damaged, why in ((whole[:200], "changed after the run saved it"), (b"\0" * 100, "changed after"),
                         (None, "missing or unreadable")):
        if damaged is None:
            path.unlink()
        else:
            path.write_bytes(damaged)
        with pytest.raises(UnreadableRun) as err:
            read_run(spec.run_id)
        assert why in str(err.value) and "a grid reruns it" in str(err.value)
        runs = load_runs()
        assert spec.run_id not in runs.records and len(runs.skipped) == 1
    path.write_bytes(whole)
    assert zipfile.is_zipfile(path) and read_run(spec.run_id)[1].run_id == spec.run_id


@pytest.mark.parametrize("args", [("demo", "--out", "/proc/sergen-x", "--scale", "0.01"),
                                  ("demo-data", "--out", "/proc/sergen-x", "--scale", "0.01")])
def test_an_out_folder_that_cannot_be_made_is_a_message(cli, workspace, args):
    code, text = cli(*args)
    assert code == 2 and "error: /proc/sergen-x" in text and "Traceback" not in text, text
    assert "a folder sergen makes needs a parent that exists and is writable" in text


@pytest.mark.parametrize("name", ["Emodb", "crema-D", "RAVDESS"])
def test_a_folder_corpus_named_like_a_built_in_one_in_any_case_is_refused(cli, workspace, tmp_path, name):
    (tmp_path / "labels.csv").write_text("path,label\n")
    code, text = cli("manifest", "folder", "--name", name, "--root", str(tmp_path))
    assert code == 2 and f"--name {name!r} is a corpus sergen reads itself" in text, text
    assert not (workspace / "manifests" / f"{name}.csv").exists()


def test_each_given_to_probe_points_at_grid(in_demo_workspace):
    from sergen.experiments.probe import resolve_spec

    for typed in ("each", "EACH"):
        with pytest.raises(SergenError) as err:
            resolve_spec("melspec", typed, "emodb")
        assert "`each` (one run per corpus) is for `sergen grid`" in err.value.what


def test_the_manifest_command_fits_the_kind_of_corpus():
    assert manifest_command("CREMA-D") == "`sergen manifest cremad --root DIR`"
    assert manifest_command("ravdess@reverb") == "`sergen manifest ravdess --root DIR`"
    assert manifest_command("emobox-tess") == "`sergen manifest emobox:tess --root DIR --emobox EMOBOX_DIR`"
    assert manifest_command("mine") == "`sergen manifest folder --name mine --csv LABELS.csv --root DIR`"
