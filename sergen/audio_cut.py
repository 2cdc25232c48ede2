"""Compressed audio files cut short (a truncated copy, a download stopped midway), found from their header and
tail without decoding the whole file; ``audio_wav.cut_short`` does the same for WAV.

Why: libsndfile takes a FLAC file's length from its header (STREAMINFO) and only fails, in its own words, when
extraction decodes past the cut; FFmpeg decodes an MP3 or Ogg file cut short without a word, at its shorter
length. Each check here reads a few kilobytes:

- FLAC: the header's sample count, then a seek to its last samples and a read of them (libsndfile seeks by
  bisection: a few blocks read); a file cut short fails there.
- Ogg (Vorbis, Opus): the last page must be whole and carry the end-of-stream flag, which every encoder sets
  on the stream's last page.
- MP3: where the file has a Xing/Info (or VBRI) header, which records the stream's length in bytes (LAME
  and FFmpeg write one), the file must hold that many. Without one, the length is recorded nowhere, but each
  frame's header gives the frame's length: the frames are walked from the first to the end of the file
  (headers only, in memory), and a last frame that the file does not hold whole is a cut. A cut at a frame
  boundary (1 in several hundred byte positions) still cannot be told from a shorter recording.
"""

from __future__ import annotations

import os
import struct

UNKNOWN_LENGTH = 1 << 62
"""libsndfile's frame count (2**63 - 1) for a FLAC whose header records no length (a streaming encoder writes a
total of 0): not a cut; ``unknown_length`` names it."""
TAIL_BYTES = 1 << 16  # the end of an Ogg file read for its last page (pages are at most 65,307 bytes)
MP3_WALK_BYTES = 1 << 26  # an MP3 without a length header this large or less is read whole for its frame walk

# MPEG audio bit rates (kbit/s) by bit-rate index 1-14: MPEG-1 layers I, II, III; MPEG-2 and 2.5 layer I, II and III
_KBPS = {(True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
         (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
         (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
         (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
         (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # by version bits


def cut_short_compressed(path: str, opened=None) -> str | None:
    """Why a FLAC, Ogg or MP3 file is cut short (what its header declares, the file's size), else None (not one
    of those, whole, or not readable: its decoder names that). ``opened``: the file already open as a
    ``soundfile.SoundFile``, which a FLAC's check then reads instead of opening it again."""
    ext = os.path.splitext(path)[1].lower()
    flac = flac_cut if opened is None else (lambda p: flac_cut_open(opened, p) if is_flac(p) else None)
    check = {".flac": flac, ".ogg": ogg_cut, ".opus": ogg_cut, ".oga": ogg_cut, ".mp3": mp3_cut}.get(ext)
    if check is None:
        return None
    try:
        return check(path)
    except OSError:
        return None


def _size(path: str) -> int:
    return os.stat(path).st_size


def flac_cut(path: str) -> str | None:
    import soundfile as sf

    if not is_flac(path):
        return None
    try:
        f = sf.SoundFile(path)
    except Exception:  # noqa: BLE001 - a header that does not read: the caller's decoder names it
        return None
    with f:
        return flac_cut_open(f, path)


def is_flac(path: str) -> bool:
    """A file that begins as FLAC does (its magic, whatever its name)."""
    with open(path, "rb") as fh:
        return fh.read(4) == b"fLaC"


def flac_cut_open(f, path: str) -> str | None:
    """``flac_cut`` on a FLAC file already open (``soundfile.SoundFile``): its header is read once, by its
    caller (``sergen.audio.read_info`` takes the length, rate and channels from the same open file)."""
    frames = f.frames
    if frames <= 0:
        return None
    if frames >= UNKNOWN_LENGTH:  # libsndfile's count for a STREAMINFO total of 0, which it cannot read
        return None
    tail = min(frames, 64)
    try:
        f.seek(frames - tail)
        got = len(f.read(tail, dtype="int16"))
    except Exception:  # noqa: BLE001 - libsndfile's error on a seek or read past the cut
        got = -1
    if got == tail:
        return None
    return (f"its header declares {frames:,} samples, but the file ({_size(path):,} bytes) ends before the last of "
            "them")


def ogg_cut(path: str) -> str | None:
    size = _size(path)
    with open(path, "rb") as fh:
        if fh.read(4) != b"OggS":
            return None
        fh.seek(max(0, size - TAIL_BYTES))
        tail = fh.read()
    at = tail.rfind(b"OggS")
    while at >= 0:
        if at + 27 <= len(tail) and tail[at + 4] == 0:  # a page header (version 0), not "OggS" inside audio data
            break
        at = tail.rfind(b"OggS", 0, at)
    if at < 0:
        return f"no whole Ogg page in its last {len(tail):,} bytes (the file holds {size:,} bytes)"
    segments = tail[at + 26]
    if at + 27 + segments > len(tail):
        return f"its last Ogg page is cut inside its header (the file holds {size:,} bytes)"
    body = sum(tail[at + 27:at + 27 + segments])
    if at + 27 + segments + body > len(tail):
        return (f"its last Ogg page is cut: it declares {body:,} bytes, {len(tail) - at - 27 - segments:,} are there "
                f"(the file holds {size:,} bytes)")
    if not tail[at + 5] & 0x04:
        return f"its last Ogg page does not end the stream (no end-of-stream flag; the file holds {size:,} bytes)"
    return None


def _id3_size(head: bytes) -> int:
    """Bytes of an ID3v2 tag at the start of an MP3 file (0 where none)."""
    if len(head) < 10 or head[:3] != b"ID3":
        return 0
    size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
    return 10 + size + (10 if head[5] & 0x10 else 0)  # a footer, where flagged


def mp3_cut(path: str) -> str | None:
    size = _size(path)
    with open(path, "rb") as fh:
        head = fh.read(10)
        start = _id3_size(head)
        fh.seek(start)
        frame = fh.read(4096)
    sync = 0
    while sync + 1 < len(frame) and not (frame[sync] == 0xFF and frame[sync + 1] & 0xE0 == 0xE0):
        sync += 1
    frame = frame[sync:]
    declared = None
    for tag in (b"Xing", b"Info"):
        at = frame.find(tag, 0, 64)
        if at >= 0 and at + 8 <= len(frame):
            flags = struct.unpack_from(">I", frame, at + 4)[0]
            field = at + 8 + (4 if flags & 1 else 0)  # the frame count comes first, where flagged
            if flags & 2 and field + 4 <= len(frame):
                declared = struct.unpack_from(">I", frame, field)[0]
            break
    at = frame.find(b"VBRI", 0, 64)
    if declared is None and at >= 0 and at + 14 <= len(frame):
        declared = struct.unpack_from(">I", frame, at + 10)[0]
    if not declared:  # no length recorded: the frames' own lengths tell a cut inside the last one
        return mp3_frames_cut(path, start + sync, size)
    held = size - start - sync
    if held >= declared:
        return None
    return f"its Xing/Info header declares {declared:,} bytes of audio, the file holds {max(held, 0):,}"


def mp3_frame_bytes(header: bytes) -> int | None:
    """The length in bytes of the MPEG audio frame that starts with this 4-byte header, or None where it is not
    one (no sync, a reserved value) or gives no length (free format)."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer = (header[1] >> 3) & 3, 4 - ((header[1] >> 1) & 3)  # version 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    index, rate_index, padding = header[2] >> 4, (header[2] >> 2) & 3, (header[2] >> 1) & 1
    if version == 1 or layer == 4 or index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    bits = _KBPS[(mpeg1, layer if mpeg1 or layer == 1 else 2)][index - 1] * 1000
    rate = _SAMPLE_RATES[version][rate_index]
    if layer == 1:
        return (12 * bits // rate + padding) * 4
    return (144 if mpeg1 or layer == 2 else 72) * bits // rate + padding  # 1,152 or 576 samples a frame


def mp3_frames_cut(path: str, first: int, size: int) -> str | None:
    """Why an MP3 file without a length header is cut short: its frames, walked from the one at byte ``first``,
    end past the end of the file. None where the last frame is whole, or the walk meets something not a frame
    (an ID3v1 or APE tag at the end, junk: not judged), or the file is too large to read whole here."""
    if size > MP3_WALK_BYTES:
        return None
    with open(path, "rb") as fh:
        data = fh.read()
    at, frames = first, 0
    while at + 4 <= len(data):
        length = mp3_frame_bytes(data[at:at + 4])
        if length is None:
            return None
        if at + length > len(data):
            if not frames:  # one lone frame header: too little to call a stream
                return None
            return (f"its last MP3 frame (at byte {at:,}, after {frames:,} whole frames) declares {length:,} bytes, "
                    f"the file holds {len(data) - at:,} of them")
        at, frames = at + length, frames + 1
    return None
