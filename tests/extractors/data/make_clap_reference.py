"""Regenerates clap_reference.npy with msclap's own HTSAT (not a sergen dependency: it pins transformers < 5).

    pip download msclap==1.3.4 torchlibrosa --no-deps -d SRC && (cd SRC && unzip -o '*.whl')
    python tests/extractors/data/make_clap_reference.py SRC

msclap's model classes are imported from the unpacked wheel without its package __init__ (which needs
torchaudio). The tiny model is msclap's HTSAT_Swin_Transformer + Projection with the sizes of TINY.
"""

import sys
import types
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from clap_reference import REFERENCE_FILE, TINY, reference_input, seeded_state  # noqa: E402

src = Path(sys.argv[1]).resolve()
sys.path.insert(0, str(src))  # torchlibrosa
package = types.ModuleType("msclap")
package.__path__ = [str(src / "msclap")]
sys.modules["msclap"] = package
from msclap.models import config, htsat  # noqa: E402
from msclap.models.clap import Projection  # noqa: E402


class Reference(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.base = torch.nn.Module()
        self.base.htsat = htsat.HTSAT_Swin_Transformer(
            config=config, embed_dim=TINY.embed_dim, depths=list(TINY.depths), num_heads=list(TINY.num_heads),
            num_classes=TINY.num_classes)
        self.projection = Projection(TINY.num_features, TINY.projection_dim)

    def forward(self, x):
        return self.projection(self.base.htsat(x)["latent_output"])


model = Reference().eval()
model.load_state_dict(seeded_state(model.state_dict()), strict=True)
with torch.inference_mode():
    vectors = model(torch.from_numpy(reference_input())).numpy()
np.save(HERE / REFERENCE_FILE, vectors)
print(vectors.shape, "→", HERE / REFERENCE_FILE)
