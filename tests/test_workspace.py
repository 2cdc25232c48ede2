"""The workspace anchor: found the same way from any folder (SERGEN_HOME, else the nearest sergen.toml
upwards, else the working directory); env overrides still win; errors say where sergen looked."""

import os

import pytest
from typer.testing import CliRunner

import sergen
from sergen.cli import app
from sergen.config import config_path, data_dir, describe_dir, find_workspace, use_workspace
from sergen.errors import SergenError

runner = CliRunner()
OVERRIDES = ("SERGEN_HOME", "SERGEN_CONFIG", "SERGEN_MANIFESTS", "SERGEN_STORES", "SERGEN_RESULTS", "SERGEN_REPORTS")


@pytest.fixture
def bare(workspace, monkeypatch):
    """No SERGEN_* location variable: sergen finds its workspace by itself, as for a user."""
    for name in OVERRIDES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(workspace / "home"))
    return workspace


def test_nearest_sergen_toml_upwards_anchors_every_folder(bare, monkeypatch):
    ws = bare / "project"
    (ws / "notebooks/deep/er").mkdir(parents=True)
    (ws / "sergen.toml").write_text("")
    for cwd in (ws, ws / "notebooks", ws / "notebooks/deep/er"):
        monkeypatch.chdir(cwd)
        assert find_workspace().root == ws
        assert find_workspace().found_via == str(ws / "sergen.toml")
        assert config_path() == ws / "sergen.toml"
        assert {k: data_dir(k) for k in ("manifests", "stores", "results", "reports")} == {
            k: ws / k for k in ("manifests", "stores", "results", "reports")}
    # a nested workspace wins inside itself
    (ws / "notebooks/sergen.toml").write_text("")
    monkeypatch.chdir(ws / "notebooks/deep")
    assert data_dir("stores") == ws / "notebooks/stores"


def test_without_anchor_the_working_directory_and_the_user_config(bare, monkeypatch):
    monkeypatch.chdir(bare)
    assert find_workspace().root == bare
    assert "no sergen.toml in it or above" in find_workspace().found_via
    assert config_path() == bare / "home/.config/sergen/config.toml"
    assert data_dir("stores") == bare / "stores"


def test_sergen_home_wins_and_a_missing_one_is_an_error(bare, monkeypatch):
    ws, elsewhere = bare / "ws", bare / "elsewhere"
    ws.mkdir(), elsewhere.mkdir()
    (elsewhere / "sergen.toml").write_text("")
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("SERGEN_HOME", str(ws))
    assert data_dir("results") == ws / "results"
    assert find_workspace().found_via == f"SERGEN_HOME={ws}"
    monkeypatch.setenv("SERGEN_HOME", str(bare / "typo"))
    with pytest.raises(SergenError) as err:
        data_dir("stores")
    assert err.value.what == "SERGEN_HOME is not an existing folder"
    assert err.value.where == f"SERGEN_HOME={bare / 'typo'}"


def test_env_and_dirs_table_move_folders(bare, monkeypatch):
    ws = bare / "ws"
    (ws / "sub").mkdir(parents=True)
    (ws / "sergen.toml").write_text('[dirs]\nstores = "big/stores"\nresults = "s3://bucket/x"\n')
    monkeypatch.chdir(ws / "sub")
    assert data_dir("stores") == ws / "big/stores"  # relative [dirs] paths hang from the workspace
    assert data_dir("manifests") == ws / "manifests"
    assert describe_dir("stores") == f"{ws / 'big/stores'} ([dirs] stores in {ws / 'sergen.toml'}; " \
                                     f"workspace {ws}, found via {ws / 'sergen.toml'})"
    monkeypatch.setenv("SERGEN_STORES", "/mnt/stores")
    assert data_dir("stores").as_posix() == "/mnt/stores"
    assert describe_dir("stores") == "/mnt/stores (set by SERGEN_STORES)"


def test_open_store_from_a_notebook_folder_and_error_saying_where_it_looked(bare, in_demo_workspace, monkeypatch):
    ws = bare / "ws"
    (ws / "notebooks").mkdir(parents=True)
    (ws / "stores").symlink_to(in_demo_workspace / "stores")
    (ws / "sergen.toml").write_text("")
    for name in ("SERGEN_MANIFESTS", "SERGEN_STORES"):
        monkeypatch.delenv(name)
    monkeypatch.chdir(ws / "notebooks")
    ds = sergen.open_store("melspec", "emodb")
    assert ds.sizes["utt"] > 0
    with pytest.raises(SergenError) as err:
        sergen.open_store("melspec", "iemocap-typo")
    assert err.value.where == (f"{ws / 'stores/melspec/iemocap-typo.zarr'} "
                               f"(workspace {ws}, found via {ws / 'sergen.toml'})")
    result = runner.invoke(app, ["probe", "--model", "vggish", "--train", "emodb", "--test", "emodb"])
    assert isinstance(result.exception, SergenError), result.output
    assert result.exception.what.startswith("no stores for model 'vggish'")
    assert result.exception.where == f"{ws / 'stores'} (workspace {ws}, found via {ws / 'sergen.toml'})"


def test_missing_manifest_error_says_which_workspace(bare, monkeypatch):
    ws = bare / "ws"
    ws.mkdir()
    (ws / "sergen.toml").write_text("")
    monkeypatch.chdir(ws)
    result = runner.invoke(app, ["extract", "--model", "melspec", "--corpus", "emodb"])
    assert isinstance(result.exception, SergenError)
    assert result.exception.where == f"{ws / 'manifests/emodb.csv'} (workspace {ws}, found via {ws / 'sergen.toml'})"
    result = runner.invoke(app, ["manifest", "emodb"])
    assert isinstance(result.exception, SergenError)
    assert result.exception.what == "no root given for emodb, none configured, and no manifest recorded one"
    assert result.exception.where == f"{ws / 'manifests/emodb.json'} (workspace {ws}, found via {ws / 'sergen.toml'})"


def test_config_init_and_show(bare, monkeypatch):
    monkeypatch.chdir(bare)
    result = runner.invoke(app, ["config", "init", "lab"])
    assert result.exit_code == 0, result.output
    assert (bare / "lab/sergen.toml").read_text().startswith("# sergen workspace")
    result = runner.invoke(app, ["config", "init", "lab"])
    assert isinstance(result.exception, SergenError) and "already a sergen workspace" in result.exception.what
    (bare / "lab/sub").mkdir()
    monkeypatch.chdir(bare / "lab/sub")
    result = runner.invoke(app, ["config", "show"])
    lab = bare / "lab"
    assert f"workspace  : {lab}  (found via {lab / 'sergen.toml'})" in result.output
    assert f"config file: {lab / 'sergen.toml'}\n" in result.output
    assert f"stores     : {lab / 'stores'}\n" in result.output
    monkeypatch.setenv("SERGEN_STORES", str(bare / "fast"))
    result = runner.invoke(app, ["config", "show"])
    assert f"stores     : {bare / 'fast'}  (set by SERGEN_STORES)" in result.output


def test_use_workspace_hides_every_outside_location_and_restores_it(workspace, monkeypatch):
    monkeypatch.setenv("SERGEN_ROOT_EMODB", "/data/emodb")
    monkeypatch.setenv("SERGEN_CACHE", "/big/cache")
    before = dict(os.environ)
    demo = workspace / "demo"
    demo.mkdir()
    with use_workspace(demo) as ws:
        assert ws.root == demo
        assert {k: data_dir(k) for k in ("manifests", "stores", "results", "reports")} == {
            k: demo / k for k in ("manifests", "stores", "results", "reports")}
        assert config_path() == demo / "sergen.toml"
        assert "SERGEN_ROOT_EMODB" not in os.environ and "SERGEN_CACHE" not in os.environ
    assert dict(os.environ) == before
