"""Microsoft CLAP 2023's audio embedding (``CLAP_weights_2023.pth`` of ``microsoft/msclap``): the audio
encoder and its projection only — no text encoder, no msclap (it pins transformers < 5 and numpy < 2).

CLAP embeds a whole 7 s, 44.1 kHz input into one 1024-d vector; there is no frame-level output. sergen
slides that 7 s window over an utterance every ``hop_seconds`` (default 1 s → 1 frame/s):
frames = 1 if N ≤ 7 s, else 1 + ⌈(N − 7 s) / hop⌉, the last window ending at the utterance's end. An
utterance shorter than the window is tiled (repeated and cut to 7 s), as the reference wrapper does;
most emotion-corpus utterances are shorter than 7 s, so they get exactly one frame.

Windows all have the same length, so batching them is exact. On CUDA the log-mel front end stays in
float32 and the transformer runs under bf16 autocast.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from sergen.errors import SergenError
from sergen.extractors.base import EXTRACTORS, Extractor, load_weights_only
from sergen.extractors.hf import is_present, resolve_file, weights_record
from sergen.extractors.options import option

REPO_ID, FILENAME, REVISION = "microsoft/msclap", "CLAP_weights_2023.pth", "main"
PREFIX = "audio_encoder."
WINDOW_SECONDS = 7
WINDOWS_PER_FORWARD = 16  # bounds memory: one 7 s window is ≈ 10 MB of activations on the way through
# Deterministic index tables, rebuilt identically at construction: a checkpoint may or may not store them.
DERIVED_BUFFERS = ("relative_position_index", "attn_mask")


def read_checkpoint(path: Path) -> dict:
    """The ``audio_encoder.*`` tensors of a CLAP checkpoint (prefix removed), read with ``weights_only``."""
    ckpt = load_weights_only(path, "CLAP", f"use the published {FILENAME} from https://huggingface.co/{REPO_ID}")
    state = ckpt.get("model", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise SergenError(f"{path.name} holds no state dict", where=str(path),
                          fix=f"expected {{'model': state_dict}} as in {FILENAME}")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    audio = {k[len(PREFIX):]: v for k, v in state.items() if k.startswith(PREFIX)}
    if not audio:
        raise SergenError(f"{path.name} has no '{PREFIX}*' weights: not a CLAP checkpoint", where=str(path),
                          fix=f"use {FILENAME} from https://huggingface.co/{REPO_ID}")
    return audio


def load_audio_encoder(path: Path, device: str = "cpu"):
    """CLAP's audio encoder with every learned tensor taken from the checkpoint (strict key matching)."""
    from sergen.extractors.htsat import CLAPAudioEncoder, HTSATShape

    state = read_checkpoint(path)
    try:
        shape = HTSATShape.from_state_dict(state)
    except KeyError as exc:
        raise SergenError(f"{path.name} lacks {PREFIX}{exc.args[0]}: not a CLAP (HTSAT) checkpoint",
                          where=str(path), fix=f"use {FILENAME} from https://huggingface.co/{REPO_ID}") from exc
    model = CLAPAudioEncoder(shape)
    expected = set(model.state_dict())
    missing = sorted(k for k in expected - set(state) if not k.endswith(DERIVED_BUFFERS))
    unexpected = sorted(set(state) - expected)
    if missing or unexpected:
        raise SergenError(
            f"{path.name} does not match CLAP's audio encoder: {len(missing)} missing key(s) "
            f"{missing[:3]}, {len(unexpected)} unexpected key(s) {unexpected[:3]}",
            where=str(path), fix=f"use the published {FILENAME} (HTSAT audio encoder + projection)")
    try:
        model.load_state_dict(state, strict=False)  # keys were checked above; only derived buffers may be absent
    except RuntimeError as exc:
        raise SergenError(f"{path.name}: tensor shapes do not match the architecture read from it",
                          where=str(path), fix=str(exc).splitlines()[1] if "\n" in str(exc) else None) from exc
    return model.to(device).eval()


def hop(value) -> float:
    """Seconds between window starts: in (0, 7], so no audio is skipped."""
    seconds = float(value)
    if not 0 < seconds <= WINDOW_SECONDS:
        raise ValueError(f"the hop must be in (0, {WINDOW_SECONDS}] s: windows are {WINDOW_SECONDS} s, a longer hop "
                         "would skip audio")
    return seconds


@dataclasses.dataclass(frozen=True)
class CLAPOptions:
    hop_seconds: float = option(1.0, "seconds between 7 s windows; frames/s = 1/hop", hop, flag="--hop-seconds")


@EXTRACTORS.register("clap-2023", "clap", "msclap")
class CLAP2023(Extractor):
    name = "clap-2023"
    sample_rate = 44100
    frame_rate = 1.0
    frame_rate_text = "1/hop (hop 1 s)"
    dim = 1024
    batchable = True
    batching = "any utterances batched: every input is a 7 s window, nothing padded"
    precisions = ("fp32", "bf16", "fp16")
    source = f"{REPO_ID} {FILENAME} (audio encoder + projection; own HTSAT module)"
    revision = REVISION

    Options = CLAPOptions

    def __init__(self, device: str = "cpu", weights=None, revision: str | None = None, **options):
        super().__init__(device, weights, revision, **options)
        self.hop_seconds = self.config.hop_seconds
        self.hop_samples = round(self.hop_seconds * self.sample_rate)
        self.window_samples = WINDOW_SECONDS * self.sample_rate
        self.frame_rate = self.sample_rate / self.hop_samples
        self._model = None
        self._path = None

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = resolve_file(REPO_ID, FILENAME, self.revision, self.weights, self.name)
        return self._path

    @property
    def model(self):
        if self._model is None:
            self._model = load_audio_encoder(self.path, self.device)
        return self._model

    def load(self) -> "CLAP2023":
        self.dim = self.model.shape.projection_dim
        return self

    def settings(self) -> dict:
        return {"window_s": WINDOW_SECONDS, "hop_s": self.hop_seconds, "short_input": "tiled",
                "output": "projection of the pooled HTSAT latent"}

    def describe_weights(self) -> dict:
        return weights_record(REPO_ID, self.revision, self.path)

    def weights_present(self) -> bool:
        return is_present(REPO_ID, self.revision, self.weights, filename=FILENAME)

    def num_frames(self, n_samples: int) -> int:
        n = self.padded_length(n_samples)
        if n <= self.window_samples:
            return 1
        return 1 + math.ceil((n - self.window_samples) / self.hop_samples)

    def windows(self, wave: np.ndarray) -> np.ndarray:
        """[num_frames, 7 s] inputs of one utterance."""
        if len(wave) <= self.window_samples:
            return np.tile(wave, -(-self.window_samples // len(wave)))[None, : self.window_samples]
        starts = np.minimum(np.arange(self.num_frames(len(wave))) * self.hop_samples, len(wave) - self.window_samples)
        return np.lib.stride_tricks.sliding_window_view(wave, self.window_samples)[starts]

    def embed(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        model = self.model.base.htsat
        all_windows = np.concatenate([self.windows(w.astype(np.float32)) for w in waveforms])
        out = []
        with torch.inference_mode():
            for first in range(0, len(all_windows), WINDOWS_PER_FORWARD):
                batch = self.to_device(all_windows[first:first + WINDOWS_PER_FORWARD])
                image = model.to_image(model.log_mel(batch))  # float32 front end
                with self.autocast():
                    vectors = self.model.projection(model.latent(image))
                out.append(vectors.float().cpu().numpy())
        frames = np.concatenate(out)
        return np.split(frames, np.cumsum([self.num_frames(len(w)) for w in waveforms])[:-1])
