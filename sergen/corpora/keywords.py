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


CORPUS_LIST, TRAINING_SET, TRAINING_SETS = "corpora", "set", "sets"
"""What a corpus option takes: corpora (``all`` or names, comma-separated: extract's --corpus, --test), one
training set (``all``, a corpus or a union a+b: the probe's --train), or training sets (each of them, or
``each``, comma-separated: the grid's --train)."""

KEYWORD_FORMS = {CORPUS_LIST: "`all`, or corpus names, comma-separated (e.g. emodb,ravdess)",
                 TRAINING_SET: "`all`, a corpus, or a union of names (e.g. emodb+ravdess)",
                 TRAINING_SETS: "training sets, comma-separated: each, all, a corpus or a union of names (e.g. "
                                "each,all,emodb+ravdess)"}
"""What each kind of corpus option takes, for the fix of a refused value."""


def keyword_misuse(spec, takes: str = CORPUS_LIST) -> str | None:
    """Why ``spec`` puts a keyword where it cannot stand, or None. A keyword already means every corpus (or
    every one alone): beside names (``all,emodb``) or inside a union (``all+emodb``) what was meant is unclear,
    so it is refused, never guessed. ``each`` belongs to a grid's --train only."""
    if not isinstance(spec, str):
        return None
    sets = [[part.strip() for part in item.split("+")] for item in spec.split(",")]
    parts = [part for union in sets for part in union]
    words = [corpus_keyword(part) for part in parts if corpus_keyword(part)]
    if not words:
        return None
    if "each" in words and takes != TRAINING_SETS:
        return "`each` (every corpus alone, one run each) belongs to a grid's --train only"
    if takes == TRAINING_SETS:
        joined = next((union for union in sets if len(union) > 1 and any(corpus_keyword(p) for p in union)), None)
        if joined is None:
            return None
        word = next(corpus_keyword(p) for p in joined if corpus_keyword(p))
        return (f"`{word}` cannot be joined with corpora in a union ({'+'.join(joined)}): it already stands for "
                f"{'every corpus' if word == 'all' else 'every corpus alone'}, so it goes as its own item")
    if len(parts) > 1:
        return f"`{words[0]}` stands for every corpus and cannot be combined with corpus names"
    return None
