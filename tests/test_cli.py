"""The commands as a new user types them."""

import subprocess
import sys

from typer.testing import CliRunner

from sergen.cli import app

runner = CliRunner()


def test_demo_data_manifest_extract_and_stores(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo-data", "--out", "demo", "--scale", "0.3"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["manifest", "ravdess", "--root", "demo/ravdess", "--out", "ravdess.csv"])
    assert result.exit_code == 0, result.output
    assert "manifest written to ravdess.csv" in result.output
    assert "song (24)" in result.output
    header = (tmp_path / "ravdess.csv").read_text().splitlines()[0]
    assert header.startswith("utt_id,corpus,path,label,native_label,speaker,gender,split,duration_s,sample_rate")
    result = runner.invoke(app, ["manifest", "ravdess", "--root", "demo/ravdess"])
    assert result.exit_code == 0, result.output
    # the root is recorded beside the manifest, not in the config: a rerun needs no --root
    assert not (tmp_path / "sergen.toml").exists()
    result = runner.invoke(app, ["manifest", "ravdess"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["extract", "--model", "melspec", "--corpus", "ravdess"])
    assert result.exit_code == 0, result.output
    assert "melspec/ravdess: 264 written this run" in result.output  # 192 of the four, 72 outside
    result = runner.invoke(app, ["stores", "ls"])
    assert "ravdess" in result.output and "yes" in result.output
    result = runner.invoke(app, ["stores", "verify", "melspec", "ravdess"])
    assert result.exit_code == 0 and "ok" in result.output
    result = runner.invoke(app, ["stores", "verify", "MELSPEC", "RAVDESS"])  # names read as extract reads them
    assert result.exit_code == 0 and "melspec/ravdess: ok" in result.output
    result = runner.invoke(app, ["stores", "verify", "melspec", "ravdess@"])
    assert result.exit_code != 0 and "'ravdess@' is not a store name" in str(result.exception)


def test_unknown_names_exit_2_with_the_known_ones(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "from sergen.cli import main; main()", "manifest", "tess", "--root", "."],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "unknown corpus 'tess'; known: cremad, emobox, emodb, folder, iemocap, msp, ravdess" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-c", "from sergen.cli import main; main()", "extract", "--model", "wavlm-tiny",
                           "--corpus", "emodb"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "unknown model 'wavlm-tiny'" in proc.stderr  # checked before the manifest


def test_version_is_printed_and_matches_what_results_record():
    from sergen import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"sergen {__version__}\n"
