"""sergen: cross-corpus speech emotion recognition on cached frame embeddings."""

__version__ = "0.1.0"

LABELS = ("hap", "sad", "neu", "ang")
"""The four classes every corpus is reduced to, in the order heads and metrics use."""

CORPORA = ("iemocap", "cremad", "msp", "emodb", "ravdess")
"""The five corpora of the poster, in the order tables show them."""


def open_store(model, corpus, root=None, **kwargs):
    """Open ``stores/<model>/<corpus>.zarr`` lazily as an ``xarray.Dataset`` (see sergen.store.reader)."""
    from sergen.store.reader import open_store as _open

    return _open(model, corpus, root=root, **kwargs)


__all__ = ["LABELS", "CORPORA", "open_store", "__version__"]
