"""``sergen emobox-cross``: resolve EmoBox's cross-corpus test sets (track 2) against the four corpora's
manifests, for ``--protocol emobox-cross``."""

from __future__ import annotations

from pathlib import Path

import typer

from sergen.cli.app import app
from sergen.console import console


@app.command("emobox-cross")
def emobox_cross(
    emobox: Path = typer.Option(..., help="an EmoBox checkout (holding data/track2/)"),
    iemocap: str = typer.Option("iemocap", help="the corpus (manifest) holding IEMOCAP"),
    meld: str = typer.Option("emobox-meld", help="the corpus (manifest) holding MELD"),
    ravdess: str = typer.Option("ravdess", help="the corpus (manifest) holding RAVDESS"),
    savee: str = typer.Option("emobox-savee", help="the corpus (manifest) holding SAVEE"),
):
    """Match each track-2 file name to its corpus's utterance (by name, then class and speaker; never a guess)
    and write manifests/protocols/emobox-cross.csv; then `sergen probe --protocol emobox-cross --train C`."""
    from sergen.protocols.emobox_cross import SETS, build_protocol, write_protocol

    corpora = dict(zip(SETS, (iemocap.strip(), meld.strip(), ravdess.strip(), savee.strip())))
    table = build_protocol(emobox, corpora)  # every file read and checked before anything is written
    path = write_protocol(table)
    for benchmark_set, corpus in corpora.items():
        console.print(f"{benchmark_set.upper()}: {int((table.set == benchmark_set).sum())} test utterances of {corpus}",
                      highlight=False)
    console.print(f"wrote {path}", highlight=False)
