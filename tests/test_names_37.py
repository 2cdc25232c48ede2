"""Hostile pass 37: corpus names that reached another corpus, or were refused in unhelpful words.

1. ``manifest folder --name csv`` (``CSV``, ``Folder``) wrote ``csv.csv``, which ``--corpus csv`` never read: it
   read folder's manifest and store. Such names are refused at manifest time, and a manifest already named so
   makes the name ambiguous at extract/probe time, never silently another corpus.
2. ``Mine.csv`` and ``MINE.csv``: ``--corpus mine`` was "unknown corpus"; it is ambiguous, naming both. A
   manifest in another case of an existing one is refused (one file on a case-insensitive filesystem).
3. ``emobox:ToyRAVDESS`` was read by ``manifest`` only; every corpus option reads it (in any case) as its
   manifest, ``emobox-toyravdess``, with a note, and fix lines name ``manifest emobox:<dataset>``."""

from __future__ import annotations

import pytest

from sergen.errors import SergenError
from tests.conftest import write_wav
from tests.emobox_files import toy_ravdess
from tests.test_bad_input import cli  # noqa: F401 - fixture


@pytest.fixture
def mine(workspace):
    """A six-file folder corpus with its label CSV."""
    root = workspace / "mine"
    rows = ["path,label,speaker"]
    for i, label in enumerate(["happy", "sad", "neutral", "angry", "happy", "sad"]):
        write_wav(root / f"u{i}.wav", freq=200 + 20 * i)
        rows.append(f"u{i}.wav,{label},s{i % 3}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def _manifest(cli, root, name):
    return cli("manifest", "folder", "--root", root, "--csv", root / "labels.csv", "--name", name)


@pytest.mark.parametrize("name", ["csv", "CSV", "Folder", "FOLDER", "Csv"])
def test_a_folder_corpus_may_not_take_a_name_read_as_the_folder_reader(cli, mine, workspace, name):
    code, text = _manifest(cli, mine, name)
    assert code != 0
    assert f"--name {name!r} is read by every corpus option as folder" in text
    assert f"--name my-{name.lower()}" in text
    assert not list((workspace / "manifests").glob("*.csv"))


@pytest.mark.parametrize("name", ["emodb", "Berlin", "emobox", "RAVDESS"])
def test_a_folder_corpus_may_not_take_another_readers_name(cli, mine, workspace, name):
    code, text = _manifest(cli, mine, name)
    assert code != 0 and f"--name {name!r} is a corpus sergen reads itself" in text


@pytest.mark.parametrize("name", ["emobox-toyravdess", "EmoBox-Tess"])
def test_a_folder_corpus_may_not_take_an_emobox_datasets_manifest_name(cli, mine, workspace, name):
    code, text = _manifest(cli, mine, name)
    assert code != 0 and f"--name {name!r} is how sergen names an EmoBox dataset's manifest" in text
    assert f"`sergen manifest emobox:{name[7:]}` writes it" in text
    assert not list((workspace / "manifests").glob("*.csv"))


@pytest.mark.parametrize("name", ["all", "Each"])
def test_a_folder_corpus_may_not_take_a_keyword(cli, mine, name):
    code, text = _manifest(cli, mine, name)
    assert code == 2 and "cannot name a corpus" in text


def test_the_default_name_folder_is_still_written_and_read_as_itself(cli, mine, workspace):
    code, text = _manifest(cli, mine, "folder")
    assert code == 0 and (workspace / "manifests" / "folder.csv").exists()
    from sergen.cli.validate import corpus_spelled

    assert corpus_spelled("folder") == "folder" and corpus_spelled("CSV") == "folder"


def test_a_manifest_named_like_a_readers_alias_is_never_swapped_for_that_reader(cli, mine, workspace):
    assert _manifest(cli, mine, "folder")[0] == 0
    folder = workspace / "manifests"
    for ext in ("csv", "json"):  # as `manifest folder --name csv` wrote it before pass 37
        (folder / f"csv.{ext}").write_bytes((folder / f"folder.{ext}").read_bytes())
    code, text = cli("extract", "--model", "melspec", "--corpus", "csv")
    assert code != 0 and "read as folder" not in text
    assert "corpus 'csv' is ambiguous: sergen reads 'csv' as folder" in text and "manifests/csv.csv" in text
    assert f"--root {mine.absolute()} --csv {(mine / 'labels.csv').absolute()} --name my-csv" in text
    assert not (workspace / "stores").exists() or not list((workspace / "stores").rglob("*.zarr"))
    code, text = cli("probe", "--model", "melspec", "--train", "CSV", "--test", "folder")
    assert code != 0 and "corpus 'CSV' is ambiguous" in text and "type `folder` for folder's own manifest" in text


def test_a_name_two_manifests_carry_in_other_cases_is_ambiguous_naming_both(cli, workspace):
    from sergen.cli.validate import corpus_spelled

    folder = workspace / "manifests"
    folder.mkdir(exist_ok=True)
    for stem in ("Mine", "MINE"):
        (folder / f"{stem}.csv").write_text("utt_id\n")
    assert corpus_spelled("Mine") == "Mine" and corpus_spelled("MINE") == "MINE"  # typed exactly: that one
    with pytest.raises(SergenError) as err:
        corpus_spelled("mine")
    assert err.value.what == ("corpus 'mine' is ambiguous: the manifests MINE, Mine differ from it only in case, "
                              "and sergen reads a name in another case only where one matches")
    assert err.value.fix == "type one of them exactly: MINE or Mine"
    for args in (("extract", "--model", "melspec", "--corpus", "mInE"), ("stores", "verify", "melspec", "mine"),
                 ("probe", "--model", "melspec", "--train", "mine", "--test", "MINE")):
        code, text = cli(*args)
        assert code != 0 and "is ambiguous: the manifests MINE, Mine" in text and "unknown corpus" not in text


def test_a_manifest_in_another_case_of_an_existing_one_is_refused(cli, mine, workspace):
    assert _manifest(cli, mine, "Mine")[0] == 0
    before = (workspace / "manifests" / "Mine.csv").read_bytes()
    code, text = _manifest(cli, mine, "MINE")
    assert code != 0 and "a corpus named Mine already has a manifest" in text
    assert "case-insensitive filesystem" in text and "--name Mine" in text
    assert sorted(p.name for p in (workspace / "manifests").glob("*.csv")) == ["Mine.csv"]
    assert (workspace / "manifests" / "Mine.csv").read_bytes() == before
    assert _manifest(cli, mine, "Mine")[0] == 0  # the same name exactly: remade as before


@pytest.fixture
def toy_emobox(cli, workspace):
    checkout, audio = workspace / "EmoBox", workspace / "audio"
    toy_ravdess(checkout, audio)
    code, text = cli("manifest", "emobox:ToyRAVDESS", "--root", audio, "--emobox", checkout)
    assert code == 0, text
    return workspace


@pytest.mark.parametrize("typed", ["emobox:toyravdess", "emobox:ToyRAVDESS", "EmoBox:ToyRavdess",
                                   "Emobox-ToyRavdess"])
def test_an_emobox_dataset_is_read_in_any_case_as_its_manifest(toy_emobox, typed):
    from sergen.cli.validate import corpus_spelled

    assert (toy_emobox / "manifests" / "emobox-toyravdess.csv").exists()
    assert corpus_spelled(typed) == "emobox-toyravdess"


def test_extract_reads_an_emobox_dataset_as_manifest_takes_it_with_one_note(cli, toy_emobox):
    code, text = cli("extract", "--model", "melspec", "--corpus", "emobox:toyravdess")
    assert code == 0, text
    assert text.count("note: --corpus emobox:toyravdess read as emobox-toyravdess") == 1
    assert "unknown corpus" not in text
    assert (toy_emobox / "stores" / "melspec" / "emobox-toyravdess.zarr").exists()


def test_the_fix_for_a_missing_emobox_dataset_names_a_command_that_works(cli, toy_emobox):
    assert cli("extract", "--model", "melspec", "--corpus", "emobox-toyravdess")[0] == 0  # a store, so probe looks
    code, text = cli("probe", "--model", "melspec", "--train", "emobox:NoSuch", "--test", "emobox:NoSuch")
    assert code != 0 and "manifest folder --name emobox" not in text
    assert "`sergen manifest emobox:NoSuch --root DIR --emobox EMOBOX_DIR`" in text
    code, text = cli("extract", "--model", "melspec", "--corpus", "emobox-nosuch")
    assert code == 2 and "unknown corpus 'emobox-nosuch'" in text and "EmoBox manifests: emobox-toyravdess" in text
    assert "`sergen manifest emobox:nosuch --root DIR --emobox EMOBOX_DIR`" in text


def test_the_manifest_command_of_an_emobox_name_typed_with_its_colon():
    from sergen.corpora.manifest import manifest_command

    assert manifest_command("emobox:Tess") == "`sergen manifest emobox:Tess --root DIR --emobox EMOBOX_DIR`"


@pytest.mark.parametrize("stem, why", [("csv", "'csv' is read as folder"), ("Folder", "'Folder' is read as folder"),
                                       ("ALL", "'ALL' is read as the keyword 'all'")])
def test_extract_all_refuses_a_manifest_no_name_reaches(cli, mine, workspace, stem, why):
    assert _manifest(cli, mine, "folder")[0] == 0
    folder = workspace / "manifests"
    for ext in ("csv", "json"):  # as made before pass 37, or copied by hand
        (folder / f"{stem}.{ext}").write_bytes((folder / f"folder.{ext}").read_bytes())
    code, text = cli("extract", "--model", "melspec", "--corpus", "all")
    assert code != 0
    assert f"`all` takes every manifest, but manifests/{stem}.csv cannot be reached by its name ({why})" in text
    assert f"--name my-{stem.lower()}" in text
    assert not (workspace / "stores").exists() or not list((workspace / "stores").rglob("*.zarr"))
