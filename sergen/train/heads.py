"""Classifier heads on pooled windows: a linear probe and the poster's "MLP 128x256" (two hidden layers of 128
and 256 units, ReLU, dropout), as head classes with keyword hyper-parameters (``MLPHead(hidden=(64, 128),
dropout=0.3)``, ``sergen.train.head_base``); the heads that see frames are ``attention_head`` and ``cnn_head``. Inputs are standardised with the training pool's statistics inside the head,
so a saved head carries its own normalisation. With ``n_layers`` > 1 (``--layer weighted``) the input holds
every stored layer side by side, and a learned softmax-weighted sum of the standardised layers (SUPERB's
featurizer, :class:`WeightedLayerSum`) sits between the standardisation and the head, as part of its module.

Importing this module registers every head (the frame heads' modules are imported at the bottom) and imports
no torch: the heads' ``build`` and the functions below import it when they run, so the CLI reads ``HEADS``
for its choices and help. A new head is a module of its own and one import line at the bottom."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sergen.train.head_base import HEADS, Head, check_hidden, make_head_object

TORCH_BLOCKS = ("Standardise", "WeightedLayerSum", "input_module", "mlp_body", "AdversarialMLP", "GradientReversal")


def __getattr__(name: str):
    """The shared torch blocks (``head_modules``), importable from here as before, loaded on first use."""
    if name in TORCH_BLOCKS:
        from sergen.train import head_modules

        return getattr(head_modules, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def layer_weights(model) -> np.ndarray | None:
    """The learned softmax weights of a head's layers (None for a head on one layer)."""
    from sergen.train.head_modules import WeightedLayerSum

    for module in model.modules():
        if isinstance(module, WeightedLayerSum):
            return module.weights.detach().numpy().astype(float)
    return None


@HEADS.register("linear", "probe", "linear-probe")
@dataclass(frozen=True)
class LinearHead(Head):
    """The linear probe: standardised input, one linear layer."""

    def build(self, dim, n_classes, mean, std, n_corpora=1, n_layers=1, layer_width=None):
        from torch import nn

        from sergen.train.head_modules import input_module

        front, width = input_module(dim, mean, std, n_layers, layer_width)
        return nn.Sequential(front, nn.Linear(width, n_classes))


@HEADS.register("mlp", "mlp-128x256")
@dataclass(frozen=True)
class MLPHead(Head):
    """The poster's "MLP 128x256": hidden layers of ``hidden`` units, ReLU, ``dropout``."""

    summary: ClassVar[str] = "128x256"

    hidden: tuple[int, ...] = (128, 256)
    dropout: float = 0.2

    def __post_init__(self):
        check_hidden(self.hidden, self.dropout)

    def build(self, dim, n_classes, mean, std, n_corpora=1, n_layers=1, layer_width=None):
        from torch import nn

        from sergen.train.head_modules import input_module, mlp_body

        front, width = input_module(dim, mean, std, n_layers, layer_width)
        return nn.Sequential(front, *mlp_body(width, self.hidden, self.dropout), nn.Linear(self.hidden[-1], n_classes))


@HEADS.register("mlp-dann", "dann", "mlp-adversarial")
@dataclass(frozen=True)
class AdversarialMLPHead(MLPHead):
    """The MLP against a corpus classifier (several training corpora only)."""

    note: ClassVar[str] = "several training corpora only"
    summary: ClassVar[str] = "the MLP against a corpus classifier by gradient reversal; several training corpora only"

    adversarial = True

    def build(self, dim, n_classes, mean, std, n_corpora=2, n_layers=1, layer_width=None):
        from sergen.train.head_modules import AdversarialMLP

        return AdversarialMLP(dim, n_classes, mean, std, n_corpora, self.dropout, n_layers, layer_width, self.hidden)


def reversal_weight(progress: float) -> float:
    """Ganin & Lempitsky's ramp, 0 at the start to ~1 at the end: ``2 / (1 + exp(-10 p)) - 1``."""
    return float(2.0 / (1.0 + np.exp(-10.0 * progress)) - 1.0)


def hidden_features(model, x) -> np.ndarray | None:
    """The 256-unit representation an MLP head classifies from (None for the linear head); of a sequence
    head (``x`` whole utterances, ``UtteranceFrames``), its pooled frames through the MLP."""
    import torch
    from torch import nn

    from sergen.train.frame_stream import LazyFrames
    from sergen.train.head_modules import AdversarialMLP

    if isinstance(x, LazyFrames):
        model.eval()
        with torch.inference_mode():
            return x.apply(lambda batch: model.features(*batch.tensors()).numpy())
    if isinstance(model, AdversarialMLP):
        body = model.features
    elif isinstance(model, nn.Sequential) and len(model) > 2:
        body = model[:-1]
    else:
        return None
    model.eval()
    with torch.inference_mode():
        return body(torch.from_numpy(np.asarray(x, np.float32))).numpy()


def make_head(name: str, dim: int, n_classes: int, mean, std, n_corpora: int = 1, n_layers: int = 1,
              layer_width: int | None = None, options: str = ""):
    """The torch module of head ``name`` with the hyper-parameters ``options`` (``--head-opt``). ``dim``
    inputs; ``n_layers`` > 1: they are that many stored layers of ``layer_width`` features side by side
    (default ``dim / n_layers``; several blocks of them where a pooling gives several statistics per
    feature), summed with learned weights before the head proper."""
    return make_head_object(name, options).build(dim, n_classes, mean, std, n_corpora, n_layers, layer_width)


def is_adversarial(name: str) -> bool:
    return HEADS.get(name).adversarial


def is_sequence(name: str) -> bool:
    """Whether the head sees windows of frames (``sergen.train.frame_stream``) rather than their means."""
    return HEADS.get(name).sequence


from sergen.train import attention_head, cnn_head  # noqa: E402, F401  (registered after the mean heads)

ADVERSARIAL = {name for name in HEADS.names() if is_adversarial(name)}  # heads that need each window's corpus
