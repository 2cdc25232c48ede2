"""A bank build over a store whose offsets array was edited names the offsets and the rebuild, as ``stores verify``
does, never the repair that verify then refuses (a hostile pass at stop 32 found the probe suggesting it)."""

import numpy as np
import pytest
import zarr

from sergen.errors import SergenError
from sergen.store.verify import verify_store
from tests.store.test_integrity import clean, store  # noqa: F401 - fixtures: a melspec EmoDB store, a copy per test


def _edit_offsets(store, change) -> np.ndarray:
    group = zarr.open_group(str(store), mode="r+")
    offsets = group["offsets"][:]
    change(offsets)
    group["offsets"][:] = offsets  # through Zarr: its checksum is valid, only the digests can tell
    return offsets


@pytest.mark.parametrize("edit, why", [
    (lambda o: o.__setitem__(2, o[2] + 5), "2 utterance(s) no longer start or end where they were written (e.g. "),
    (lambda o: o.__setitem__([1, 2], o[[2, 1]]), "it does not rise from 0 to the "),
    (lambda o: o.__setitem__(-1, o[-1] + 5), "it does not rise from 0 to the "),  # past the frames: was an IndexError
    (lambda o: o.__setitem__(-1, o[-1] - 3), "it does not rise from 0 to the "),
    (lambda o: o.__setitem__(-1, o[-1] + 10**9), "it does not rise from 0 to the "),  # sized a 238 GiB bank first
])
def test_edited_offsets_met_by_a_bank_build_name_the_rebuild_not_a_repair(store, monkeypatch, edit, why):
    from sergen.experiments.data import store_bank

    original = zarr.open_group(str(store), mode="r")["offsets"][:]
    offsets = _edit_offsets(store, edit)
    monkeypatch.setenv("SERGEN_BANK_CACHE_MIB", "0")
    with pytest.raises(SergenError) as exc:
        store_bank("melspec", "emodb", None)
    assert exc.value.what.startswith("the offsets array of melspec/emodb was edited since sergen wrote it: " + why)
    if "no longer" in why:  # the written place of the first moved utterance, found from the digests
        assert f"written at frames {original[1]}–{original[2]}, now {offsets[1]}–{offsets[2]})" in exc.value.what
    assert exc.value.fix == "rebuild the store with `sergen extract --model melspec --corpus emodb --overwrite`"
    assert "--repair" not in exc.value.fix
    if "rise" in why:  # refused before a bank is sized from them: no bank file begun
        banks = store.parent.parent / ".banks"
        assert not banks.exists() or not list(banks.iterdir())
    report = verify_store(store)  # verify agrees: a repair is refused, the rebuild named
    assert not report.ok and "offsets array" in " ".join(report.blocking) and "--overwrite" in " ".join(report.blocking)
