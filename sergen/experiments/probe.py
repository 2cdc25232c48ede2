"""One probe run: train a head on one or more corpora, test it on every requested corpus, and return
tidy results (one row per test corpus and metric) with the run's record (``sergen.results``)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

import sergen
from sergen import LABELS, corpus_order
from sergen.config import data_dir, describe_dir, workspace_dirs
from sergen.console import err_console
from sergen.errors import SergenError, UnknownNameError
from sergen.experiments.data import (corpus_data, relabelled, split_rows, store_bank, store_ref, stores_root_key,
                                     training_bank_of, utterance_std)
from sergen.experiments.protocol_join import assignment, corpus_protocols
from sergen.experiments.scramble import scramble_permutations
from sergen.experiments.store_numerics import check_same_numerics
from sergen.experiments.weighted_layers import check_weighted, weighted_layers
from sergen.protocols.protocol import (NAMED, Protocol, file_digest, named_protocol, parse_folds, parse_labels,
                                       parse_named, protocol_file, shown_option)
from sergen.extractors import EXTRACTORS, canonical_model
from sergen.results import ROW_COLUMNS, RunRecord, rows_digest, stores_of
from sergen.results import load_results as load_results  # noqa: F401  (the old home of these names)
from sergen.results import runs_dir as runs_dir  # noqa: F401
from sergen.experiments.run_scores import UtteranceScores, write_scores
from sergen.results import save_run as save_rows
from sergen.store.reader import existing_stores
from sergen.store.ref import StoreRef
from sergen.threads import one_numeric_thread
from sergen.train.loop import TrainConfig, predict_proba, train_head
from sergen.train.metrics import METRICS, bootstrap_metrics, confusion_counts
from sergen.train.frame_stream import FrameSampler, UtteranceFrames, UtteranceFrameSets
from sergen.train.head_base import canonical_head_options
from sergen.train.heads import ADVERSARIAL, HEADS, hidden_features, is_sequence, layer_weights
from sergen.train.norms import Utterances, check_norm, norm_strategy
from sergen.train.pooling import check_pool, pooling, uses_squares
from sergen.train.resident import make_sampler, planned_by_grid, sampling_record
from sergen.train.sampler import SamplerConfig, WindowSampler
from sergen.spec import OPTIONS, default, id_defaults

ID_DEFAULTS = id_defaults()  # spec field → the value at which the saved spec leaves it out
NOT_IN_ID = tuple(o.name for o in OPTIONS if o.home == "spec" and not o.in_id)


@dataclass(frozen=True)
class ProbeSpec:
    """Everything a run's numbers depend on besides its stores. The augmentation share lives in the
    sampler config only (``aug_share`` reads it), so what is recorded is what training used."""

    model: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    head: str = default("head")  # every default and bound: the run-option table, ``sergen.spec``
    head_opt: str = default("head_opt")  # the head's hyper-parameters away from its defaults (``head_base``)
    seed: int = default("seed")
    scramble: bool = default("scramble")
    layer: str = default("layer")
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    training: TrainConfig = field(default_factory=TrainConfig)
    n_boot: int = default("n_boot")
    labels: str = default("labels")  # the protocol (``sergen.protocols.protocol``): label set, folds, this run's fold
    folds: str = default("folds")
    fold: int = default("fold")
    protocol: str = default("protocol")
    norm: str = default("norm")  # a registered normalisation (``sergen.train.norms``)
    pool: str = default("pool")  # ``sergen.train.pooling``: mean, or mean+std (2×D inputs)

    @property
    def protocol_spec(self) -> Protocol:
        return Protocol(self.labels, self.folds, self.fold, self.protocol)

    @property
    def aug_share(self) -> float:
        return self.sampler.aug_share

    @property
    def train_name(self) -> str:
        return "+".join(self.train)

    def as_dict(self) -> dict:
        """The spec as saved and hashed; an option with an id default (``sergen.spec``) only where it differs
        from it (so runs made before the option existed keep their ids)."""
        d = asdict(self)
        d["train"], d["test"] = list(self.train), list(self.test)
        for key, at_default in ID_DEFAULTS.items():
            if d[key] == at_default:
                del d[key]
        for key in NOT_IN_ID:
            d.pop(key, None)  # already gone where its id default was also declared
        return d

    @property
    def run_id(self) -> str:
        blob = json.dumps(self.as_dict(), sort_keys=True, default=str)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]


@dataclass
class ProbeRun:
    """A finished run: its tidy rows and its record (store fingerprints, history, confusion counts)."""

    rows: pd.DataFrame
    record: RunRecord
    scores: dict = field(default_factory=dict)  # test corpus → UtteranceScores (per utterance), saved beside the record


def stores_for(model: str, stores_root=None) -> list[str]:
    return [c for m, c in existing_stores(stores_root or data_dir("stores")) if m == model]


def refuse_files_named_like_stores(model: str, stores_root) -> None:
    """A model folder, or a ``<corpus>.zarr``, that is a file is named as such, not taken for "no stores"."""
    from sergen.store.layout import store_path
    from sergen.store.location import check_store_slot, is_remote

    path = store_path(model, "corpus", stores_root or data_dir("stores"))
    if is_remote(path):
        return  # an fsspec URL: no local file can sit there
    folder = path.parent
    check_store_slot(path)
    for path in sorted(folder.glob("*.zarr")) if folder.is_dir() else []:
        check_store_slot(path)


def _no_stores_error(typed: str, model: str, stores_root) -> SergenError:
    """An unknown model gets the known names; a known one without stores gets a command that works."""
    from sergen.corpora.manifest import manifest_path

    with_stores = sorted({m for m, _ in existing_stores(stores_root or data_dir("stores"))})
    where = str(stores_root) if stores_root else describe_dir("stores")
    if model not in EXTRACTORS and not model.startswith("hf-"):
        return UnknownNameError(
            f"unknown model {model!r}; extractors: {', '.join(EXTRACTORS.names())}; "
            f"models with stores here: {', '.join(with_stores) or 'none'}", where=where,
            fix="pick one of them (`sergen models ls` describes the extractors)")
    manifests = sorted(p.stem for p in manifest_path("x").parent.glob("*.csv"))
    fix = (f"run `sergen extract --model {typed} --corpus all` (manifests present: {', '.join(manifests)})"
           if manifests else f"make a manifest first (`sergen manifest CORPUS --root DIR`, or `sergen demo-data`), "
                             f"then `sergen extract --model {typed} --corpus all`")
    return SergenError(f"no stores for model {model!r}; models with stores: {', '.join(with_stores) or 'none'}",
                       where=where, fix=fix)


def resolve_spec(model: str, train: str, test: str, stores_root=None, aug_share: float | None = None,
                 **kwargs) -> ProbeSpec:
    """Names and aliases → a checked spec; ``all`` means every corpus with a store for this model.
    ``aug_share`` goes into the sampler config, the one place training reads it from."""
    from sergen.corpora import CORPUS_READERS
    from sergen.corpora.keywords import keywords_lowered
    from sergen.corpora.manifest import manifest_command

    train, test = keywords_lowered(train), keywords_lowered(test)  # ``ALL`` is ``all``, as ``EmoDB`` is emodb
    typed, model = model, canonical_model(model)
    refuse_files_named_like_stores(model, stores_root)
    have = stores_for(model, stores_root)
    if not have:
        raise _no_stores_error(typed, model, stores_root)

    def names(spec: str) -> tuple[str, ...]:
        if spec == "all":
            return tuple(corpus_order(have))
        out = []
        for part in spec.replace("+", ",").split(","):
            if not part.strip():  # ``emodb+`` or ``a,,b``: a corpus left out, not one named ''
                raise SergenError(f"{spec!r} has an empty corpus name (a '+' or ',' with nothing beside it)",
                                  fix=f"name a corpus on each side, e.g. {'+'.join(have[:2]) or 'emodb+ravdess'}")
            canon = CORPUS_READERS.resolve(part.strip())
            if canon == "each":
                raise SergenError("`each` (one run per corpus) is for `sergen grid`: a probe trains one head",
                                  fix="name the training corpora (e.g. emodb+ravdess), or `all`; or run "
                                      "`sergen grid --train each …`")
            if canon not in have:
                raise SergenError(f"no {model} store for corpus {part!r}; stores exist for: {', '.join(have)}",
                                  fix=f"pick one of them, or run `sergen extract --model {model} --corpus {canon}` "
                                      f"when {manifest_command(canon)} has made its manifest")
            out.append(canon)
        return tuple(out)

    if aug_share is not None:
        sampler = kwargs.get("sampler", SamplerConfig())
        if sampler.aug_share not in (0.0, aug_share):
            raise ValueError(f"aug_share={aug_share} disagrees with the sampler config's {sampler.aug_share}")
        kwargs["sampler"] = replace(sampler, aug_share=float(aug_share))
    if kwargs.get("protocol") and test == "all":  # a named protocol's corpora are all it tests on
        corpora = NAMED[parse_named(kwargs["protocol"])]["corpora"]
        if corpora is None:  # emobox-cross: the corpora resolved from EmoBox's track-2 files
            from sergen.protocols.emobox_cross import benchmark_corpora

            corpora = tuple(benchmark_corpora())
        test = ",".join(corpora)
    # corpora in the tables' order: the same sets given in another order are the same run (one id)
    spec = ProbeSpec(model=model, train=tuple(corpus_order(names(train))), test=tuple(corpus_order(names(test))),
                     **kwargs)
    if spec.protocol:
        labels, folds = named_protocol(parse_named(spec.protocol), spec.train, spec.test, spec.labels, spec.folds)
        spec = replace(spec, labels=labels, folds=folds)
    spec = replace(spec, labels=parse_labels(spec.labels), folds=parse_folds(spec.folds), norm=check_norm(spec.norm))
    spec = replace(spec, pool=check_pool(spec.pool))
    norm_strategy(spec.norm).check(spec.pool)
    spec = replace(spec, head_opt=canonical_head_options(spec.head, spec.head_opt))
    if HEADS.canonical(spec.head) in ADVERSARIAL and len(spec.train) < 2:
        raise SergenError(f"--head {spec.head} learns against the corpus of each window: it needs a multi-corpus "
                          f"training set, not {spec.train_name} alone",
                          fix="train on several corpora (e.g. --train iemocap+cremad or all), or use --head mlp")
    if is_sequence(spec.head):  # windows of frames: the store, window and memory must suit them
        from sergen.experiments.sequence_checks import check_sequence_head

        check_sequence_head(spec, stores_root)
    check_same_numerics(spec.model, stores_of(spec.model, spec.train, spec.test, spec.sampler.aug_share, stores_root),
                        stores_root)  # one precision and input mode in the whole run
    check_weighted(spec, stores_root)  # --layer weighted: the same layers everywhere, all within the budget
    if not spec.folds and spec.layer != "all":
        check_protocol(spec, stores_root)
    return spec


def check_protocol(spec: ProbeSpec, stores_root=None) -> None:
    """Before anything runs: the label set and folds apply to these corpora (shared classes, fold counts,
    leaks), and every utterance the run uses has frames in its store with the audio it was extracted from."""
    from sergen.experiments.data import store_index
    from sergen.experiments.protocol_join import assignment, check_store_covers

    root = stores_root_key(stores_root or data_dir("stores"))
    keys, _, _ = corpus_protocols(spec.model, spec.train, spec.test, root, spec.protocol_spec)
    for corpus, key in keys.items():
        assignment(key)
        check_store_covers(store_index(spec.model, corpus, root, spec.layer), key)


def spec_from_record(path) -> ProbeSpec:
    """The spec of a saved run (``results/runs/<id>.json``), to repeat it exactly: the same spec gives the
    same run id, so the rerun replaces the saved run. Refused when the rerun could not be exact: the record
    was edited or comes from another version, or the labels, splits or audio it used changed since."""
    from sergen.experiments.protocol_join import protocol_change
    from sergen.results import OldRecord, RunRecord

    path = Path(path)
    fix = "give a results/runs/<run_id>.json file (`sergen report` lists the runs)"
    if path.is_dir():
        raise SergenError("--rerun takes a run record (a .json file), not a folder", where=str(path), fix=fix)
    try:
        record = RunRecord.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SergenError("no such run record", where=str(path), fix=fix) from None
    except UnicodeDecodeError:
        raise SergenError("not a run record: the file is not UTF-8 text", where=str(path), fix=fix) from None
    except (OldRecord, ValueError, OSError) as exc:
        raise SergenError(f"not a run record sergen can repeat: {exc}", where=str(path), fix=fix) from None
    origin = (f"it was edited, or written by another sergen (it says {record.sergen_version}; this is "
              f"{sergen.__version__})")
    spec = _spec_of(record.spec, str(path), origin)
    if spec.run_id != record.run_id:
        raise SergenError(f"the record's spec gives run id {spec.run_id}, not its own {record.run_id}: {origin}",
                          where=str(path), fix="rerun with the sergen that wrote it, or run the probe anew")
    for value in (spec.labels, spec.folds):
        found = protocol_file(value)
        if found and not Path(found[1]).is_file():
            raise SergenError(f"the {found[0]} this run used, {found[1]}, is gone: the rerun could not be exact",
                              where=str(path), fix=f"restore the {found[0]} there (its content is checked), or "
                                                   f"run a new probe with another one")
    check_weighted(spec)
    check_protocol(spec)
    changed = protocol_change(record, stores_root_key(data_dir("stores")))
    if changed:
        raise SergenError(f"the run cannot be repeated exactly: {changed}", where=str(path),
                          fix="restore what it used, or run the probe anew with the options you want (the saved "
                              "run is kept until then)")
    return spec


def _spec_of(values: dict, where: str, origin: str) -> ProbeSpec:
    """A record's spec dict → ProbeSpec, naming any key or value this sergen's specs do not have."""
    d = dict(values)
    for name, cls, part in (("spec", ProbeSpec, d), ("sampler", SamplerConfig, d.get("sampler")),
                            ("training", TrainConfig, d.get("training"))):
        if not isinstance(part, dict):
            raise SergenError(f"the record's {name} is not a table of settings: {origin}", where=where,
                              fix="run the probe anew")
        unknown = sorted(set(part) - set(cls.__dataclass_fields__))
        if unknown:
            raise SergenError(f"the record's {name} has setting(s) {', '.join(unknown)} that this sergen does not "
                              f"know: {origin}", where=where, fix="run the probe anew with the options you want")
    try:
        sampler, training = _sampler_from(d.pop("sampler")), TrainConfig(**d.pop("training"))
        spec = ProbeSpec(**{**d, "train": tuple(d["train"]), "test": tuple(d["test"]), "sampler": sampler,
                            "training": training})
        _check_values(spec)
    except (TypeError, ValueError, KeyError) as exc:
        raise SergenError(f"the record's spec does not fit this sergen's settings ({exc}): {origin}", where=where,
                          fix="run the probe anew with the options you want") from None
    except SergenError as exc:
        raise SergenError(f"the record's spec does not fit this sergen's settings ({exc.what}): {origin}",
                          where=where, fix="run the probe anew with the options you want") from None
    return spec


def _check_values(spec: ProbeSpec) -> None:
    """What the command line checks at its boundary, for a spec read from a file (a hand-edited record)."""
    from sergen.train.pooling import check_pool

    for option in OPTIONS:  # types and bounds as the run-option table declares them
        if option.home == "spec" and option.type in (int, bool):
            problem = option.out_of_bounds(getattr(spec, option.name))
            if problem:
                raise ValueError(problem)
    if spec.head not in HEADS:
        raise ValueError(f"head {spec.head!r} is not one of {', '.join(HEADS.names())}")
    try:
        if canonical_head_options(spec.head, spec.head_opt) != spec.head_opt:
            raise ValueError(f"head_opt {spec.head_opt!r} is not written as sergen writes it")
    except SergenError as exc:
        raise ValueError(exc.what) from None
    norm_strategy(check_norm(spec.norm)).check(check_pool(spec.pool))


def _sampler_from(values: dict) -> SamplerConfig:
    return SamplerConfig(**{**values, "window_s": tuple(values["window_s"])})


def stored_layers(model: str, corpus: str, stores_root=None) -> list[int]:
    """The layers a multi-layer store holds side by side (``settings.layers``)."""
    return [int(v) for v in store_ref(model, corpus, stores_root).attrs.get("settings", {}).get("layers") or []]


def layer_specs(spec: ProbeSpec, stores_root=None) -> list[ProbeSpec]:
    """``--layer all``: one spec per layer every store of the run holds (a layer sweep)."""
    if spec.layer != "all":
        return [spec]
    held = [stored_layers(spec.model, c, stores_root) for c in dict.fromkeys(spec.train + spec.test)]
    common = sorted(set(held[0]).intersection(*held[1:]))
    if not common:
        raise SergenError(f"--layer all: the {spec.model} stores of this run hold no common layers "
                          f"({'single-layer stores' if not any(held) else 'different layers'})",
                          fix="extract with --layers (e.g. --layers 6,12,18,24) for a layer sweep, or pick --layer N")
    specs = [replace(spec, layer=str(layer)) for layer in common]
    for one in specs:
        if not one.folds:
            check_protocol(one, stores_root)
    return specs


def fold_specs(spec: ProbeSpec, stores_root=None) -> list[ProbeSpec]:
    """One spec per fold of the spec's fold scheme (the spec itself without folds)."""
    from sergen.experiments.protocol_join import fold_count

    if not spec.folds:
        return [spec]
    root = stores_root_key(stores_root or data_dir("stores"))
    n = fold_count(spec.model, spec.train, root, spec.folds)
    specs = [replace(spec, fold=k) for k in range(1, n + 1)]
    for s in specs:
        check_protocol(s, stores_root)
    return specs


def absent_classes(y: np.ndarray, classes=LABELS) -> list[str]:
    """The run's classes with no utterance in ``y``: macro metrics are then averaged over fewer classes."""
    return [label for k, label in enumerate(classes) if not np.any(y == k)]


def shown_labels(labels: str) -> str:
    """A label set as rows show it: a mapping file by its name and content digest, not its absolute path."""
    return shown_option(labels)


def shown_folds(folds: str) -> str:
    return shown_option(folds)


def option_values(spec: ProbeSpec) -> dict:
    """Every run option's value as the results rows show it (``sergen.spec``): the training set by its name, a
    label or fold file by its name and content digest."""
    values = {o.name: o.value_in(spec) for o in OPTIONS if o.row}
    values.update(train=spec.train_name, labels=shown_labels(spec.labels), folds=shown_folds(spec.folds))
    return values


def probe_run(spec: ProbeSpec, stores_root=None) -> ProbeRun:
    """Train and test one spec; the record holds the fingerprints of every store read (taken before
    reading, so a store rebuilt during the run makes the run stale rather than wrongly fresh). BLAS and
    OpenMP run on one thread (``sergen.threads.one_numeric_thread``): the same numbers on any machine."""
    with one_numeric_thread():
        return _probe_run(spec, stores_root)


def _probe_run(spec: ProbeSpec, stores_root=None) -> ProbeRun:
    dirs = workspace_dirs()
    root = stores_root_key(stores_root or dirs.stores)
    started = time.perf_counter()
    store = {c: StoreRef.of(spec.model, c, dirs, root, spec.layer) for c in dict.fromkeys(spec.train + spec.test)}
    record = RunRecord(run_id=spec.run_id, spec=spec.as_dict(), stores_root=root,
                       stores=run_fingerprints([store[c] for c in spec.train], [store[c] for c in spec.test],
                                               spec.aug_share))
    keys, classes, left_out = corpus_protocols(spec.model, spec.train, spec.test, root, spec.protocol_spec)
    record.classes, record.left_out = list(classes), left_out
    record.protocol = {c: assignment(k).fingerprint for c, k in keys.items()}
    record.protocol_files = {v: file_digest(v) for v in (spec.labels, spec.folds) if protocol_file(v)}
    frame_rate = corpus_data(store[spec.train[0]]).frame_rate
    bank = training_bank_of(tuple(store[c] for c in spec.train), tuple(keys[c] for c in spec.train), spec.norm,
                            spec.pool)
    sequence = is_sequence(spec.head)
    perms = scramble_permutations(spec.train, len(classes)) if spec.scramble else {}
    if perms:
        bank = relabelled(bank, {k: perms[c] for k, c in enumerate(spec.train)})

    def vectors(corpus: str, split: str):
        if sequence:  # whole utterances as sequences of frames (scored whole, never cut into windows)
            data, rows = split_rows(spec.model, corpus, split, root, spec.layer, keys[corpus])
            x = utterance_frames(spec, bank, data, rows, root, keys[corpus])
            y = data.label[rows]
            return x, (perms[corpus][y] if corpus in perms else y), y, data.utt_id[rows]
        if bank.group_map is None:  # the same for every run of the process: made once (``utterance_vectors``)
            x, y, ids = utterance_vectors(spec.model, corpus, split, root, spec.layer, keys[corpus], spec.pool)
            return x, (perms[corpus][y] if corpus in perms else y), y, ids
        data, rows = split_rows(spec.model, corpus, split, root, spec.layer, keys[corpus])
        x, y = normalised_vectors(spec, bank, data, rows, root, keys[corpus]), data.label[rows]
        return x, (perms[corpus][y] if corpus in perms else y), y, data.utt_id[rows]

    valid = [vectors(c, "valid") for c in spec.train]
    x_val, y_val = joined([v[0] for v in valid]), np.concatenate([v[1] for v in valid])
    if len(np.unique(y_val)) < 2:
        raise SergenError(f"the validation split of {spec.train_name} holds fewer than two classes")
    sampler = make_sampler(bank, frame_rate, spec.sampler, seed=spec.seed,
                           sampler_class=FrameSampler if sequence else WindowSampler)
    layers = weighted_layers(spec.model, spec.train, spec.test, root) if spec.layer == "weighted" else []
    result = train_head(sampler, x_val, y_val, len(classes), spec.head, spec.training, seed=spec.seed,
                        n_layers=max(1, len(layers)), head_options=spec.head_opt)
    record.history = [list(map(float, entry)) for entry in result.history]
    record.sampling = sampling_record(sampler)
    if record.sampling and not planned_by_grid():  # a grid's memory plan says so once, not per run
        s = record.sampling
        err_console.print(f"[yellow]note: {spec.train_name}'s training rows ({s['training_rows_mib']:,.0f} MiB) exceed "
                          f"this process's RAM budget ({s['budget_mib']:,.0f} MiB): windows were drawn from rotating "
                          f"resident subsets ({s['share']:.0%} at a time, {s['rotations']} rotation(s)); the run "
                          "records it, and its numbers may differ from a run sampled whole (more SERGEN_RAM_MIB)",
                          highlight=False)
    if layers:
        record.layer_weights = {str(k): float(w) for k, w in zip(layers, layer_weights(result.model))}

    rows, held_out, held_out_labels, scores_by_corpus = [], {}, {}, {}
    for corpus in spec.test:
        x, y, y_true, test_ids = vectors(corpus, "test")
        if corpus in spec.train:
            held_out[corpus], held_out_labels[corpus] = x, y_true
        if not len(y):
            raise SergenError(f"{corpus} has no test split in the {spec.model} store",
                              fix=f"rebuild its manifest (`sergen manifest {corpus}`) and store")
        proba = predict_proba(result.model, x)
        scores_by_corpus[corpus] = UtteranceScores(test_ids, y, proba)
        scores = bootstrap_metrics(y, proba, n_boot=spec.n_boot, seed=spec.seed)
        record.confusion[corpus] = confusion_counts(y, proba, len(classes)).tolist()
        absent = absent_classes(y_true, classes)
        if absent:
            record.absent_classes[corpus] = absent
        synthetic = corpus_data(store[corpus]).synthetic
        for metric in METRICS:
            value, low, high = scores[metric]
            row = {**option_values(spec), "n_train_corpora": len(spec.train), "test": corpus, "metric": metric,
                   "value": value, "ci_low": low, "ci_high": high, "steps": result.steps,
                   "best_step": result.best_step, "val_auroc": result.best_val_auroc, "n_test": len(y),
                   "absent_classes": ",".join(absent), "in_training": corpus in spec.train, "synthetic": synthetic,
                   "sergen_version": sergen.__version__, "run_id": spec.run_id,
                   "seconds": round(time.perf_counter() - started, 2), "classes": ",".join(classes)}
            rows.append({c: row[c] for c in ROW_COLUMNS if c in row})  # the saved files' column order
    record.corpus_id_accuracy = corpus_id_accuracy(result.model, spec.train, [v[0] for v in valid], held_out)
    record.discriminator_accuracy = discriminator_accuracy(result.model, spec.train, held_out)
    record.silhouette_class, record.silhouette_corpus = held_out_silhouettes(result.model, spec.train, held_out,
                                                                             held_out_labels)
    table = pd.DataFrame(rows)
    table["corpus_id_acc"] = record.corpus_id_accuracy
    return ProbeRun(table, record, scores_by_corpus)


def run_fingerprints(train: list[StoreRef], test: list[StoreRef], aug_share: float) -> dict[str, dict | None]:
    """``model/name`` → fingerprint of every store a run reads (``sergen.results.stores_of``'s order): each
    training corpus, its complete view stores when views are drawn, each test corpus; taken before reading."""
    read = [*train, *(view for clean in train for view in clean.views())] if aug_share > 0 else list(train)
    return {f"{s.model}/{s.name}": s.fingerprint for s in dict.fromkeys([*read, *test])}


def utterance_vectors(model: str, corpus: str, split: str, root, layer: str, key, pool: str):
    """One split's utterance vectors (the store's per-utterance means, with their stds for mean+std pooling)
    and labels under the run's protocol, unnormalised: made once per process and shared by every run that
    validates or tests on them, while the store does not change (its version is part of the key)."""
    return _utterance_vectors(model, corpus, split, root, layer, key, pool, store_ref(model, corpus, root).version)


@lru_cache(maxsize=64)
def _utterance_vectors(model: str, corpus: str, split: str, root, layer: str, key, pool: str, version: tuple):
    data, rows = split_rows(model, corpus, split, root, layer, key)
    halves = pooling(pool).utterance(data.pooled[rows], lambda: utterance_std(data, rows))
    x = halves[0] if len(halves) == 1 else np.concatenate(halves, axis=1)
    return x, data.label[rows], data.utt_id[rows]  # shared between runs: never changed in place


def discriminator_accuracy(model, train: tuple[str, ...], test_x: dict) -> float | None:
    """An adversarial head's own corpus classifier on the training corpora's test vectors (balanced accuracy):
    near chance means the reversal won against the classifier it trained with."""
    import torch
    from sklearn.metrics import balanced_accuracy_score

    if not hasattr(model, "corpus_logits") or any(c not in test_x for c in train):
        return None
    x = np.concatenate([test_x[c] for c in train]).astype(np.float32)
    y = np.concatenate([np.full(len(test_x[c]), k) for k, c in enumerate(train)])
    model.eval()
    with torch.inference_mode():
        predicted = model.corpus_logits(torch.from_numpy(x)).argmax(1).numpy()
    return float(balanced_accuracy_score(y, predicted))


def corpus_id_accuracy(model, train: tuple[str, ...], valid_x: list, test_x: dict) -> float | None:
    """How well the corpus can be read from the head's hidden features on held-out utterances: a logistic
    regression fitted on the training corpora's validation vectors, scored (balanced accuracy, chance
    1/K) on their test vectors. None for one training corpus, the linear head, or no held-out test split."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    if len(train) < 2 or any(c not in test_x for c in train) or hidden_features(model, valid_x[0][:1]) is None:
        return None
    fit_x = np.concatenate([hidden_features(model, x) for x in valid_x])
    fit_y = np.concatenate([np.full(len(x), k) for k, x in enumerate(valid_x)])
    score_x = np.concatenate([hidden_features(model, test_x[c]) for c in train])
    score_y = np.concatenate([np.full(len(test_x[c]), k) for k, c in enumerate(train)])
    scale = fit_x.std(0) + 1e-6
    classifier = LogisticRegression(max_iter=2000).fit(fit_x / scale, fit_y)
    return float(balanced_accuracy_score(score_y, classifier.predict(score_x / scale)))


SILHOUETTE_SAMPLE = 1000  # utterances: silhouettes cost O(n²) distances, so a fixed-size seeded sample


def silhouettes(features: np.ndarray, classes: np.ndarray, corpora: np.ndarray, sample_size: int = SILHOUETTE_SAMPLE,
                seed: int = 0) -> tuple[float | None, float | None]:
    """Silhouettes of the same seeded sample of ``features`` grouped by class and by corpus (scikit-learn,
    Euclidean): high by corpus and low by class is a space organised by corpus rather than by emotion. None
    where a grouping has fewer than two groups in the sample (or as many groups as points)."""
    from sklearn.metrics import silhouette_score

    n = len(features)
    take = np.sort(np.random.default_rng(seed).choice(n, size=sample_size, replace=False)) if n > sample_size \
        else np.arange(n)

    def score(groups: np.ndarray) -> float | None:
        k = len(np.unique(groups[take]))
        return float(silhouette_score(features[take], groups[take])) if 2 <= k < len(take) else None

    return score(np.asarray(classes)), score(np.asarray(corpora))


def held_out_silhouettes(model, train: tuple[str, ...], test_x: dict,
                         test_y: dict) -> tuple[float | None, float | None]:
    """Silhouettes by class (true labels) and by corpus of the head's hidden features on the training corpora's
    test vectors, beside ``corpus_id_accuracy`` (and, like it, for multi-corpus training sets: what they measure
    is fragmentation by corpus); (None, None) for one corpus, the linear head or a corpus without its test
    split here."""
    if len(train) < 2 or any(c not in test_x for c in train) or hidden_features(model, test_x[train[0]][:1]) is None:
        return None, None
    features = np.concatenate([hidden_features(model, test_x[c]) for c in train])
    classes = np.concatenate([test_y[c] for c in train])
    corpora = np.concatenate([np.full(len(test_x[c]), k) for k, c in enumerate(train)])
    return silhouettes(features, classes, corpora)


def evaluation_rows(spec: ProbeSpec, data, rows: np.ndarray, root, protocol=None):
    """What a normalisation maps evaluation ``rows`` by (``sergen.train.norms``): their summaries, and a thunk of
    all the corpus's clean utterances (read only by strategies that fit a test corpus on them), each with a key
    that names it within the process (the store's version, the protocol, which rows)."""
    version = store_ref(spec.model, data.corpus, root).version

    def utterances(which: np.ndarray, name: str) -> Utterances:
        return Utterances(data.corpus, data.speaker[which], data.pooled[which], utterance_std(data, which),
                          data.stop[which] - data.start[which],
                          (spec.model, data.corpus, root, spec.layer, protocol, version, name))

    split = str(data.split[rows[0]]) if len(rows) else "none"
    return utterances(rows, split), lambda: utterances(np.flatnonzero(data.is_clean), "every")


def normalised_vectors(spec: ProbeSpec, bank, data, rows: np.ndarray, root, protocol=None) -> np.ndarray:
    """Utterance vectors mapped as the training windows were, by the run's normalisation strategy: ``[mean,
    std]`` halves with mean+std pooling. (A head that reads frames maps them with ``rows_map`` of the same.)"""
    mine, every = evaluation_rows(spec, data, rows, root, protocol)
    return norm_strategy(spec.norm).vectors(bank.group_map, mine, every, data.corpus in spec.train,
                                            std_half=uses_squares(spec.pool))


def utterance_frames(spec: ProbeSpec, bank, data, rows: np.ndarray, root, protocol=None) -> UtteranceFrames:
    """The rows' whole utterances as sequences of frames from their store's bank, each frame mapped as the
    training frames were: by the run's normalisation strategy's map of these rows (``rows_map``), each frame
    with its utterance's group — the same map ``normalised_vectors`` applies to the utterance means."""
    store = store_bank(spec.model, data.corpus, root, spec.layer)  # its utterances are the data's rows
    if bank.group_map is None:
        return UtteranceFrames(store, rows)
    mine, every = evaluation_rows(spec, data, rows, root, protocol)
    mapping, group = norm_strategy(spec.norm).rows_map(bank.group_map, mine, every, data.corpus in spec.train)
    return UtteranceFrames(store, rows, mapping, group)


def joined(parts: list):
    """Validation sets of several corpora as one: arrays concatenated, whole-utterance frames of several
    stores kept as a list the loop scores in turn."""
    if not isinstance(parts[0], UtteranceFrames):
        return np.concatenate(parts)
    return parts[0] if len(parts) == 1 else UtteranceFrameSets(parts)


def run_probe(spec: ProbeSpec, stores_root=None) -> pd.DataFrame:
    """The tidy rows of one run (``probe_run`` also gives its record)."""
    return probe_run(spec, stores_root).rows


def save_run(run: ProbeRun, results_dir=None) -> Path:
    """``results/runs/<run_id>.csv``, its record (see ``sergen.results``) and its per-utterance scores
    (``<run_id>.scores.npz``, written first: the CSV marks the run finished)."""
    if run.scores:  # its digest in the record: a scores file changed since is told (``read_run``)
        path = write_scores(run.record.run_id, run.scores, results_dir)
        run.record.scores_sha256 = rows_digest(path.read_bytes())
    return save_rows(run.rows, run.record, results_dir)
