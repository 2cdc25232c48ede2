"""Audio inside containers soundfile cannot open (video: mp4/avi/mkv/webm/mov; compressed: mp3/m4a/ogg/opus),
decoded through PyAV, which ships its own FFmpeg codecs.

A compressed stream's header gives no exact sample count (encoder delay, padding, variable frame sizes),
so :func:`container_info` decodes the first audio stream once and counts: the manifest records that count,
and extraction, decoding again, checks its length against it (``decode_row``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

CONTAINER_SUFFIXES = frozenset({".mp4", ".m4a", ".mov", ".avi", ".mkv", ".webm", ".mp3", ".ogg", ".opus"})


class ContainerError(Exception):
    """A container that holds no decodable audio; the message says why."""


def is_container(path: str | Path) -> bool:
    # os.path, not pathlib: called once per decoded file, where building a Path cost more than the check
    return os.path.splitext(os.fspath(path))[1].lower() in CONTAINER_SUFFIXES


def decode_container(path: str | Path) -> tuple[np.ndarray, int]:
    """(samples × channels float32, rate) of the container's first audio stream."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                kinds = sorted({s.type for s in container.streams}) or ["no streams"]
                raise ContainerError(f"the container holds no audio stream (only {', '.join(kinds)})")
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate
            channels = stream.codec_context.layout.nb_channels
            # planar float at the stream's own rate and layout: a format change only, no resampling
            convert = av.AudioResampler(format="fltp", layout=stream.codec_context.layout, rate=rate)
            parts = []
            try:
                for frame in container.decode(stream):
                    frame.pts = None  # the converter would otherwise pad gaps in the timestamps
                    parts.extend(f.to_ndarray() for f in convert.resample(frame))
            except EOFError:  # FFmpeg's end of data, reached at once by a stream that holds no packets
                pass
            parts.extend(f.to_ndarray() for f in convert.resample(None))
    except ContainerError:
        raise
    except Exception as exc:  # av.error.FFmpegError and its kin, OSError
        raise ContainerError(f"cannot decode the container ({exc.__class__.__name__}: {exc})") from None
    if not rate or not channels:
        raise ContainerError("the audio stream declares no sample rate or channels")
    data = np.concatenate(parts, axis=1).T if parts else np.zeros((0, channels), np.float32)
    return np.ascontiguousarray(data, dtype=np.float32), int(rate)
