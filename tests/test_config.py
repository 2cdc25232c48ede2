"""The config file: written only by `sergen config …`, round-tripped (comments, other tables, ints and bools
survive), and a malformed file is a clear error naming file, line and key, never a traceback."""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from sergen.cli import app
from sergen.config import configured_root, load_config, set_config_value, set_root
from sergen.errors import SergenError

runner = CliRunner()

USER_CONFIG = """\
# my lab's settings; keep this comment
[roots]
# where IEMOCAP lives on the cluster
iemocap = "/data/IEMOCAP_full_release"  # trailing comment

[lab]
gpus = 4
shared = true
ratio = 0.5
"""


def test_round_trip_keeps_comments_other_tables_and_non_string_values(workspace):
    config = workspace / "sergen.toml"
    config.write_text(USER_CONFIG)
    corpus = workspace / "emodb"
    corpus.mkdir()
    set_root("emodb", corpus)
    text = config.read_text()
    # everything that was there is still there, byte for byte, in order
    assert text.startswith(USER_CONFIG.split("[lab]")[0].rstrip("\n"))
    assert "[lab]\ngpus = 4\nshared = true\nratio = 0.5\n" in text
    cfg = load_config()
    assert cfg["lab"] == {"gpus": 4, "shared": True, "ratio": 0.5}
    assert cfg["roots"] == {"iemocap": "/data/IEMOCAP_full_release", "emodb": str(corpus.resolve())}
    # a second write of the same key replaces its value, nothing else
    set_config_value("roots", "emodb", "/elsewhere")
    assert config.read_text() == text.replace(str(corpus.resolve()), "/elsewhere")


def test_config_commands_write_a_new_file_and_show_it(workspace):
    corpus = workspace / "corpus"
    corpus.mkdir()
    result = runner.invoke(app, ["config", "set-root", "crema", str(corpus)])
    assert result.exit_code == 0, result.output
    assert (workspace / "sergen.toml").read_text() == f'[roots]\ncremad = "{corpus.resolve()}"\n'
    assert configured_root("cremad") == corpus.resolve()
    result = runner.invoke(app, ["config", "show"])
    assert f"root cremad  : {corpus.resolve()}  (configured)" in result.output


def test_set_root_of_a_missing_folder_is_refused_and_writes_nothing(workspace):
    result = runner.invoke(app, ["config", "set-root", "emodb", str(workspace / "nope")])
    assert result.exit_code != 0
    assert isinstance(result.exception, SergenError) and "no folder at" in result.exception.what
    assert not (workspace / "sergen.toml").exists()


@pytest.mark.parametrize("text, what, where", [
    ("[roots\nemodb = '/x'\n", "config file is not valid TOML: Unexpected character: '\\n'", "line 1, column 6"),
    ('[roots]\nemodb = "/x"\nemodb = "/y"\n', 'config file is not valid TOML: Key "emodb" already exists.', "line 3"),
    ("[[roots]]\na = 'b'\n", "'roots' in the config must be a table, not list [{'a': 'b'}]", "line 1, key roots"),
    ('# ok\nroots = "/data"\n', "'roots' in the config must be a table, not str '/data'", "line 2, key roots"),
    ("[weights]\n\n\"wavlm-large\" = 3\n", "weights.wavlm-large must be a non-empty string, not int 3",
     "line 3, key weights.wavlm-large"),
    ("[dirs]\nstores = true\n", "dirs.stores must be a non-empty string, not bool True", "line 2, key dirs.stores"),
    ('[dirs]\nstore = "/x"\n', "unknown folder 'store' in [dirs]; known: manifests, stores, results, reports, cache",
     "line 2, key dirs.store"),
    ("roots.emodb = 7\n", "roots.emodb must be a non-empty string, not int 7", "line 1, key roots.emodb"),
    (b"[roots]\nemodb = \"caf\xe9\"\n", "config file is not UTF-8 text (byte 20)", "line 2"),
])
def test_malformed_config_names_file_line_and_key(workspace, text, what, where):
    config = workspace / "sergen.toml"
    config.write_bytes(text if isinstance(text, bytes) else text.encode())
    before = config.read_bytes()
    with pytest.raises(SergenError) as err:
        load_config()
    assert err.value.what == what
    assert err.value.where == f"{config}, {where}"
    # and a `sergen config` write refuses to touch it
    with pytest.raises(SergenError):
        set_config_value("roots", "msp", "/data/msp")
    assert config.read_bytes() == before


def test_malformed_config_on_the_command_line_exits_2_without_traceback(workspace):
    (workspace / "sergen.toml").write_text('[roots]\nemodb = 3\n')
    proc = subprocess.run([sys.executable, "-c", "from sergen.cli import main; main()", "manifest", "emodb"],
                          capture_output=True, text=True, cwd=workspace)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "roots.emodb must be a non-empty string, not int 3" in proc.stderr
    assert f"where: {workspace / 'sergen.toml'}, line 2, key roots.emodb" in proc.stderr
    assert 'fix: quote it: emodb = "…"' in proc.stderr


def test_config_that_is_a_folder(workspace):
    (workspace / "sergen.toml").mkdir()
    with pytest.raises(SergenError, match="the config file is a folder"):
        load_config()


def test_manifest_with_root_never_writes_the_config(workspace, demo_root, monkeypatch):
    config = workspace / "sergen.toml"
    config.write_text(USER_CONFIG)
    before = config.read_bytes()
    monkeypatch.chdir(workspace)
    result = runner.invoke(app, ["manifest", "emodb", "--root", str(demo_root / "emodb")])
    assert result.exit_code == 0, result.output
    assert config.read_bytes() == before
    # the root is recorded beside the manifest, and a rerun finds it there
    assert f'"root": "{(demo_root / "emodb").resolve()}"' in (workspace / "manifests/emodb.json").read_text()
    result = runner.invoke(app, ["manifest", "emodb"])
    assert result.exit_code == 0, result.output
    assert config.read_bytes() == before
    result = runner.invoke(app, ["config", "show"])
    assert f"root emodb   : {(demo_root / 'emodb').resolve()}  (recorded beside its manifest)" in result.output
