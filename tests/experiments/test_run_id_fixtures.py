"""Run ids never change: each spec of ``tests/fixtures/run_ids/specs.json`` (every run option, written by the
sergen before the run-option schema) must give the same id and the same saved spec today, and a saved spec read
back (``--rerun``) must give its id again."""

import json

import pytest

from sergen.experiments.probe import _spec_of
from tests.fixtures.run_ids.write_fixtures import FIXTURES, INPUTS, build, record_of

ENTRIES = json.loads(FIXTURES.read_text(encoding="utf-8"))


def test_the_fixtures_cover_every_input_listed():
    assert [e["inputs"] for e in ENTRIES] == INPUTS
    assert len(ENTRIES) >= 40


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["run_id"] for e in ENTRIES])
def test_the_run_id_and_saved_spec_are_those_committed(entry):
    spec = build(entry["inputs"])
    assert spec.run_id == entry["run_id"]
    assert record_of(spec) == entry["record"]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["run_id"] for e in ENTRIES])
def test_a_saved_spec_read_back_gives_its_id(entry):
    assert _spec_of(entry["record"], "specs.json", "a fixture").run_id == entry["run_id"]


def test_an_option_at_its_default_keeps_the_id_of_a_spec_without_it():
    ids = {json.dumps(e["inputs"], sort_keys=True): e["run_id"] for e in ENTRIES}
    plain = ids[json.dumps({"model": "melspec", "train": ["emodb"], "test": ["emodb", "ravdess"]}, sort_keys=True)]
    assert plain == "a365423a15658930"
    for extra in ({"head": "mlp"}, {"norm": "global"}, {"pool": "mean"},
                  {"labels": "4", "folds": "", "fold": 0, "protocol": ""}):
        inputs = {"model": "melspec", "train": ["emodb"], "test": ["emodb", "ravdess"], **extra}
        assert ids[json.dumps(inputs, sort_keys=True)] == plain, extra
    # a protocol, norm or pool value other than the default is in the saved spec; the default is not
    by_norm = {e["inputs"].get("norm"): e["record"] for e in ENTRIES if set(e["inputs"]) - {"norm"} ==
               {"model", "train", "test"} and e["inputs"]["test"] == ["emodb", "ravdess"]}
    assert by_norm["corpus"]["norm"] == "corpus" and "norm" not in by_norm["global"]
