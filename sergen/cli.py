"""The ``sergen`` command: thin wrappers that parse arguments and call the library."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from sergen import LABELS
from sergen.console import console, err_console
from sergen.errors import SergenError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Cross-corpus speech emotion recognition: manifests → stores → probes → reports.")
config_app = typer.Typer(no_args_is_help=True, help="Corpus roots and folders, set once.")
app.add_typer(config_app, name="config")


def counts_table(df, title: str) -> Table:
    table = Table(title=title)
    table.add_column("split")
    for label in LABELS:
        table.add_column(label, justify="right")
    table.add_column("total", justify="right")
    for split in ("train", "valid", "test"):
        part = df[df["split"] == split]
        table.add_row(split, *[str((part["label"] == lab).sum()) for lab in LABELS], str(len(part)))
    table.add_row("all", *[str((df["label"] == lab).sum()) for lab in LABELS], str(len(df)), style="bold")
    return table


def registry_table(registry, heading: str, describe) -> Table:
    """Name, aliases and one described attribute of every entry of a registry."""
    table = Table(registry.kind, "aliases", heading)
    for name in registry.names():
        table.add_row(name, ", ".join(registry.aliases(name)), describe(registry.get(name)))
    return table


@app.command()
def corpora():
    """List the corpus readers with their aliases and native layouts."""
    from sergen.corpora import CORPUS_READERS

    console.print(registry_table(CORPUS_READERS, "native layout", lambda cls: cls.layout))


@app.command()
def manifest(
    corpus: str = typer.Argument(..., help="iemocap, cremad, msp, emodb, ravdess or folder (aliases allowed)"),
    root: Optional[Path] = typer.Option(None, help="the corpus's own folder (default: the configured root)"),
    out: Optional[Path] = typer.Option(None, help="CSV to write (default manifests/<corpus>.csv)"),
    seed: int = typer.Option(0, help="seed of random splits"),
    keep_excited_apart: bool = typer.Option(False, help="IEMOCAP: drop 'exc' instead of merging it into hap"),
    labels: Optional[str] = typer.Option(None, help="CREMA-D: intended (default) or perceived"),
    test_set: Optional[str] = typer.Option(None, help="MSP-Podcast: which set is the test split (Test1)"),
    csv: Optional[Path] = typer.Option(None, help="folder: the CSV with path,label[,speaker,split]"),
    name: Optional[str] = typer.Option(None, help="folder: the corpus name to record"),
):
    """Read a corpus in its native layout and write its manifest (one row per utterance)."""
    from sergen.config import set_root, configured_root
    from sergen.corpora import CORPUS_READERS, read_corpus, write_manifest

    canon = CORPUS_READERS.canonical(corpus)
    options = {"seed": seed}
    if canon == "iemocap":
        options["merge_excited"] = not keep_excited_apart
    if canon == "cremad":
        options["labels"] = labels
    if canon == "msp":
        options["test_set"] = test_set
    if canon == "folder":
        options.update(csv=csv, name=name)
    with err_console.status(f"reading {canon} …"):
        result = read_corpus(canon, root, **options)
    path = write_manifest(result, out)
    if root is not None and configured_root(result.meta["corpus"]) is None:
        set_root(result.meta["corpus"], root)
    console.print(counts_table(result.manifest, f"{result.meta['corpus']}: {len(result.manifest)} utterances"))
    if result.dropped:
        console.print("left out by the 4-class rule or subset: "
                      + ", ".join(f"{k} ({v})" for k, v in sorted(result.dropped.items())))
    if result.problems:
        err_console.print(f"[yellow]{result.problems.summary()}")
    console.print(f"manifest written to [bold]{path}[/]")


@app.command("demo-data")
def demo_data(
    out: Path = typer.Option(Path("demo"), help="folder to write the five synthetic corpora into"),
    seed: int = typer.Option(0, help="same seed, same corpora"),
    scale: float = typer.Option(1.0, help="utterances per speaker × scale"),
):
    """Synthesise the five demo corpora in their native layouts (speech-like audio, emotion by prosody)."""
    from sergen.corpora.demo import make_demo

    with err_console.status("synthesising demo corpora …") as status:
        roots = make_demo(out, seed=seed, scale=scale,
                          progress=lambda c, n: status.update(f"synthesised {c} ({n} files) …"))
    for corpus, root in roots.items():
        console.print(f"{corpus:8s} → {root}   (then: sergen manifest {corpus} --root {root})")


@app.command()
def demo(
    out: Path = typer.Option(Path("demo"), help="where the synthetic corpora go"),
    scale: float = typer.Option(1.0, help="utterances per speaker × scale"),
    models: str = typer.Option("melspec,egemaps", help="extractors to run (add cdpam-content if you have time)"),
    views: str = typer.Option("pink-noise,reverb,eq,time-stretch", help="augmented views for the aug-share sweep"),
    workers: int = typer.Option(2),
):
    """sergen's main job on the built-in demo: synthesise, manifest, extract, grid, analyse, report."""
    from sergen.demo import run_demo

    report = run_demo(out, scale=scale, models=models.split(","), views=[v for v in views.split(",") if v],
                      workers=workers)
    console.print(f"[bold green]report: {report}")


@config_app.command("set-root")
def config_set_root(corpus: str, root: Path):
    """Remember where a corpus lives, so later commands need no --root."""
    from sergen.config import set_root
    from sergen.corpora import CORPUS_READERS

    path = set_root(CORPUS_READERS.canonical(corpus), root)
    console.print(f"{corpus} root set in {path}")


@config_app.command("show")
def config_show():
    """Show the config file in use and the folders sergen reads and writes."""
    from sergen.config import config_path, configured_root, data_dir
    from sergen.corpora import CORPUS_READERS

    console.print(f"config file: {config_path()}")
    for kind in ("manifests", "stores", "results", "reports"):
        console.print(f"{kind:9s}: {data_dir(kind)}")
    for name in CORPUS_READERS.names():
        console.print(f"root {name:8s}: {configured_root(name) or '-'}")

stores_app = typer.Typer(no_args_is_help=True, help="List and verify feature stores.")
app.add_typer(stores_app, name="stores")
models_app = typer.Typer(no_args_is_help=True, help="The extractors sergen knows.")
app.add_typer(models_app, name="models")


def manifest_corpora() -> list[str]:
    from sergen.config import data_dir

    return sorted(p.stem for p in data_dir("manifests").glob("*.csv"))


def resolve_corpora(spec: str) -> list[str]:
    """``all`` (every corpus with a manifest) or a comma list of names/aliases."""
    from sergen.corpora import CORPUS_READERS

    if spec == "all":
        names = manifest_corpora()
        if not names:
            raise SergenError("no manifests yet", fix="run `sergen manifest CORPUS --root DIR` (or `make demo`) first")
        return names
    return [CORPUS_READERS.canonical(c) if c in CORPUS_READERS else c for c in spec.split(",")]


@app.command()
def extract(
    model: str = typer.Option(..., help="extractor name, see `sergen models ls`"),
    corpus: str = typer.Option("all", help="corpus name(s), comma-separated, or all"),
    device: Optional[str] = typer.Option(None, help="cuda, cuda:1, cpu (default: CUDA when present)"),
    weights: Optional[Path] = typer.Option(None, help="local checkpoint file or folder"),
    root: Optional[Path] = typer.Option(None, help="corpus root, when it moved since the manifest was made"),
    batch_seconds: float = typer.Option(60.0, help="audio seconds per batch"),
    overwrite: bool = typer.Option(False, help="rebuild the store from scratch"),
    allow_failures: bool = typer.Option(False, help="mark the store complete even if some utterances failed"),
    view: list[str] = typer.Option([], help="also store this augmented view (repeatable; `sergen views`)"),
    view_seed: int = typer.Option(0, help="seed of the views' random parameters"),
    layers: Optional[str] = typer.Option(None, help="multi-layer models (wavlm-large): hidden states to store, e.g. 6,12,18,24"),
    scheduler: Optional[str] = typer.Option(None, help="run on Dask: local, local:N, or tcp://HOST:PORT"),
):
    """Embed every utterance of the corpus into stores/<model>/<corpus>.zarr (resumable); each --view
    goes to the sibling store <corpus>@<view>.zarr."""
    from sergen.augment import VIEWS
    from sergen.extract import extract as run_extract

    views = [None] + [VIEWS.canonical(v) for v in view]
    failed = False
    for name, one_view in [(c, v) for c in resolve_corpora(corpus) for v in views]:
        report = run_extract(model, name, device=device, weights=weights, corpus_root=root,
                             batch_seconds=batch_seconds, overwrite=overwrite, allow_failures=allow_failures,
                             view=one_view, view_seed=view_seed, scheduler=scheduler,
                             extractor_options={"layers": layers} if layers else None)
        name = report.corpus
        if report.skipped:
            console.print(f"{report.model}/{name}: already complete ({report.n_utts} utterances) → {report.path}")
            continue
        console.print(
            f"{report.model}/{name}: {report.written} written this run, {report.done_before} before, "
            f"{report.padded} padded, {len(report.failures)} failed; {report.audio_s:.0f} s of audio in "
            f"{report.wall_s:.1f} s ({report.realtime_factor:.0f}× real time) → {report.path}")
        if report.failures:
            failed = True
            for utt, why in list(report.failures.items())[:10]:
                err_console.print(f"[yellow]  {utt}: {why}")
            if len(report.failures) > 10:
                err_console.print(f"[yellow]  … and {len(report.failures) - 10} more")
            if not report.complete:
                err_console.print("[red]store left incomplete: fix the files and rerun (only they are redone), "
                                  "or pass --allow-failures")
    if failed:
        raise typer.Exit(1)


@stores_app.command("ls")
def stores_ls(root: Optional[str] = typer.Option(None, help="stores folder or fsspec URL (default stores/)")):
    """Every store: model, corpus, utterances, frames, size on disk, complete?"""
    from sergen.store.layout import store_path
    from sergen.store.location import size_bytes
    from sergen.store.reader import existing_stores, store_attrs

    table = Table("model", "corpus", "utterances", "frames", "dim", "size", "complete", "synthetic")
    for model, corpus in existing_stores(root, include_views=True):
        path = store_path(model, corpus, root)
        attrs = store_attrs(path)
        size = size_bytes(path)
        table.add_row(model, corpus, str(attrs.get("n_utts", "?")), str(attrs.get("n_frames", "?")),
                      str(attrs.get("dim", "?")), f"{size / 2**20:.1f} MiB",
                      "yes" if attrs.get("complete") else "[red]no", "yes" if attrs.get("synthetic") else "no")
    console.print(table)


@stores_app.command("verify")
def stores_verify(model: str, corpus: str, root: Optional[str] = typer.Option(None, help="stores folder or URL")):
    """Check offsets, counts, chunks, NaN/Inf and the manifest hash; name the utterances affected."""
    from sergen.corpora.manifest import load_manifest, manifest_hash
    from sergen.extractors import canonical_model
    from sergen.store.layout import store_path
    from sergen.store.location import exists
    from sergen.store.verify import verify_store

    model = canonical_model(model)
    path = store_path(model, corpus, root)
    if not exists(path):
        raise SergenError(f"no store {model}/{corpus}", where=str(path))
    try:
        current = manifest_hash(load_manifest(corpus)[0])
    except SergenError:
        current = None
    report = verify_store(path, current)
    if report.ok:
        console.print(f"[green]{model}/{corpus}: ok")
        return
    for problem in report.problems:
        err_console.print(f"[red]- {problem}")
    raise typer.Exit(1)


@app.command()
def views():
    """The waveform augmentation views (the poster's list)."""
    from sergen.augment import VIEWS

    console.print(registry_table(VIEWS, "what it does", lambda cls: cls.description))


@models_app.command("ls")
def models_ls():
    """Every extractor: sample rate, frame rate, dimension, weights present locally?"""
    from sergen.extractors import EXTRACTORS

    table = Table("model", "aliases", "rate (Hz)", "frames/s", "dim", "weights here", "source")
    for name in EXTRACTORS.names():
        cls = EXTRACTORS.get(name)
        try:
            present = "yes" if cls().weights_present() else "[red]no"
        except SergenError as exc:
            present = f"[red]no ({exc.what})"
        table.add_row(name, ", ".join(EXTRACTORS.aliases(name)), str(cls.sample_rate), f"{cls.frame_rate:g}",
                      str(cls.dim), present, cls.source)
    table.add_row("hf:<model-id>", "", "from its feature extractor", "from its convolutions", "hidden size",
                  "per model", "any wav2vec2-family encoder (wav2vec2, HuBERT, data2vec-audio …)")
    console.print(table)


def _floats(spec: str) -> list[float]:
    return [float(v) for v in spec.split(",") if v.strip()]


def _bools(spec: str) -> list[bool]:
    table = {"no": False, "false": False, "0": False, "yes": True, "true": True, "1": True}
    try:
        return [table[v.strip().lower()] for v in spec.split(",")]
    except KeyError as exc:
        raise SergenError(f"--scramble takes no, yes or no,yes; got {spec!r}") from None


def results_table(results, title: str) -> Table:
    from sergen.train.metrics import METRICS

    table = Table(title=title)
    table.add_column("test")
    table.add_column("AUROC", justify="right")
    table.add_column("95% CI", justify="right")
    for metric in METRICS[1:]:
        table.add_column(metric.upper(), justify="right")
    for test, part in results.groupby("test", sort=False):
        value = {m: part[part.metric == m].iloc[0] for m in METRICS}
        auroc = value["auroc"]
        table.add_row(test + (" *" if part.in_training.iloc[0] else ""), f"{auroc.value:.2f}",
                      f"{auroc.ci_low:.2f}–{auroc.ci_high:.2f}", *[f"{value[m].value:.2f}" for m in METRICS[1:]])
    return table


@app.command()
def probe(
    model: str = typer.Option(..., help="extractor whose stores to use"),
    train: str = typer.Option(..., help="corpus, a,b (union), or all"),
    test: str = typer.Option("all", help="corpora to test on, or all"),
    head: str = typer.Option("mlp", help="linear or mlp (128x256)"),
    seed: int = typer.Option(0),
    scramble: bool = typer.Option(False, help="permute each training corpus's labels (fragmentation test)"),
    aug_share: float = typer.Option(0.0, help="probability of drawing an augmented view"),
    layer: str = typer.Option("-", help="layer of a multi-layer store (default: the last stored)"),
):
    """Train a head on one or more corpora and test it on every corpus's test split."""
    from sergen.experiments.probe import resolve_spec, run_probe, save_run
    from sergen.train.heads import HEADS
    from sergen.train.sampler import SamplerConfig

    head = HEADS.canonical(head)
    spec = resolve_spec(model, train, test, head=head, seed=seed, scramble=scramble, aug_share=aug_share, layer=layer,
                        sampler=SamplerConfig(aug_share=aug_share))
    with err_console.status(f"training {head} on {spec.train_name} …"):
        results = run_probe(spec)
    path = save_run(spec, results)
    title = (f"{spec.model} · {head} · trained on {spec.train_name}" + (" · scrambled" if scramble else "")
             + f" · {results.steps.iloc[0]} steps" + (" · SYNTHETIC demo data" if results.synthetic.any() else ""))
    console.print(results_table(results, title))
    console.print("* = corpus in training (its held-out test split); CI = bootstrap 95% interval of AUROC")
    console.print(f"results: {path}")


@app.command()
def grid(
    models: str = typer.Option(..., help="comma-separated extractor names"),
    train: str = typer.Option("each,all", help="each, all, a+b … comma-separated"),
    test: str = typer.Option("all"),
    heads: str = typer.Option("linear,mlp"),
    seeds: str = typer.Option("0"),
    scramble: str = typer.Option("no", help="no, yes, or no,yes"),
    aug_share: str = typer.Option("0", help="e.g. 0,0.25,0.5,0.75,1"),
    workers: int = typer.Option(2, help="worker processes"),
    scheduler: Optional[str] = typer.Option(None, help="run on Dask instead: local, local:N, or tcp://HOST:PORT"),
):
    """Every combination, in parallel, resumable; writes tidy results and train × test AUROC matrices."""
    from sergen.experiments.grid import auroc_matrices, grid_specs, run_grid
    from sergen.train.heads import HEADS

    specs = grid_specs([m.strip() for m in models.split(",")], train, test,
                       heads=[HEADS.canonical(h) for h in heads.split(",")],
                       seeds=[int(s) for s in seeds.split(",")], scrambles=_bools(scramble),
                       aug_shares=_floats(aug_share))
    console.print(f"{len(specs)} combinations")
    results = run_grid(specs, workers=workers, scheduler=scheduler)
    for name, path in auroc_matrices(results).items():
        console.print(f"matrix {name}: {path}")


analyze_app = typer.Typer(no_args_is_help=True, help="Analyses of the embedding spaces.")
app.add_typer(analyze_app, name="analyze")


@analyze_app.command("fragmentation")
def analyze_fragmentation(
    model: str = typer.Option(...),
    corpora: str = typer.Option("all", help="comma-separated corpora, or all"),
    method: str = typer.Option("pca", help="pca or umap (needs umap-learn)"),
    seed: int = typer.Option(0),
):
    """Emotion or corpus: which organises this embedding space? Probes, centroid similarity, silhouettes, 2-D map."""
    from sergen.config import data_dir
    from sergen.experiments.fragmentation import analyse_stores, save_fragmentation
    from sergen.experiments.probe import resolve_spec

    spec = resolve_spec(model, corpora, corpora)
    with err_console.status("analysing …"):
        result = analyse_stores(spec.model, list(spec.train), seed=seed, method=method)
    paths = save_fragmentation(result, data_dir("results") / "fragmentation" / spec.model,
                               f"{spec.model} · {', '.join(spec.train)}")
    table = Table("metric", "value", title=f"fragmentation · {spec.model}")
    for row in result.summary.itertuples():
        table.add_row(row.metric, f"{row.value:.3f}")
    console.print(table)
    for name, path in paths.items():
        console.print(f"{name}: {path}")


@app.command()
def report(
    results: Optional[Path] = typer.Option(None, help="results folder (default results/)"),
    out: Optional[Path] = typer.Option(None, help="report folder (default reports/latest)"),
):
    """Write a Markdown report with the poster's tables, heatmaps and fragmentation figures."""
    from sergen.report.markdown import build_report

    path = build_report(results, out)
    console.print(f"report: [bold]{path}[/]")


def main():
    try:
        app()
    except SergenError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted; rerun the same command to resume")
        sys.exit(130)


if __name__ == "__main__":
    main()
