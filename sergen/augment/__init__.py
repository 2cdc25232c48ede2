"""Waveform augmentation views, registered by name (the poster's list)."""

from sergen.augment import views  # noqa: F401  (registration)
from sergen.augment.base import VIEWS, View, view_rng

__all__ = ["VIEWS", "View", "view_rng"]
