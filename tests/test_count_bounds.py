"""Counts of workers, replicas and utterances have an upper bound, stated in the message: ``--workers 99999``
is a typo that would start 99999 threads or processes, not a setting. 0 and negatives stay refused."""

from __future__ import annotations

import pytest

from tests.test_bad_input import cli  # noqa: F401 - the in-process CLI fixture

EIGHT = "give a whole number from 1 to 8 (4 × the 2 cores this process may use)"


@pytest.fixture
def two_cores(monkeypatch):
    import sergen.threads

    monkeypatch.setattr(sergen.threads, "available_cores", lambda: 2)


@pytest.mark.parametrize("args,message", [
    (("extract", "--model", "melspec", "--workers", "9"), f"Invalid value for '--workers': 9 is out of range: {EIGHT}"),
    (("grid", "--models", "melspec", "--workers", "99999"),
     f"Invalid value for '--workers': 99999 is out of range: {EIGHT}"),
    (("demo", "--workers", "9"), f"Invalid value for '--workers': 9 is out of range: {EIGHT}"),
    (("extract", "--model", "melspec", "--scheduler", "local:9"),
     f"Invalid value for '--scheduler': 'local:9': 9 local workers is out of range: {EIGHT}"),
    (("grid", "--models", "melspec", "--scheduler", "LOCAL:9"),  # any case: not the address tcp://LOCAL:9
     f"Invalid value for '--scheduler': 'local:9': 9 local workers is out of range: {EIGHT}"),
    (("extract", "--model", "melspec", "--replicas", "17"),
     "Invalid value for '--replicas': 17 is out of range: give a whole number from 1 to 16 (model copies per device"),
    (("models", "check", "melspec", "--utterances", "1001"),
     "Invalid value for '--utterances': 1001 is out of range: give a whole number from 1 to 1000"),
    (("grid", "--models", "melspec", "--workers", "0"),
     "Invalid value for '--workers': 0 is out of range: give a whole number of at least 1"),
    (("extract", "--model", "melspec", "--replicas", "-1"),
     "Invalid value for '--replicas': -1 is out of range: give a whole number of at least 1"),
])
def test_a_count_beyond_its_bound_is_refused_with_the_range(cli, two_cores, workspace, args, message):
    code, text = cli(*args)
    assert code == 2 and message in text, text
    assert not (workspace / "stores").exists() and not (workspace / "results").exists()


@pytest.mark.parametrize("args", [("extract", "--model", "melspec", "--workers", "8"),
                                  ("extract", "--model", "melspec", "--scheduler", "local:8"),
                                  ("extract", "--model", "melspec", "--replicas", "16")])
def test_the_bound_itself_is_accepted(cli, two_cores, args):
    code, text = cli(*args)
    assert code == 2 and "no manifests yet" in text and "Invalid value" not in text, text
