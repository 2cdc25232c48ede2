"""record_audio writes a new store's audio digests without reading the arrays back first (issue 22): what it
stores equals what the read-modify-write path (a resumed store's) stores, in two halves."""

import numpy as np
import soundfile as sf
import zarr

from sergen.audio_digest import GROUP, audio_array_specs, file_digest, record_audio
from sergen.store.layout import CHUNK_KEYS


def create_audio_arrays(group: zarr.Group, n_utt: int) -> None:
    """The ``audio`` group a new store starts with (``audio_array_specs``), alone in ``group``."""
    audio = group.create_group(GROUP)
    for name, (spec, values) in audio_array_specs(n_utt).items():
        array = audio.create_array(name, chunk_key_encoding=CHUNK_KEYS, **spec)
        if values is not None:
            array[:] = values


def test_all_rows_at_once_equal_two_halves(tmp_path):
    paths = []
    for i in range(7):
        sf.write(tmp_path / f"{i}.wav", np.full(100 + i, i / 10, np.float32), 16000, subtype="PCM_16")
        paths.append(f"{i}.wav")
    stored = {}
    for how, parts in (("whole", [np.arange(7)]), ("halves", [np.arange(3), np.arange(3, 7)])):
        group = zarr.open_group(str(tmp_path / f"{how}.zarr"), mode="w", zarr_format=3)
        create_audio_arrays(group, 7)
        for rows in parts:
            record_audio(group, tmp_path, paths, rows)
        stored[how] = {name: group[GROUP][name][:] for name in ("sha256", "size", "mtime_ns")}
    for name in ("sha256", "size", "mtime_ns"):
        np.testing.assert_array_equal(stored["whole"][name], stored["halves"][name], err_msg=name)
        assert stored["whole"][name].dtype == stored["halves"][name].dtype
    assert stored["whole"]["sha256"].tolist() == [file_digest(tmp_path / p)[0] for p in paths]
    assert stored["whole"]["size"].tolist() == [(tmp_path / p).stat().st_size for p in paths]
