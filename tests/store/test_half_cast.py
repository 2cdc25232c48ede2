"""float16 casts by torch's kernel where torch is loaded (issue 22): numpy's bits for every value, NaN
payloads included in a store, and a store written either way is byte for byte the same."""

import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from sergen.store import half_cast
from sergen.store.half_cast import cast_into
from sergen.store.writer import StoreWriter, create_store

from tests.store.test_frame_chunks import _chunk_files, _plan

torch = pytest.importorskip("torch")

F32 = np.finfo(np.float32)
EDGES = np.array([0.0, -0.0, 1.0, -1.0, 65504.0, -65504.0, 65519.996, -65519.996,  # the largest that round to 65504
                  65520.0, -65520.0, 1e5, -1e5, F32.max, -F32.max, np.inf, -np.inf,  # overflow to ±inf, ±inf
                  2.0 ** -24, -(2.0 ** -24), 2.0 ** -25, 2.0 ** -25 * 1.0000001, 3 * 2.0 ** -26,  # subnormals, ties
                  6.0e-5, 6.097e-5, 2.0 ** -14, 1e-30, -1e-30, 1e-45, -1e-45, F32.tiny,  # float32 subnormals → ±0
                  1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -11 + 2.0 ** -23], np.float32)


def _numpy_bits(values: np.ndarray) -> np.ndarray:
    out = np.empty(values.shape, np.float16)
    with np.errstate(over="ignore"):
        np.copyto(out, values, casting="same_kind")
    return out.view(np.uint16)


def _counting_torch(calls: list) -> types.SimpleNamespace:
    """torch, with its ``from_numpy`` calls counted: the torch path is the one taken."""
    def from_numpy(a):
        calls.append(a.shape)
        return torch.from_numpy(a)
    return types.SimpleNamespace(from_numpy=from_numpy, get_num_threads=lambda: 1)


def test_torch_cast_gives_numpy_bits_on_edge_values_and_a_spread_of_bit_patterns(monkeypatch):
    calls: list = []
    monkeypatch.setattr(half_cast, "loaded_torch", lambda: _counting_torch(calls))
    spread = np.arange(0, 2 ** 32, 4099, dtype=np.uint64).astype(np.uint32).view(np.float32)  # every sign, exponent
    values = np.concatenate([EDGES, spread[~np.isnan(spread)]])
    got = np.empty(values.shape, np.float16)
    cast_into(got, values)
    assert len(calls) == 2  # out and values: torch's kernel did the cast
    assert np.array_equal(got.view(np.uint16), _numpy_bits(values))
    assert got[4].view(np.uint16) == 0x7BFF and np.isposinf(got[8]) and np.isneginf(got[9])  # 65504, overflow
    assert got[1].view(np.uint16) == 0x8000 and got[16].view(np.uint16) == 0x0001  # -0 kept, the least subnormal


def test_a_nan_stays_a_nan_and_exact_gives_numpy_nan_bits():
    nans = np.array([np.nan, -np.nan, 1.0], np.float32)
    nans[2] = np.array(0x7F800001, np.uint32).view(np.float32)  # a signalling NaN with a low payload
    got = np.empty(3, np.float16)
    cast_into(got, nans)
    assert np.isnan(got).all()
    cast_into(got, nans, exact=True)
    assert np.array_equal(got.view(np.uint16), _numpy_bits(nans))


@pytest.mark.parametrize("case", ["read-only", "reversed", "float64", "float32 store"])
def test_inputs_torch_does_not_take_go_through_numpy(case):
    values = np.random.default_rng(1).standard_normal((5, 7)).astype(np.float32) * 1000
    out_dtype = np.float32 if case == "float32 store" else np.float16
    if case == "read-only":
        values.flags.writeable = False
    elif case == "reversed":
        values = values[::-1]
    elif case == "float64":
        values = values.astype(np.float64)
    got, want = np.empty(values.shape, out_dtype), np.empty(values.shape, out_dtype)
    cast_into(got, values)
    np.copyto(want, values, casting="same_kind")
    assert got.tobytes() == want.tobytes()


def _frames(n_frames: list[int], dim: int) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    frames = [(rng.standard_normal((n, dim)) * 3000).astype(np.float32) for n in n_frames]
    frames[1][:, : len(EDGES)] = EDGES  # every edge value in every row of utterance 1
    frames[2][5, 7] = np.array(0x7F800001, np.uint32).view(np.float32)  # a NaN with a payload in utterance 2
    frames[3][0, 0] = -np.nan
    return frames


def _store(path, frames, dim, monkeypatch, use_torch: bool) -> StoreWriter:
    calls: list = []
    monkeypatch.setattr(half_cast, "loaded_torch", (lambda: _counting_torch(calls)) if use_torch else (lambda: None))
    n_frames = [len(f) for f in frames]
    writer = StoreWriter(create_store(path, _plan(n_frames), {}, dim), chunk_threads=1)
    with np.errstate(over="ignore", invalid="ignore"):
        writer.write_window(0, frames[:3], [1] * 3)
        writer.write_window(3, frames[3:], [1] * (len(frames) - 3))
    writer.mark_complete()
    assert bool(calls) == use_torch
    return writer


def test_a_store_written_through_torch_equals_numpys_byte_for_byte(tmp_path, monkeypatch):
    dim = 64
    frames = _frames([300, 40, 600, 17, 1, 900], dim)
    by_numpy = _store(tmp_path / "numpy.zarr", frames, dim, monkeypatch, use_torch=False)
    by_torch = _store(tmp_path / "torch.zarr", frames, dim, monkeypatch, use_torch=True)
    stored = by_numpy.group["frames"][:]
    assert np.isnan(stored).sum() == 2 and np.isinf(stored).sum() == 40 * 8  # ±65520, ±1e5, ±max, ±inf per row
    want, got = _chunk_files(tmp_path / "numpy.zarr"), _chunk_files(tmp_path / "torch.zarr")
    assert sorted(got) == sorted(want) and any(k.startswith("frames/") for k in want)
    for key in want:
        assert got[key] == want[key], key


def test_writing_a_store_never_imports_torch(tmp_path):
    root = Path(__file__).resolve().parents[2]
    code = (f"import sys, numpy as np; sys.path.insert(0, {str(root)!r})\n"
            "from sergen.store.writer import StoreWriter, create_store\n"
            "from tests.store.test_frame_chunks import _plan\n"
            f"w = StoreWriter(create_store({str(tmp_path / 's.zarr')!r}, _plan([30, 20]), {{}}, 8))\n"
            "w.write_window(0, [np.ones((30, 8), np.float32), np.ones((20, 8), np.float32)], [1, 1])\n"
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_one_torch_thread_caps_the_calling_thread_alone_and_write_behind_casts_with_torch(tmp_path):
    """In a fresh interpreter whose torch runs two threads: the prepare pool's threads run torch on one, the
    main thread keeps two, torch's cast is taken there, and the store equals a serial numpy-cast one."""
    root = Path(__file__).resolve().parents[2]
    code = f"""
import sys, threading, numpy as np, torch
sys.path.insert(0, {str(root)!r})
from sergen.store import half_cast
from sergen.store.half_cast import one_torch_thread_here
from sergen.store.write_behind import WriteBehind
from tests.store.test_half_cast import _frames, _plan, _chunk_files, StoreWriter, create_store
torch.set_num_threads(2)
got = []
t = threading.Thread(target=lambda: got.append((one_torch_thread_here(), torch.get_num_threads())))
t.start(); t.join()
print("capped", got, "main", torch.get_num_threads())
frames = _frames([300, 40, 600, 17, 1, 900], 64)
cast = []
real = torch.from_numpy
torch.from_numpy = lambda a: cast.append(threading.current_thread().name) or real(a)
writer = StoreWriter(create_store({str(tmp_path / "behind.zarr")!r}, _plan([len(f) for f in frames]), {{}}, 64))
with np.errstate(over="ignore", invalid="ignore"), WriteBehind(writer, prepare_threads=2) as behind:
    behind.put(0, frames[:3], [1] * 3, {{}})
    behind.put(3, frames[3:], [1] * 3, {{}})
writer.mark_complete()
torch.from_numpy = real
print("cast on", sorted(set(n.split("_")[0] for n in cast)))
half_cast.loaded_torch = lambda: None
serial = StoreWriter(create_store({str(tmp_path / "serial.zarr")!r}, _plan([len(f) for f in frames]), {{}}, 64))
with np.errstate(over="ignore", invalid="ignore"):
    serial.write_window(0, frames, [1] * 6)
serial.mark_complete()
from pathlib import Path
behind, serial = Path({str(tmp_path / "behind.zarr")!r}), Path({str(tmp_path / "serial.zarr")!r})
print("equal", _chunk_files(behind) == _chunk_files(serial))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["capped [(True, 1)] main 2", "cast on ['sergen-store-prepare']", "equal True"]
