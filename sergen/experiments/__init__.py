"""Experiments over stores: single probes, grids of train/test combinations, fragmentation analysis."""
