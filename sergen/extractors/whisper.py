"""Whisper's encoder (``whisper-large-v3``, ``-medium``, ``-small``, ``-base``): hidden states of the chosen
layers of transformers' ``WhisperEncoder``, 50 frames/s, only the frames that cover the audio.

Input: 16 kHz audio through the checkpoint's own ``WhisperFeatureExtractor``: log-Mel (80 bins; 128 for
large-v3), 10 ms hop, every input padded with zeros to 30 s = 3,000 Mel frames — the only length the encoder
accepts (``max_source_positions`` 1,500 × its convolution strides 1 and 2). Its two convolutions (kernel 3,
padding 1) give one frame per 20 ms: 1,500 per 30 s.

Frames kept: the feature extractor's own attention mask counts Mel frame i as audio when its centre sample
160·i lies inside the audio, ⌈N/160⌉ frames for N samples; the stride-2 convolution maps m Mel frames to
⌊(m − 1)/2⌋ + 1 frames (transformers' ``_get_feat_extract_output_lengths``). Together **⌈N/320⌉ frames**;
the remaining frames of the 1,500 see only the 30 s padding and are dropped. (The kept frames still attend
to the padding inside the encoder, as in every use of Whisper: that is how the model was trained.)

Longer than 30 s: cut into consecutive 30 s pieces, each encoded on its own (no context across a cut), and
their frames concatenated; 30 s is exactly 1,500 × 320 samples, so the count stays ⌈N/320⌉.

Only the encoder is built and only its weights are read — ``model.encoder.*`` of a
``WhisperForConditionalGeneration`` checkpoint (the hub's ``openai/whisper-*``) or ``encoder.*`` of a
``WhisperModel`` — loaded strictly, in float32: the decoder is never built. Hidden state 0 is the
convolutions plus positions; state L (the last) is the last block after the encoder's final layer norm
(transformers' ``last_hidden_state``). Several layers are stored side by side (dim = d_model × layers); the
probe's ``--layer`` picks one. Default layers: the quarters of the depth (8, 16, 24, 32 for large-v3).
Batching is exact: every piece is padded to 30 s on its own and the encoder takes no mask.

``input_mode="trimmed"`` (``--input-mode trimmed``; recorded as ``input: trimmed`` in the store's settings, so
it is another store): a piece of N samples is encoded at its own length instead of 30 s — zero-padded only to
⌈N/320⌉·320 samples (the same zeros the 30 s input holds there), 2⌈N/320⌉ Mel frames, positional embeddings
cut to the ⌈N/320⌉ frames used. Same frame count as the default; the frames differ (they no longer attend to
30 s of padding, which Whisper was trained with), by how much is measured in the README. A 3 s utterance
costs a tenth of a 30 s pass. Trimmed pieces batch exactly only with pieces of equal frame count
(``batch_key``); ``embed`` groups them so itself.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from sergen.errors import SergenError
from sergen.extractors.base import EXTRACTORS, load_weights_only, sha256_of
from sergen.extractors.hf import weights_record
from sergen.extractors.options import option
from sergen.extractors.transformers_base import TransformersExtractor, check_layers, parse_layers

SAMPLE_RATE = 16000
HOP = 160  # samples per Mel frame
FRAME_SAMPLES = 2 * HOP  # the encoder's second convolution has stride 2: one frame per 20 ms
PIECE_SAMPLES = 30 * SAMPLE_RATE  # the encoder's fixed input: 30 s, 3,000 Mel frames, 1,500 frames
PIECES_PER_PASS = 8  # 30 s pieces per encoder call (bounds memory: each costs 30 s of compute, however short)
ENCODER_PREFIXES = ("model.encoder.", "encoder.")
INPUT_MODES = ("padded", "trimmed")


def default_layers(depth: int) -> tuple[int, ...]:
    """The quarters of the encoder's depth: 32 blocks → 8, 16, 24, 32; 6 → 2, 3, 5, 6."""
    return tuple(sorted({-(-k * depth // 4) for k in range(1, 5)}))


def piece_frames(n_samples: int) -> int:
    """Frames of one piece of at most 30 s: ⌊(⌈N/160⌉ − 1)/2⌋ + 1 (= ⌈N/320⌉)."""
    mel_frames = -(-n_samples // HOP)
    return (mel_frames - 1) // 2 + 1


def checkpoint_files(path) -> list[str]:
    """The files that hold the encoder: the shards named by a safetensors index, else the one safetensors
    file, else ``pytorch_model.bin``."""
    index = path / "model.safetensors.index.json"
    if index.exists():
        weight_map = json.loads(index.read_text())["weight_map"]
        return sorted({f for k, f in weight_map.items() if k.startswith(ENCODER_PREFIXES)})
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (path / name).exists():
            return [name]
    return []


def encoder_state_dict(path, files: list[str]) -> dict:
    """The encoder's tensors with the prefix of whichever checkpoint layout holds them removed."""
    state = {}
    for name in files:
        if name.endswith(".bin"):
            tensors = load_weights_only(path / name, "Whisper", fix="use the checkpoint's model.safetensors")
            items = tensors.items()
        else:
            from safetensors import safe_open

            with safe_open(str(path / name), framework="pt") as fh:
                items = [(k, fh.get_tensor(k)) for k in fh.keys() if k.startswith(ENCODER_PREFIXES)]
        for key, tensor in items:
            prefix = next((p for p in ENCODER_PREFIXES if key.startswith(p)), None)
            if prefix:
                state[key[len(prefix):]] = tensor
    if not state:
        raise SergenError("no Whisper encoder weights in this checkpoint", where=str(path),
                          fix="give the folder of a Whisper checkpoint: model.safetensors (or its shards) with keys "
                              f"starting {' or '.join(map(repr, ENCODER_PREFIXES))}")
    return state


@dataclasses.dataclass(frozen=True)
class WhisperOptions:
    layers: tuple[int, ...] | None = option(None, "hidden states stored side by side (default: the model's "
                                                  "quarter points)", parse_layers, flag="--layers")
    input_mode: str = option("padded", "padded: every piece padded to 30 s, as Whisper was trained; trimmed: "
                                       "only the audio's length (a different store)", str, INPUT_MODES,
                             flag="--input-mode")


class WhisperEncoderFrames(TransformersExtractor):
    """The machinery of every ``whisper-*`` name; the subclasses only name the checkpoint."""

    sample_rate = SAMPLE_RATE
    frame_rate = SAMPLE_RATE / FRAME_SAMPLES
    min_samples = 1
    batchable = True  # each piece is padded to 30 s on its own, so a batch changes nothing (tested)
    batching = ("padded: any utterances batched (each 30 s piece padded on its own, no mask); trimmed: pieces of "
                "equal frame count batched (no padding). SDPA attention")
    precisions = ("fp32", "bf16", "fp16")
    depth = 0  # encoder blocks of the published checkpoint (the loaded config decides)

    Options = WhisperOptions

    def __init__(self, device: str = "cpu", weights=None, revision: str | None = None, **options):
        super().__init__(device, weights, revision, **options)
        self.input_mode = self.config.input_mode
        self.batchable = self.input_mode == "padded"
        self.layers = self.config.layers
        self.dim = type(self).dim * len(self.layers or default_layers(self.depth))  # until the config says
        self._features = None
        self._files: list[str] = []

    @property
    def model(self):
        if self._model is None:
            from transformers.models.whisper.modeling_whisper import WhisperEncoder

            config = self._config()
            self._features = self._feature_extractor(config)
            self._files = checkpoint_files(self.path)
            encoder = WhisperEncoder(config)
            try:
                encoder.load_state_dict(encoder_state_dict(self.path, self._files), strict=True)
            except RuntimeError as exc:  # missing or extra keys, or other shapes: another model's weights
                raise SergenError(f"the {self.name} checkpoint does not match its config.json: "
                                  f"{str(exc).strip().splitlines()[-1].strip()[:300]}", where=str(self.path),
                                  fix="give the folder of one complete Whisper checkpoint") from exc
            self._model = encoder.float().to(self.device).eval()
        return self._model

    def _config(self):
        import transformers

        try:
            config = transformers.AutoConfig.from_pretrained(self.path)
        except (OSError, ValueError) as exc:
            raise SergenError(f"cannot read the {self.name} config.json: {str(exc).splitlines()[0]}",
                              where=str(self.path), fix="give the folder of a Whisper checkpoint") from exc
        if not isinstance(config, transformers.WhisperConfig):
            raise SergenError(f"this is a {config.model_type} checkpoint, not Whisper", where=str(self.path),
                              fix="give a Whisper checkpoint (e.g. openai/whisper-large-v3); other transformers "
                                  "speech encoders go through hf:<model-id>")
        return config

    def _feature_extractor(self, config):
        import transformers

        if not (self.path / "preprocessor_config.json").exists():
            raise SergenError(f"no preprocessor_config.json beside the {self.name} weights", where=str(self.path),
                              fix=f"copy it from the checkpoint ({self.repo_id}): it sets the Mel front end "
                                  "(80 or 128 bins)")
        features = transformers.WhisperFeatureExtractor.from_pretrained(self.path)
        found = (features.sampling_rate, features.hop_length, features.n_samples, features.feature_size,
                 config.max_source_positions)
        expected = (SAMPLE_RATE, HOP, PIECE_SAMPLES, config.num_mel_bins, PIECE_SAMPLES // FRAME_SAMPLES)
        if found != expected:
            raise SergenError(
                "this Whisper front end is not the one sergen's frame counts assume: (sample rate, hop, "
                f"samples per input, Mel bins, encoder positions) = {found}, expected {expected}",
                where=str(self.path),
                fix="use the checkpoint's own preprocessor_config.json and config.json (Mel bins must agree)")
        features.dither = 0.0  # a training-time augmentation: frames must not change between runs
        return features

    def config_dim(self, config) -> int:
        if self.layers is None:
            self.layers = default_layers(config.encoder_layers)
        check_layers(self.layers, config.encoder_layers + 1, f"Whisper encoder ({self.name})")
        return config.d_model * len(self.layers)

    def settings(self) -> dict:
        if self.layers is None:
            self.load()
        settings = {"layers": list(self.layers), "piece_seconds": PIECE_SAMPLES // SAMPLE_RATE}
        return settings if self.input_mode == "padded" else dict(settings, input=self.input_mode)

    def batch_key(self, n_samples: int) -> int:
        """Padded: one group. Trimmed: the frame count of a single piece (equal counts, equal input lengths);
        longer utterances (several pieces) share one group, which ``embed`` splits by piece length."""
        if self.batchable:
            return 0
        n = self.padded_length(n_samples)
        return piece_frames(n) if n <= PIECE_SAMPLES else -1

    def describe_weights(self) -> dict:
        self.model  # noqa: B018  (finds the files that hold the encoder)
        record = weights_record(self.repo_id, self.revision, self.path)
        record["files"] = list(self._files)
        record["sha256"] = sha256_of(self.path / self._files[0])  # the file read, not the first listed
        return record

    def num_frames(self, n_samples: int) -> int:
        full, rest = divmod(self.padded_length(n_samples), PIECE_SAMPLES)
        return full * piece_frames(PIECE_SAMPLES) + (piece_frames(rest) if rest else 0)

    def embed(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        if self.layers is None:  # the default layers depend on the checkpoint's depth
            self.load()
        model = self.model
        pieces, owner = [], []
        for i, wave in enumerate(waveforms):
            for start in range(0, max(len(wave), 1), PIECE_SAMPLES):
                pieces.append(np.asarray(wave[start:start + PIECE_SAMPLES], np.float32))
                owner.append(i)
        frames: list = [None] * len(pieces)
        groups = [list(range(len(pieces)))] if self.batchable else [
            [i for i, p in enumerate(pieces) if piece_frames(len(p)) == k] for k in sorted({piece_frames(len(p)) for p in pieces})]
        for group in groups:
            for first in range(0, len(group), PIECES_PER_PASS):
                idx = group[first:first + PIECES_PER_PASS]
                states = self._encode([pieces[i] for i in idx])
                for i, state in zip(idx, states):
                    frames[i] = state[: piece_frames(len(pieces[i]))]
        return [np.concatenate([f for f, o in zip(frames, owner) if o == i]) for i in range(len(waveforms))]

    def _encode(self, batch: list[np.ndarray]) -> np.ndarray:
        """Hidden states of the chosen layers, side by side, for pieces all padded to 30 s (default) or all of
        one frame count (trimmed)."""
        import torch

        if self.batchable:
            mel = self._features(batch, sampling_rate=SAMPLE_RATE, return_tensors="pt")["input_features"]
            with torch.inference_mode(), self.autocast():
                states = self.model(self.to_device(mel), output_hidden_states=True).hidden_states
        else:
            n = piece_frames(len(batch[0])) * FRAME_SAMPLES
            batch = [np.pad(piece, (0, n - len(piece))) for piece in batch]
            mel = self._features(batch, sampling_rate=SAMPLE_RATE, return_tensors="pt", padding="longest",
                                 truncation=False)["input_features"]
            with torch.inference_mode(), self.autocast():
                states = trimmed_hidden_states(self.model, self.to_device(mel))
        return torch.cat([states[layer] for layer in self.layers], dim=-1).float().cpu().numpy()


def trimmed_hidden_states(encoder, mel) -> list:
    """``WhisperEncoder.forward`` for Mel input of any even length ≤ 3,000 frames (transformers refuses all
    but 3,000): the same modules, positional embeddings cut to the frames used. Returns the hidden states as
    transformers does: the embedding, each block's output, the last one after the final layer norm."""
    import torch.nn.functional as F

    x = F.gelu(encoder.conv2(F.gelu(encoder.conv1(mel)))).permute(0, 2, 1)
    hidden = x + encoder.embed_positions.weight[: x.shape[1]]
    states = [hidden]
    for layer in encoder.layers:
        hidden = layer(hidden, None)
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden
        states.append(hidden)
    states[-1] = encoder.layer_norm(states[-1])
    return states


@EXTRACTORS.register("whisper-large-v3", "whisper")
class WhisperLargeV3(WhisperEncoderFrames):
    name = "whisper-large-v3"
    dim = 1280
    depth = 32
    source = "transformers WhisperEncoder, openai/whisper-large-v3"
    repo_id = "openai/whisper-large-v3"


@EXTRACTORS.register("whisper-medium")
class WhisperMedium(WhisperEncoderFrames):
    name = "whisper-medium"
    dim = 1024
    depth = 24
    source = "transformers WhisperEncoder, openai/whisper-medium"
    repo_id = "openai/whisper-medium"


@EXTRACTORS.register("whisper-small")
class WhisperSmall(WhisperEncoderFrames):
    name = "whisper-small"
    dim = 768
    depth = 12
    source = "transformers WhisperEncoder, openai/whisper-small"
    repo_id = "openai/whisper-small"


@EXTRACTORS.register("whisper-base")
class WhisperBase(WhisperEncoderFrames):
    name = "whisper-base"
    dim = 512
    depth = 6
    source = "transformers WhisperEncoder, openai/whisper-base"
    repo_id = "openai/whisper-base"
