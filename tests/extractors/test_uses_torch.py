"""Which extractors run torch, and the device chosen for those that do not (issue 22): without torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sergen.extractors import EXTRACTORS
from sergen.extractors import default_device, model_uses_torch

SIGNAL_PROCESSING = {"melspec", "egemaps"}


def test_only_signal_processing_extractors_go_without_torch():
    assert {name for name in EXTRACTORS.names() if not EXTRACTORS.get(name).uses_torch} == SIGNAL_PROCESSING


@pytest.mark.parametrize("model, expected", [("melspec", False), ("log-mel", False), ("OpenSMILE", False),
                                             ("wavlm-large", True), ("clap", True), ("hf:facebook/wav2vec2-base", True)])
def test_model_uses_torch_by_name_alias_and_hub_id(model, expected):
    assert model_uses_torch(model) is expected


def test_model_uses_torch_by_class_and_instance():
    mel = EXTRACTORS.get("melspec")
    assert model_uses_torch(mel) is False and model_uses_torch(mel()) is False
    assert model_uses_torch(EXTRACTORS.get("whisper-large-v3")) is True


def test_default_device_of_a_torch_model_is_what_torch_sees():
    import torch

    assert default_device("wavlm-large") == ("cuda" if torch.cuda.is_available() else "cpu")


def test_default_device_of_signal_processing_never_imports_torch():
    code = ("import sys\nfrom sergen.extractors import default_device\n"
            "print(default_device('melspec'), default_device('egemaps'), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["cpu", "cpu", "False"]
