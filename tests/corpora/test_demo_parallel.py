"""The demo corpora written by two processes are byte for byte those one process writes (each corpus renders
from its own random stream), with the same markers; a rerun into the same folder replaces them as before."""

from pathlib import Path

from sergen.corpora.demo import make_demo


def contents(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_processes_write_the_files_one_process_writes(tmp_path):
    seen, alone = [], []
    one = make_demo(tmp_path / "one", seed=3, scale=0.2, progress=lambda c, n: alone.append((c, n)))
    two = make_demo(tmp_path / "two", seed=3, scale=0.2, workers=2, progress=lambda c, n: seen.append((c, n)))
    assert list(one) == list(two) == ["iemocap", "cremad", "msp", "emodb", "ravdess"]
    assert all(two[c] == tmp_path / "two" / c for c in two)
    a, b = contents(tmp_path / "one"), contents(tmp_path / "two")
    assert len(a) > 5 * 10 and a.keys() == b.keys()
    assert [name for name in a if a[name] != b[name]] == []
    assert sorted(seen) == sorted(alone) and len(alone) == 5 and all(n > 0 for _, n in alone)


def test_a_rerun_in_processes_replaces_the_corpora(tmp_path):
    make_demo(tmp_path / "c", seed=1, scale=0.2, workers=2)
    first = contents(tmp_path / "c")
    make_demo(tmp_path / "c", seed=1, scale=0.2, workers=2)
    assert contents(tmp_path / "c") == first


def test_this_process_takes_the_larger_share():
    """The spawned process pays its imports first, so this one writes ravdess and msp (4.4 CPU-s at scale 1),
    the spawned one the other three (3.7 plus its imports); a single corpus stays in this process."""
    from sergen import CORPORA
    from sergen.corpora.demo import share_out

    assert share_out(list(CORPORA), 2) == [["ravdess", "msp"], ["iemocap", "cremad", "emodb"]]
    assert share_out(["emodb"], 2) == [["emodb"], []]
    assert sorted(c for share in share_out(list(CORPORA), 3) for c in share) == sorted(CORPORA)
