"""Option validators for the typer commands: each is a ``callback=`` that refuses a malformed or
out-of-range value at the boundary, before a command reads, writes or deletes anything.

A refused value ends as click's usage error (exit code 2): ``Invalid value for '--aug-share': 1.5 is not
a probability: give a number from 0 to 1``, never a traceback from deep inside. The validators return
the value unchanged, but for lists: a comma list comes back a string, its names in their canonical spelling and
each once (``listed_once``, the one rule of every list option), so the commands' own parsing is untouched; and for
choices: an option or argument with a fixed set of choices comes back in their canonical spelling, with a note
where it was given in another case (``one_of``, the one rule of every choice option).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import typer

from sergen.bounds import MAX_SEED
from sergen.spec import OPTION


def _number(value, kind: type, hint: str):
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise typer.BadParameter(f"{value!r} is not {'a whole number' if kind is int else 'a number'}: {hint}") from None
    if kind is float and not math.isfinite(number):
        raise typer.BadParameter(f"{value!r} is not a finite number: {hint}")
    return number


def _bounded(low: float | None, high: float | None, kind: type, hint: str, low_open: bool = False):
    def check(value):
        if value is None:
            return value
        number = _number(value, kind, hint)
        if low is not None and (number <= low if low_open else number < low):
            raise typer.BadParameter(f"{value} is out of range: {hint}")
        if high is not None and number > high:
            raise typer.BadParameter(f"{value} is out of range: {hint}")
        return value

    return check


probability = _bounded(0.0, 1.0, float, "give a probability from 0 to 1")
positive_float = _bounded(0.0, None, float, "give a number greater than 0", low_open=True)
positive_int = _bounded(1, None, int, "give a whole number of at least 1")
# the demo's --scale: its own bounds, named (``sergen.corpora.demo`` checks them again for the Python API)
demo_scale = _bounded(0.01, 10.0, float, "give a scale from 0.01 to 10 (every scale below 0.375 makes the same, "
                                         "smallest corpora)")
non_negative_int = _bounded(0, None, int, "give a whole number of 0 or more")

WORKERS_PER_CORE = 4
"""Workers (threads or processes) per core this process may use: beyond it they only queue for the same cores,
and each holds its own memory, so ``--workers 99999`` is a typo, not a setting."""
MAX_REPLICAS = 16  # model copies per device: more only queue for the same device, each holding the weights
MAX_CHECK_UTTERANCES = 1000  # a batch-invariance check embeds each one twice: a check, not an extraction


def max_workers() -> int:
    from sergen.threads import available_cores

    return WORKERS_PER_CORE * available_cores()


def _workers_hint() -> str:
    from sergen.threads import available_cores

    return (f"give a whole number from 1 to {max_workers()} ({WORKERS_PER_CORE} × the {available_cores()} cores "
            "this process may use)")


def _count(high: Callable[[], int], hint: Callable[[], str]) -> Callable:
    """A count of at least 1 (refused as ``positive_int`` refuses it) and at most ``high()``, with the range."""
    def check(value):
        if value is None:
            return value
        positive_int(value)
        return _bounded(1, high(), int, hint())(value)

    return check


worker_count = _count(max_workers, _workers_hint)  # --workers of extract, grid and demo
replicas = _count(lambda: MAX_REPLICAS, lambda: f"give a whole number from 1 to {MAX_REPLICAS} (model copies per "
                                                 "device; more only queue for the same device)")
check_utterances = _count(lambda: MAX_CHECK_UTTERANCES, lambda: f"give a whole number from 1 to {MAX_CHECK_UTTERANCES}")
seed = _bounded(*OPTION["seed"].bounds, int, f"give a whole number from 0 to {MAX_SEED} (2**32 - 1)")


def listed_once(parts: list, flag: str, canonical: Callable | None = None) -> list:
    """The one rule of every list option: each item in its canonical spelling (names are read in any case and by
    their aliases: ``RAVDESS`` is ravdess, ``crema-d`` cremad) and once (``ravdess,ravdess`` runs ravdess once).
    Each respelling and each repeat is said in a note on stderr, never passed over silently."""
    from sergen.cli.scope import unique_items
    from sergen.console import err_console

    named = [canonical(p) if canonical else p for p in parts]
    notes = [f"{flag} {given} read as {name}" for given, name in dict.fromkeys(zip(parts, named)) if given != name]
    kept = unique_items(named, flag, notes)
    for note in notes:
        err_console.print(f"[yellow]note: {note}", highlight=False)
    return kept


def _flag(param) -> str:
    """How a note names the parameter: an option by its flag (``--norm``), an argument as help shows it
    (``MODEL``)."""
    if param is None or not getattr(param, "opts", None):
        return "the list"
    return max(param.opts, key=len) if param.param_type_name == "option" else param.name.upper()


def _with_ctx(check: Callable) -> Callable:
    """Real classes, not the strings ``from __future__ import annotations`` makes: typer passes ctx/param by them."""
    check.__annotations__ = {"ctx": typer.Context, "param": typer.CallbackParam}
    return check


def comma_list(item: Callable, what: str, canonical: Callable | None = None,
               choices: Callable | None = None) -> Callable:
    """A callback for ``a,b,c`` options: every item non-empty and accepted by ``item`` (a validator above,
    or None for names only) in its canonical spelling; returned as ``listed_once`` gives it (canonical spelling,
    no repeats). ``choices``: the fixed names the items are (``one_of``), which also spell them."""
    canonical = canonical or (_spelled_among(choices) if choices else None)

    def check(value, ctx: typer.Context = None, param: typer.CallbackParam = None):
        if value is None:
            return value
        parts = [p.strip() for p in str(value).split(",")]
        if not parts or any(not p for p in parts):
            raise typer.BadParameter(f"{value!r} has an empty item: give {what}, separated by commas")
        if item is not None:
            for part in parts:
                try:
                    item(canonical(part) if canonical else part)
                except typer.BadParameter as exc:
                    if len(parts) == 1:
                        raise
                    raise typer.BadParameter(f"in {value!r}: {exc.message}") from None
        kept = listed_once(parts, _flag(param), canonical)
        return value if kept == parts else ",".join(kept)

    check.choices = choices
    return _with_ctx(check)


def spelled(value: str, names) -> str:
    """``value`` as ``names`` spell it when it is one of them in another case (``GLOBAL`` is global), else as
    given: a value that is none of them is left to the option's own check, which names the choices."""
    folded = {str(n).casefold(): n for n in names}
    return folded.get(str(value).strip().casefold(), value)


def _spelled_among(choices: Callable) -> Callable:
    return lambda value: spelled(value, choices())


def takes_ctx(check: Callable) -> bool:
    """Whether a validator takes (value, ctx, param), as the callbacks ``_with_ctx`` wraps do."""
    import inspect

    return len(inspect.signature(check).parameters) >= 3


def one_of(choices: Callable, check: Callable | None = None, canonical: Callable | None = None) -> Callable:
    """The one rule of every option (and argument) with a fixed set of choices: given in any case, it is read in
    its canonical spelling, with a note on stderr (``listed_once``'s: ``--norm GLOBAL read as global``), and the
    command and ``check`` see the canonical spelling only. ``choices()``: the names (the test of every choice
    option reads them); ``canonical``: a spelling rule beyond case (a registry's aliases, ``speaker:K``)."""
    spell = canonical or _spelled_among(choices)

    def callback(value, ctx: typer.Context = None, param: typer.CallbackParam = None):
        if isinstance(value, str) and value.strip():
            value = listed_once([value], _flag(param), spell)[0]
        if check is None:
            return value
        return check(value, ctx, param) if takes_ctx(check) else check(value)

    callback.choices = choices
    return _with_ctx(callback)


def _registered(registry: Callable) -> Callable:
    """A registry's canonical spelling of a name it knows (case and aliases), any other name as given."""
    def canonical(name: str) -> str:
        return registry().resolve(name)

    return canonical


def _corpus_set(item: str) -> str:
    """A corpus, keyword (``all``, ``each``) or union ``a+b`` in canonical spelling; a corpus sergen has no reader
    for (one named by ``manifest folder --name``) as given: its manifest and store are named exactly so."""
    from sergen.corpora.keywords import corpus_keyword

    return "+".join(corpus_keyword(p) or corpus_spelled(p.strip()) for p in item.split("+"))


def _models():
    from sergen.extractors import EXTRACTORS

    return EXTRACTORS


def corpus_spelled(name: str) -> str:
    """A corpus as sergen spells it: a registered name or alias in its canonical spelling; an EmoBox dataset
    typed as ``sergen manifest`` takes it (``emobox:ToyRAVDESS``) as its manifest is named (``emobox-…``); any
    other name (a folder corpus, an EmoBox dataset: named by its manifest) as its manifest is named where only
    the case differs and no manifest is named exactly so (``MINE`` is ``Mine``: hostile pass 36); else as given.
    A name two manifests carry in other cases, or a reader's alias a manifest carries, is refused as ambiguous
    (hostile pass 37), never read as one of them."""
    from sergen.corpora import CORPUS_READERS
    from sergen.corpora.manifest_names import emobox_spelled, refuse_ambiguous, refuse_shadowed, stems_in_any_case

    name = emobox_spelled(name)
    resolved = CORPUS_READERS.resolve(name)
    if not resolved:
        return resolved
    if resolved in CORPUS_READERS:
        refuse_shadowed(str(name).strip(), resolved)
        return resolved
    from sergen.corpora.manifest import manifest_path

    try:
        if manifest_path(resolved).exists():
            return resolved
        same = stems_in_any_case(resolved)
    except (OSError, ValueError):  # a name no file can have: the command's own check names it
        return resolved
    refuse_ambiguous(resolved, same)
    return same[0] if len(same) == 1 else resolved


def _corpus_readers():
    from sergen.corpora import CORPUS_READERS

    return CORPUS_READERS


def _names(registry: Callable) -> Callable:
    """A registry's names, as ``one_of`` lists the choices (each alias is spelled by ``_registered``)."""
    return lambda: tuple(registry().names())


def _views():
    from sergen.augment import VIEWS

    return VIEWS


def _heads():
    from sergen.train.heads import HEADS

    return HEADS


probabilities = comma_list(probability, "probabilities from 0 to 1, e.g. 0,0.25,0.5")
seeds = comma_list(seed, "whole numbers, e.g. 0,1,2")
layers = comma_list(non_negative_int, "layer numbers, e.g. 6,12,18,24")
names = comma_list(None, "names")
model_names = comma_list(None, "model names", _registered(_models), _names(_models))  # probe/grid/demo --model(s)
_corpus_names = comma_list(None, "corpus names", _corpus_set, _names(_corpus_readers))
# one model or one corpus (extract --model, `stores verify MODEL`, `config set-root CORPUS` …): any other name as given
model_name = one_of(_names(_models), canonical=_registered(_models))
corpus_name_given = one_of(_names(_corpus_readers), canonical=corpus_spelled)


def _reader_spelled(name: str) -> str:
    """``sergen manifest``'s corpus: a reader (``emobox:<dataset>``: its prefix) in its canonical spelling, the
    dataset as typed (EmoBox's folder is found in any case); an unknown name as given, for the command to list
    the readers."""
    from sergen.corpora import CORPUS_READERS

    prefix, colon, rest = str(name).partition(":")
    return CORPUS_READERS.resolve(prefix) + colon + rest


reader_name = one_of(_names(_corpus_readers), canonical=_reader_spelled)


def corpus_names(value, ctx: typer.Context = None, param: typer.CallbackParam = None):
    """probe's and grid's --train and --test: corpora as ``listed_once`` gives them. The keywords (``ALL``, ``Each``)
    are lowered first, without a note: they name no corpus, and every command reads them in any case."""
    from sergen.corpora.keywords import keywords_lowered

    return _corpus_names(keywords_lowered(value), ctx, param)


corpus_names = _with_ctx(corpus_names)
corpus_names.choices = _corpus_names.choices
_view_names = comma_list(None, "view names", _registered(_views), _names(_views))


def view_names(value, ctx: typer.Context = None, param: typer.CallbackParam = None):
    """The demo's ``--views``: a comma list, or empty for none."""
    return value if value is not None and not str(value).strip() else _view_names(value, ctx, param)


view_names = _with_ctx(view_names)
view_names.choices = _view_names.choices


def view_list(value: list | None, ctx: typer.Context = None, param: typer.CallbackParam = None):
    """extract's repeatable ``--view``: as a comma list is read (``listed_once``)."""
    if not value:
        return value
    return listed_once([str(v).strip() for v in value], _flag(param), _registered(_views))


view_list = _with_ctx(view_list)
view_list.choices = _names(_views)


def _stored_corpus(value: str) -> str:
    """``stores verify``'s corpus: ``corpus``, ``corpus@view`` or the keyword ``all``, each part as named."""
    from sergen.corpora.keywords import corpus_keyword

    corpus, at, view = str(value).strip().partition("@")
    if corpus_keyword(corpus):  # a keyword is read in any case, without a note (as --train and --test read it)
        return value
    return corpus_spelled(corpus) + (at and at + _views().resolve(view))


stored_corpus = one_of(_names(_corpus_readers), canonical=_stored_corpus)


def _cell_spelled(value: str) -> str:
    """A confusion cell ``TRAIN:TEST`` with each corpus as named; a malformed one as given (the report refuses it)."""
    train, sep, test = str(value).partition(":")
    if not (sep and train.strip() and test.strip()):
        return value
    return f"{_corpus_set(train.strip())}:{_corpus_set(test.strip())}"


def confusion_cells(value: list | None, ctx: typer.Context = None, param: typer.CallbackParam = None):
    """report's repeatable ``--confusion TRAIN:TEST``: its corpora as named, each cell once (``listed_once``)."""
    if not value:
        return value
    return listed_once(list(value), _flag(param), _cell_spelled)


confusion_cells = _with_ctx(confusion_cells)
confusion_cells.choices = lambda: tuple(f"{a}:{b}" for a, b in zip(_names(_corpus_readers)(),
                                                                     _names(_corpus_readers)()[1:]))


def _corpora(takes: str) -> Callable:
    """A corpus option: names (comma list), with ``all``/``each`` only where they can stand
    (``sergen.corpora.keywords.keyword_misuse``)."""
    def check(value, ctx: typer.Context = None, param: typer.CallbackParam = None):
        from sergen.corpora.keywords import KEYWORD_FORMS, keyword_misuse

        problem = keyword_misuse(value, takes)
        if problem:
            raise typer.BadParameter(f"{value!r}: {problem}; give {KEYWORD_FORMS[takes]}")
        return corpus_names(value, ctx, param)

    check.choices = _corpus_names.choices
    return _with_ctx(check)


corpus_list = _corpora("corpora")  # extract --corpus, analyze --corpora: all, or names


LAYER_CHOICES = ("- (the last stored), all (one run per stored layer), weighted (a learned mix of the stored "
                 "layers) or a layer number, e.g. 12")


def _layer(value):
    """The probe's ``--layer``: ``-`` (the last stored), ``all`` (one run per stored layer), ``weighted`` (a
    learned weighted sum of the stored layers) or a layer number."""
    if value in (None, "-", "all", "weighted"):
        return value
    try:
        return non_negative_int(value)
    except typer.BadParameter:
        raise typer.BadParameter(f"{value!r} is not a layer: give {LAYER_CHOICES}") from None


layer = one_of(lambda: ("-", "all", "weighted"), _layer)


def _head(value):
    """A head's name or alias (``sergen.train.heads.HEADS``)."""
    if value is None:
        return value
    from sergen.train.head_base import head_choices
    from sergen.train.heads import HEADS

    if value.strip() not in HEADS:
        raise typer.BadParameter(f"{value!r} is not a head: give {head_choices()[1]}")
    return value


head = one_of(_names(_heads), _head, _registered(_heads))


def _metrics():
    from sergen.train.metrics import METRICS

    return METRICS


def _metric(value):
    """A registered metric's name (``sergen.train.metrics.METRICS``)."""
    if value is not None and value.strip() not in _metrics():
        raise typer.BadParameter(f"{value!r} is not a metric: give {', '.join(_metrics().names())}")
    return value


metric = one_of(_names(_metrics), _metric, _registered(_metrics))
YES_NO = ("no", "false", "0", "yes", "true", "1")


def yes_no(value):
    if value is not None and str(value).strip().lower() not in YES_NO:
        raise typer.BadParameter(f"{value!r} is neither yes nor no: give no, yes, or no,yes (both)")
    return value


scrambles = comma_list(yes_no, "no, yes, or no,yes", choices=lambda: YES_NO)


def head_opt(value):
    """``--head-opt``: key=value pairs (each head checks its own keys when the run is resolved)."""
    if value is None:
        return value
    from sergen.errors import SergenError
    from sergen.train.head_base import parse_head_options

    try:
        parse_head_options(value)
    except SergenError as exc:
        raise typer.BadParameter(f"{exc.what}; {exc.fix}") from None
    return value


heads = comma_list(_head, "heads, e.g. linear,mlp", _registered(_heads), _names(_heads))


def scheduler(value):
    """``local``, ``local:N`` or a Dask address; reachability is checked later, before any work."""
    if value is None:
        return value
    from sergen.errors import SergenError
    from sergen.scale import local_workers, scheduler_address

    if value.strip().lower() == "local" or value.strip().lower().startswith("local:"):
        value = value.strip().lower()  # LOCAL:9 is local:9 (else read as the address tcp://LOCAL:9)
    try:
        count = local_workers(value)
        if count is None:
            scheduler_address(value)
    except SergenError as exc:
        raise typer.BadParameter(f"{exc.what}; {exc.fix}") from None
    if count is not None and value != "local" and count > max_workers():
        raise typer.BadParameter(f"{value!r}: {count} local workers is out of range: {_workers_hint()}")
    return value


DEVICE_KINDS = ("cpu", "cuda", "mps")


def _device_spelled(value: str) -> str:
    """Each device of a list with its kind in lower case (``CUDA:0`` is cuda:0); anything else as given."""
    def one(item: str) -> str:
        kind, colon, index = item.strip().partition(":")
        return spelled(kind, DEVICE_KINDS) + colon + index if kind.strip().casefold() in DEVICE_KINDS else item

    return ",".join(one(item) for item in str(value).split(","))


def _devices(value):
    """The form only of one device or a comma-separated list (cuda:0,cuda:1); whether this machine has them,
    and whether the list is usable, is checked before extraction."""
    if value is None or "," not in value:
        return _device(value)
    from sergen.errors import SergenError
    from sergen.preflight import DEVICES_FORMS, split_devices

    try:
        split_devices(value)
    except SergenError:
        raise typer.BadParameter(f"{value!r} is not a device or a list of devices: use {DEVICES_FORMS}") from None
    return value


def _device(value):
    """The form only (cpu, cuda, cuda:N, mps); whether this machine has it is checked before extraction."""
    if value is None:
        return value
    from sergen.errors import SergenError
    from sergen.preflight import parse_device

    try:
        parse_device(value)
    except SergenError as exc:
        raise typer.BadParameter(f"{value!r} is not a device: {exc.fix}") from None
    return value


devices = one_of(lambda: DEVICE_KINDS, _devices, _device_spelled)  # extract --device: one, or a list
device = one_of(lambda: DEVICE_KINDS, _device, _device_spelled)  # models check --device


def existing_path(value: Path | None):
    if value is not None and not Path(value).exists():
        raise typer.BadParameter(f"{value} does not exist")
    return value


def existing_dir(value: Path | None):
    if value is None:
        return value
    if not Path(value).exists():
        raise typer.BadParameter(f"the folder {value} does not exist")
    if not Path(value).is_dir():
        raise typer.BadParameter(f"{value} is a file, not a folder")
    return value


def new_or_dir(value: Path | None):
    """An output folder: absent (it will be made) or a folder, never a file."""
    if value is not None and Path(value).exists() and not Path(value).is_dir():
        raise typer.BadParameter(f"{value} is a file, not a folder")
    return value


def not_under_a_file(value: Path | None):
    """An output folder that can be made: none of its existing ancestors is a file (whether it may be written
    into at all is the command's own check)."""
    blocker = file_above(Path(value)) if value is not None else None
    if blocker is not None:
        raise typer.BadParameter(f"{value} lies under {blocker}, which is a file, not a folder")
    return value


EMPTY_PATH = "is empty: give a path (`.` for the current folder)"


def names_a_path(param) -> bool:
    """A parameter that names a file or folder: annotated ``Path`` (alone, optional or in a list), or a string
    (a folder or URL) whose validator is marked ``takes_path``."""
    annotation = param.type_descriptor.annotation
    return (Path in (annotation, *getattr(annotation, "__args__", ())) or
            getattr(param.callback, "takes_path", False))


def refuse_empty_paths(command) -> None:
    """Make every path parameter of ``command`` and of its subcommands refuse an empty value as typed, before
    it becomes a ``Path``: ``Path('')`` is the current folder, so ``--out ''`` (an unset shell variable,
    ``--out "$DIR"``) would read or write there. Done once for the whole app, so a new option is covered."""
    for sub in getattr(command, "commands", {}).values():
        refuse_empty_paths(sub)
    for param in command.params:
        if names_a_path(param) and not getattr(param, "refuses_empty", False):
            param.process_value = _refusing_empty(param.process_value)
            param.refuses_empty = True


def _refusing_empty(process_value: Callable) -> Callable:
    def process(ctx, value):
        typed = value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(v, str) and not v.strip() for v in typed):
            raise typer.BadParameter(EMPTY_PATH, ctx=ctx, param=process.param)
        return process_value(ctx, value)

    process.param = process_value.__self__
    return process


def file_above(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` when it is a file (no folder can be made below it), else None."""
    for parent in Path(path).absolute().parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def non_empty(value: str | None):
    if value is not None and not str(value).strip():
        raise typer.BadParameter("give a non-empty value")
    return value


def stores_root(value: str | None):
    """A stores folder or fsspec URL: a local one must be a folder, not a file."""
    if value is not None and "://" not in str(value):
        new_or_dir(Path(value))
    return value


stores_root.takes_path = True


def output_file(value: Path | None):
    """A file to write: not a folder, and its folder not a file."""
    if value is None:
        return value
    if Path(value).is_dir():
        raise typer.BadParameter(f"{value} is a folder: give the file to write, e.g. {Path(value) / 'corpus.csv'}")
    parent = Path(value).parent
    if parent.exists() and not parent.is_dir():
        raise typer.BadParameter(f"{parent} is a file, not a folder")
    return value


def label_csv(value: Path | None):
    """The folder corpus's ``--csv``: a file. A folder is named as one (not "missing"), with the CSVs in it."""
    if value is None or not Path(value).is_dir():
        return value  # a missing file is answered by the reader, which also looks beside the corpus root
    found = sorted(p.name for p in Path(value).glob("*.csv"))
    hint = f" (CSV files in it: {', '.join(found[:5])}{' …' if len(found) > 5 else ''})" if found else ""
    raise typer.BadParameter(f"{value} is a folder, not a CSV file: give the label CSV itself, with columns "
                             f"path,label[,speaker,split], e.g. {Path(value) / (found[0] if found else 'labels.csv')}"
                             + hint)


def choice(*allowed: str) -> Callable:
    """An option of the words ``allowed`` (``one_of``: any case); any other word refused, naming them."""
    def check(value):
        if value is not None and value not in allowed:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    return one_of(lambda: allowed, check)


projection_method = choice("pca", "umap")
# a word none of them refused here, as typed (hostile pass 36: `FP64` was quoted back lower-cased, after the
# run started); which precisions and input modes an extractor offers is checked where it is made
precision = choice("fp32", "bf16", "fp16")
input_mode = choice("padded", "trimmed")


def corpus_name(value: str | None):
    """A name that becomes a file name (``manifests/<name>.csv``, ``<name>.zarr``): letters, digits, - and _."""
    import re

    if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", value):
        raise typer.BadParameter(f"{value!r} cannot name a corpus: use letters, digits, '-' and '_' "
                                 "('@' is reserved for augmented views)")
    from sergen.corpora.keywords import CORPUS_KEYWORDS, corpus_keyword

    if value is not None and corpus_keyword(value):
        raise typer.BadParameter(f"{value!r} cannot name a corpus: --train and --test read {value!r} as every corpus "
                                 f"with a store ({', '.join(CORPUS_KEYWORDS)} are reserved, in any case)")
    return value




def _protocol_option(parse: Callable) -> Callable:
    """``--labels`` / ``--folds`` / ``--protocol``: checked (a mapping or fold file read) before any run."""
    def check(value, ctx: typer.Context = None, param: typer.CallbackParam = None):
        if value is None:
            return value
        typed = ctx is None or ctx.get_parameter_source(param.name).name == "COMMANDLINE"
        if typed and not str(value).strip():  # `--protocol ''` (an unset shell variable): never silently the default
            raise typer.BadParameter("an empty value; leave the option out for the default")
        from sergen.errors import SergenError

        try:
            parse(value)
        except SergenError as exc:
            raise typer.BadParameter(exc.what + (f" ({exc.where})" if exc.where else "")
                                     + (f"; {exc.fix}" if exc.fix else "")) from None
        return value

    # real classes, not the strings `from __future__ import annotations` makes: typer passes ctx/param by them
    check.__annotations__ = {"ctx": typer.Context, "param": typer.CallbackParam}
    return check


def _lazy(name: str) -> Callable:
    def parse(value):
        from sergen.protocols import protocol

        return getattr(protocol, name)(value)

    return parse


def _norm(value):
    from sergen.train.norms import check_norm

    return check_norm(value)


def _norms():
    from sergen.train.norms import NORMS

    return NORMS


def _pool(value):
    from sergen.train.pooling import check_pool

    return check_pool(value)


def _pools():
    from sergen.train.pooling import POOLS

    return POOLS


def _protocol_words(*names: str) -> Callable:
    """The protocol's fixed words (``sergen.protocols.protocol``), read when first asked."""
    def words():
        from sergen.protocols import protocol

        return tuple(getattr(protocol, n) for n in names)

    return words


def _named_protocols():
    from sergen.protocols.protocol import NAMED

    return tuple(NAMED)


FOLD_WORDS = ("corpus", "none", "split")


def _folds_spelled(value: str) -> str:
    """A fold scheme's words in any case (``Speaker:4`` is speaker:4); a file's name as given."""
    head, colon, rest = str(value).strip().partition(":")
    if colon and head.casefold() == "speaker":
        return f"speaker:{rest}"
    return spelled(value, (*FOLD_WORDS, *_protocol_words("EMOBOX_CROSS")()))


norm = one_of(_names(_norms), _protocol_option(_norm))
pool = one_of(_names(_pools), _protocol_option(_pool))  # --pool mean|mean+std
pools = comma_list(_protocol_option(_pool), "poolings, e.g. mean,mean+std", choices=_names(_pools))  # the grid's
norms = comma_list(_protocol_option(_norm), "normalisations, e.g. global,corpus", choices=_names(_norms))
labels = one_of(_protocol_words("FOUR", "NATIVE"), _protocol_option(_lazy("parse_labels")))
folds = one_of(lambda: (*FOLD_WORDS, *_protocol_words("EMOBOX_CROSS")(), "speaker:4"),
               _protocol_option(_lazy("parse_folds")), _folds_spelled)
protocol = one_of(_named_protocols, _protocol_option(_lazy("parse_named")))
