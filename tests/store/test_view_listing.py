"""A grid's planning asks for each corpus's view stores per run and per bank; inside ``views_listed_once`` each
corpus's are listed once (the demo grid's planning opened view stores ~100,000 times: 40 s before any run)."""

from sergen.store import reader
from sergen.store.reader import view_stores, views_listed_once
from tests.fake_stores import tiny_store
from sergen.config import data_dir


def test_views_are_listed_once_inside_and_afresh_outside(workspace, monkeypatch):
    stores = workspace / "stores"
    tiny_store(stores / "m" / "emodb.zarr", model="m", corpus="emodb")
    tiny_store(stores / "m" / "emodb@reverb.zarr", model="m", corpus="emodb", view="reverb")
    calls = []
    real = reader.glob_names
    monkeypatch.setattr(reader, "glob_names", lambda *a: calls.append(a) or real(*a))
    with views_listed_once():
        assert [view_stores("m", "emodb", data_dir("stores")) for _ in range(3)] == [["emodb@reverb"]] * 3
        with views_listed_once():  # nested: the same listing
            assert view_stores("m", "emodb", data_dir("stores")) == ["emodb@reverb"]
        assert view_stores("m", "cremad", data_dir("stores")) == []
    assert len(calls) == 2  # emodb once, cremad once
    tiny_store(stores / "m" / "emodb@eq.zarr", model="m", corpus="emodb", view="eq")
    assert view_stores("m", "emodb", data_dir("stores")) == ["emodb@eq", "emodb@reverb"]  # outside: listed afresh
    assert len(calls) == 3
