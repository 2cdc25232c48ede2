"""Probe training on cached frames: frame bank, window sampler, heads, training loop, metrics."""
