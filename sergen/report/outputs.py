"""Publishing a report into a folder that may hold a user's own files: sergen replaces only what it wrote.

A report is made in a hidden staging folder inside ``--out`` and moved into place only when whole, so a
full disk or a crash leaves the earlier report as it was and nothing half-written. The files sergen put
there are listed in ``.sergen-report.json`` with their digests (``sergen.written_files``); a file at one of
the report's names that is not on that list, or was edited since, is the user's and is never overwritten: the
report is refused, naming it (as ``sergen demo`` refuses a folder it did not make). A folder of an older sergen, which kept no list, counts as sergen's when its
``report.md`` carries sergen's "Made … by sergen" line.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from sergen.errors import SergenError
from sergen.written_files import UNCHECKED, file_sha256, read_listing, still_as_written, write_listing

LISTING = ".sergen-report.json"
FIXED_NAMES = ("report.md", "main_heatmap.png")


def written_before(out: Path) -> dict[str, str | None]:
    """The files (relative paths) an earlier report put in ``out``, with their digests."""
    listing = out / LISTING
    if listing.is_file():
        return read_listing(listing)
    if _older_sergen_report(out / "report.md"):
        return {str(p.relative_to(out)): UNCHECKED for p in out.rglob("*") if p.is_file() and not p.is_symlink()
                and (p.name in FIXED_NAMES or p.parts[len(out.parts)] == "figures")}
    return {}


def _older_sergen_report(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as fh:
            head = fh.read(4000)
    except (OSError, UnicodeDecodeError):
        return False
    return head.startswith("# ") and " UTC by sergen " in head


def foreign(out: Path, names) -> list[str]:
    """Those of ``names`` that exist in ``out`` but sergen did not write, or that were edited since (or links)."""
    ours = written_before(out)
    return [n for n in sorted(names) if ((out / n).exists() or (out / n).is_symlink())
            and (n not in ours or not still_as_written(out / n, ours[n]))]


def refuse_foreign(out: Path, names) -> None:
    found = foreign(out, names)
    if found:
        shown = ", ".join(found[:5]) + (" …" if len(found) > 5 else "")
        raise SergenError(f"{out} holds {len(found)} file(s) at the report's names that sergen did not write, or that "
                          f"were edited after sergen wrote them ({shown}); a report never overwrites them, so nothing "
                          "was written", where=str(out / found[0]), fix="move them away, or give another --out")


@contextmanager
def staged_report(out: Path):
    """A staging folder inside ``out`` to build the report in; on leaving it, its files are moved into ``out``
    (after the check that none would replace a user's file) and the files of the earlier report that this
    one no longer has are removed. On an error nothing of the new report stays behind."""
    refuse_foreign(out, FIXED_NAMES)  # before any work: the usual case, a user's own report.md
    made = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=out, prefix=".report-partial-"))
    except OSError as exc:
        raise _not_written(out, exc) from None
    try:
        yield staging
        _publish(staging, out)
    except OSError as exc:
        raise _not_written(out, exc) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if made and out.is_dir() and not any(out.iterdir()):
            out.rmdir()


def _publish(staging: Path, out: Path) -> None:
    names = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
    refuse_foreign(out, names)
    before = written_before(out)
    new = {name: file_sha256(staging / name) for name in names}
    write_listing(out / LISTING, {**before, **new})  # a crash midway still knows every file as sergen's
    for name in names:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / name, out / name)  # a rename: needs no space, never half a file
    for name in sorted(set(before) - set(names)):  # figures of the earlier report this one does not have
        path = out / name
        if still_as_written(path, before[name]):  # one the user edited since is theirs: left
            path.unlink()
    write_listing(out / LISTING, new)


def _not_written(out: Path, exc: OSError) -> SergenError:
    return SergenError(f"the report could not be written ({exc.strerror or exc}): nothing of it was left behind, and "
                       "an earlier report there is kept as it was", where=str(getattr(exc, "filename", None) or out),
                       fix="free space (or give another --out), then run `sergen report` again")
