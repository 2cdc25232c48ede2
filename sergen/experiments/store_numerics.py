"""One run reads frames computed one way: stores of another precision (fp32, bf16, fp16) or Whisper input
mode (padded, trimmed) hold other numbers for the same audio, so a probe that would mix them is refused
before it trains, naming which store was made how."""

from __future__ import annotations

from sergen.errors import SergenError
from sergen.experiments.store_index import store_ref

DEFAULTS = {"precision": "fp32", "input": "padded"}
"""The store settings that change the numbers but not the meaning, and their value where a store records none
(stores made before the option existed, and every store made with the default)."""


def numerics(attrs: dict) -> tuple[tuple[str, str], ...]:
    settings = attrs.get("settings") or {}
    return tuple((key, str(settings.get(key, default))) for key, default in DEFAULTS.items())


def check_same_numerics(model: str, stores: list[str], stores_root=None) -> None:
    """Every store of a run (training corpora, their views, test corpora) made at one precision and input mode."""
    made: dict[tuple, list[str]] = {}
    for name in stores:
        made.setdefault(numerics(store_ref(model, name, stores_root).attrs), []).append(name)
    if len(made) < 2:
        return
    kinds = "; ".join(f"{', '.join(names)}: {', '.join(f'{k} {v}' for k, v in key)}" for key, names in made.items())
    raise SergenError(
        f"the {model} stores of this run were computed differently ({kinds}); their frames differ for the same audio, "
        "so training or testing across them would mix two feature sets", where=str(store_ref(model, stores[0], stores_root).path),
        fix="re-extract the odd stores with the same --precision and --input-mode (`sergen extract --model "
            f"{model} --corpus C --precision P --overwrite`), or keep each kind under its own --stores root")
