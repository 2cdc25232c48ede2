"""Audio I/O: header reads (no decode) for manifests, decode + mono + resample for extraction.

Containers soundfile cannot open (video, mp3, ogg, ...) go through :mod:`sergen.audio_containers`, whose
length is counted by one decode. A segment (``offset`` and ``frames`` in the file's own samples, lhotse's
supervision within a recording) is cut before resampling, so it equals the same samples cut into a file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from sergen.audio_containers import ContainerError, decode_container, is_container
from sergen.audio_cut import UNKNOWN_LENGTH, cut_short_compressed
from sergen.audio_wav import cut_in_header, cut_short, read_pcm16


@dataclass(frozen=True)
class AudioInfo:
    num_samples: int
    sample_rate: int
    channels: int

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.sample_rate


class AudioError(Exception):
    """A file that cannot be read as audio; the message says why."""


def read_info(path: str | Path) -> AudioInfo:
    """Length, rate and channels from the file header alone (a container's length by decoding it once). The file
    is opened once: a FLAC's check for a cut (``audio_cut``) reads its tail through the same open file."""
    if is_container(path):
        _refuse_cut_short(path)  # FFmpeg decodes an MP3 or Ogg file cut short without a word, at its shorter length
        data, rate = _decode_container(path)
        return AudioInfo(data.shape[0], rate, data.shape[1])
    try:
        opened = sf.SoundFile(str(path))
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, ...
        raise AudioError(file_problem(path, opened=True) or
                         f"unreadable audio header ({exc.__class__.__name__}: {exc})") from None
    with opened:
        frames, rate, channels = opened.frames, opened.samplerate, opened.channels
        why = cut_short_compressed(str(path), opened)
    _refuse_cut_short(path, why)
    if frames <= 0:
        raise AudioError(file_problem(path, opened=True) or "audio file holds no samples")
    if frames >= UNKNOWN_LENGTH:
        raise AudioError(_no_length(path))
    return AudioInfo(int(frames), int(rate), int(channels))


_UNCHECKED = object()


def _refuse_cut_short(path: str | Path, compressed_why=_UNCHECKED) -> None:
    """A WAV, FLAC, Ogg or MP3 file shorter than its header declares (``audio_wav``, ``audio_cut``): refused by
    name, never read at the length that is there nor left to its decoder's words at extraction.
    ``compressed_why``: ``cut_short_compressed``'s answer where the caller has it already (``read_info``)."""
    cut = cut_short(str(path))
    if cut:
        raise AudioError(f"audio file cut short: its header declares {cut[0]:,} samples, the file holds {cut[1]:,} "
                         f"(truncated, or still being copied): {path}; restore the whole file from the corpus's source")
    why = cut_short_compressed(str(path)) if compressed_why is _UNCHECKED else compressed_why
    if why:
        raise AudioError(_cut_compressed(path, why))


def _no_length(path: str | Path) -> str:
    return (f"audio file's header records no length (a FLAC from a streaming encoder: total samples 0), which "
            f"libsndfile cannot read: {path}; re-encode it with its length, e.g. `ffmpeg -i IN.flac OUT.flac`")


def _is_flac_named(path: str | Path) -> bool:
    return str(path).lower().endswith(".flac")


def _records_no_length(path: str | Path) -> bool:
    """A FLAC whose header records no length (libsndfile reports 2**63 - 1 frames, then fails to read it)."""
    if not _is_flac_named(path):
        return False
    try:
        return sf.info(str(path)).frames >= UNKNOWN_LENGTH
    except Exception:  # noqa: BLE001 - a header that does not read: named by the other checks
        return False


def _cut_compressed(path: str | Path, why: str) -> str:
    return (f"audio file cut short: {why} (truncated, or still being copied): {path}; restore the whole file from "
            "the corpus's source")


def resampled_length(num_samples: int, rate_in: int, rate_out: int) -> int:
    """Exact output length of soxr.resample: n·out/in rounded half up (checked in tests)."""
    if rate_in == rate_out:
        return num_samples
    return (2 * num_samples * rate_out + rate_in) // (2 * rate_in)


MISSING = "audio file missing"  # the start of the reason of a file gone since its manifest (``sergen.cli.stores``)


def file_problem(path: str | Path, opened: bool = False) -> str | None:
    """Why a file that failed to decode cannot even be opened (gone, or not readable), asked only after a
    failure: a decoder's own message for these ("System error.") names neither. ``opened``: the caller has tried
    ``soundfile.SoundFile`` on it already (``read_info``), so the FLAC checks, which would open it again, are known:
    it did not open (neither check can read it), or they ran on that open file."""
    import os

    if not os.path.lexists(path) or not os.path.exists(path):
        return f"{MISSING}: {path} (deleted or moved since its manifest was written)"
    if os.path.isdir(path):
        return (f"a folder where an audio file belongs: {path} (move the folder away and put the audio file back, "
                "or rerun `sergen manifest` to list the corpus as it is now)")
    if os.path.isfile(path) and not os.access(path, os.R_OK):
        return f"audio file not readable: {path} (permission denied)"
    why = None if opened and _is_flac_named(path) else cut_short_compressed(str(path))
    if why:
        return _cut_compressed(path, why)
    if not opened and _records_no_length(path):
        return _no_length(path)
    held = cut_in_header(str(path))
    if held == 0:
        return f"audio file is empty (0 bytes): {path}; restore the whole file from the corpus's source"
    if held is not None:
        return (f"audio file cut short inside its WAV header: it ends after {held} bytes, before its data chunk "
                f"(truncated, or still being copied): {path}; restore the whole file from the corpus's source")
    return None


def _words(exc: Exception) -> str:
    """A decoder's own message, on one line: quoted after sergen's sentence, never in its place."""
    return " ".join(f"{exc.__class__.__name__}: {exc}".split())[:160]


def undecodable(path: str | Path, exc: Exception) -> str:
    """Why a file whose header read could not be decoded, in words, with the decoder's own as a detail."""
    return (f"cannot decode the audio file {path}: its samples are damaged, or the file changed since its manifest "
            f"was written (the decoder, libsndfile, says: {_words(exc)}); restore the whole file from the corpus's "
            "source, or rerun `sergen manifest` to list the corpus as it is now")


def _decode_container(path: str | Path) -> tuple[np.ndarray, int]:
    try:
        data, rate = decode_container(path)
    except ContainerError as exc:
        raise AudioError(file_problem(path) or str(exc)) from None
    if data.shape[0] == 0:
        raise AudioError("the container's audio stream decodes to zero samples")
    return data, rate


def check_segment(offset: int, frames: int, num_samples: int) -> None:
    """A segment must lie inside its file: a cut past the end would silently be shorter."""
    if offset < 0 or frames <= 0:
        raise AudioError(f"segment of {frames} samples at offset {offset} is empty or starts before the file")
    if offset + frames > num_samples:
        raise AudioError(f"segment [{offset}, {offset + frames}) ends past the file's end ({num_samples} samples)")


def load_audio(path: str | Path, target_rate: int, offset: int = 0, frames: int | None = None) -> np.ndarray:
    """Decode to float32 mono at ``target_rate`` (channels averaged, soxr high quality); with ``frames``,
    only the segment of that many samples from ``offset`` (both at the file's own rate)."""
    if is_container(path):
        data, rate = _decode_container(path)
        if frames is not None:
            check_segment(int(offset), int(frames), data.shape[0])
            data = data[int(offset):int(offset) + int(frames)]
    elif frames is None and (plain := _plain_wav(path)) is not None:  # most corpora: numpy, the same values
        data, rate = plain
    else:
        try:
            if frames is not None:  # read only the segment: a long recording holds many
                check_segment(int(offset), int(frames), sf.info(str(path)).frames)
            data, rate = sf.read(str(path), dtype="float32", always_2d=True, start=int(offset),
                                 frames=-1 if frames is None else int(frames))
        except AudioError:
            raise
        except Exception as exc:
            raise AudioError(file_problem(path) or undecodable(path, exc)) from None
        _refuse_cut_short(path)  # soundfile reads what is there without a word
    if data.shape[0] == 0:  # a file cut inside its header reads as empty: named as cut, as read_info names it
        raise AudioError(file_problem(path) or "audio file holds no samples")
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if rate != target_rate:
        mono = soxr.resample(mono, rate, target_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def _plain_wav(path: str | Path) -> tuple[np.ndarray, int] | None:
    """A plain 16-bit PCM WAV file decoded without soundfile (``sergen.audio_wav``), or None: any other file, or
    one that cannot be read, goes through soundfile, whose messages name what is wrong."""
    try:
        return read_pcm16(str(path))
    except OSError:
        return None


def segment_of(row) -> dict:
    """``load_audio``'s segment arguments for a manifest row: its ``segment_offset`` and length, if it has one."""
    offset = getattr(row, "segment_offset", None)
    if offset is None or offset != offset or offset == "":  # absent, NaN (a whole file), or empty
        return {}
    return {"offset": int(offset), "frames": int(row.num_samples)}
