"""Issue 21, the results side: a run's rows are tied to its record, a copy counts once, outputs never
replace a file sergen did not write, and a full disk leaves nothing half-written."""

from __future__ import annotations

import errno
import json
import shutil

import pandas as pd
import pytest

from sergen.errors import SergenError
from sergen.report.markdown import build_report
from sergen.written_files import file_sha256
from sergen.results import (load_runs, read_run, record_digest, runs_dir, save_run, settings_sets,
                            settings_tag)
from tests.report.test_report import fixture_results

RUN = "iemocap-False-0.0-0"


def _edit_value(csv, test: str, new: str) -> None:
    """Change the AUROC of ``test`` in the CSV as a person would in an editor: the text of one field."""
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    for i, line in enumerate(lines[1:], 1):
        cells = line.split(",")
        if cells[header.index("test")] == test and cells[header.index("metric")] == "auroc":
            cells[header.index("value")] = new
            lines[i] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n")


def test_edited_csv_value_is_named_and_left_out(tmp_path, cli_report):
    fixture_results(tmp_path / "results")
    csv = runs_dir(tmp_path / "results") / f"{RUN}.csv"
    before = load_runs(tmp_path / "results")
    assert RUN in before.records and not before.skipped
    _edit_value(csv, "cremad", "0.42")
    after = load_runs(tmp_path / "results")
    assert RUN not in after.records and len(after.records) == len(before.records) - 1
    assert [(s.path, s.reason.split(" (")[0]) for s in after.skipped] == [(csv, "edited after the run saved it")]
    assert not (after.rows.value == 0.42).any()
    code, text = cli_report(tmp_path)
    assert code == 0 and f"left out result file {csv}: edited after the run saved it" in text
    report = (tmp_path / "out" / "report.md").read_text()
    assert "0.42" not in report and str(csv) in report and "**Left out: 1 result file(s) that cannot be used**" in report


@pytest.mark.parametrize("edit", [lambda r: r["spec"].update(training={"max_steps": 301}),
                                  lambda r: r["confusion"]["cremad"][0].__setitem__(0, 99),
                                  lambda r: r.__setitem__("corpus_id_accuracy", 0.1)],
                         ids=["spec", "confusion", "figure"])
def test_edited_record_is_named_and_left_out(tmp_path, cli_report, edit):
    fixture_results(tmp_path / "results")
    path = runs_dir(tmp_path / "results") / f"{RUN}.json"
    record = json.loads(path.read_text())
    edit(record)
    path.write_text(json.dumps(record, indent=1))
    runs = load_runs(tmp_path / "results")
    assert RUN not in runs.records
    assert [(s.path, s.reason.split(" (")[0]) for s in runs.skipped] == [(path, "edited after the run saved it")]
    code, text = cli_report(tmp_path)
    assert code == 0 and f"left out result file {path}: edited after the run saved it" in text


def test_whitespace_only_reformatting_is_an_edit_too(tmp_path):
    fixture_results(tmp_path / "results")
    csv = runs_dir(tmp_path / "results") / f"{RUN}.csv"
    csv.write_text(csv.read_text().replace("\n", "\r\n"))  # saved again by a spreadsheet: bytes differ
    with pytest.raises(ValueError, match="edited after the run saved it"):
        read_run(RUN, tmp_path / "results")


@pytest.mark.parametrize("copy_name", [f"{RUN} (copy)", "0123456789abcdef"])
def test_a_copy_of_a_run_counts_once_and_is_named(tmp_path, copy_name):
    from sergen.experiments.grid import auroc_matrices

    fixture_results(tmp_path / "results")
    matrices = auroc_matrices(tmp_path / "results")
    cells = {name: path.read_text() for name, path in matrices.items()}
    runs = runs_dir(tmp_path / "results")
    shutil.copy(runs / f"{RUN}.json", runs / f"{copy_name}.json")
    shutil.copy(runs / f"{RUN}.csv", runs / f"{copy_name}.csv")
    _edit_value(runs / f"{copy_name}.csv", "cremad", "0.42")  # averaged in, a cell would move
    loaded = load_runs(tmp_path / "results")
    assert sorted(loaded.rows.run_id.unique()) == sorted(loaded.records) and copy_name not in loaded.records
    assert [(s.path.name, s.reason.split(" (")[0]) for s in loaded.skipped] == [
        (f"{copy_name}.csv", f"a copy of run {RUN}")]
    again = auroc_matrices(tmp_path / "results")
    assert {name: path.read_text() for name, path in again.items()} == cells  # no cell averaged with the copy
    assert [s.path.name for s in again.left_out] == [f"{copy_name}.csv"]


def test_records_without_a_digest_are_shown_as_unverified(tmp_path):
    fixture_results(tmp_path / "results")
    record = runs_dir(tmp_path / "results") / f"{RUN}.json"
    data = json.loads(record.read_text())
    del data["rows_sha256"], data["record_sha256"]  # as an older sergen wrote it
    record.write_text(json.dumps(data))
    runs = load_runs(tmp_path / "results")
    assert RUN in runs.records and runs.unverified == [RUN]
    text = build_report(tmp_path / "results", tmp_path / "out", runs=runs).read_text()
    assert "Unverified: 1 run(s) saved by an older sergen" in text


def test_results_on_a_full_disk_say_what_was_kept_and_leave_no_partial(tmp_path, monkeypatch):
    import sergen.results as results

    fixture_results(tmp_path / "results")
    n_runs = len(load_runs(tmp_path / "results").records)
    rows, record = read_run(RUN, tmp_path / "results")
    record.run_id = "fedcba9876543210"
    real = results._write_atomic

    def full(path, text):
        if path.suffix == ".csv":
            path.with_name(f".{path.name}.partial").write_text(text[:10])  # half a file, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, text)

    monkeypatch.setattr(results, "_write_atomic", full)
    with pytest.raises(SergenError) as err:
        save_run(rows.assign(run_id=record.run_id), record, tmp_path / "results")
    assert err.value.what == ("run fedcba9876543210 could not be saved (No space left on device); its numbers are "
                              "lost, the runs saved before it are kept")
    assert "rerun the same command" in err.value.fix
    folder = runs_dir(tmp_path / "results")
    assert not list(folder.glob(".*partial")) and not list(folder.glob("fedcba9876543210.*"))
    kept = load_runs(tmp_path / "results")
    assert len(kept.records) == n_runs and not kept.skipped  # the runs before it, untouched; no orphan record


def test_scores_on_a_full_disk_are_the_same_clear_answer_and_leave_no_partial(tmp_path, monkeypatch):
    import numpy as np

    from sergen.experiments import run_scores

    def full(handle, **arrays):
        handle.write(b"half a zip")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run_scores.np, "savez_compressed", full)
    scores = {"emodb": run_scores.UtteranceScores(np.array(["a", "b"]), np.array([0, 1]), np.eye(2))}
    with pytest.raises(SergenError) as err:
        run_scores.write_scores("0123456789abcdef", scores, tmp_path / "results")
    assert err.value.what == ("run 0123456789abcdef could not be saved (No space left on device); its numbers are "
                              "lost, the runs saved before it are kept")
    assert list(runs_dir(tmp_path / "results").iterdir()) == []


# -- outputs never overwrite a user's file -----------------------------------------------------------------

@pytest.mark.parametrize("name", ["report.md", "figures/cross_melspec_mlp.png"])
def test_report_refuses_to_overwrite_a_users_file(tmp_path, name):
    fixture_results(tmp_path / "results")
    out = tmp_path / "out"
    (out / name).parent.mkdir(parents=True)
    (out / name).write_text("my own notes")
    with pytest.raises(SergenError) as err:
        build_report(tmp_path / "results", out)
    assert (f"holds 1 file(s) at the report's names that sergen did not write, or that were edited after sergen "
            f"wrote them ({name})") in err.value.what
    assert "nothing was written" in err.value.what and err.value.where == str(out / name)
    assert (out / name).read_text() == "my own notes"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [name]


def test_report_replaces_its_own_earlier_report_and_drops_its_old_figures(tmp_path):
    fixture_results(tmp_path / "results")
    out = tmp_path / "out"
    build_report(tmp_path / "results", out)
    listing = json.loads((out / ".sergen-report.json").read_text())
    assert "report.md" in listing and "figures/cross_melspec_mlp.png" in listing
    old = out / "figures" / "cross_old_mlp.png"
    old.write_bytes(b"png")  # a figure an earlier report made, that this one does not
    (out / ".sergen-report.json").write_text(json.dumps({**listing, "figures/cross_old_mlp.png": file_sha256(old)}))
    mine = out / "figures" / "mine.png"
    mine.write_bytes(b"mine")  # not at a report's name: never touched
    build_report(tmp_path / "results", out)
    assert not old.exists() and mine.read_bytes() == b"mine"
    assert sorted(json.loads((out / ".sergen-report.json").read_text())) == sorted(listing)
    assert not [p for p in out.iterdir() if p.name.startswith(".report-partial")]


def test_report_of_an_older_sergen_without_a_list_is_replaced(tmp_path):
    fixture_results(tmp_path / "results")
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    (out / "report.md").write_text("# sergen report\n\nMade 2026-01-01 00:00 UTC by sergen 0.1 from 3 fresh probe runs")
    (out / "figures" / "cross_melspec_mlp.png").write_bytes(b"old")
    build_report(tmp_path / "results", out)
    assert (out / "figures" / "cross_melspec_mlp.png").read_bytes().startswith(b"\x89PNG")


def test_report_on_a_full_disk_leaves_nothing_half_written(tmp_path, monkeypatch):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fixture_results(tmp_path / "results")
    out = tmp_path / "out"
    build_report(tmp_path / "results", out)
    earlier = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    calls = []

    def full(self, path, *args, **kwargs):
        if not isinstance(path, str):  # matplotlib's own render into memory
            return real(self, path, *args, **kwargs)
        calls.append(path)
        if len(calls) > 2:
            with open(path, "wb") as fh:
                fh.write(b"\x89PNG half")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(self, path, *args, **kwargs)

    real = FigureCanvasAgg.print_png
    monkeypatch.setattr(FigureCanvasAgg, "print_png", full)
    with pytest.raises(SergenError) as err:
        build_report(tmp_path / "results", out)
    assert err.value.what.startswith("the report could not be written (No space left on device): nothing of it was "
                                     "left behind, and an earlier report there is kept as it was")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == earlier
    fresh = tmp_path / "fresh"
    with pytest.raises(SergenError):
        build_report(tmp_path / "results", fresh)
    assert not fresh.exists()  # a folder the failed report made is removed again


def test_grid_leaves_a_users_file_named_like_a_matrix(tmp_path):
    from sergen.experiments.grid import auroc_matrices

    fixture_results(tmp_path / "results")
    first = auroc_matrices(tmp_path / "results")
    name = next(iter(first))
    folder = first[name].parent
    (folder / ".written.json").write_text(json.dumps(sorted(set(first) - {name})))  # as if the user made it
    first[name].write_text("my own matrix")
    again = auroc_matrices(tmp_path / "results")
    assert again.kept == [folder / f"{name}.csv"] and name not in again
    assert (folder / f"{name}.csv").read_text() == "my own matrix"
    assert sorted(json.loads((folder / ".written.json").read_text())) == sorted(set(first) - {name})
    other = next(n for n in first if n != name)
    (folder / f"{other}.csv").write_text("my edit")  # sergen's, edited since: the user's now, kept and named
    third = auroc_matrices(tmp_path / "results")
    assert sorted(third.kept) == sorted([folder / f"{name}.csv", folder / f"{other}.csv"])
    assert (folder / f"{other}.csv").read_text() == "my edit"
    (folder / f"{other}.csv").unlink()  # gone: sergen writes it again
    assert auroc_matrices(tmp_path / "results")[other].read_text().startswith("train,")


def test_report_md_edited_after_sergen_wrote_it_is_never_overwritten(tmp_path):
    fixture_results(tmp_path / "results")
    out = tmp_path / "out"
    build_report(tmp_path / "results", out)
    with open(out / "report.md", "a") as fh:
        fh.write("\nMY NOTES\n")  # the user's notes under sergen's report
    figures = {p: p.read_bytes() for p in out.rglob("*.png")}
    with pytest.raises(SergenError) as err:
        build_report(tmp_path / "results", out)
    assert "were edited after sergen wrote them (report.md)" in err.value.what and "nothing was written" in err.value.what
    assert (out / "report.md").read_text().endswith("MY NOTES\n")
    assert {p: p.read_bytes() for p in out.rglob("*.png")} == figures


# -- unclear answers of the report -----------------------------------------------------------------------

def test_settings_sets_make_the_same_settings_again():
    from sergen.experiments.experiment_file import Experiment

    spec = {"sampler": {"window_s": [1.0, 2.5], "mix_prob": 0.3}, "training": {"max_steps": 300, "lr": 1e-05}}
    tag = settings_tag(spec)
    assert tag == "window_s=1-2.5,mix_prob=0.3,lr=1e-05,max_steps=300"
    sets = settings_sets(tag)
    assert sets == ["--set sampler.window_s=[1,2.5]", "--set sampler.mix_prob=0.3", "--set training.lr=1e-05",
                    "--set training.max_steps=300"]
    experiment = Experiment().apply_sets([s.removeprefix("--set ") for s in sets])
    again = {"sampler": experiment.sampler.as_dict(), "training": experiment.training.as_dict()}
    assert settings_tag(again) == tag


def test_baseline_command_carries_the_runs_settings():
    from sergen.report.remedies import baseline_command

    context = {"model": "melspec", "train": "emodb", "head": "mlp", "norm": "corpus", "pool": "mean", "layer": "-",
               "labels": "4", "folds": "", "protocol": "", "aug_share": 0.0, "settings": "max_steps=300"}
    command = baseline_command("norm", "global", context, [0, 1], {False})
    assert command == ("sergen grid --models melspec --train emodb --heads mlp --set training.max_steps=300 "
                       "--seeds 0,1")


def test_figures_of_runs_with_settings_have_link_safe_names(tmp_path):
    import re

    from sergen.report.figures import link_safe
    from sergen.report.tables import model_dim

    assert link_safe("cross_melspec [max_steps=300]_linear.png") == "cross_melspec_max_steps=300_linear.png"
    assert link_safe("layers_x_wavlm (layer 12).png") == "layers_x_wavlm_layer_12.png"
    assert model_dim("melspec [max_steps=300]") == model_dim("melspec (layer 3) [max_steps=300]") == model_dim("melspec")
    assert model_dim("melspec") != "?"
    df = fixture_results(tmp_path / "results")
    runs = runs_dir(tmp_path / "results")
    for run_id in df.run_id.unique():  # every run made with max_steps 300
        record = json.loads((runs / f"{run_id}.json").read_text())
        record["spec"]["training"] = {"max_steps": 300}
        (runs / f"{run_id}.json").write_text(json.dumps({**record, "record_sha256": record_digest(record)}))
    text = build_report(tmp_path / "results", tmp_path / "out").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]*)\)", text)
    assert links and all(" " not in link and "[" not in link for link in links)
    assert all((tmp_path / "out" / link).is_file() for link in links)
    assert "melspec [max_steps=300]" in text and "| ? " not in text


@pytest.fixture
def cli_report(cli):
    def run(tmp_path):
        return cli("report", "--results", tmp_path / "results", "--out", tmp_path / "out")
    return run


from tests.test_bad_input import cli  # noqa: E402,F401 (fixture)
