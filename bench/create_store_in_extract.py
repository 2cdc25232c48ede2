"""``TAG=after PYTHONPATH=<tree> python bench/create_store_in_extract.py``: the wall time ``create_store`` takes
inside a melspec extraction of the five demo corpora (``$PROF_WORK``, default ``/tmp/scratch/prof_work``, made
by the lead's ``prof.py``), where Zarr's event loop shares two cores with the extraction's other threads; three
runs (issue 22). Run it once per tree, from that tree, alternating, to compare before and after."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.environ.get("BENCH", str(Path(__file__).resolve().parent)))


def main() -> None:
    import loop_baseline
    import sergen.extract as ex

    real, spent = ex.create_store, []

    def timed(*args, **kwargs):
        start = time.perf_counter()
        group = real(*args, **kwargs)
        spent.append(time.perf_counter() - start)
        return group

    ex.create_store = timed
    work = Path(os.environ.get("PROF_WORK", "/tmp/scratch/prof_work"))
    ws = Path(json.loads((work / "files.json").read_text())[0])
    tag = os.environ.get("TAG", "x")
    for _ in range(3):
        stores = Path(tempfile.gettempdir()) / f"create_store_in_extract_{tag}"
        shutil.rmtree(stores, ignore_errors=True)
        spent.clear()
        seconds = loop_baseline.sergen_in_process(ws, "melspec", stores, "auto")
        print(f"{tag}: extraction {seconds:.2f} s, create_store {sum(spent) * 1e3:.0f} ms in all (per store "
              f"{[round(s * 1e3) for s in spent]} ms), load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
