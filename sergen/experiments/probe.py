"""One probe run: train a head on one or more corpora, test it on every requested corpus, and return
tidy results (one row per test corpus and metric)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import sergen
from sergen import LABELS, corpus_order
from sergen.config import data_dir, describe_dir
from sergen.errors import SergenError
from sergen.experiments.data import (load_corpus, relabelled, split_vectors, stores_root_key,
                                     training_bank)
from sergen.experiments.scramble import scramble_permutations
from sergen.extractors import canonical_model
from sergen.store.reader import existing_stores
from sergen.train.loop import TrainConfig, predict_proba, train_head
from sergen.train.metrics import METRICS, bootstrap_metrics
from sergen.train.resident import make_sampler
from sergen.train.sampler import SamplerConfig


@dataclass(frozen=True)
class ProbeSpec:
    model: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    head: str = "mlp"
    seed: int = 0
    scramble: bool = False
    aug_share: float = 0.0
    layer: str = "-"
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    training: TrainConfig = field(default_factory=TrainConfig)
    n_boot: int = 200

    @property
    def train_name(self) -> str:
        return "+".join(self.train)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["train"], d["test"] = list(self.train), list(self.test)
        return d

    @property
    def run_id(self) -> str:
        blob = json.dumps(self.as_dict(), sort_keys=True, default=str)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]


def stores_for(model: str, stores_root=None) -> list[str]:
    return [c for m, c in existing_stores(stores_root) if m == model]


def resolve_spec(model: str, train: str, test: str, stores_root=None, **kwargs) -> ProbeSpec:
    """Names and aliases → a checked spec; ``all`` means every corpus with a store for this model."""
    from sergen.corpora import CORPUS_READERS

    model = canonical_model(model)
    have = stores_for(model, stores_root)
    if not have:
        models = sorted({m for m, _ in existing_stores(stores_root)}) or ["none"]
        raise SergenError(f"no stores for model {model!r}; models with stores: {', '.join(models)}",
                          where=str(stores_root) if stores_root else describe_dir("stores"),
                          fix=f"run `sergen extract --model {model} --corpus all` (`sergen models ls` lists extractors)")

    def names(spec: str) -> tuple[str, ...]:
        if spec == "all":
            return tuple(corpus_order(have))
        out = []
        for part in spec.replace("+", ",").split(","):
            canon = CORPUS_READERS.resolve(part)
            if canon not in have:
                raise SergenError(f"no {model} store for corpus {part!r}; stores exist for: {', '.join(have)}",
                                  fix=f"run `sergen extract --model {model} --corpus {canon}`")
            out.append(canon)
        return tuple(out)

    return ProbeSpec(model=model, train=names(train), test=names(test), **kwargs)


def run_probe(spec: ProbeSpec, stores_root=None) -> pd.DataFrame:
    root = stores_root_key(stores_root or data_dir("stores"))
    started = time.perf_counter()
    frame_rate = load_corpus(spec.model, spec.train[0], root, spec.layer).frame_rate
    bank = training_bank(spec.model, spec.train, root, spec.layer)
    perms = scramble_permutations(spec.train) if spec.scramble else {}
    if perms:
        bank = relabelled(bank, {k: perms[c] for k, c in enumerate(spec.train)})

    def vectors(corpus: str, split: str):
        x, y = split_vectors(spec.model, corpus, split, root, spec.layer)
        if corpus in perms:
            y = perms[corpus][y]
        return x, y

    valid = [vectors(c, "valid") for c in spec.train]
    x_val, y_val = np.concatenate([v[0] for v in valid]), np.concatenate([v[1] for v in valid])
    if len(np.unique(y_val)) < 2:
        raise SergenError(f"the validation split of {spec.train_name} holds fewer than two classes")
    sampler = make_sampler(bank, frame_rate, spec.sampler, seed=spec.seed)
    result = train_head(sampler, x_val, y_val, len(LABELS), spec.head, spec.training, seed=spec.seed)

    rows = []
    for corpus in spec.test:
        x, y = vectors(corpus, "test")
        if not len(y):
            raise SergenError(f"{corpus} has no test split in the {spec.model} store",
                              fix=f"rebuild its manifest (`sergen manifest {corpus}`) and store")
        scores = bootstrap_metrics(y, predict_proba(result.model, x), n_boot=spec.n_boot, seed=spec.seed)
        synthetic = load_corpus(spec.model, corpus, root, spec.layer).synthetic
        for metric in METRICS:
            value, low, high = scores[metric]
            rows.append({
                "model": spec.model, "layer": spec.layer, "head": spec.head, "train": spec.train_name,
                "n_train_corpora": len(spec.train), "test": corpus, "metric": metric, "value": value,
                "ci_low": low, "ci_high": high, "seed": spec.seed, "scramble": spec.scramble,
                "aug_share": spec.aug_share, "steps": result.steps, "best_step": result.best_step,
                "val_auroc": result.best_val_auroc, "n_test": len(y), "in_training": corpus in spec.train,
                "synthetic": synthetic, "sergen_version": sergen.__version__, "run_id": spec.run_id,
                "seconds": round(time.perf_counter() - started, 2),
            })
    return pd.DataFrame(rows)


def runs_dir(results_dir=None) -> Path:
    return Path(results_dir or data_dir("results")) / "runs"


def save_run(spec: ProbeSpec, results: pd.DataFrame, results_dir=None) -> Path:
    """``results/runs/<run_id>.csv`` plus the full config as JSON; written atomically (rename) so a
    killed grid never leaves a half-written run that a rerun would skip."""
    out = runs_dir(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{spec.run_id}.json").write_text(json.dumps(spec.as_dict(), indent=2, default=str))
    tmp = out / f".{spec.run_id}.csv.partial"
    results.to_csv(tmp, index=False)
    tmp.replace(out / f"{spec.run_id}.csv")
    return out / f"{spec.run_id}.csv"


def load_results(results_dir=None) -> pd.DataFrame:
    files = sorted(runs_dir(results_dir).glob("*.csv"))
    if not files:
        raise SergenError("no results yet", where=str(runs_dir(results_dir)),
                          fix="run `sergen probe …` or `sergen grid …` first")
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
