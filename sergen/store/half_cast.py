"""float32 frames cast to the store's float16 with torch's kernel where torch is already loaded (issue 22).

Why: numpy's float32 → float16 cast costs about 1.6 ns per value on this project's CPUs, the largest part of
preparing a window (``StoreWriter.prepare``); torch's ``copy_`` costs about 0.15–0.25 ns (vectorised). Both
round to nearest even, and their float16 bits are the same for every value that is not a NaN: checked on
every 13th float32 bit pattern (±0, subnormals, ±65504, values that overflow to ±inf, ±inf), with and without
torch's flush-denormal mode. A NaN stays a NaN, but torch writes one NaN pattern where numpy keeps the
payload's high bits: rows that may hold a NaN are cast again with numpy (``StoreWriter.prepare`` knows them
from their mean), so the stored bytes are numpy's in every case.

Used only where torch is already imported (a GPU model's process): importing torch for this would cost a
torch-free extractor (melspec) seconds of start-up and hundreds of MB. And only in a thread where torch
runs its kernels on one thread: the prepare pool already runs one part per core, and torch's own OpenMP team
on top of each part (a team per calling thread: 16 × 16 threads on a 16-core machine) spins against the
pipeline's other threads. Measured on 2 shared cores (load 3.3): the cast of 57,000 × 4,096 values took
0.27–1.69 CPU s with torch's two threads, 0.18 s on one. ``one_torch_thread_here`` caps the calling thread
alone (its OpenMP setting), so the model's threads keep theirs.
"""

from __future__ import annotations

import ctypes
import os
import sys

import numpy as np

_OPENMP_RUNTIMES = ("libgomp", "libiomp", "libomp")


def loaded_torch():
    """The torch module if this process has imported it, else None (never imports it)."""
    return sys.modules.get("torch")


def _openmp_runtime() -> ctypes.CDLL | None:
    """The OpenMP runtime torch loaded (found among the process's mapped files; never loads one)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "/" in line}
    except OSError:  # not Linux
        return None
    for path in sorted(paths):
        if os.path.basename(path).startswith(_OPENMP_RUNTIMES):
            try:
                return ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
            except (OSError, AttributeError):
                continue
    return None


def one_torch_thread_here() -> bool:
    """torch's kernels called from this thread run on this thread alone (other threads keep their count);
    whether they now do. A no-op without torch loaded. For a pool's ``initializer``."""
    torch = loaded_torch()
    if torch is None:
        return False
    try:
        if torch.get_num_threads() > 1:  # the call also sets this thread's count up, which the cap then overrides
            runtime = _openmp_runtime()
            if runtime is not None and hasattr(runtime, "omp_set_num_threads"):
                runtime.omp_set_num_threads(1)
        return torch.get_num_threads() == 1
    except Exception:  # noqa: BLE001 - a pool initializer must not fail: the cast then goes through numpy
        return False


def cast_into(out: np.ndarray, values: np.ndarray, exact: bool = False) -> None:
    """``out[...] = values`` as ``np.copyto(out, values, casting="same_kind")``. ``exact``: numpy's own cast, for
    rows that may hold a NaN (see the module docstring); otherwise torch's for float32 → float16 where torch
    is loaded and runs on one thread here, the same bits for every other value."""
    torch = None if exact else loaded_torch()
    if (torch is not None and out.dtype == np.float16 and values.dtype == np.float32 and out.shape == values.shape
            and values.flags.writeable and out.flags.writeable and min(values.strides + out.strides, default=0) >= 0
            and torch.get_num_threads() == 1):
        # writeable: torch.from_numpy warns on a read-only array; negative strides: it refuses them
        torch.from_numpy(out).copy_(torch.from_numpy(values))
    else:
        np.copyto(out, values, casting="same_kind")
