"""The documentation site (mkdocs.yml, docs/) builds with ``mkdocs build --strict``: a broken link or anchor, a
page left out of the navigation, a missing ``bench/*.md`` include or a stale generated reference page fails
``make test``. Also: the generated CLI reference names every command and option, every source path a page
names exists, and the README stays a short front page that links into the site."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sergen.cli.reference import cli_reference, command_paths, command_tree

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RESERVED = {"coral.md": "# CORAL and normalisation strategies", "frames.md": "# Frame-sequence heads",
            "cpu.md": "# CPU profile of the demo and grid", "extract.md": "# Extraction pipeline"}


def build(root: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=root, capture_output=True, text=True, env=env, timeout=300)


def warnings(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("WARNING")]


def test_site_builds_strict_with_no_warning(tmp_path):
    result = build(ROOT, tmp_path / "site")
    assert result.returncode == 0, result.stderr[-3000:]
    assert warnings(result) == []
    built = {p.relative_to(tmp_path / "site").as_posix() for p in (tmp_path / "site").rglob("index.html")}
    for page in ("index.html", "getting-started/index.html", "concepts/index.html", "reference/cli/index.html",
                 "reference/run-options/index.html", "robustness/index.html", "bench/results/index.html",
                 *(f"{name[:-3]}/index.html" for name in RESERVED)):
        assert page in built


def test_broken_link_anchor_and_stale_reference_fail_the_build(tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(DOCS, copy / "docs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "bench", copy / "bench", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copy(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    with open(copy / "docs" / "concepts.md", "a", encoding="utf-8") as page:
        page.write("\n[gone](howto/no-such-page.md) and [no anchor](reference/store.md#no-such-heading)\n")
    cli_page = copy / "docs" / "reference" / "cli.md"
    cli_page.write_text(cli_page.read_text(encoding="utf-8").replace("| `--seed <int>` |", "| `--seed <int>` | (an old help) |"),
                        encoding="utf-8")

    result = build(copy, tmp_path / "site")
    assert result.returncode == 1
    found = warnings(result)
    assert len(found) == 3, found
    assert any("'howto/no-such-page.md'" in w for w in found)
    assert any("does not contain an anchor '#no-such-heading'" in w for w in found)
    assert any("docs/reference/cli.md is stale" in w and "docs/hooks/reference.py" in w for w in found)


def _sections(text: str) -> dict[str, str]:
    """Heading text (`sergen …`) → the section under it."""
    parts = re.split(r"^#{1,4} `(sergen[^`]*)`$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_cli_reference_names_every_command_and_option():
    text = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    assert text == cli_reference()
    sections = _sections(text)
    paths = command_paths()
    assert list(sections) == paths
    assert {"sergen probe", "sergen grid", "sergen extract", "sergen stores ls", "sergen config set-root"} <= set(paths)

    def walk(command, ctx, path):
        for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
            yield from walk(sub, sub.context_class(sub, info_name=name, parent=ctx), f"{path} {name}")
        if not getattr(command, "commands", None):
            yield path, [o for p in command.get_params(ctx) if not getattr(p, "hidden", False) for o in p.opts
                         if o.startswith("-")]

    checked = 0
    for path, flags in walk(command_tree(), command_tree().context_class(command_tree(), info_name="sergen"), "sergen"):
        for flag in flags:
            assert re.search(rf"`[^`]*{re.escape(flag)}\b", sections[path]), (path, flag)
            checked += 1
    assert checked > 100


def test_every_source_path_a_page_names_exists():
    pages = [ROOT / "README.md", *DOCS.rglob("*.md")]
    named = set()
    for page in pages:
        named |= set(re.findall(r"(?<![\w/.-])((?:sergen|tests|bench|examples|experiments)/[\w/.-]*\w\.(?:py|md|toml|csv))",
                                page.read_text(encoding="utf-8")))
    # the robustness table names test files relative to tests/ (`corpora/test_base.py`)
    missing = sorted(p for p in named if not (ROOT / p).exists() and not (ROOT / "tests" / p).exists())
    assert missing == []
    assert len(named) > 40


def test_every_test_the_robustness_table_names_exists():
    table = (DOCS / "robustness.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\b(test_\w+)\b(?!\.py)", table))
    defined = set()
    for source in (ROOT / "tests").rglob("test_*.py"):
        defined |= set(re.findall(r"^def (test_\w+)", source.read_text(encoding="utf-8"), flags=re.M))
    assert sorted(named - defined) == []
    assert len(named) > 100


def test_readme_is_short_and_its_links_resolve():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    for command in ("make install", "make test", "make demo", "make extract MODEL=",
                    "sergen probe --model M --train msp --test all", "sergen.open_store("):
        assert command in text
    links = re.findall(r"\]\(([^)#\s]+)(?:#([^)]*))?\)", text)
    assert len(links) > 15
    assert [link for link, _ in links if not link.startswith("http") and not (ROOT / link).exists()] == []
    from markdown.extensions.toc import slugify

    def anchors(page: Path) -> set[str]:
        headings = re.findall(r"^#{1,6} (.+)$", page.read_text(encoding="utf-8"), flags=re.M)
        return {slugify(h.replace("`", ""), "-") for h in headings}

    broken = [f"{link}#{anchor}" for link, anchor in links if anchor and anchor not in anchors(ROOT / link)]
    assert broken == []


def test_nav_lists_every_page_and_the_reserved_feature_pages():
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]

    def leaves(entries):
        for entry in entries:
            value = entry if isinstance(entry, str) else next(iter(entry.values()))
            yield from (leaves(value) if isinstance(value, list) else [value])

    listed = sorted(leaves(nav))
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md") if "hooks" not in p.parts)
    assert listed == pages
    for name, heading in RESERVED.items():
        assert (DOCS / name).read_text(encoding="utf-8").splitlines()[0] == heading


def _template(heading: str) -> str:
    """The first python code block under ``## heading`` in docs/extending.md."""
    text = (DOCS / "extending.md").read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_corpus_reader_template_reads_a_tree_in_its_layout(tmp_path, monkeypatch):
    import numpy as np
    import soundfile as sf

    from sergen.corpora import base
    from sergen.registry import Registry

    registry = Registry("corpus")
    monkeypatch.setattr(base, "CORPUS_READERS", registry)  # the template registers here, not in sergen's own
    namespace: dict = {}
    exec(compile(_template("A corpus reader"), "extending.md", "exec"), namespace)
    assert registry.names() == ["mycorpus"] and registry.aliases("mycorpus") == ["my-corpus"]

    audio = tmp_path / "audio"
    audio.mkdir()
    tone = 0.1 * np.sin(np.linspace(0, 400, 16000)).astype(np.float32)
    for speaker in ("s1", "s2", "s3", "s4"):
        for emotion in ("ang", "hap", "sad", "neu", "fea"):
            sf.write(audio / f"{speaker}_{emotion}_1.wav", tone, 16000)
    sf.write(audio / "s1-bad-name.wav", tone, 16000)

    result = registry.get("mycorpus")(tmp_path, seed=0).read()
    df = result.manifest
    assert len(df) == 20 and len(result.problems) == 1
    assert result.problems.items[0][0] == "audio/s1-bad-name.wav"
    assert sorted(df["label"].unique()) == ["", "ang", "hap", "neu", "sad"]
    assert (df["label"] == "").sum() == 4 and set(df.loc[df["label"] == "", "native_label"]) == {"fearful"}
    by_split = df.groupby("split")["speaker"].nunique().to_dict()
    assert by_split == {"test": 1, "train": 2, "valid": 1}
    assert df.groupby("speaker")["split"].nunique().max() == 1  # speaker-disjoint


def test_the_extractor_template_gives_the_frames_it_plans(monkeypatch):
    import numpy as np

    from sergen.extractors import base
    from sergen.registry import Registry

    registry = Registry("extractor")
    monkeypatch.setattr(base, "EXTRACTORS", registry)
    exec(compile(_template("An extractor"), "extending.md", "exec"), {})
    assert registry.names() == ["myfeat"] and registry.aliases("myfeat") == ["my-features"]

    cls = registry.get("my-features")
    default, floored = cls(), cls(log_floor=1e-3)
    assert default.settings() == {"window": 400, "hop": 160, "bands": 64, "log_floor": 1e-10}
    assert floored.settings()["log_floor"] == 1e-3  # another value of the option: another store
    assert cls(log_floor="1e-3").settings() == floored.settings()  # `--opt log_floor=1e-3` is a string
    from sergen.errors import SergenError

    with pytest.raises(SergenError, match="myfeat: log_floor='low' is not valid"):
        cls(log_floor="low")
    rng = np.random.default_rng(0)
    for n in (100, 400, 16000, 16161):  # shorter than the window (padded), one window, 1 s, odd length
        wave = (0.1 * rng.standard_normal(n)).astype(np.float32)
        frames = default.embed_one(wave)
        assert frames.shape == (default.num_frames(n), 64) and frames.dtype == np.float32
        assert np.isfinite(frames).all()
    silence = floored.embed_one(np.zeros(1600, np.float32))
    assert silence.shape == (11, 64) and np.allclose(silence, np.log(1e-3))


def test_the_head_template_builds_a_module_that_standardises_first(monkeypatch):
    import numpy as np
    import torch

    from sergen.registry import Registry
    from sergen.train import head_base, head_modules

    registry = Registry("head")
    monkeypatch.setattr(head_base, "HEADS", registry)  # the template registers here, not in sergen's own
    exec(compile(_template("A head"), "extending.md", "exec"), {})
    assert registry.names() == ["mlp-wide"] and registry.aliases("mlp-wide") == ["wide"]

    mean, std = np.full(8, 3.0), np.full(8, 2.0)
    model = registry.get("mlp-wide")().build(8, 4, mean, std).eval()
    assert registry.get("mlp-wide")(units=16).build(8, 4, mean, std)[1].out_features == 16  # a hyper-parameter
    assert isinstance(model[0], head_modules.Standardise)
    assert [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)] == [512, 4]
    with torch.no_grad():
        assert model(torch.zeros(5, 8)).shape == (5, 4)
    with pytest.raises(ValueError, match="units must be a whole number of 1 or more, got 0"):
        registry.get("wide")(units=0)


def test_the_metric_template_registers_a_metric_scored_everywhere(monkeypatch):
    import numpy as np

    from sergen.train import metrics
    from sergen.train.metric_base import METRICS, Resamples

    monkeypatch.setattr(METRICS, "_items", dict(METRICS._items))  # registered for this test only
    monkeypatch.setattr(METRICS, "_aliases", dict(METRICS._aliases))
    exec(compile(_template("A metric"), "extending.md", "exec"), {})
    assert METRICS.names()[-1] == "ber" and not METRICS.get("ber").higher_is_better

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 90)
    proba = rng.random((90, 4)) + 0.3 * np.eye(4)[y]
    ber = METRICS.get("ber")
    assert ber.value(y, proba) == ber.fast_value(y, proba) == 1.0 - metrics.point_metrics(y, proba)["uar"]
    weights = rng.integers(0, 3, (20, 90)).astype(float)
    resamples = Resamples(y, proba, weights)
    np.testing.assert_allclose(ber.resampled(resamples), resamples.each(ber), rtol=0, atol=1e-15)
    value, low, high = metrics.bootstrap_metrics(y, proba, n_boot=50)["ber"]
    assert low < value < high and value == ber.value(y, proba)


def test_the_run_option_template_declares_a_remedy():
    from sergen.spec import OPTIONS, RunOption

    option = eval(_template("A remedy").strip().rstrip(","), {"RunOption": RunOption})
    assert isinstance(option, RunOption) and option.name not in {o.name for o in OPTIONS}
    assert (option.flag, option.grid_flag, option.default) == ("--whiten", "--whiten", "none")
    assert option.is_remedy_option and option.is_remedy("pca") and not option.is_remedy("none")


def test_the_store_layout_table_lists_what_a_new_store_holds(tmp_path):
    import numpy as np
    import pandas as pd
    import zarr

    from sergen.store.layout import META_COLUMNS, NUMERIC_META
    from sergen.store.layout import WRITTEN
    from sergen.store.writer import StoreWriter, create_store

    plan = pd.DataFrame({col: ["a", "b"] for col in META_COLUMNS if col != "view"})
    plan["duration_s"], plan["n_frames"] = [1.0, 2.0], [3, 5]
    group = create_store(tmp_path / "s.zarr", plan, {"model": "m"}, dim=4)
    writer = StoreWriter(group)
    writer.write_window(0, [np.ones((3, 4), np.float32), np.ones((5, 4), np.float32)], [WRITTEN] * 2)
    writer.mark_complete()  # completion adds the record of chunk sizes
    arrays = {name for name, node in group.members(max_depth=None) if isinstance(node, zarr.Array)}

    table = (DOCS / "reference" / "store.md").read_text(encoding="utf-8").split("## Layout", 1)[1]
    table = table.split("\n\n| array |", 1)[1].split("\n\n", 1)[0]
    documented = set()
    for row in table.splitlines()[2:]:
        documented |= set(re.findall(r"`([\w/]+)`", row.split("|")[1]))
    assert documented == arrays
    assert group["frames"].shape == (8, 4) and group["frames"].dtype == np.float16
    assert list(group["offsets"][:]) == [0, 3, 8] and group["status"].dtype == np.uint8
    assert group["stats_crc32c"].shape == (2, 2) and group["utt/duration_s"].dtype == np.float32
