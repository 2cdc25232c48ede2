"""Which manifest a typed corpus name reaches, and which names a new manifest may not take (hostile pass 37).

A corpus option reads a name in any case and by its aliases (``CSV`` is folder, ``Berlin`` emodb), and a
manifest file is named as the corpus was. So a manifest named like a reader's name or alias in another
spelling (``csv.csv``) is never reached by its name: the option reads the reader's own manifest instead. Two
manifests differing only in case (``Mine.csv``, ``MINE.csv``) leave a name in a third case (``mine``) ambiguous,
and on a case-insensitive filesystem (macOS, Windows) they are one file. These are refused by name, never
guessed. Kept free of heavy imports: the CLI calls it while it reads its options."""

from __future__ import annotations

from pathlib import Path

from sergen.errors import SergenError

EMOBOX_PREFIX = "emobox"


def emobox_spelled(name: str) -> str:
    """``emobox:<dataset>`` (as ``sergen manifest`` takes it, the prefix in any case) as its manifest is named,
    ``emobox-<dataset>``; any other name as given."""
    prefix, colon, dataset = str(name).partition(":")
    if colon and prefix.strip().lower() == EMOBOX_PREFIX and dataset.strip():
        return f"{EMOBOX_PREFIX}-{dataset.strip()}"
    return name


def manifests_folder() -> Path:
    """Where manifests are (``manifest.manifest_path``'s folder; read here from the configuration, since the
    manifest module imports this one)."""
    from sergen.config import data_dir

    return data_dir("manifests")


def stems_in_any_case(name: str, folder: Path | None = None) -> list[str]:
    """The manifests (their names, sorted) whose name is ``name`` in some case, ``name`` itself included."""
    folder = folder or manifests_folder()
    try:
        return sorted(p.stem for p in folder.glob("*.csv") if p.stem.casefold() == str(name).casefold())
    except OSError:
        return []


def refuse_shadowed(typed: str, canonical: str) -> None:
    """Refuse ``typed`` (a reader's name or alias, read as ``canonical``) when a manifest carries that name in a
    spelling other than ``canonical`` (``csv.csv`` from a ``manifest folder --name csv`` made before this was
    refused): the option would silently read ``canonical``'s manifest and store, another corpus."""
    try:
        shadowed = [s for s in stems_in_any_case(typed) if s != canonical]
    except (OSError, ValueError):
        return
    if not shadowed:
        return
    files = ", ".join(f"manifests/{s}.csv" for s in shadowed)
    first = typed if typed in shadowed else shadowed[0]
    remake = remake_hint(first)
    raise SergenError(f"corpus {typed!r} is ambiguous: sergen reads {typed!r} as {canonical} (a name or alias of a "
                      f"corpus it reads itself), but another corpus's manifest carries that name: {files}",
                      fix=f"type `{canonical}` for {canonical}'s own manifest; to use manifests/{first}.csv, "
                          f"remake it under a name of its own: {remake}, then delete the old manifest")


def remake_hint(stem: str) -> str:
    """The ``manifest folder`` command that remakes a folder corpus's manifest under a free name, with the root
    and label CSV its sidecar recorded where it has them."""
    import json

    root, csv = "DIR", "LABELS.csv"
    try:
        meta = json.loads((manifests_folder() / f"{stem}.json").read_text())
        root = meta.get("root") or root
        csv = (meta.get("options") or {}).get("csv") or csv
    except (OSError, ValueError, AttributeError):
        pass
    return f"`sergen manifest folder --root {root} --csv {csv} --name my-{stem.lower()}`"


def refuse_ambiguous(typed: str, stems: list[str]) -> None:
    """Refuse a name that is no manifest's exact name but several's in another case (``mine``: Mine, MINE)."""
    if len(stems) < 2:
        return
    raise SergenError(f"corpus {typed!r} is ambiguous: the manifests {', '.join(stems)} differ from it only in "
                      "case, and sergen reads a name in another case only where one matches",
                      fix="type one of them exactly: " + " or ".join(stems))


def refuse_case_twin(name: str, folder: Path) -> None:
    """``sergen manifest`` refuses to write ``<name>.csv`` beside a manifest named so in another case: on a
    case-insensitive filesystem the two are one file (the other corpus's manifest would be overwritten, and its
    stores would no longer match it), and elsewhere the name in a third case could not be read."""
    twins = [s for s in stems_in_any_case(name, folder) if s != name]
    if twins:
        shown = ", ".join(f"{folder / t}.csv" for t in twins)
        raise SergenError(f"a corpus named {' and '.join(twins)} already has a manifest ({shown}); {name!r} differs "
                          "from it only in case, so on a case-insensitive filesystem (macOS, Windows) it would "
                          f"overwrite it, and elsewhere `--corpus {name.lower()}` could mean either",
                          fix=f"to remake {twins[0]}, type its name exactly (--name {twins[0]}); else give this "
                              "corpus a name of its own")
