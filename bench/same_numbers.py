"""Are a checkout's run numbers those of another? (issue 26: every speed-up must leave them as they were)

Runs six varied probe runs (linear, mlp, mlp-dann; one corpus, two, all five; scrambled labels, augmentation
share 0.5, ``--norm corpus``) with the sergen of ``--sergen`` (default: this checkout) in a demo workspace of
melspec stores with a pink-noise view, and writes their records and rows, without the times, as sorted JSON.
Two outputs, one per checkout, are compared with ``cmp``::

    python bench/same_numbers.py --workspace /tmp/ws --out /tmp/after.json
    python bench/same_numbers.py --workspace /tmp/ws --sergen /path/to/base --out /tmp/before.json
    cmp /tmp/before.json /tmp/after.json && echo identical

The workspace is made on first use (five synthetic corpora at scale 1, melspec clean and pink-noise). CPU
seconds of the runs are printed beside the checkout, a before/after measured in one process each.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def make_workspace(ws: Path) -> None:
    from sergen import CORPORA
    from sergen.config import init_workspace, set_root, use_workspace
    from sergen.corpora import read_corpus, write_manifest
    from sergen.corpora.demo import make_demo
    from sergen.extract import extract

    ws.mkdir(parents=True)
    init_workspace(ws)
    with use_workspace(ws):
        roots = make_demo(ws / "corpora", scale=1.0)
        for corpus in CORPORA:
            write_manifest(read_corpus(corpus, roots[corpus]))
            set_root(corpus, roots[corpus])
            for view in (None, "pink-noise"):
                extract("melspec", corpus, view=view, overwrite=True, show_progress=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True, help="a demo workspace (made when missing)")
    parser.add_argument("--sergen", type=Path, help="the checkout whose sergen runs (default: this one)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.sergen:
        sys.path.insert(0, str(args.sergen.resolve()))
    import sergen

    if not args.workspace.exists():
        make_workspace(args.workspace)
    from sergen.config import use_workspace

    with use_workspace(args.workspace):
        from sergen.experiments.grid import grid_specs
        from sergen.experiments.probe import probe_run

        specs = grid_specs(["melspec"], "emodb,iemocap+cremad", heads=("linear", "mlp"), seeds=(1,))
        specs += grid_specs(["melspec"], "all", heads=("mlp", "mlp-dann"), seeds=(0,), scrambles=(True,),
                            aug_shares=(0.5,), norms=("corpus",))
        out, started = {}, time.process_time()
        for spec in specs:
            run = probe_run(spec)
            record = json.loads(run.record.to_json())
            record.pop("finished", None)
            out[spec.run_id] = [record, run.rows.drop(columns="seconds").to_dict("records")]
        cpu = time.process_time() - started
    args.out.write_text(json.dumps(out, sort_keys=True, default=str))
    print(f"{Path(sergen.__file__).parent.parent}: {len(specs)} runs, {cpu:.1f} CPU-s; written {args.out}")


if __name__ == "__main__":
    sys.exit(main())
