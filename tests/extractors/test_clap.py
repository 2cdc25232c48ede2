"""CLAP 2023: a tiny HTSAT saved in the published checkpoint's format ({'model': state dict} with
``audio_encoder.*`` beside text-encoder keys) and loaded through the path the real file takes."""

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sergen.errors import SergenError
from sergen.extractors import get_extractor
from sergen.extractors.clap import FILENAME
from sergen.extractors.htsat import CLAPAudioEncoder

from .clap_reference import REFERENCE_FILE, TINY, reference_input, seeded_state

SR, WINDOW = 44100, 7 * 44100


def save_checkpoint(folder: Path, audio_state: dict, extra: dict | None = None) -> Path:
    model = {f"audio_encoder.{k}": v for k, v in audio_state.items()}
    model["caption_encoder.projection.linear1.weight"] = torch.zeros(16, 8)  # the text side is ignored
    model["logit_scale"] = torch.tensor(2.0)
    folder.mkdir(parents=True, exist_ok=True)
    training = {"args": argparse.Namespace(version="2023"), "epoch": np.int64(40), "loss": np.float32(0.1)}
    torch.save({"model": model, **training, **(extra or {})}, folder / FILENAME)
    return folder / FILENAME


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    state = seeded_state(CLAPAudioEncoder(TINY).state_dict())
    return save_checkpoint(tmp_path_factory.mktemp("clap"), state)


def test_matches_msclap_reference_implementation(checkpoint):
    """Vectors from msclap's own HTSAT + projection on the same seeded weights and input
    (tests/extractors/data/make_clap_reference.py made them)."""
    expected = np.load(Path(__file__).parent / "data" / REFERENCE_FILE)
    ex = get_extractor("clap-2023", weights=checkpoint.parent).load()
    assert (ex.dim, ex.sample_rate, ex.frame_rate) == (16, SR, 1.0)
    out = ex.embed(list(reference_input()))
    assert [o.shape for o in out] == [(1, 16), (1, 16)]
    np.testing.assert_allclose(np.concatenate(out), expected, atol=1e-4)


@pytest.mark.parametrize("hop_seconds", [1.0, 3.5])
def test_frame_counts_windows_and_batching(checkpoint, hop_seconds):
    ex = get_extractor("clap-2023", weights=checkpoint, hop_seconds=hop_seconds).load()
    hop = round(hop_seconds * SR)
    assert ex.frame_rate == pytest.approx(1 / hop_seconds)
    rng = np.random.default_rng(0)
    lengths = [1, 100, SR, WINDOW - 1, WINDOW, WINDOW + 1, WINDOW + hop, WINDOW + hop + 1, 10 * SR + 123, 20 * SR]
    waves = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in lengths]
    expected = [1, 1, 1, 1, 1, 2, 2, 3, 1 + -(-(3 * SR + 123) // hop), 1 + -(-(13 * SR) // hop)]
    assert [ex.num_frames(n) for n in lengths] == expected
    for w in waves:
        windows = ex.windows(w)
        assert windows.shape == (ex.num_frames(len(w)), WINDOW)
        if len(w) > WINDOW:  # hop-spaced starts, the last window ending with the utterance
            assert np.array_equal(windows[0], w[:WINDOW]) and np.array_equal(windows[-1], w[-WINDOW:])
            if len(windows) > 2:
                assert np.array_equal(windows[1], w[hop:hop + WINDOW])
    batched = ex.embed(waves)
    assert [b.shape for b in batched] == [(n, 16) for n in expected]
    for w, b in zip(waves[-3:], batched[-3:]):
        np.testing.assert_allclose(b, ex.embed([w])[0], atol=1e-5)


def test_short_input_is_tiled_like_the_reference_wrapper(checkpoint):
    ex = get_extractor("clap-2023", weights=checkpoint).load()
    clip = (0.1 * np.random.default_rng(3).standard_normal(2 * SR + 17)).astype(np.float32)
    tiled = np.tile(clip, 4)[:WINDOW]
    assert np.array_equal(ex.windows(clip)[0], tiled)
    np.testing.assert_allclose(ex.embed([clip])[0], ex.embed([tiled])[0], atol=1e-6)


def test_loading_is_strict(tmp_path, checkpoint):
    state = seeded_state(CLAPAudioEncoder(TINY).state_dict())
    dropped = dict(state)
    del dropped["projection.linear2.weight"]
    with pytest.raises(SergenError, match=r"1 missing key\(s\) \['projection.linear2.weight'\], 0 unexpected"):
        get_extractor("clap-2023", weights=save_checkpoint(tmp_path / "a", dropped)).load()
    extra = dict(state, **{"base.htsat.extra.weight": torch.zeros(1)})
    with pytest.raises(SergenError, match=r"0 missing key\(s\) \[\], 1 unexpected key\(s\) \['base.htsat.extra.weight'\]"):
        get_extractor("clap-2023", weights=save_checkpoint(tmp_path / "b", extra)).load()
    # derived index tables may be absent: they are rebuilt, and the output does not change
    lean = {k: v for k, v in state.items() if not k.endswith(("attn_mask", "relative_position_index"))}
    x = [reference_input()[0]]
    lean_out = get_extractor("clap-2023", weights=save_checkpoint(tmp_path / "c", lean)).load().embed(x)[0]
    np.testing.assert_array_equal(lean_out, get_extractor("clap-2023", weights=checkpoint).load().embed(x)[0])


def test_bad_files_and_missing_weights(tmp_path, monkeypatch):
    with pytest.raises(SergenError, match="clap-2023 checkpoint not found") as exc:
        get_extractor("clap-2023", weights=tmp_path).load()
    assert FILENAME in exc.value.message and "huggingface.co/microsoft/msclap" in exc.value.message
    (tmp_path / "other").mkdir()
    torch.save({"model": {"audio_encoder.x": torch.zeros(1)}, "obj": Path("/x")}, tmp_path / "other" / FILENAME)
    with pytest.raises(SergenError, match="cannot read the CLAP checkpoint as weights only: it needs pathlib.PosixPath"):
        get_extractor("clap-2023", weights=tmp_path / "other").load()
    torch.save({"model": {"caption_encoder.x": torch.zeros(1)}}, tmp_path / "other" / FILENAME)
    with pytest.raises(SergenError, match="has no 'audio_encoder.\\*' weights: not a CLAP checkpoint"):
        get_extractor("clap-2023", weights=tmp_path / "other").load()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    ex = get_extractor("clap-2023")
    assert not ex.weights_present()
    with pytest.raises(SergenError) as exc:
        ex.load()
    assert "clap-2023 weights not found: CLAP_weights_2023.pth of microsoft/msclap" in exc.value.message
    assert "huggingface-cli download microsoft/msclap CLAP_weights_2023.pth" in exc.value.message
    with pytest.raises(SergenError, match=r"clap-2023: hop_seconds=8 is not valid \(the hop must be in \(0, 7\] s"):
        get_extractor("clap-2023", hop_seconds=8)


def test_extract_into_store_from_the_hf_cache_layout(tmp_path, demo_root, monkeypatch, checkpoint):
    """Weights found in the Hugging Face cache (offline) go through the same loader; the store records them."""
    from sergen.corpora import read_corpus, write_manifest
    from sergen.extract import extract
    from sergen import open_store

    snapshot = tmp_path / "cache" / "models--microsoft--msclap" / "snapshots" / ("ab" * 20)
    snapshot.mkdir(parents=True)
    (snapshot / FILENAME).write_bytes(checkpoint.read_bytes())
    (tmp_path / "cache" / "models--microsoft--msclap" / "refs").mkdir()
    (tmp_path / "cache" / "models--microsoft--msclap" / "refs" / "main").write_text("ab" * 20)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    assert get_extractor("clap").weights_present()
    write_manifest(read_corpus("emodb", demo_root / "emodb"))
    report = extract("clap-2023", "emodb", extractor_options={"hop_seconds": 2.0}, show_progress=False)
    assert report.complete and not report.failures
    store = open_store("clap", "emodb")
    assert store.sizes["feature"] == 16
    settings, weights = json.loads(store.attrs["settings"]), json.loads(store.attrs["weights"])
    assert store.attrs["frame_rate"] == 0.5 and settings["hop_s"] == 2.0
    assert weights["snapshot"] == "ab" * 20 and len(weights["sha256"]) == 64
    samples = np.round(store.duration_s.values.astype(np.float64) * SR)
    assert (store.n_frames.values == 1 + np.maximum(0, np.ceil((samples - WINDOW) / (2 * SR)))).all()


def test_cli_extract_models_ls_and_missing_weights(tmp_path, demo_root, monkeypatch, checkpoint):
    from typer.testing import CliRunner

    from sergen.cli import app

    runner = CliRunner()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    from sergen.console import console

    monkeypatch.setattr(console, "width", 250)  # one table row per line, whatever the terminal
    listing = runner.invoke(app, ["models", "ls"]).output
    row = next(line for line in listing.splitlines() if "clap-2023" in line)
    assert "44100" in row and "1/hop (hop 1 s)" in row and "1024" in row and " no " in row and " main " in row
    (tmp_path / "sergen.toml").write_text('[revisions]\n"clap-2023" = "0123abc"\n')
    row = next(line for line in runner.invoke(app, ["models", "ls"]).output.splitlines() if "clap-2023" in line)
    assert " 0123abc " in row
    assert runner.invoke(app, ["manifest", "emodb", "--root", str(demo_root / "emodb")]).exit_code == 0
    missing = runner.invoke(app, ["extract", "--model", "clap", "--corpus", "emodb"])  # `main` prints it, exit 2
    assert isinstance(missing.exception, SergenError)
    assert "clap-2023 weights not found: CLAP_weights_2023.pth of microsoft/msclap" in missing.exception.message
    done = runner.invoke(app, ["extract", "--model", "clap", "--corpus", "emodb", "--weights", str(checkpoint),
                               "--hop-seconds", "3.5"])
    assert done.exit_code == 0, done.output
    n_utts = len((tmp_path / "manifests" / "emodb.csv").read_text().splitlines()) - 1
    assert f"clap-2023/emodb: {n_utts} written this run" in done.output


def test_weights_and_revision_from_the_configuration(tmp_path, monkeypatch, checkpoint):
    from typer.testing import CliRunner

    from sergen.cli import app

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    runner = CliRunner()
    result = runner.invoke(app, ["config", "set-weights", "clap", str(tmp_path / "nowhere.pth")])
    assert isinstance(result.exception, SergenError) and "no file or folder at" in result.exception.message
    result = runner.invoke(app, ["config", "set-weights", "clap", str(checkpoint)])
    assert result.exit_code == 0 and "clap-2023 weights set to" in result.output
    assert "weight clap-2023: " + str(checkpoint) in runner.invoke(app, ["config", "show"]).output
    ex = get_extractor("clap-2023").load()
    assert ex.path == checkpoint and ex.weights_present() and ex.dim == 16
    monkeypatch.setenv("SERGEN_WEIGHTS_CLAP_2023", str(tmp_path / "elsewhere.pth"))  # the environment comes first
    with pytest.raises(SergenError, match="clap-2023 checkpoint not found"):
        get_extractor("clap").load()
    (tmp_path / "sergen.toml").write_text('[revisions]\n"wavlm-large" = "0123abc"\n')
    assert get_extractor("wavlm").revision == "0123abc"
    with pytest.raises(SergenError, match=r"microsoft/wavlm-large \(revision 0123abc\)"):
        get_extractor("wavlm-large").load()
    assert get_extractor("wavlm-large", revision="fedcba9").revision == "fedcba9"  # --revision wins
