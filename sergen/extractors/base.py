"""The one interface every extractor offers, and the registry that finds them by the poster's names.

The rest of sergen sees only: native sample rate, frame rate, dimension, ``num_frames(n_samples)``
(exact, so the store can place every utterance before extraction starts), ``batch_key(n_samples)`` (which
utterances may share one ``embed`` call without changing their frames) and batched ``embed``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from pathlib import Path

import numpy as np

from sergen.errors import SergenError
from sergen.extractors.options import DECLARED, NoOptions, build
from sergen.registry import Registry

EXTRACTORS: Registry[type["Extractor"]] = Registry(
    "model", hint="`sergen models ls` lists every extractor"
)

PRECISIONS = ("fp32", "bf16", "fp16")
"""fp32: plain float32. bf16 / fp16: the network's body under torch autocast (weights stay float32; signal
front ends stay outside it). fp16 only on CUDA; bf16 on CUDA and on CPU (slow there: for measuring)."""


class Extractor:
    """Base class. Subclasses set the class attributes and implement ``num_frames`` and ``embed_one``
    (or ``embed`` when they batch)."""

    name: str = ""
    sample_rate: int = 16000
    frame_rate: float = 100.0
    frame_rate_text: str = ""
    """How `sergen models ls` shows the frame rate when an option sets it."""
    dim: int = 0
    spectrogram: bool = False  # frames are time × frequency bins in order (the cnn head's input)
    min_samples: int = 1
    """Shorter input is zero-padded to this many samples (and the padding is recorded in the store)."""
    batchable: bool = False
    """Whether ``embed`` may pad and batch utterances of different lengths without changing outputs; when
    not, ``batch_key`` puts only utterances of equal length (exact-length buckets) in one call."""
    batching: str = "exact-length buckets (equal lengths batched without padding)"
    """How this extractor keeps several utterances in flight, and why (shown by `sergen models ls`)."""
    precisions: tuple[str, ...] = ("fp32",)
    """The precisions it offers: those running a network under ``autocast`` offer bf16 and fp16 too."""
    source: str = ""
    """Where the model or feature definition comes from (shown by `sergen models ls`)."""
    revision: str = ""
    """The hub revision looked up when no local weights are given (hub models only)."""
    Options: type = NoOptions
    """Its own options, typed and declared once (:mod:`sergen.extractors.options`): ``--opt key=value``,
    ``models ls`` and the preflight read them; the instance holds them as ``self.config``."""
    uses_torch: bool = True
    """Whether it runs torch. Those that do not (signal processing) never import it: choosing their device
    costs nothing (``default_device``) and their BLAS is pinned to one thread (``sergen.threads``)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        who = cls.__dict__.get("name") or cls.__dict__.get("options_label")
        if who and cls.Options is not NoOptions:
            DECLARED[who] = cls.Options

    def __init__(self, device: str = "cpu", weights: str | Path | None = None, revision: str | None = None,
                 precision: str = "fp32", **options):
        self.device = device
        self.weights = weights
        self.revision = revision or type(self).revision
        self.precision = check_precision(type(self), precision, device)
        self.config = build(type(self).Options, options, self.name or type(self).__name__)
        self._weights_info: dict | None = None

    def load(self) -> "Extractor":
        """Load weights now (extraction calls this before planning: a model's config may set ``dim``)."""
        return self

    # -- what the store needs --------------------------------------------------------------------
    def num_frames(self, n_samples: int) -> int:
        raise NotImplementedError

    def padded_length(self, n_samples: int) -> int:
        return max(int(n_samples), self.min_samples)

    def settings(self) -> dict:
        """Everything that changes the output; stored in the store's attributes."""
        return dataclasses.asdict(self.config)

    def store_settings(self) -> dict:
        """``settings()`` plus the precision when it is not fp32 (absent means fp32, so stores made before
        the option existed keep their settings and resume): a bf16 store is another store than an fp32 one."""
        settings = self.settings()
        return settings if self.precision == "fp32" else dict(settings, precision=self.precision)

    def batch_key(self, n_samples: int) -> int:
        """Utterances with equal keys may share one ``embed`` call and get exactly the frames they get alone.
        Padding-exact extractors (``batchable``): one group. Otherwise the length itself: equal lengths need
        no padding. Extractors that pad inputs to a grid themselves (DAC's hop, Phi-4's Mel frames) give the
        grid cell, which groups more utterances."""
        return 0 if self.batchable else int(n_samples)

    def weights_info(self) -> dict:
        """What the store records about the weights; computed once (it may hash a multi-GB checkpoint)."""
        if self._weights_info is None:
            self._weights_info = self.describe_weights()
        return self._weights_info

    def describe_weights(self) -> dict:
        return {"id": "none (no learned weights)"}

    def weights_present(self) -> bool:
        return True

    # -- computing -------------------------------------------------------------------------------
    def embed(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        """Frames ``[T, D]`` (float32) for each waveform (float32 mono at ``sample_rate``)."""
        return [self.embed_one(w) for w in waveforms]

    def mixes_keys(self, waveforms: list[np.ndarray]) -> bool:
        return len({self.batch_key(len(w)) for w in waveforms}) > 1

    def embed_by_key(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        """``embed`` of each group of equal ``batch_key``, in the input's order: what an extractor that batches
        only equal keys does when a caller hands it mixed ones (extraction never does)."""
        groups: dict = {}
        for i, w in enumerate(waveforms):
            groups.setdefault(self.batch_key(len(w)), []).append(i)
        out: list = [None] * len(waveforms)
        for idx in groups.values():
            for i, frames in zip(idx, self.embed([waveforms[i] for i in idx])):
                out[i] = frames
        return out

    def embed_one(self, waveform: np.ndarray) -> np.ndarray:
        """One utterance alone (extractors that batch implement ``embed`` and get this from it)."""
        if type(self).embed is Extractor.embed:
            raise NotImplementedError
        return self.embed([waveform])[0]

    def to_device(self, array):
        """A numpy array or CPU tensor on the extractor's device; through pinned memory on CUDA, so the copy
        runs asynchronously while the previous batch computes."""
        import torch

        tensor = torch.from_numpy(np.ascontiguousarray(array)) if isinstance(array, np.ndarray) else array
        if str(self.device).startswith("cuda"):
            return tensor.pin_memory().to(self.device, non_blocking=True)
        return tensor.to(self.device)

    def autocast(self):
        """The chosen precision for the network's body (keep signal front ends outside it); nothing for fp32."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        import torch

        kind = "cuda" if str(self.device).startswith("cuda") else "cpu"
        return torch.autocast(kind, dtype=torch.bfloat16 if self.precision == "bf16" else torch.float16)


def check_precision(cls: type[Extractor], precision: str, device: str = "cpu") -> str:
    """The precision if this extractor offers it on this device, else a SergenError saying what is allowed."""
    precision = str(precision).lower()
    if precision not in PRECISIONS:
        raise SergenError(f"unknown precision {precision!r}", fix=f"choose one of {', '.join(PRECISIONS)}")
    if precision not in cls.precisions:
        raise SergenError(f"{cls.name or cls.__name__} runs in fp32 only (no network under autocast): "
                          f"precision {precision} does not apply", fix="leave --precision out")
    if precision == "fp16" and not str(device).startswith("cuda"):
        raise SergenError("fp16 runs on CUDA only", where=f"device {device}",
                          fix="use --precision bf16 on the CPU, or --device cuda")
    return precision


def given_checkpoint(weights: str | Path, filename: str, model_name: str, source: str) -> Path:
    """The checkpoint a user pointed at: the file itself, or ``filename`` inside the folder given."""
    path = Path(weights)
    if path.is_dir():
        path = path / filename
    if not path.is_file():
        raise SergenError(f"{model_name} checkpoint not found", where=str(path),
                          fix=f"pass --weights with the path of {filename} ({source})")
    return path


def training_checkpoint_globals() -> list:
    """Plain data a training script often saves beside the weights (its argparse arguments, NumPy scalars and
    arrays for epoch and loss): allowed through ``weights_only`` loading; anything else stays refused."""
    import argparse

    core = getattr(np, "_core", None) or np.core
    return [argparse.Namespace, np.ndarray, np.dtype, core.multiarray.scalar, core.multiarray._reconstruct,
            *{type(np.dtype(t)) for t in (np.float16, np.float32, np.float64, np.int32, np.int64, np.bool_)}]


def load_weights_only(path: str | Path, model_name: str, fix: str):
    """``torch.load(weights_only=True)`` with the globals above; a refused file names what it would have run."""
    import torch

    try:
        with torch.serialization.safe_globals(training_checkpoint_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        except Exception:
            unsafe = []
        allowed = {f"{g.__module__}.{g.__qualname__}" for g in training_checkpoint_globals()}
        unsafe = [g for g in unsafe if g not in allowed]
        why = f"it needs {', '.join(unsafe[:4])}" if unsafe else str(exc).strip().splitlines()[0]
        raise SergenError(f"cannot read the {model_name} checkpoint as weights only: {why}", where=str(path),
                          fix=fix + "; pickles holding code or objects are refused rather than unpickled") from exc


def sha256_of(path: str | Path, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()
