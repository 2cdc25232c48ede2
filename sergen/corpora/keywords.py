"""The words that stand for corpora in a corpus list: ``all`` (every corpus with a store, or a manifest) and
``each`` (every such corpus alone, in a grid's ``--train``). Corpus names are read in any case (``EmoDB``), so
the keywords are too (``ALL``, ``Each``): every command reads a corpus list through ``keywords_lowered`` first,
and compares only with the lower-case words after that. Kept free of imports: the CLI reads it at start."""

from __future__ import annotations

CORPUS_KEYWORDS = ("all", "each")


def corpus_keyword(name: str) -> str | None:
    """The keyword ``name`` spells (in any case, spaces around it ignored), or None for a corpus name."""
    word = str(name).strip().lower()
    return word if word in CORPUS_KEYWORDS else None


def keywords_lowered(spec):
    """A corpus list (``a,b``, ``a+b``, ``each,all``) with its keywords in lower case and every other item as
    given (corpus names are resolved, in any case, where they are looked up). Anything not a string as it is."""
    if not isinstance(spec, str):
        return spec
    out, item = [], ""
    for char in spec + ",":
        if char in ",+":
            out.append(corpus_keyword(item) or item)
            out.append(char)
            item = ""
        else:
            item += char
    return "".join(out[:-1])
