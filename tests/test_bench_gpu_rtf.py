"""bench/gpu_rtf.py, the script a GPU session runs once (issue 22): checked here on the CPU with tiny models of the
same config classes, so that a session of minutes is not lost to a broken script. Its figures are not tested."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import gpu_rtf  # noqa: E402


def test_each_model_spec_has_issue_22s_target_and_its_options():
    assert gpu_rtf.target("wavlm-large") == 2000
    assert gpu_rtf.target("hf:facebook/data2vec-audio-large") == 2000
    assert gpu_rtf.target("whisper-large-v3") == 300
    assert gpu_rtf.target("whisper-large-v3@trimmed") == 1500
    assert gpu_rtf.target("phi4") == 800 and gpu_rtf.target("vggish") == 3000
    assert gpu_rtf.target("melspec") is None
    assert gpu_rtf.split_spec("whisper-large-v3@trimmed") == ("whisper-large-v3", {"input_mode": "trimmed"})
    assert gpu_rtf.split_spec("encodec") == ("encodec", {})
    assert gpu_rtf.verdict({"target": 300, "rtf": 299.9}) == "300× (not met)"
    assert gpu_rtf.verdict({"target": 1500, "rtf": 1500.0}) == "1,500× (met)"


def test_precision_goes_only_to_models_that_offer_it():
    assert gpu_rtf.model_options("wavlm-large", {}, "bf16", tiny=False) == {"layers": "6,12,18,24", "precision": "bf16"}
    assert gpu_rtf.model_options("hf:facebook/hubert-large-ll60k", {}, "fp16", tiny=True) == {"layers": "2,4",
                                                                                             "precision": "fp16"}
    assert gpu_rtf.model_options("whisper-large-v3", {"input_mode": "trimmed"}, "bf16", tiny=False) == {
        "input_mode": "trimmed", "precision": "bf16"}
    assert "precision" not in gpu_rtf.model_options("melspec", {}, "bf16", tiny=False)


@pytest.mark.filterwarnings("ignore")
def test_the_script_runs_its_rows_on_tiny_models_and_keeps_within_its_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("SERGEN_CONFIG", str(tmp_path / "sergen.toml"))
    out = tmp_path / "rtf.md"
    gpu_rtf.main(["--tiny", "--device", "cpu", "--scale", "0.02", "--precision", "bf16", "--out", str(out),
                  "--models", "wavlm-large,whisper-large-v3@trimmed,phi4"])
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ") and not line.startswith("| model")]
    assert [r.split(" | ")[0].strip("| ") for r in rows] == ["wavlm-large", "whisper-large-v3@trimmed"]
    wavlm, whisper = (r.split(" | ") for r in rows)
    assert wavlm[2:4] == ["bf16", "60 s"] and whisper[2:4] == ["bf16", "1 utt"]  # trimmed: one utterance at a time
    assert wavlm[9].startswith("2,000× (") and whisper[9].startswith("1,500× (")
    assert wavlm[10:] == ["n/a", "n/a |"]  # no GPU: no utilisation, no peak memory
    assert "Failed: phi4 (batch 60 s, 1 per device): ValueError('no tiny recipe for phi4')" in out.read_text()

    gpu_rtf.main(["--tiny", "--device", "cpu", "--scale", "0.02", "--budget-s", "0", "--out", str(out),
                  "--models", "wavlm-large,vggish"])
    text = out.read_text()
    assert "Not run (the 0 s budget was spent): wavlm-large, vggish." in text
    assert not [line for line in text.splitlines() if line.startswith("| wavlm")]
