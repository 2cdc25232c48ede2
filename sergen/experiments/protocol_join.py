"""Joining a protocol (``sergen.protocols.protocol``) to the stores: each stored utterance gets its class index
and split for one run, by ``utt_id``. The protocol's columns come from the corpus's manifest in the workspace
(so a relabelled manifest is used at once, without re-extraction) or, for stores read elsewhere, from the
copy of the manifest's columns the store keeps. An utterance the protocol uses but the store lacks, or whose
audio changed since extraction, stops the run with the extraction that fixes it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import zarr

from sergen.corpora.manifest_table import manifest_table
from sergen.errors import SergenError
from sergen.experiments.store_index import store_index, store_ref
from sergen.protocols.protocol import (Protocol, ProtocolTable, class_labels, fold_splits, n_folds, run_classes,
                                       table_from)
from sergen.store.ref import StoreRef


@dataclass(frozen=True)
class CorpusProtocol:
    """One corpus under one run's protocol: hashable, so it keys the caches of data and banks."""

    model: str
    corpus: str
    stores_root: str | None
    protocol: Protocol
    classes: tuple[str, ...]
    in_training: bool
    table: str = ""  # the protocol table's fingerprint: an edited manifest makes another key


@dataclass(frozen=True)
class Assignment:
    label: pd.Series  # utt_id → class index (-1: left out)
    split: pd.Series  # utt_id → train / valid / test / "" (not used)
    fingerprint: str


def protocol_table(model: str, corpus: str, stores_root: str | None) -> ProtocolTable:
    """The corpus's labels and splits: its workspace manifest where the store's handle says the workspace's
    manifests label it, else the copy the store took at extraction."""
    store = store_ref(model, corpus, stores_root)
    if store.manifests is None:
        return _store_table(store, store.version)
    file = Path(store.manifests) / f"{corpus}.csv"
    check_chosen_manifests_folder(missing_too=False)  # a missing one: the commands refuse it (see there)
    if file.exists():
        return manifest_table(corpus, str(file), file.stat().st_mtime_ns)
    if any(file.parent.glob("*.csv")):
        _say_store_copy(corpus, str(file))
    return _store_table(store, store.version)


@lru_cache(maxsize=64)
def _say_store_copy(corpus: str, missing: str) -> None:
    """A workspace whose manifests folder lacks one corpus's manifest (deleted or moved): said once per process,
    since the labels and splits then silently come from the store's copy, made at extraction."""
    from sergen.console import err_console

    err_console.print(f"[yellow]warning: no manifest for {corpus} ({missing}): its labels and splits are the copy its "
                      f"store made at extraction (`sergen manifest {corpus} --root DIR` writes the manifest again)",
                      highlight=False)


def check_chosen_manifests_folder(missing_too: bool = True) -> None:
    """A manifests folder chosen by ``SERGEN_MANIFESTS`` or ``[dirs]`` that is a file (or, with
    ``missing_too``, does not exist) is refused: the labels would otherwise silently be the stores' copies,
    not the chosen manifests'. ``probe``, ``grid`` and ``report`` refuse a missing one before any work; the
    library reads stores without manifests (a stores folder of its own), so it refuses only a file."""
    from sergen.config import locate_dir

    folder, origin = locate_dir("manifests")
    if folder.is_dir() or not (origin.startswith("set by") or origin.startswith("[dirs]")):
        return
    if not folder.exists() and not missing_too:
        return
    what = "is a file, not a folder" if folder.exists() else "does not exist"
    raise SergenError(f"the manifests folder {what}: the labels and splits are read from the manifests there",
                      where=f"{folder} ({origin})",
                      fix="point it at the folder holding the manifests (`sergen manifest` writes them), or unset it "
                          "to use the workspace's manifests/")


@lru_cache(maxsize=32)
def _store_table(store: StoreRef, version: tuple) -> ProtocolTable:
    ds = store.open(store_labels=True)  # the copy; labels come from the protocol
    df = pd.DataFrame({c: np.asarray(ds[c].values, dtype=str) for c in ("utt_id", "label", "native_label",
                                                                          "speaker", "split")})
    return table_from(df, store.name, f"{store.path} (the manifest's columns it copied)")


def labels_of(model: str, corpus: str, stores_root: str | None, labels: str) -> pd.Series:
    return class_labels(protocol_table(model, corpus, stores_root), labels)


def corpus_protocols(model: str, train: tuple[str, ...], test: tuple[str, ...], stores_root: str | None,
                     protocol: Protocol) -> tuple[dict[str, CorpusProtocol], tuple[str, ...], dict]:
    """Every corpus of a run under its protocol, the run's classes, and what each corpus leaves out."""
    corpora = tuple(dict.fromkeys(train + test))
    per_corpus = {c: labels_of(model, c, stores_root, protocol.labels) for c in corpora}
    classes, left_out = run_classes(per_corpus, protocol.labels, train, test)
    keys = {c: CorpusProtocol(model, c, stores_root, protocol, classes, c in train,
                              protocol_table(model, c, stores_root).fingerprint) for c in corpora}
    for corpus, counts in unused_by_files(model, train, stores_root, protocol, per_corpus, classes).items():
        left_out.setdefault(corpus, {}).update(counts)
    for corpus in corpora:
        gone = not_in_manifest(model, corpus, stores_root)
        if len(gone):
            why = f"in the store, not in the manifest (e.g. {gone[0]}; `sergen manifest {corpus}` writes it whole again)"
            left_out.setdefault(corpus, {})[why] = int(len(gone))
    return keys, classes, left_out


def not_in_manifest(model: str, corpus: str, stores_root: str | None) -> pd.Index:
    """Utterances with frames in the store that the workspace's manifest no longer lists (rows deleted from the
    manifest the store was written from): they have no label, so a run leaves them out; counted in its record
    and printed, never dropped silently. Deleting rows may be meant (an exclusion) or not (a truncated file):
    the run goes on, and says so, rather than ask for a re-extraction."""
    pt = protocol_table(model, corpus, stores_root)
    if pt.source.endswith("copied)"):  # labelled by the store's own copy: nothing can be missing from it
        return pd.Index([])
    stored = pd.Index(np.unique(store_index(model, corpus, stores_root).utt_id))
    return stored.difference(pt.table.index)


def unused_by_files(model: str, train: tuple[str, ...], stores_root: str | None, protocol: Protocol,
                    per_corpus: dict[str, pd.Series], classes: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """What a label map or fold file leaves out without saying so: native classes the map does not list
    (counted per class) and labelled utterances of a training corpus the fold file does not list — counted in
    the run's record and printed, never dropped silently."""
    from sergen.protocols.protocol import fold_file

    out: dict[str, dict[str, int]] = {}
    if protocol.labels.startswith("map:"):
        for corpus, mapped in per_corpus.items():
            natives = protocol_table(model, corpus, stores_root).table["native_label"].reindex(mapped.index)
            unmapped = natives[(mapped == "") & (natives != "")].value_counts().sort_index()
            out.update({corpus: {f"{k}, not in the map": int(n) for k, n in unmapped.items()}} if len(unmapped) else {})
    if protocol.folds.startswith("file:"):
        listed = fold_file(protocol.folds[5:]).index
        for corpus in train:
            used = per_corpus[corpus][per_corpus[corpus].isin(classes)].index
            missing = used.difference(listed)
            if len(missing):
                out.setdefault(corpus, {})[f"not in the fold file (e.g. {missing[0]})"] = int(len(missing))
    return out


def protocol_fingerprints(spec: dict, stores_root: str | None) -> dict[str, str]:
    """Corpus → fingerprint of the labels and splits a saved run's spec gives now (``RunRecord.protocol``
    holds those it used): a run whose labels or splits moved since is stale."""
    return {c: assignment(k).fingerprint for c, k in spec_protocols(spec, stores_root).items()}


def spec_protocols(spec: dict, stores_root: str | None) -> dict[str, CorpusProtocol]:
    protocol = Protocol(spec.get("labels", "4"), spec.get("folds", ""), int(spec.get("fold", 0)),
                        spec.get("protocol", ""))
    keys, _, _ = corpus_protocols(spec["model"], tuple(spec["train"]), tuple(spec["test"]), stores_root, protocol)
    return keys


def protocol_change(record, stores_root: str | None) -> str | None:
    """Why a saved run's labels, splits or audio are not what its spec gives now, naming the cause (a label
    map or fold file edited or gone, a manifest edited, audio moved); None when they are the same. Runs from
    before protocols were recorded (no ``record.protocol``) are checked by their stores only."""
    from sergen.protocols.protocol import file_digest, protocol_file

    for value, digest in (getattr(record, "protocol_files", None) or {}).items():
        kind, path = protocol_file(value) or ("file", value)
        if not Path(path).is_file():
            return f"the {kind} it used, {path}, is gone"
        if digest and file_digest(value) != digest:
            return f"the {kind} {path} changed since the run"
    if not record.protocol:
        return None
    try:
        keys = spec_protocols(record.spec, stores_root)
        now = {c: assignment(k).fingerprint for c, k in keys.items()}
    except SergenError as exc:
        return f"its labels or splits cannot be made now: {exc.what}"
    moved = [c for c, fp in record.protocol.items() if now.get(c) != fp]
    if moved:
        files = [protocol_file(v)[0] for v in (record.spec.get("labels", ""), record.spec.get("folds", ""))
                 if protocol_file(v)]
        cause = f"the {' or the '.join(files + [f'{moved[0]} manifest'])} changed"
        return f"the labels or splits of {', '.join(moved)} changed since the run ({cause}): it used the old ones"
    for corpus, key in keys.items():
        try:
            check_store_covers(store_index(key.model, corpus, stores_root), key)
        except SergenError as exc:
            return f"{exc.what} (so probe refuses it now)"
    return None


def fold_count(model: str, train: tuple[str, ...], stores_root: str | None, folds: str) -> int:
    """The folds of a run: every training corpus must have the same number."""
    counts = {c: n_folds(protocol_table(model, c, stores_root), folds) for c in train}
    if len(set(counts.values())) > 1:
        raise SergenError(f"--folds {folds} gives the training corpora different numbers of folds: "
                          + ", ".join(f"{c} {n}" for c, n in counts.items()),
                          fix="train on one corpus at a time with these folds, or use speaker:K")
    return next(iter(counts.values()))


@lru_cache(maxsize=64)
def assignment(key: CorpusProtocol) -> Assignment:
    pt = protocol_table(key.model, key.corpus, key.stores_root)
    names = class_labels(pt, key.protocol.labels)
    proto = key.protocol
    every_corpus = proto.folds == "emobox-cross"  # its test corpora are tested on their track-2 sets too
    split = (fold_splits(pt, proto.folds, proto.fold, proto.valid_by) if (key.in_training or every_corpus) and proto.folds
             else fold_splits(pt, "", 0))
    index = {c: i for i, c in enumerate(key.classes)}
    label = names.map(index).fillna(-1).astype(np.int64)
    split = split.where(label >= 0, "")
    blob = pd.DataFrame({"label": label, "split": split}).sort_index().to_csv().encode()
    return Assignment(label, split, hashlib.sha256(blob).hexdigest()[:16])


def apply_assignment(data, key: CorpusProtocol):
    """A store's ``CorpusData`` with this run's labels and splits; checks the store holds what is used."""
    found = assignment(key)
    pos = found.label.index.get_indexer(data.utt_id)
    known = pos >= 0
    label = np.where(known, found.label.to_numpy()[np.maximum(pos, 0)], -1).astype(np.int64)
    split = np.where(known, found.split.to_numpy()[np.maximum(pos, 0)], "").astype(str)
    check_store_covers(data, key)
    return replace(data, label=label, split=split)


def _listed_in_store(path: str, utts: pd.Index) -> bool:
    """Whether the store's own utterance list holds ``utts``' first (asked only on the way to an error)."""
    try:
        listed = zarr.open_group(path, mode="r")["utt"]["utt_id"][:].tolist()
    except Exception:  # noqa: BLE001 - damage is named by the store's own checks
        return False
    return utts[0] in set(listed)


def check_store_covers(data, key: CorpusProtocol) -> None:
    """``data``: anything with ``path`` and ``utt_id`` of a store (``CorpusData``, ``StoreIndex``)."""
    found = assignment(key)
    used = found.split[found.split != ""].index
    missing = used.difference(pd.Index(np.unique(data.utt_id)))
    failed = failed_utterances(data.path)  # a store made with --allow-failures: left out, counted, said once
    if len(missing.intersection(failed)):
        note_failed(key.model, data.path, len(missing.intersection(failed)), len(failed))
        missing = missing.difference(failed)
    if len(missing):
        if _listed_in_store(data.path, missing):  # the store has their rows, its status says none were written
            raise SergenError(
                f"{len(missing)} utterance(s) this run uses have no frames in the {key.model}/{key.corpus} store "
                f"(e.g. {missing[0]!r}): the store lists them, but its status marks them not written (the status "
                "array was edited, or the store was changed since it was completed)", where=data.path,
                fix=f"`sergen stores verify {key.model} {key.corpus}` names them and the way to rewrite them")
        raise SergenError(
            f"{len(missing)} utterance(s) this run uses have no frames in the {key.model}/{key.corpus} store "
            f"(e.g. {missing[0]!r}): the manifest gained them after extraction", where=data.path,
            fix=f"run `sergen extract --model {key.model} --corpus {key.corpus} --overwrite` (and again with "
                f"--view V for each view store), then rerun")
    pt = protocol_table(key.model, key.corpus, key.stores_root)
    if not pt.source.endswith("copied)"):
        _check_same_audio(data, key, pt)


@lru_cache(maxsize=64)
def _failed_utterances(path: str, version) -> pd.Index:
    import zarr

    from sergen.store.layout import FAILED

    group = zarr.open_group(path, mode="r")
    status = group["status"][:]
    return pd.Index(np.asarray(group["utt"]["utt_id"][:].tolist(), dtype=object)[status == FAILED])


def failed_utterances(path: str) -> pd.Index:
    """Utterances a store holds as failed (extracted with --allow-failures), per store version."""
    from sergen.store.reader import store_attrs

    attrs = store_attrs(path)
    return _failed_utterances(str(path), (attrs.get("created"), attrs.get("finished")))


@lru_cache(maxsize=64)
def note_failed(model: str, path: str, used: int, failed: int) -> None:
    """Say once per process and store that its failed utterances are left out (never silently)."""
    from sergen.console import err_console

    name = "/".join(str(path).rstrip("/").split("/")[-2:]).removesuffix(".zarr")
    err_console.print(f"[yellow]{name}: {used} utterance(s) this run would use failed extraction "
                      f"(the store was made with --allow-failures, {failed} failed in all): left out")


def _check_same_audio(data, key: CorpusProtocol, pt: ProtocolTable) -> None:
    from sergen.store.reader import store_attrs

    attrs = store_attrs(data.path)
    moved = _moved_audio(data.path, attrs.get("created"), attrs.get("finished"), pt)
    if moved:
        utt, now, then = moved
        raise SergenError(f"{len(utt)} utterance id(s) of {key.corpus} name other audio files in its manifest than "
                          f"the {key.model}/{key.corpus} store was made from (e.g. {utt[0]!r} now names {now!r}, "
                          f"extracted from {then!r}): the manifest's ids were swapped, renamed or re-pointed, so "
                          "its labels would land on other utterances' frames", where=data.path,
                          fix=f"restore the manifest, or rebuild the store from it: `sergen extract --model "
                              f"{key.model} --corpus {key.corpus} --overwrite`, then rerun")


@lru_cache(maxsize=64)
def _moved_audio(path: str, created, finished, pt: ProtocolTable):
    """Utterances whose manifest path differs from the one the store was extracted from (per store version)."""
    import zarr

    utt = zarr.open_group(path, mode="r")["utt"]  # a path or a URL
    stored = pd.Series(utt["path"][:].tolist(), index=utt["utt_id"][:].tolist(), dtype=object).astype(str)
    stored = stored[~stored.index.duplicated()]
    now = pt.table["path"]
    common = stored.index.intersection(now.index)
    moved = common[stored[common].to_numpy() != now[common].to_numpy()]
    return (list(moved), now[moved[0]], stored[moved[0]]) if len(moved) else None
