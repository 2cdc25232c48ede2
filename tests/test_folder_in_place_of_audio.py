"""A folder where a corpus's audio file belongs (``mkdir`` in its place) is named as a folder, with its path
and what to do, not "cannot decode audio (Format not recognised)": at manifest time and at extraction."""

from __future__ import annotations

import shutil

from tests.test_bad_input import _tiny_emodb, cli  # noqa: F401 - the in-process CLI fixture


def test_a_folder_in_place_of_a_wav_is_named_as_a_folder(cli, tmp_path):
    root = _tiny_emodb(tmp_path / "emodb")
    assert cli("manifest", "emodb", "--root", root)[0] == 0
    wav = root / "wav/03a01Fa.wav"
    wav.unlink()
    wav.mkdir()
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 1 and "7 written this run, 0 before, 0 padded, 1 failed" in text
    assert f"03a01Fa: a folder where an audio file belongs: {wav} (move the folder away and put the audio file " \
           "back, or rerun `sergen manifest` to list the corpus as it is now)" in text, text
    assert "cannot decode" not in text
    code, text = cli("manifest", "emodb", "--root", root)
    assert f"wav/03a01Fa.wav: unreadable audio: a folder where an audio file belongs: {wav}" in text, text
    shutil.rmtree(wav)
