"""``--layer weighted``: the head learns a softmax-weighted sum of every stored layer (SUPERB's featurizer,
``sergen.train.heads.WeightedLayerSum``). What the run needs from its stores, checked before anything is
built: every store holds the same two or more layers (a weight belongs to one layer in every corpus), and
the run's memory fits the budget.

Why the memory check: the run reads all L layers, so its utterance vectors and its store banks are L× those
of a one-layer run (``layer_columns`` gives it every column; ``training_set_bytes`` and the grid's plan count
them from there). Banks large enough to be files are memory-mapped and, beyond the budget, sampled from
resident subsets as for any layer (``sergen.train.resident``); what cannot shrink is the process, the
utterance vectors of every store the run reads and the banks small enough to be built in each process's
RAM. Where those alone exceed ``SERGEN_RAM_MIB`` the run is refused, saying by how much and what fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sergen.config import ram_budget_mib
from sergen.errors import SergenError
from sergen.experiments import data
from sergen.experiments.bank_cache import threshold_bytes
from sergen.experiments.memory_plan import MIN_RESIDENT_MIB, PARENT_MIB
from sergen.experiments.store_index import store_ref, views_of
from sergen.train.pooling import uses_squares


def run_stores(model: str, train: tuple[str, ...], test: tuple[str, ...], stores_root) -> list[str]:
    """Every store a run reads: its training corpora, their view stores (the bank holds them) and its test
    corpora."""
    names = [name for corpus in train for name in (corpus, *views_of(model, corpus, stores_root))]
    return list(dict.fromkeys(names + list(test)))


def weighted_layers(model: str, train: tuple[str, ...], test: tuple[str, ...], stores_root) -> list[int]:
    """The layers every store of the run holds, in stored order; an error where a store holds one layer or
    the stores hold different layers."""
    held = {}
    for name in run_stores(model, train, test, stores_root):
        store = store_ref(model, name, stores_root)
        path = store.path
        layers = [int(v) for v in (store.attrs.get("settings", {}).get("layers") or [])]
        if len(layers) < 2:
            raise data.single_layer_error(model, name.split("@")[0], f"the {model}/{name} store", str(path))
        held[name] = layers
    first, layers = next(iter(held.items()))
    for name, other in held.items():
        if other != layers:
            raise SergenError(f"--layer weighted needs the same stored layers in every store of the run: "
                              f"{model}/{first} holds {_listed(layers)}, {model}/{name} holds {_listed(other)}",
                              where=str(store_ref(model, name, stores_root).path),
                              fix=f"extract every corpus of the run with the same --layers, or pick a layer "
                                  f"they share with --layer N (`--layer all` runs each shared layer)")
    return layers


def _listed(layers: list[int]) -> str:
    return "layers " + ",".join(map(str, layers))


@dataclass(frozen=True)
class MemoryNeed:
    """Bytes a run needs that no resident subset can shrink, and the mapped bank bytes it would like."""

    vectors: int  # float32 utterance means of every store the run reads
    ram_banks: int  # training banks below the bank-cache size: built whole in each process's RAM
    mapped_banks: int  # bank-file bytes its training rows touch (sampled from resident subsets beyond the budget)

    @property
    def least_mib(self) -> int:
        """The least the run can be done in: the process, the vectors, the in-RAM banks, and a minimal
        resident subset where banks are files."""
        floor = min(self.mapped_banks, MIN_RESIDENT_MIB * 2**20)
        return PARENT_MIB + _mib(self.vectors + self.ram_banks + floor)


def times_of(pool: str) -> int:
    return 2 if uses_squares(pool) else 1


def _mib(n_bytes: int) -> int:
    return -(-int(n_bytes) // 2**20)


def memory_need(model: str, train: tuple[str, ...], test: tuple[str, ...], stores_root, layer: str,
                pool: str = "mean") -> MemoryNeed:
    """What a run on ``layer`` (``weighted``: every stored layer) holds in memory, from the stores' indexes
    (nothing is read or built); ``--pool mean+std`` doubles the vectors (a std half) and the banks (squares)."""
    times = times_of(pool)
    vectors = ram_banks = 0
    training = {name for corpus in train for name in (corpus, *views_of(model, corpus, stores_root))}
    for name in run_stores(model, train, test, stores_root):
        index = data.store_index(model, name, stores_root, layer)
        width = index.columns.stop - index.columns.start
        vectors += len(index.start) * width * 4
        if name in training:
            size = data.bank_bytes(data.bank_layout(index)[0])
            ram_banks += size if size < threshold_bytes() else 0
    mapped = sum(data.training_set_bytes(model, train, stores_root, layer, pool).values())
    return MemoryNeed(vectors * times, ram_banks * times, mapped)


def check_weighted(spec, stores_root=None) -> list[int]:
    """Everything ``--layer weighted`` needs of a spec's stores (same layers everywhere, memory within the
    budget), before anything is built; the layers. Other layers: nothing to check, []."""
    if spec.layer != "weighted":
        return []
    layers = weighted_layers(spec.model, spec.train, spec.test, stores_root)
    check_weighted_memory(spec.model, spec.train, spec.test, stores_root, layers, pool=spec.pool)
    return layers


def check_weighted_memory(model: str, train: tuple[str, ...], test: tuple[str, ...], stores_root,
                          layers: list[int], budget_mib: int | None = None, pool: str = "mean") -> MemoryNeed:
    """Refuse a weighted run whose all-layer data cannot fit the budget, before any bank is built."""
    budget = ram_budget_mib() if budget_mib is None else budget_mib
    need = memory_need(model, train, test, stores_root, "weighted", pool)
    if need.least_mib <= budget:
        return need
    one = memory_need(model, train, test, stores_root, str(layers[-1]), pool)
    raise SergenError(
        f"--layer weighted reads all {len(layers)} stored layers{' (and their squares: --pool mean+std)' if times_of(pool) > 1 else ''}: it needs {need.least_mib:,} MiB "
        f"({_mib(need.vectors):,} MiB of utterance vectors, {_mib(need.ram_banks):,} MiB of store banks held in "
        f"memory, {PARENT_MIB} MiB for the process) within a budget of {budget:,} MiB; one layer needs "
        f"{one.least_mib:,} MiB", where="the memory budget (SERGEN_RAM_MIB; default half this machine's memory)",
        fix=f"probe one layer (--layer {layers[-1]}, or --layer all for each), extract fewer --layers, or raise "
            f"SERGEN_RAM_MIB to {need.least_mib:,} or more")
