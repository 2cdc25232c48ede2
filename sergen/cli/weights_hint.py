"""The line a hint adds when it sends the user to ``sergen extract`` for a model whose weights are not on this
machine: that extract would stop on the weights, so the hint says so, and how to point at them."""

from __future__ import annotations

from sergen.errors import SergenError


def weights_needed(model: str, recorded: dict | None = None) -> str | None:
    """None where ``model`` needs no weights or has them here (the configured path, else the local cache);
    else what to do first. ``recorded``: the weights record of the store to be rewritten, whose checkpoint a
    rewrite must use (other weights would give its utterances other frames than the rest)."""
    from sergen.extractors import EXTRACTORS, get_extractor

    if model not in EXTRACTORS:
        return None
    try:
        if get_extractor(model).weights_present():
            return None
        why = "which are not on this machine (neither configured nor in the local cache)"
    except SergenError as exc:  # configured, but not usable
        why = f"which are not usable here ({exc.what})"
    same = ""
    if isinstance(recorded, dict) and recorded.get("id"):
        revision = f" at revision {recorded['revision']}" if recorded.get("revision") else ""
        same = (f"; give the checkpoint this store was made from ({recorded['id']}{revision}), or the utterances "
                "rewritten will not match the rest")
    return (f"that extraction needs the {model} weights ({EXTRACTORS.get(model).source}), {why}: point at a local "
            f"copy with `--weights PATH`, or once with `sergen config set-weights {model} PATH`, or let a machine "
            f"with network access download them first (`sergen models ls` shows which models have theirs here){same}")
