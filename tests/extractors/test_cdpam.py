"""CDPAM with the weights bundled in the wheel equals the package's own computation."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sergen.errors import SergenError
from sergen.extractors import get_extractor
from sergen.extractors.cdpam import load_encoder


@pytest.fixture(scope="module")
def package_model():
    """cdpam.CDPAM as its authors load it (its plain torch.load needs weights_only=False on torch ≥ 2.6;
    allowed here, in the test, for the bundled file only)."""
    import cdpam

    original = torch.load
    torch.load = lambda *a, **k: original(*a, **{**k, "weights_only": False})
    try:
        return cdpam.CDPAM(dev="cpu")
    finally:
        torch.load = original


@pytest.mark.parametrize("half", ["content", "acoustic"])
def test_equals_package(package_model, half):
    rng = np.random.default_rng(1)
    wave = (0.2 * rng.standard_normal(int(22050 * 2.4))).astype(np.float32)
    ours = get_extractor(f"cdpam-{half}").embed_one(wave)
    x = np.round(wave.astype(np.float64) * 32768).astype(np.float32)
    expected = []
    with torch.no_grad():
        for start in range(0, len(x), 22050):  # the FAD toolkit's 1 s chunks, last one shorter
            chunk = torch.from_numpy(x[start:start + 22050]).reshape(1, 1, -1)
            _, acoustic, content = package_model.model.base_encoder.forward(chunk)
            expected.append(F.normalize(content if half == "content" else acoustic, dim=1).numpy()[0])
    assert ours.shape == (3, 512)
    np.testing.assert_allclose(ours, np.stack(expected), atol=1e-5)


def test_refuses_unknown_checkpoint(tmp_path):
    fake = tmp_path / "model.pth"
    fake.write_bytes(b"not the bundled checkpoint")
    with pytest.raises(SergenError, match="checksum mismatch"):
        load_encoder(fake)
    with pytest.raises(SergenError, match="CDPAM checkpoint not found"):
        load_encoder(tmp_path / "absent.pth")
