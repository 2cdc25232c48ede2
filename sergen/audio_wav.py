"""16-bit PCM WAV files decoded with numpy alone, value for value what soundfile gives them (issue 22).

Why: for short files soundfile's Python side (cffi calls, the info struct, seek and tell) costs more than the
samples: ~100 µs a file, half a CPU second for the 4,913 files of the demo at scale 4, as much as their
resampling. libsndfile turns 16-bit PCM into float32 by multiplying each sample by 1/32768, a power of two, so
the product is exact and numpy gives the same bits (``tests/test_audio_wav.py`` checks it file for file).

Only the plain layout is read here: ``RIFF``/``WAVE``, a ``fmt `` chunk of format 1 (PCM), 16 bits, before a
``data`` chunk that is whole and holds whole frames. Anything else (other sample formats, extensible headers,
big-endian ``RIFX``, a data chunk cut short or of unknown length) gives ``None``, and the caller decodes the
file with soundfile as before, with its messages.
"""

from __future__ import annotations

import struct

import numpy as np

_SCALE = np.float32(1.0 / 32768)  # libsndfile's normalisation of 16-bit PCM to float


def read_pcm16(path: str) -> tuple[np.ndarray, int] | None:
    """(samples × channels float32, sample rate) of a plain 16-bit PCM WAV file, or None for any other file.
    Raises OSError where the file cannot be read (the caller's soundfile path names why)."""
    with open(path, "rb", buffering=0) as fh:
        if _is_wave(fh.read(12)):  # another format (FLAC, ...) is left to soundfile without reading it all
            fh.seek(0)
            raw = fh.read()
        else:
            return None
    layout = _pcm16_layout(raw)
    if layout is None:
        return None
    start, frames, channels, rate = layout
    samples = np.frombuffer(raw, dtype="<i2", count=frames * channels, offset=start).reshape(frames, channels)
    out = samples.astype(np.float32)
    np.multiply(out, _SCALE, out=out)
    return out, rate


def _is_wave(head: bytes) -> bool:
    return len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WAVE"


def _pcm16_layout(raw: bytes) -> tuple[int, int, int, int] | None:
    """(data offset, frames, channels, rate) of a plain 16-bit PCM WAV file's bytes, or None."""
    if not _is_wave(raw):
        return None
    fmt = None
    for chunk, size, body in _chunks(raw):
        if chunk == b"fmt ":
            if size < 16 or body + 16 > len(raw):
                return None
            tag, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", raw, body)
            if tag != 1 or bits != 16 or channels < 1 or align != 2 * channels or rate < 1:
                return None
            fmt = (channels, rate)
        elif chunk == b"data":
            if fmt is None or size == 0 or body + size > len(raw) or size % (2 * fmt[0]):
                return None  # before its format, of unknown length (streamed), cut short, or a partial frame
            return body, size // (2 * fmt[0]), fmt[0], fmt[1]
    return None


def _chunks(raw: bytes):
    """(id, declared size, offset of its body) of each RIFF chunk whose header lies in ``raw``, in order."""
    at = 12
    while at + 8 <= len(raw):
        size = struct.unpack_from("<I", raw, at + 4)[0]
        yield raw[at:at + 4], size, at + 8
        at += 8 + size + (size & 1)  # chunks are padded to an even length


_UNKNOWN_LENGTHS = (0, 0xFFFFFFFF)  # what streaming writers put in a data chunk's size before they know it


def cut_short(path: str) -> tuple[int, int] | None:
    """(frames the header declares, whole frames the file holds) of a WAV file whose data chunk is shorter than
    its header says, else None (not a WAV file, whole, or of unknown length). Why: libsndfile reads such a file
    without a word, as the frames that are there, so a truncated copy became a short (padded) utterance."""
    import os

    try:
        with open(path, "rb", buffering=0) as fh:
            head = fh.read(12)
            if not _is_wave(head):  # FLAC, MP3, ...: nothing more read
                return None
            head += fh.read((1 << 16) - 12)
            file_size = os.fstat(fh.fileno()).st_size
    except OSError:
        return None
    align = None
    for chunk, size, body in _chunks(head):
        if chunk == b"fmt " and body + 14 <= len(head):
            align = struct.unpack_from("<H", head, body + 12)[0]
        elif chunk == b"data":
            if not align or size in _UNKNOWN_LENGTHS or body + size <= file_size:
                return None
            return size // align, max(0, file_size - body) // align
    return None


def cut_in_header(path: str) -> int | None:
    """The size in bytes of a WAV file that ends before its ``data`` chunk begins (cut short inside its header,
    an empty file included), else None. Asked only after a decoder failed: libsndfile's own words for this
    ("No 'data' chunk marker.") do not say that the file is cut short."""
    import os

    try:
        with open(path, "rb", buffering=0) as fh:
            head = fh.read(1 << 16)
            size = os.fstat(fh.fileno()).st_size
    except OSError:
        return None
    if size == 0:
        return 0
    if not (b"RIFF".startswith(head[:4]) and (len(head) < 12 or head[8:12] == b"WAVE")):
        return None  # not the start of a WAV file
    if any(chunk == b"data" for chunk, _, _ in _chunks(head)):
        return None  # its header is whole: whatever failed, it was not a cut inside the header
    declared = struct.unpack_from("<I", head, 4)[0] + 8 if len(head) >= 8 else None
    return size if declared is None or declared > size else None
