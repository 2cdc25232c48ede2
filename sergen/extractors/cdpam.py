"""CDPAM (content / acoustic halves) with the trained weights that ship inside the ``cdpam`` wheel,
defined as in Microsoft's FAD toolkit: 22.05 kHz input scaled to the int16 range, 1-second chunks (the
last one shorter), encoder output averaged over time, the 1024 channels split into acoustic (first 512)
and content (last 512), each L2-normalised → one 512-d frame per second.

The bundled checkpoint is an old-format pickle that ``torch.load(weights_only=True)`` cannot read; it is
loaded with full unpickling only after its SHA-256 matches the one pinned here, and only that file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from sergen.errors import SergenError
from sergen.extractors.base import EXTRACTORS, Extractor, sha256_of

CDPAM_SHA256 = "453c8b6edee1a94f0120236156436ff28fe4d8d884485e4a67695c8e8570bdfe"  # cdpam 0.0.6
CHECKPOINT = "CDPAM_trained/scratchJNDdefault_best_model.pth"


def bundled_checkpoint() -> Path:
    spec = importlib.util.find_spec("cdpam")
    if spec is None or not spec.submodule_search_locations:
        raise SergenError("the cdpam package is not installed", fix="pip install cdpam==0.0.6 resampy")
    return Path(list(spec.submodule_search_locations)[0]) / CHECKPOINT


def load_encoder(path: Path, device: str = "cpu"):
    """The trained CDPAM base encoder, from a checkpoint whose checksum is pinned."""
    import torch
    from cdpam.models import FINnet

    if not path.exists():
        raise SergenError("CDPAM checkpoint not found", where=str(path),
                          fix="reinstall the cdpam wheel (it ships the weights): pip install --force-reinstall cdpam==0.0.6")
    digest = sha256_of(path)
    if digest != CDPAM_SHA256:
        raise SergenError(f"CDPAM checkpoint checksum mismatch (sha256 {digest[:16]}…, expected {CDPAM_SHA256[:16]}…)",
                          where=str(path), fix="refusing to unpickle an unknown file; reinstall cdpam==0.0.6")
    # Same architecture arguments as cdpam.CDPAM.__init__.
    model = FINnet(encoder_layers=16, encoder_filters=64, ndim=[16, 6], classif_dp=0.05, classif_BN=0,
                   classif_act="no", input_size=512)
    state = torch.load(path, map_location="cpu", weights_only=False)["state"]  # checksum-pinned file only
    model.load_state_dict(state)
    return model.base_encoder.to(device).eval()


class _Cdpam(Extractor):
    sample_rate = 22050
    frame_rate = 1.0
    dim = 512
    half = ""  # "acoustic" or "content"
    source = "cdpam 0.0.6 wheel (weights bundled)"
    batching = "one utterance a call (its full 1 s chunks batched inside; the shorter last chunk alone)"

    def __init__(self, device: str = "cpu", weights=None, **options):
        super().__init__(device, weights, **options)
        self.checkpoint = Path(weights) if weights else bundled_checkpoint()
        self._encoder = None

    @property
    def encoder(self):
        if self._encoder is None:
            self._encoder = load_encoder(self.checkpoint, self.device)
        return self._encoder

    def num_frames(self, n_samples: int) -> int:
        return -(-self.padded_length(n_samples) // self.sample_rate)

    def settings(self) -> dict:
        return {"chunk_s": 1.0, "scale": 32768, "half": self.half}

    def describe_weights(self) -> dict:
        return {"id": "cdpam==0.0.6 " + CHECKPOINT, "sha256": CDPAM_SHA256}

    def weights_present(self) -> bool:
        try:
            return self.checkpoint.exists()
        except SergenError:
            return False

    def embed_one(self, waveform: np.ndarray) -> np.ndarray:
        """Full 1 s chunks of one utterance run as one batch (equal lengths: batching changes nothing);
        the shorter last chunk runs alone."""
        import torch
        import torch.nn.functional as F

        x = np.round(waveform.astype(np.float64) * 32768).astype(np.float32)
        n_full = len(x) // self.sample_rate
        pieces = []
        with torch.inference_mode():
            if n_full:
                full = torch.from_numpy(x[: n_full * self.sample_rate].reshape(n_full, 1, self.sample_rate))
                pieces.append(self._half(self.encoder(self.to_device(full)), F))
            if len(x) > n_full * self.sample_rate:
                tail = torch.from_numpy(x[n_full * self.sample_rate:]).reshape(1, 1, -1)
                pieces.append(self._half(self.encoder(self.to_device(tail)), F))
        return torch.cat(pieces).cpu().numpy().astype(np.float32)

    def _half(self, outputs, F):
        _, acoustic, content = outputs
        return F.normalize(acoustic if self.half == "acoustic" else content, dim=1)


@EXTRACTORS.register("cdpam-content", "cdpam")
class CdpamContent(_Cdpam):
    name = "cdpam-content"
    half = "content"


@EXTRACTORS.register("cdpam-acoustic")
class CdpamAcoustic(_Cdpam):
    name = "cdpam-acoustic"
    half = "acoustic"
