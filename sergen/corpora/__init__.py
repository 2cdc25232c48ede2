"""Corpus readers, registered by name: each turns a corpus's native layout into a manifest."""

from sergen.corpora import cremad, emobox, emodb, folder, iemocap, msp, ravdess  # noqa: F401  (registration)
from sergen.corpora.base import CORPUS_READERS, ManifestResult, Problems
from sergen.corpora.manifest import load_manifest, manifest_path, read_corpus, write_manifest

__all__ = ["CORPUS_READERS", "ManifestResult", "Problems", "read_corpus", "write_manifest",
           "load_manifest", "manifest_path"]
