"""Every argument of an extraction checked before a store is deleted or written: device, model options,
weights, stores folder, view, scheduler, manifest and corpus root. A typo must never cost a finished store,
so ``extract`` (and the CLI, for every corpus of a command before the first) runs ``preflight`` first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sergen.augment import VIEWS
from sergen.config import data_dir
from sergen.corpora.manifest import load_manifest, manifest_command
from sergen.errors import SergenError
from sergen.paths import check_writable


DEVICE_FORMS = "cpu, cuda, cuda:N or mps"


def parse_device(device: str) -> tuple[str, str]:
    """(kind, index) of ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; anything else is refused."""
    kind, _, index = device.partition(":")
    if kind not in ("cpu", "cuda", "mps") or (index and (kind != "cuda" or not index.isdigit())):
        raise SergenError(f"--device {device!r} is not a device", fix=f"use {DEVICE_FORMS}")
    return kind, index


def check_device(device: str | None) -> None:
    """A device torch can use on this machine; refused before anything is loaded or written."""
    if device is None:
        return
    kind, index = parse_device(device)
    if kind == "cpu":
        return
    import torch

    if kind == "cuda" and not torch.cuda.is_available():
        raise SergenError(f"--device {device}: no CUDA device is available on this machine",
                          fix="leave --device out (CUDA when present, else the CPU) or pass --device cpu")
    if kind == "cuda" and index and int(index) >= torch.cuda.device_count():
        raise SergenError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)",
                          fix=f"use cuda:0 … cuda:{torch.cuda.device_count() - 1}")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise SergenError("--device mps: Apple's MPS backend is not available here", fix="pass --device cpu")


DEVICES_FORMS = "one device (cpu, cuda, cuda:N, mps) or several distinct GPUs, comma-separated: cuda:0,cuda:1"


def split_devices(device: str | None) -> list[str | None]:
    """The entries of ``--device`` (``None`` when left out), in order; the form of each is checked."""
    if device is None:
        return [None]
    entries = [d.strip() for d in device.split(",")]
    if any(not d for d in entries):
        raise SergenError(f"--device {device!r} has an empty entry", fix=f"use {DEVICES_FORMS}")
    for entry in entries:
        parse_device(entry)
    return entries


def _same_device(entry: str) -> str:
    return "cuda:0" if entry == "cuda" else entry  # torch's "cuda" is its current device, cuda:0 unless set


def device_slots(device: str | None, replicas: int = 1, *, uses_torch: bool = True,
                 scheduler: str | None = None) -> list[str | None]:
    """One entry per model copy: each device of ``device`` ``replicas`` times. Refused before anything is
    loaded or written: a device named twice, devices of different kinds, GPUs this machine lacks (via
    ``check_device``), a copy count below 1, several copies of a model that does not use torch (its
    ``--workers`` already compute features on every core) and several copies with ``--scheduler``."""
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise SergenError(f"--replicas must be a whole number of at least 1, got {replicas!r}",
                          fix="leave it out for one model copy per device")
    entries = split_devices(device)
    if len(entries) > 1:
        seen = [_same_device(e) for e in entries]
        twice = sorted({e for e in seen if seen.count(e) > 1})
        if twice:
            raise SergenError(f"--device {device} names {', '.join(twice)} more than once",
                              fix="name each device once; --replicas N runs N model copies on every device")
        kinds = sorted({e.partition(":")[0] for e in entries})
        if len(kinds) > 1:
            raise SergenError(f"--device {device} mixes device kinds ({', '.join(kinds)})",
                              fix="use devices of one kind: one store's frames must come from one kind of device, "
                                  "as they differ in the last bits between them")
    for entry in entries:
        check_device(entry)
    slots = [e for e in entries for _ in range(replicas)]
    if len(slots) > 1 and not uses_torch:
        raise SergenError(f"{len(slots)} model copies were asked for a model that does not use torch",
                          fix="leave --device and --replicas out: --workers N already computes its features on "
                              "N cores")
    if len(slots) > 1 and scheduler:
        raise SergenError("several devices or --replicas with --scheduler",
                          fix="leave them out: with --scheduler each Dask worker loads one model on its own device; "
                              "start one worker per GPU (dask-cuda's LocalCUDACluster does)")
    return slots


def check_model_options(model: str, weights, options: dict, device: str | None = None) -> None:
    """Options the model does not take, or values its options cannot take, are refused before anything is
    written (``--layers`` on melspec, ``--opt hop_seconds=9`` on CLAP): the extractor's typed ``Options``
    (:mod:`sergen.extractors.options`) decide. ``precision`` and ``revision`` belong to every extractor with a
    network / hub weights."""
    from sergen.extractors import EXTRACTORS
    from sergen.extractors.base import Extractor
    from sergen.extractors.hf_generic import PREFIX, HFEncoder
    from sergen.extractors.options import build

    cls = HFEncoder if model.startswith(PREFIX) else EXTRACTORS.get(model)
    name = model if model.startswith(PREFIX) else EXTRACTORS.canonical(model)
    if "precision" in options:  # every extractor takes it; those without a network offer fp32 only
        from sergen.extractors import default_device
        from sergen.extractors.base import check_precision

        if device is None:
            device = default_device(cls)
        check_precision(cls, options["precision"], device)
    if options.get("revision") is not None and not cls.revision:
        raise SergenError(f"{name} takes no --revision option", fix="leave it out (--revision is for hub models)")
    build(cls.Options, {k: v for k, v in options.items() if k not in ("precision", "revision")}, name)
    if weights is not None:
        if cls.describe_weights is Extractor.describe_weights:
            raise SergenError(f"{name} has no weights: --weights does not apply", fix="leave --weights out")
        if not Path(weights).exists():
            raise SergenError("--weights points at nothing", where=str(weights),
                              fix="give an existing checkpoint file or folder (or leave --weights out to use the "
                                  "configured weights or the hub cache)")


def check_corpus_root(corpus: str, manifest: pd.DataFrame, root: Path, given: bool, sample: int = 50) -> None:
    """The corpus must be where the manifest's relative paths point: a missing folder, or one that holds
    another corpus, is one clear error instead of a failure per file."""
    source = "--root" if given else f"the root recorded with the {corpus} manifest"
    if not root.exists():
        raise SergenError(f"{source} does not exist", where=str(root),
                          fix=f"pass --root DIR where the {corpus} corpus now lives" if given else
                          f"pass --root DIR where the {corpus} corpus now lives, or remake the manifest with "
                          f"{manifest_command(corpus)}")
    if not root.is_dir():
        raise SergenError(f"{source} is not a folder", where=str(root), fix=f"pass the {corpus} corpus's folder")
    paths = manifest["path"].astype(str)
    picked = paths.iloc[np.linspace(0, len(paths) - 1, min(sample, len(paths))).astype(int)] if len(paths) else paths
    missing = [p for p in picked if not (root / p).is_file()]
    if len(picked) and len(missing) * 2 > len(picked):
        raise SergenError(
            f"{source} does not hold the {corpus} manifest's audio: {len(missing)} of {len(picked)} files checked are "
            f"missing there (e.g. {missing[0]})", where=str(root),
            fix=f"pass --root DIR with the folder that holds {corpus}'s files (paths in the manifest are relative to it)")


def preflight(model: str, corpus: str, *, stores_root=None, manifest_file=None, corpus_root=None, device: str | None = None,
              weights=None, batch_seconds: float = 60.0, window_utts: int = 256, workers: int | None = None,
              workers_mode: str = "auto", extractor_options: dict | None = None, view: str | None = None, scheduler: str | None = None,
              reach_scheduler: bool = True, replicas: int = 1) -> tuple[pd.DataFrame, dict, Path]:
    """Every argument of an extraction checked before anything is deleted or written; the manifest, its
    sidecar and the corpus root on success. The CLI runs it for every corpus before extracting any."""
    for name, value in (("--batch-seconds", batch_seconds), ("window_utts", window_utts)):
        if not value > 0:
            raise SergenError(f"{name} must be greater than 0, got {value}")
    from sergen.extract_pool import resolve_workers

    resolve_workers(workers, workers_mode)
    from sergen.extractors import model_uses_torch

    slots = device_slots(device, replicas, uses_torch=model_uses_torch(model), scheduler=scheduler)
    check_model_options(model, weights, extractor_options or {}, slots[0])
    check_writable(stores_root or data_dir("stores"), "stores folder")
    if view:
        VIEWS.get(view)
    if scheduler:
        from sergen.scale import check_scheduler

        check_scheduler(scheduler, reach=reach_scheduler)
    manifest, meta = load_manifest(corpus, manifest_file)
    name = meta.get("corpus", corpus)
    root = Path(corpus_root or meta.get("root", "."))
    check_corpus_root(name, manifest, root, given=corpus_root is not None)
    return manifest, meta, root
