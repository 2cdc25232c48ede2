"""Small audio containers written by the tests through PyAV (sergen ships no media files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# suffix → (audio codec, its input sample format, video codec or None): one file of each EmoBox container
CONTAINERS = {
    ".mp4": ("aac", "fltp", "mpeg4"),      # meld
    ".avi": ("pcm_s16le", "s16", "mpeg4"),  # enterface, mer2023
    ".webm": ("libopus", "s16", "libvpx"),  # emns
    ".mkv": ("pcm_s16le", "s16", None),
    ".mp3": ("libmp3lame", "s16p", None),
    ".m4a": ("aac", "fltp", None),
    ".opus": ("libopus", "s16", None),
}
LOSSLESS = (".avi", ".mkv")


def tone(n: int, rate: int = 16000, freq: float = 220.0) -> np.ndarray:
    """int16 samples of a quiet sine (exactly representable, so a lossless container gives them back)."""
    return np.round(3000 * np.sin(2 * np.pi * freq * np.arange(n) / rate)).astype(np.int16)


def write_container(path: Path, samples: np.ndarray | None, rate: int = 16000, video_frames: int = 3) -> Path:
    """``samples`` (int16, mono) in the container of ``path``'s suffix, beside a few black video frames where
    the container is a video one; ``samples=None`` writes the video alone (no audio stream); an empty
    array writes an audio stream with no frames."""
    import av

    audio_codec, fmt, video_codec = CONTAINERS[path.suffix]
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        video = audio = None
        if video_codec:  # every stream is added before anything is muxed
            video = out.add_stream(video_codec, rate=25)
            video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        if samples is not None:
            audio = out.add_stream(audio_codec, rate=rate, layout="mono")
        out.start_encoding()  # the header, even for a stream that gets no frames
        if video is not None:
            for i in range(video_frames):
                frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24").reformat(
                    format="yuv420p")
                frame.pts = i
                for packet in video.encode(frame):
                    out.mux(packet)
            for packet in video.encode(None):
                out.mux(packet)
        if audio is not None:
            if len(samples):
                data = samples[None, :].astype(np.float32) / 32768 if fmt == "fltp" else samples[None, :]
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt, layout="mono")
                frame.sample_rate = rate
                for packet in audio.encode(frame):
                    out.mux(packet)
            for packet in audio.encode(None):
                out.mux(packet)
    return path
