"""Manifest-time header reads of FLAC files (``sergen.audio.read_info``): the header opened once (now: the cut check
reads the tail through the same open file) against the sequence before stop 36 (``sf.info``, then the cut check's
own ``SoundFile``), replayed here. Opens counted, CPU seconds of the same files, alternating, best of N, in one
process. Usage: ``python bench/flac_header_reads_36.py [FILES] [N]`` (default 200 files of 3 s, N = 5)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def cpu(call) -> float:
    t = time.process_time()
    call()
    return time.process_time() - t


def before(path: Path):
    """read_info as it was: ``sf.info`` (open 1), then ``_refuse_cut_short`` (the FLAC cut check opens it again)."""
    from sergen.audio import AudioInfo, _refuse_cut_short

    info = sf.info(str(path))
    _refuse_cut_short(path)
    return AudioInfo(int(info.frames), int(info.samplerate), int(info.channels))


def main(files: int = 200, n: int = 5) -> None:
    from sergen.audio import read_info

    folder = Path(tempfile.mkdtemp(prefix="flac_bench_"))
    rng = np.random.default_rng(0)
    paths = []
    for i in range(files):
        paths.append(folder / f"u{i}.flac")
        sf.write(paths[-1], (0.1 * rng.standard_normal(48000)).astype(np.float32), 16000, format="FLAC")
    assert [read_info(p) for p in paths] == [before(p) for p in paths]  # the same values

    opens = []
    real = sf.SoundFile

    class Counted(real):
        def __init__(self, file, *args, **kwargs):
            opens.append(file)
            super().__init__(file, *args, **kwargs)

    sf.SoundFile = Counted
    for p in paths:
        read_info(p)
    now = len(opens)
    opens.clear()
    for p in paths:
        before(p)
    then = len(opens)
    sf.SoundFile = real

    old, new = [], []
    for _ in range(n):
        old.append(cpu(lambda: [before(p) for p in paths]))
        new.append(cpu(lambda: [read_info(p) for p in paths]))
    print(f"{files} FLAC files: opens per file {then / files:g} before, {now / files:g} now; CPU {min(old) * 1e3:.1f} ms "
          f"before, {min(new) * 1e3:.1f} ms now (best of {n}, x{min(old) / min(new):.2f})")
    for p in paths:
        p.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
