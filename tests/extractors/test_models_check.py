"""`sergen models check`: batch invariance on the user's own utterances, through the real CLI entry point
(exit code, no traceback, what the message says)."""

import sys

import pytest
import transformers

from sergen.cli import main
from tests.test_bad_input import normalised


@pytest.fixture
def cli(capsys, monkeypatch):
    from sergen.console import console, err_console

    for con in (console, err_console):
        monkeypatch.setattr(con, "width", 4000)

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["sergen", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            main()
        out = capsys.readouterr()
        assert "Traceback" not in out.out + out.err
        return (0 if exit_.value.code is None else exit_.value.code), normalised(out.out + out.err)

    return run


@pytest.fixture(scope="module")
def data2vec(tmp_path_factory):
    """A tiny data2vec-audio checkpoint: padding-sensitive (transformers#25621), batched in equal lengths only."""
    folder = tmp_path_factory.mktemp("data2vec")
    transformers.set_seed(0)
    transformers.Data2VecAudioModel(transformers.Data2VecAudioConfig(
        hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, conv_dim=(8,) * 7,
        num_conv_pos_embedding_layers=2, conv_pos_kernel_size=3)).save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(folder)
    return folder


def test_check_passes_on_the_users_corpus(cli, in_demo_workspace, data2vec):
    code, text = cli("models", "check", "hf:facebook/data2vec-audio-base", "--weights", data2vec, "--corpus", "emodb",
                     "--device", "cpu", "--utterances", "4")
    assert code == 0, text
    assert "hf-facebook--data2vec-audio-base on emodb, cpu, fp32: batched (as extraction runs) vs alone" in text
    assert text.count(" ok ") + text.endswith(" ok") >= 7  # 4 utterances and 3 copies cut to the shortest
    assert "batch-invariant: largest deviation" in text and "tolerance 0.001 × RMS" in text
    assert "exact-length buckets" in text


def test_check_fails_beyond_the_tolerance(cli, in_demo_workspace, data2vec, monkeypatch):
    """Padded batches forced onto data2vec-audio: the check sees it and exits 1."""
    import sergen.extractors.hf_generic as hf_generic

    monkeypatch.setattr(hf_generic, "padding_trap", lambda config: None)
    code, text = cli("models", "check", "hf:facebook/data2vec-audio-base", "--weights", data2vec, "--corpus", "emodb",
                     "--device", "cpu", "--utterances", "4")
    assert code == 1, text
    assert "beyond" in text and "not batch-invariant here: largest deviation" in text


def test_check_refusals(cli, in_demo_workspace):
    code, text = cli("models", "check", "wavlm-small", "--corpus", "emodb")
    assert code != 0 and "unknown model 'wavlm-small'" in text
    code, text = cli("models", "check", "melspec", "--corpus", "msp-podcast-2")
    assert code != 0 and "msp-podcast-2" in text
    code, text = cli("models", "check", "melspec", "--corpus", "emodb", "--precision", "bf16")
    assert code != 0 and "melspec runs in fp32 only" in text
    code, text = cli("models", "check", "melspec", "--corpus", "emodb", "--device", "cpu", "--utterances", "3")
    assert code == 0 and "batch-invariant" in text, text


def test_check_without_manifests(cli):
    code, text = cli("models", "check", "melspec")
    assert code != 0 and "no manifests yet" in text and "sergen manifest CORPUS --root DIR" in text
