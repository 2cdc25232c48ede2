"""``all`` and ``each`` are keywords in any case, as corpus names are names in any case: ``--corpus ALL``,
``--train Each``, ``--test All`` mean what their lower-case spelling means in every command taking corpora
(once read as a corpus called 'ALL': "no melspec store for corpus 'ALL'")."""

import pytest

from sergen import CORPORA
from sergen.errors import SergenError
from tests.test_bad_input import cli  # noqa: F401 - the in-process CLI fixture
from tests.chunk_files import chunk_file


class Ran(SergenError):
    """Raised where the command would start training: what it was asked to run, said in the error."""


@pytest.fixture
def stop_before_training(monkeypatch):
    import sergen.experiments.fragmentation as fragmentation
    import sergen.experiments.grid as grid
    import sergen.experiments.probe as probe

    def probe_run(spec):
        raise Ran(f"probe train={'+'.join(spec.train)} test={','.join(spec.test)}")

    def run_grid(specs, **_):
        raise Ran("grid " + "; ".join(sorted({f"train={'+'.join(s.train)} test={','.join(s.test)}" for s in specs})))

    def analyse_stores(model, corpora, **_):
        raise Ran(f"analyze {','.join(corpora)}")

    monkeypatch.setattr(probe, "probe_run", probe_run)
    monkeypatch.setattr(grid, "run_grid", run_grid)
    monkeypatch.setattr(fragmentation, "analyse_stores", analyse_stores)


COMMANDS = [  # the arguments of every command taking corpora, {all} and {each} where a keyword goes
    ("extract", "--model", "melspec", "--corpus", "{all}"),
    ("stores", "verify", "melspec", "{all}"),
    ("probe", "--model", "melspec", "--train", "emodb", "--test", "{all}", "--head", "linear"),
    ("probe", "--model", "melspec", "--train", "{all}", "--test", "emodb", "--head", "linear"),
    ("grid", "--models", "melspec", "--train", "{each}", "--test", "{all}", "--heads", "linear"),
    ("grid", "--models", "melspec", "--train", "{each},{all}", "--test", "emodb", "--heads", "linear"),
    ("analyze", "fragmentation", "--model", "melspec", "--corpora", "{all}"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]) + " " + a[-3])
@pytest.mark.parametrize("spelling", ["upper", "title"])
def test_every_command_reads_the_keywords_in_any_case(cli, in_demo_workspace, stop_before_training, args,
                                                      spelling):
    lower = [a.format(all="all", each="each") for a in args]
    other = [a.format(all=getattr("all", spelling)(), each=getattr("each", spelling)()) for a in args]
    assert other != lower
    expected = cli(*lower)
    assert expected[0] in (0, 2) and "unknown" not in expected[1] and "no melspec store" not in expected[1]
    assert cli(*other) == expected


def test_the_commands_mean_every_corpus_with_a_store(cli, in_demo_workspace, stop_before_training):
    code, text = cli("probe", "--model", "melspec", "--train", "EMODB", "--test", "ALL", "--head", "linear")
    assert code == 2 and f"probe train=emodb test={','.join(CORPORA)}" in text
    code, text = cli("grid", "--models", "melspec", "--train", "Each,ALL", "--test", "emodb", "--heads", "linear")
    sets = sorted([*(f"train={c} test=emodb" for c in CORPORA), f"train={'+'.join(CORPORA)} test=emodb"])
    assert code == 2 and f"grid {'; '.join(sets)}" in text
    code, text = cli("analyze", "fragmentation", "--model", "melspec", "--corpora", "All")
    assert code == 2 and f"analyze {','.join(CORPORA)}" in text
    code, text = cli("extract", "--model", "melspec", "--corpus", "ALL")
    assert code == 0 and text.count("already complete") == len(CORPORA)
    code, text = cli("stores", "verify", "melspec", "ALL")
    assert code == 0 and all(f"melspec/{c}: ok" in text for c in CORPORA), text


def test_an_experiment_file_reads_the_keywords_in_any_case(cli, in_demo_workspace, stop_before_training, tmp_path):
    (tmp_path / "x.toml").write_text('model = "melspec"\ntrain = "EMODB"\ntest = "ALL"\nhead = "linear"\n')
    code, text = cli("probe", "--config", tmp_path / "x.toml")
    assert code == 2 and f"probe train=emodb test={','.join(CORPORA)}" in text


@pytest.mark.parametrize("name", ["ALL", "Each"])
def test_no_corpus_may_be_named_a_keyword_in_any_case(cli, name, tmp_path):
    (tmp_path / "c").mkdir()
    code, text = cli("manifest", "folder", "--root", tmp_path / "c", "--name", name)
    assert code == 2 and f"{name!r} cannot name a corpus" in text


def test_verify_all_names_each_damaged_store_and_fails(cli, in_demo_workspace, tmp_path, monkeypatch):
    import shutil

    stores = tmp_path / "stores"
    for corpus in ("emodb", "ravdess"):
        shutil.copytree(in_demo_workspace / "stores" / "melspec" / f"{corpus}.zarr", stores / "melspec" / f"{corpus}.zarr")
    monkeypatch.setenv("SERGEN_STORES", str(stores))
    chunk_file(stores / "melspec/ravdess.zarr", "mean").unlink()
    code, text = cli("stores", "verify", "melspec", "All")
    assert code == 1 and "melspec/emodb: ok" in text and "melspec/ravdess: - " in text
    code, text = cli("stores", "verify", "melspec", "EACH")
    assert code == 2 and "'EACH' is a keyword of --train, not a store" in text
