"""sergen: cross-corpus speech emotion recognition on cached frame embeddings."""

__version__ = "0.1.0"

LABELS = ("hap", "sad", "neu", "ang")
"""The four classes every corpus is reduced to, in the order heads and metrics use."""

CORPORA = ("iemocap", "cremad", "msp", "emodb", "ravdess")
"""The five corpora of the poster, in the order tables show them."""


def corpus_order(names) -> list[str]:
    """Names in the order tables show them: the poster's five first, in their order, then others sorted."""
    names = list(dict.fromkeys(names))
    return [c for c in CORPORA if c in names] + sorted(set(names) - set(CORPORA))


def open_store(model, corpus=None, root=None, **kwargs):
    """Open ``stores/<model>/<corpus>.zarr`` lazily as an ``xarray.Dataset`` (see sergen.store.reader);
    model aliases (``clap``, ``wavlm``, ``hf:<id>``) name the same store as the canonical name. ``model`` may
    also be a store handle (``sergen.store.ref.StoreRef``); ``root`` defaults to the workspace's stores folder."""
    from sergen.config import workspace_dirs
    from sergen.errors import SergenError
    from sergen.store.reader import open_store as _open
    from sergen.store.ref import StoreRef

    if isinstance(model, StoreRef):
        if corpus is not None or root is not None:
            raise SergenError("open_store was given a store handle and a corpus or root too: the handle already "
                              f"names its store ({model.model}/{model.name} in {model.root})",
                              fix="pass the handle alone, or a model name with corpus= and root=")
        return _open(model, **kwargs)
    for what, value in (("model", model), ("corpus", corpus)):
        if not isinstance(value, str) or not value.strip() or "/" in value or "\\" in value or value.startswith("."):
            shown = "missing" if value is None else repr(value)
            raise SergenError(f"open_store needs a {what} name, got {shown}",
                              fix='e.g. sergen.open_store("melspec", "emodb"); a stores folder elsewhere (a path or '
                                  'URL) goes in root=, not in the names')
    # StoreRef.of reads the names as the CLI does: model and corpus aliases and case resolved (``EmoDB@Time-Stretch``)
    return _open(StoreRef.of(model, corpus, workspace_dirs(), root), **kwargs)


__all__ = ["LABELS", "CORPORA", "corpus_order", "open_store", "__version__"]
