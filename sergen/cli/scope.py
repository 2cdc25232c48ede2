"""What ``all``, ``each`` and repeated items of a command mean, said where they narrow or merge.

``all`` (in ``--train`` and ``--test``) and ``each`` (in ``--train``) mean every corpus with a store of the
model, not the poster's five: a folder corpus with a store joins them, and a poster corpus without one is
left out. The notes here say so whenever that differs from the five, so a narrower test than expected is
never silent. Items given twice (``--models melspec,melspec``, ``seeds = [0, 0]``) would train one run id
twice: they are run once, and a note says so.
"""

from __future__ import annotations

from sergen import CORPORA


def test_scope_note(test: str, model: str, tested, protocol: str = "") -> str | None:
    """A note when ``--test all`` is not the poster's five corpora."""
    from sergen.corpora.keywords import keywords_lowered

    if keywords_lowered(str(test)) != "all":
        return None
    tested = list(tested)
    if protocol:
        return f"--test all with --protocol {protocol}: tested on that protocol's corpora only ({', '.join(tested)})"
    missing = [c for c in CORPORA if c not in tested]
    extra = [c for c in tested if c not in CORPORA]
    if not missing and not extra:
        return None
    note = f"--test all means every corpus with a {model} store: {', '.join(tested)}"
    if missing:
        note += (f"; none for {', '.join(missing)}, so not tested (`sergen extract --model {model} --corpus "
                 f"{','.join(missing)}` adds them)")
    return note


def unique_items(values: list, flag: str, notes: list[str]) -> list:
    """``values`` without repeats, in order; a note names what was given more than once."""
    kept = list(dict.fromkeys(values))
    if len(kept) < len(values):
        twice = [v for v in kept if values.count(v) > 1]
        notes.append(f"{flag} lists {', '.join(map(str, twice))} more than once: each is run once")
    return kept
