"""What the hostile pass of this session broke, each now a clear refusal (or, for the report, one count):
``open_store`` and ``StoreRef.of`` given the wrong things, a stores URL whose backend is not installed, a head
width typed with extra digits, a demo folder under a file, and two probes of one training counted twice."""

from __future__ import annotations

import pandas as pd
import pytest

import sergen
from sergen.errors import SergenError
from sergen.results import RunRecord, once_per_training
from sergen.store.ref import StoreRef
from sergen.train.head_base import canonical_head_options
from tests.test_bad_input import cli  # noqa: F401 (fixture)


def test_a_store_handle_with_a_corpus_or_root_besides_is_refused():
    ref = StoreRef("melspec", "emodb", "/nowhere/stores")
    for kwargs in ({"corpus": "ravdess"}, {"root": "/elsewhere"}):
        with pytest.raises(SergenError) as caught:
            sergen.open_store(ref, **kwargs)
        assert caught.value.what == ("open_store was given a store handle and a corpus or root too: the handle "
                                     "already names its store (melspec/emodb in /nowhere/stores)")


@pytest.mark.parametrize("args, what", [
    (("melspec",), "open_store needs a corpus name, got missing"),
    ((None, "emodb"), "open_store needs a model name, got missing"),
    ((3, "emodb"), "open_store needs a model name, got 3"),
    (("melspec", ""), "open_store needs a corpus name, got ''"),
    (("melspec", "../emodb"), "open_store needs a corpus name, got '../emodb'"),
    (("/tmp/stores/melspec/emodb.zarr",), "open_store needs a model name, got '/tmp/stores/melspec/emodb.zarr'"),
])
def test_open_store_names_a_missing_or_malformed_name(args, what):
    with pytest.raises(SergenError) as caught:
        sergen.open_store(*args)
    assert caught.value.what == what and "root=" in caught.value.fix


def test_store_ref_of_without_the_workspace_folders_is_refused():
    with pytest.raises(SergenError) as caught:
        StoreRef.of("melspec", "emodb", "/tmp/stores")
    assert caught.value.what == "StoreRef.of needs the workspace's folders as its third argument, got '/tmp/stores'"


def test_a_stores_url_without_its_backend_is_named(cli, workspace):
    pytest.importorskip("fsspec")
    try:
        import s3fs  # noqa: F401
        pytest.skip("s3fs is installed here")
    except ImportError:
        pass
    code, text = cli("stores", "verify", "melspec", "emodb", "--root", "s3://bucket/stores")
    assert code == 2
    assert "reading stores over s3:// needs a package that is not installed" in text
    assert "pip install s3fs" in text
    with pytest.raises(SergenError, match="reading stores over s3:// needs a package that is not installed"):
        sergen.open_store("melspec", "emodb", root="s3://bucket/stores")


@pytest.mark.parametrize("head, text, message", [
    ("mlp", "hidden=99999999x99999999", "hidden: at most 8 layers of at most 16,384 units each, got "
                                        "99999999x99999999"),
    ("mlp", "hidden=" + "x".join(["8"] * 9), "hidden: at most 8 layers of at most 16,384 units each, got "
                                             + "x".join(["8"] * 9)),
    ("attn", "attention=100000", "attention must be a whole number of units from 1 to 16,384, got 100000"),
    ("cnn", "channels=8x5000", "channels: at most 1,024 per block, got 8x5000"),
])
def test_head_widths_that_would_exhaust_memory_are_refused(head, text, message):
    with pytest.raises(SergenError) as caught:
        canonical_head_options(head, text)
    assert caught.value.what.endswith(message)


@pytest.mark.parametrize("command", ["demo", "demo-data"])
def test_a_demo_folder_under_a_file_is_refused_before_anything_is_written(cli, tmp_path, command):
    blocker = tmp_path / "afile"
    blocker.write_text("mine")
    code, text = cli(command, "--out", blocker / "sub", "--scale", "0.3")
    assert code == 2
    assert f"{blocker / 'sub'} lies under {blocker}, which is a file, not a folder" in text
    assert blocker.read_text() == "mine"


def record(run_id: str, test: list[str], seed: int = 0) -> RunRecord:
    spec = {"model": "melspec", "train": ["emodb"], "test": test, "head": "mlp", "seed": seed}
    return RunRecord(run_id=run_id, spec=spec, stores={}, stores_root=None)


def test_two_probes_of_one_training_count_once_per_test_corpus():
    records = {"a": record("a", ["emodb", "ravdess"]), "b": record("b", ["ravdess"]),
               "c": record("c", ["ravdess"], seed=1), "d": record("d", ["ravdess"])}
    rows = pd.DataFrame({"run_id": ["a", "a", "b", "c", "d"], "test": ["emodb", "ravdess", "ravdess", "ravdess",
                                                                       "ravdess"],
                         "value": [0.9, 0.7, 0.7, 0.6, 0.5], "seconds": [3.0, 3.0, 2.0, 3.0, 2.0]})
    kept = once_per_training(rows, records)
    # b repeats a's ravdess row (same training, same values); c is another seed; d's values differ, so it is
    # not taken for a repeat (a spec that does not say everything a run depends on: kept, never merged)
    assert kept[["run_id", "test"]].values.tolist() == [["a", "emodb"], ["a", "ravdess"], ["c", "ravdess"],
                                                        ["d", "ravdess"]]
