"""A wav deleted between ``sergen manifest`` and ``sergen extract`` is named as missing, with its path and the
two ways out, never as "cannot decode audio (LibsndfileError: … System error.)"; restored, the rerun writes it."""

import shutil

from tests.test_bad_input import cli  # noqa: F401 - the in-process CLI fixture


def test_a_wav_deleted_after_its_manifest_is_named_missing_and_restoring_it_finishes(cli, demo_root, tmp_path):
    root = tmp_path / "emodb"
    shutil.copytree(demo_root / "emodb", root)
    assert cli("manifest", "emodb", "--root", root)[0] == 0
    gone = sorted((root / "wav").glob("*.wav"))[0]
    kept = tmp_path / "kept.wav"
    shutil.move(gone, kept)

    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 1
    assert f"{gone.stem}: audio file missing: {gone} (deleted or moved since its manifest was written)" in text
    assert "cannot decode" not in text
    assert ("1 audio file(s) listed in manifests/emodb.csv are missing (not undecodable): restore them and rerun "
            "`sergen extract --model melspec --corpus emodb` (only they are written), or rerun `sergen manifest "
            "emodb --root DIR` to list the corpus as it is now, then rebuild with `sergen extract --model melspec --corpus "
            "emodb --overwrite`") in text

    shutil.move(kept, gone)
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0 and "1 written this run, 189 before, 0 padded, 0 failed" in text


def test_an_unreadable_file_is_named_as_such(tmp_path, monkeypatch):
    import os

    import pytest

    from sergen.audio import AudioError, load_audio

    wav = tmp_path / "a.wav"
    wav.write_bytes(b"RIFF")
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # root reads every file: permissions as denied
    with pytest.raises(AudioError, match=f"^audio file not readable: {wav} \\(permission denied\\)$"):
        load_audio(wav, 16000)
    with pytest.raises(AudioError, match=f"^audio file missing: {tmp_path / 'b.wav'} "):
        load_audio(tmp_path / "b.wav", 16000)
