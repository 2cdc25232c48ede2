"""The synthetic corpora: native layouts the readers parse, deterministic, and emotion that is learnable
within a corpus and transfers less well across corpora."""

import hashlib

import librosa
import numpy as np
import soundfile as sf
import soxr
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sergen import CORPORA, LABELS
from sergen.corpora import read_corpus
from sergen.corpora.demo import make_demo


def test_every_reader_parses_its_demo_tree(demo_root):
    for corpus in CORPORA:
        result = read_corpus(corpus, demo_root / corpus)
        df = result.manifest
        assert len(result.problems) == 0, result.problems.summary()
        assert set(df.label) == set(LABELS) | {""}  # "": a native class outside the four, kept
        assert set(df.split) == {"train", "valid", "test"}
        assert result.meta["synthetic"] is True
    assert set(read_corpus("ravdess", demo_root / "ravdess").manifest.sample_rate) == {48000}
    assert set(read_corpus("msp", demo_root / "msp").manifest.sample_rate) == {16000}


def test_same_seed_same_audio(tmp_path):
    def digest(root):
        return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(root.rglob("*.wav")))).hexdigest()

    make_demo(tmp_path / "a", seed=5, scale=0.3, corpora=["emodb"])
    make_demo(tmp_path / "b", seed=5, scale=0.3, corpora=["emodb"])
    make_demo(tmp_path / "c", seed=6, scale=0.3, corpora=["emodb"])
    assert digest(tmp_path / "a") == digest(tmp_path / "b") != digest(tmp_path / "c")


def pooled_logmel(root, df):
    feats = []
    for path in df.path:
        x, sr = sf.read(root / path, dtype="float32")
        x = soxr.resample(x, sr, 16000) if sr != 16000 else x
        mel = np.log(librosa.feature.melspectrogram(y=x, sr=16000, n_fft=400, hop_length=160, n_mels=64) + 1e-6)
        feats.append(np.concatenate([mel.mean(1), mel.std(1)]))
    return np.array(feats)


def test_emotion_is_learnable_within_and_harder_across(demo_root):
    data = {}
    for corpus in CORPORA:
        df = read_corpus(corpus, demo_root / corpus).manifest
        df = df[df.label != ""]  # the four classes
        data[corpus] = (pooled_logmel(demo_root / corpus, df), df.label.to_numpy(), df.split.to_numpy())
    within, across = [], []
    for train, (x, y, split) in data.items():
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
        clf.fit(x[split != "test"], y[split != "test"])
        for test, (x2, y2, split2) in data.items():
            auc = roc_auc_score(y2[split2 == "test"], clf.predict_proba(x2[split2 == "test"]),
                                multi_class="ovr", labels=clf.classes_)
            (within if train == test else across).append(auc)
    assert min(within) > 0.8  # chance is 0.5
    assert np.mean(within) - np.mean(across) > 0.08


# --- demo-data never deletes what sergen did not write ------------------------------------------------

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

from sergen.corpora.base import DEMO_MARKER  # noqa: E402
from sergen.errors import SergenError  # noqa: E402


def tree_digest(root):
    """Every file under root (path and bytes), so 'byte-identical afterwards' is one comparison."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def sergen_cli(*args, cwd):
    return subprocess.run([sys.executable, "-c", "from sergen.cli import main; main()", *args],
                          capture_output=True, text=True, cwd=cwd)


def test_demo_data_refuses_a_users_folder_and_leaves_it_byte_identical(tmp_path):
    user = tmp_path / "out"
    (user / "emodb/wav").mkdir(parents=True)
    (user / "emodb/wav/03a01Fa.wav").write_bytes(b"my own recording")
    (user / "emodb/notes.txt").write_text("thesis chapter 3")
    before = tree_digest(tmp_path)
    proc = sergen_cli("demo-data", "--out", "out", "--scale", "0.1", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "out/emodb is not empty and is not a demo corpus sergen made (no SERGEN_DEMO.json in it)" in proc.stderr
    assert "fix: choose another folder with --out" in proc.stderr
    # nothing deleted, nothing written: not even the corpora before emodb in the list
    assert tree_digest(tmp_path) == before


@pytest.mark.parametrize("args, message", [
    (["--scale", "0"], "--scale must be a number from 0.01 to 10, not 0.0"),
    (["--scale", "-1"], "--scale must be a number from 0.01 to 10, not -1.0"),
    (["--scale", "nan"], "--scale must be a number from 0.01 to 10, not nan"),
    (["--scale", "1e6"], "--scale must be a number from 0.01 to 10, not 1000000.0"),
    (["--scale", "1e-9"], "--scale must be a number from 0.01 to 10, not 1e-09"),  # once silently the smallest set
    (["--seed", "-1"], "--seed must be a whole number from 0 to 4294967295, not -1"),
    (["--seed", "4294967296"], "--seed must be a whole number from 0 to 4294967295, not 4294967296"),
])
def test_demo_data_checks_scale_and_seed_before_writing(tmp_path, args, message):
    (tmp_path / "out/emodb").mkdir(parents=True)
    make_demo(tmp_path / "out", seed=1, scale=0.05, corpora=["emodb"])
    before = tree_digest(tmp_path)
    with pytest.raises(SergenError) as err:
        make_demo(tmp_path / "out", seed=int(args[1]) if args[0] == "--seed" else 0,
                  scale=float(args[1]) if args[0] == "--scale" else 0.1)
    assert err.value.what == message
    assert tree_digest(tmp_path) == before


def test_demo_data_bad_scale_on_the_command_line(tmp_path):
    proc = sergen_cli("demo-data", "--out", "new", "--scale", "0", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "Invalid value for '--scale': 0.0 is out of range: give a scale from 0.01 to 10" in " ".join(
        proc.stderr.replace("│", " ").split())
    assert not (tmp_path / "new").exists()


def test_demo_data_replaces_its_own_corpora_and_empty_folders(tmp_path):
    make_demo(tmp_path, seed=1, scale=0.05, corpora=["emodb"])
    marker = json.loads((tmp_path / "emodb" / DEMO_MARKER).read_text())
    wavs = sorted(p.relative_to(tmp_path / "emodb").as_posix() for p in (tmp_path / "emodb/wav").glob("*.wav"))
    assert marker["complete"] is True and marker["files"] == len(wavs) and marker["written"] == wavs
    (tmp_path / "ravdess").mkdir()  # empty: fine to fill
    make_demo(tmp_path, seed=2, scale=0.05, corpora=["emodb", "ravdess"])
    assert json.loads((tmp_path / "emodb" / DEMO_MARKER).read_text())["seed"] == 2
    assert (tmp_path / "ravdess" / DEMO_MARKER).exists()


def test_an_interrupted_demo_corpus_is_still_recognised_as_sergens(tmp_path, monkeypatch):
    from sergen.corpora.demo import layouts

    def crash(root, seed, scale):
        (root / "wav").mkdir()
        (root / "wav/half.wav").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setitem(layouts.WRITERS, "emodb", crash)
    with pytest.raises(KeyboardInterrupt):
        make_demo(tmp_path, corpora=["emodb"], scale=0.05)
    assert not (tmp_path / "emodb").exists()  # never renamed into place: the corpus stays partial
    marker = json.loads((tmp_path / "emodb.sergen-partial" / DEMO_MARKER).read_text())
    assert marker["complete"] is False and marker["written"] == ["wav/half.wav"]
    monkeypatch.undo()
    make_demo(tmp_path, corpora=["emodb"], scale=0.05)  # replaced, not refused
    assert not (tmp_path / "emodb/wav/half.wav").exists() and not (tmp_path / "emodb.sergen-partial").exists()


def test_demo_data_refuses_a_file_where_a_corpus_folder_goes(tmp_path):
    (tmp_path / "msp").write_text("not a folder")
    with pytest.raises(SergenError, match="msp is a file, not a demo corpus folder sergen made"):
        make_demo(tmp_path, scale=0.05)
    assert (tmp_path / "msp").read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["msp"]
    (tmp_path / "msp").unlink()
    (tmp_path / "file").write_text("x")
    with pytest.raises(SergenError, match="the demo's output folder is a file"):
        make_demo(tmp_path / "file", scale=0.05)


def test_a_file_the_user_added_inside_a_demo_corpus_is_refused_and_kept(tmp_path):
    make_demo(tmp_path / "Z", seed=0, scale=0.05, corpora=["emodb"])
    (tmp_path / "Z/emodb/mine_notes.txt").write_text("mine")
    (tmp_path / "Z/emodb/wav/extra").mkdir()
    (tmp_path / "Z/emodb/wav/extra/take2.wav").write_bytes(b"my take")
    before = tree_digest(tmp_path)
    proc = sergen_cli("demo-data", "--out", "Z", "--scale", "0.05", "--seed", "3", cwd=tmp_path)
    text = " ".join(proc.stderr.replace("│", " ").split())
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "holds files sergen did not write (mine_notes.txt, wav/extra/take2.wav)" in text
    assert "move those files out of the folder, or choose another folder with --out" in text
    assert tree_digest(tmp_path) == before


def test_at_most_five_foreign_files_are_named(tmp_path):
    make_demo(tmp_path, seed=1, scale=0.05, corpora=["emodb"])
    for i in range(7):
        (tmp_path / f"emodb/user{i}.txt").write_text("x")
    before = tree_digest(tmp_path)
    with pytest.raises(SergenError) as err:
        make_demo(tmp_path, seed=2, scale=0.05, corpora=["emodb"])
    assert "(user0.txt, user1.txt, user2.txt, user3.txt, user4.txt and 2 more)" in err.value.what
    assert tree_digest(tmp_path) == before


def test_a_marker_without_the_written_list_is_refused_as_cannot_tell(tmp_path):
    make_demo(tmp_path, seed=1, scale=0.05, corpora=["emodb", "ravdess"])
    marker = json.loads((tmp_path / "emodb" / DEMO_MARKER).read_text())
    del marker["written"]  # as an older sergen wrote it
    (tmp_path / "emodb" / DEMO_MARKER).write_text(json.dumps(marker))
    before = tree_digest(tmp_path)
    with pytest.raises(SergenError) as err:
        make_demo(tmp_path, seed=2, scale=0.05, corpora=["ravdess", "emodb"])
    assert "does not list the files sergen wrote" in err.value.what
    assert err.value.fix.startswith("move that folder away")
    assert tree_digest(tmp_path) == before  # not even ravdess, first in the list, was replaced


def test_a_symlink_the_user_added_is_refused_and_its_target_kept(tmp_path):
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "data.wav").write_bytes(b"keep")
    make_demo(tmp_path / "out", seed=1, scale=0.05, corpora=["emodb"])
    (tmp_path / "out/emodb/link").symlink_to(outside)
    with pytest.raises(SergenError, match=r"holds files sergen did not write \(link\)"):
        make_demo(tmp_path / "out", seed=2, scale=0.05, corpora=["emodb"])
    assert (outside / "data.wav").read_bytes() == b"keep" and (tmp_path / "out/emodb/link").is_symlink()
