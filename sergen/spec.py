"""The run options, each declared once: what a probe or grid run can be told (``--head``, ``--norm``, …), its
default, its bounds, its command-line flags, its key in experiment files, whether and how it enters the run id,
how the report groups runs by it, and its baseline where it is a remedy.

Every layer reads this table rather than keeping its own list: ``ProbeSpec``'s defaults and saved form
(``sergen.experiments.probe``), the experiment-file keys (``sergen.experiments.experiment_file``), the probe
and grid commands (``sergen.cli.experiments``), the report's protocol groups and cells
(``sergen.report.protocols``), the remedies and their baselines (``sergen.report.remedies``) and the results'
columns (``sergen.results``). Adding a run option is one ``RunOption`` below (plus the code that uses it);
``tests/test_spec_schema.py`` checks that it then shows up everywhere.

The sampler and training settings (``[sampler]``, ``[training]``, ``--set``) are not run options: their own
dataclasses (``SamplerConfig``, ``TrainConfig``) declare them, and experiment files read those directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from sergen.bounds import MAX_BOOT, MAX_SEED


class _Unset:
    """No value declared (distinct from None, "" and 0, which are values)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()

REPORT_ROLES = {
    "group": "runs of different values are reported in separate sections, never averaged together",
    "cell": "a row of the report's tables: runs of different values are shown side by side",
    "spread": "averaged over: the report gives the mean and spread over its values",
    "none": "not a column of the results: the report cannot tell runs apart by it",
}
KIND_OF = {str: (str,), int: (int,), bool: (bool,), float: (float, int)}  # a TOML number may be written whole


@dataclass(frozen=True)
class RunOption:
    """One run option. ``default`` is the probe's (and ``ProbeSpec``'s) value when none is given; None for
    the options a run must be given (``model``, ``train``)."""

    name: str  # ProbeSpec field, results column, experiment-file key and probe flag (``--aug-share``)
    type: type  # str, int, bool or float: the value's type in a spec and in a TOML file
    default: object
    help: str  # the one help text of the option (probe and grid)
    allowed: str  # the values allowed, as an error message names them ("give layer as …")
    report: str  # one of REPORT_ROLES
    cli: bool = True  # an option of the probe and grid commands
    plural: str | None = None  # the grid's name for it where the grid takes several (``heads``)
    several: bool = False  # the grid takes several values (a comma list; a list in experiment files)
    grid_default: object = UNSET  # the grid's command-line default where it is not ``default``
    # the grid's ``allowed`` where it is not "``allowed``, or a list of them"; ``{names}`` in it: the registry's
    # names, for an option whose values are a registry's (``sergen.cli.run_options.REGISTERED``)
    grid_allowed: str | None = None
    grid_help: str | None = None  # the grid's help where it is not "``help``; several, comma-separated …"
    check: str | None = None  # the validator of one value in ``sergen.cli.validate`` (by name)
    grid_check: str | None = None  # the grid's validator of its comma list
    bounds: tuple | None = None  # (lowest, highest) of a number; None at either end: unbounded there
    file_types: tuple = ()  # TOML types accepted besides the option's own (a layer may be written 12)
    in_file: bool = True  # a key of experiment files
    home: str = "spec"  # where a spec keeps it: a ProbeSpec field, or ``sampler`` (SamplerConfig's field)
    in_id: bool = True  # part of the saved spec, so of the run id
    id_default: object = UNSET  # left out of the saved spec at this value: ids made before the option existed hold
    row: bool = True  # a column of the results rows (``sergen.results.ROW_COLUMNS``)
    row_default: object = UNSET  # what a results row without the column means (rows of an older sergen)
    baseline: object = UNSET  # a remedy's baseline value (the poster's); UNSET: not a remedy option
    remedies: tuple | None = None  # the values that are remedies; None: every value but the baseline

    def __post_init__(self):
        if self.report not in REPORT_ROLES:
            raise ValueError(f"run option {self.name}: report must be one of {', '.join(REPORT_ROLES)}, "
                             f"not {self.report!r}")
        if self.type not in KIND_OF:
            raise ValueError(f"run option {self.name}: type must be one of str, int, bool, float")
        if self.home not in ("spec", "sampler"):
            raise ValueError(f"run option {self.name}: home must be spec or sampler, not {self.home!r}")

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def grid_name(self) -> str:
        return self.plural or self.name

    @property
    def grid_flag(self) -> str:
        return "--" + self.grid_name.replace("_", "-")

    @property
    def grid_default_value(self):
        return self.default if self.grid_default is UNSET else self.grid_default

    def value_in(self, spec):
        """This option's value in a ProbeSpec (``aug_share`` from its sampler config)."""
        return getattr(spec.sampler if self.home == "sampler" else spec, self.name)

    @property
    def is_remedy_option(self) -> bool:
        return self.baseline is not UNSET

    def is_remedy(self, value) -> bool:
        """Whether ``value`` of this option is a remedy against its baseline."""
        if not self.is_remedy_option:
            return False
        return value in self.remedies if self.remedies is not None else value != self.baseline

    def file_kinds(self, grid_key: bool) -> tuple:
        """The TOML kinds its experiment-file key takes (``(list, str)``: a string or a list of them)."""
        scalar = KIND_OF[self.type] + tuple(k for k in self.file_types if k not in KIND_OF[self.type])
        listed = self.several and (grid_key or not self.plural)  # one key for both commands: a list too
        return ((list,) if listed else ()) + scalar

    def grid_allowed_text(self) -> str:
        if self.grid_allowed is not None:
            return self.grid_allowed
        return f"{self.allowed}, or a list of them" if self.several else self.allowed

    def out_of_bounds(self, value) -> str | None:
        """Why ``value`` is not a value of this option's type within its bounds (a spec read from a file);
        None when it is."""
        if self.type is bool:
            return None if isinstance(value, bool) else f"{self.name} = {value!r} is not true or false"
        if self.type is int and (isinstance(value, bool) or not isinstance(value, int)):
            return f"{self.name} = {value!r} is {self.bounds_text()}"
        if self.bounds is not None:
            low, high = self.bounds
            if (low is not None and value < low) or (high is not None and value > high):
                return f"{self.name} = {value!r} is {self.bounds_text()}"
        return None

    def bounds_text(self) -> str:
        what = "a whole number" if self.type is int else "a number"
        low, high = self.bounds or (None, None)
        if low is not None and high is not None:
            return f"not {what} from {low} to {high}"
        if low is not None:
            return f"not {what} of {low} or more"
        return f"not {what}" + (f" of at most {high}" if high is not None else "")


OPTIONS: tuple[RunOption, ...] = (
    RunOption("model", str, None, "extractor whose stores to use",
              'an extractor name, e.g. "melspec" (`sergen stores ls` lists the stores)', "cell",
              plural="models", several=True, check="model_names", grid_check="model_names",
              grid_allowed='extractor names, e.g. ["melspec", "wavlm-large"]'),
    RunOption("train", str, None, "training set: a corpus, a+b (a union) or all", 'corpora: "each", "all", a corpus, or "a+b" unions, comma-separated, e.g. "each,all"',
              "cell", grid_default="each,all", check="corpus_names", grid_check="corpus_names",
              grid_help="training sets: each (every corpus alone), all, a+b …, comma-separated (one run each)"),
    RunOption("test", str, "all", "corpora to test on, comma-separated, or all", 'corpora, comma-separated, or "all"',
              "cell", check="corpus_names", grid_check="corpus_names"),
    RunOption("head", str, "mlp", "classifier head (a registered head of sergen.train.heads)",
              '"mlp" or another registered head', "cell",
              plural="heads", several=True, grid_default="linear,mlp", check="head", grid_check="heads",
              grid_allowed="a list of heads: {names}", baseline="mlp", remedies=("mlp-dann",)),
    RunOption("head_opt", str, "", "the head's hyper-parameters as key=value pairs, comma-separated, e.g. "
              "hidden=64x128,dropout=0.3 (each head's own: `sergen.train.head_base`; a grid gives each head the "
              "pairs it takes); default: the head's defaults",
              'key=value pairs, comma-separated, e.g. "hidden=64x128,dropout=0.3"', "cell", check="head_opt",
              grid_check="head_opt", id_default="", row_default=""),
    RunOption("seed", int, 0, "seed of the window stream, the head's initial weights and the bootstrap",
              f"a whole number from 0 to {MAX_SEED}", "spread", plural="seeds", several=True, grid_default="0",
              check="seed", grid_check="seeds", bounds=(0, MAX_SEED),
              grid_allowed=f"a list of whole numbers from 0 to {MAX_SEED}, e.g. [0, 1, 2]"),
    RunOption("scramble", bool, False, "permute each training corpus's labels (fragmentation test)",
              "true or false", "cell", several=True, grid_default="no", grid_check="scrambles", row_default=False,
              grid_help="permute each training corpus's labels (fragmentation test): no, yes, or no,yes (both)"),
    RunOption("aug_share", float, 0.0, "probability of drawing an augmented view (views extracted beforehand)",
              "a number from 0 to 1", "cell", several=True, grid_default="0", check="probability",
              grid_check="probabilities", bounds=(0.0, 1.0), home="sampler", row_default=0.0),
    RunOption("layer", str, "-", "layer of a multi-layer store: - (the last), N, all (one run per layer) or "
              "weighted (a learned weighted sum of them)", '"-", "all", "weighted" or a layer number, e.g. 12', "cell",
              check="layer", grid_check="layer", file_types=(int,), row_default="-", baseline="-",
              remedies=("weighted",)),
    RunOption("labels", str, "4", "label set: 4 (hap/sad/neu/ang), native (each corpus's own classes), or a CSV "
              "file native,label[,corpus]", '"4", "native" or the path of a CSV file native,label[,corpus]', "group",
              check="labels", grid_check="labels", id_default="4", row_default="4"),
    RunOption("folds", str, "", "speaker:K, corpus (IEMOCAP sessions, EmoBox folds) or a CSV utt_id,fold (one run "
              "per fold); default: the corpus's own split",
              '"speaker:K", "corpus" or the path of a CSV file utt_id,fold ("": the corpus\'s own split)', "group",
              check="folds", grid_check="folds", id_default="", row_default=""),
    RunOption("protocol", str, "", "a named protocol: superb-er (IEMOCAP, 4 classes, 5 sessions) or emobox-cross "
              "(EmoBox's track-2 test sets, after `sergen emobox-cross`); default: none", '"superb-er", or leave it out', "group",
              check="protocol", grid_check="protocol", id_default="", row_default=""),
    RunOption("norm", str, "global", "feature normalisation (a strategy of sergen.train.norms)",
              '"global" or another registered normalisation', "group", several=True, check="norm",
              grid_check="norms", id_default="global", row_default="global", baseline="global"),
    RunOption("pool", str, "mean", "window pooling (a registered pooling of sergen.train.pooling)",
              '"mean" or another registered pooling', "group", several=True, check="pool", grid_check="pools", id_default="mean",
              row_default="mean", baseline="mean"),
    RunOption("n_boot", int, 200, "bootstrap resamples of each test set's confidence interval",
              f"a whole number from 0 to {MAX_BOOT}", "none", cli=False, bounds=(0, MAX_BOOT), row=False),
    RunOption("fold", int, 0, "this run's fold of its fold scheme (0: no folds); one run per fold is made from "
              "folds", "a whole number of 0 or more", "spread", cli=False, in_file=False, bounds=(0, None),
              id_default=0, row_default=0),
)


def options_by_name(options=OPTIONS) -> dict[str, RunOption]:
    return {o.name: o for o in options}


OPTION = options_by_name()


def default(name: str):
    """An option's default, for ``ProbeSpec``'s fields."""
    return OPTION[name].default


# ---------------------------------------------------------------- what the layers derive from the table
def id_defaults(options=OPTIONS) -> dict:
    """Spec field → the value at which the saved spec (and so the run id) leaves it out."""
    return {o.name: o.id_default for o in options if o.home == "spec" and o.id_default is not UNSET}


def spec_fields(options=OPTIONS) -> tuple[str, ...]:
    """The options a ProbeSpec holds as its own fields (``aug_share`` lives in its sampler config)."""
    return tuple(o.name for o in options if o.home == "spec")


def probe_keys(options=OPTIONS) -> tuple[str, ...]:
    """The experiment-file keys ``sergen probe`` reads."""
    return tuple(o.name for o in options if o.in_file)


def grid_keys(options=OPTIONS) -> tuple[str, ...]:
    """The experiment-file keys ``sergen grid`` reads (its plural names: ``heads``, ``seeds``)."""
    return tuple(o.grid_name for o in options if o.in_file)


def run_keys(options=OPTIONS) -> dict[str, tuple]:
    """Every top-level experiment-file key → the TOML kinds it takes (both commands' keys)."""
    keys: dict[str, tuple] = {}
    for o in options:
        if not o.in_file:
            continue
        if o.plural:
            keys[o.plural] = o.file_kinds(grid_key=True)
        keys[o.name] = o.file_kinds(grid_key=False)
    return keys


def cli_options(options=OPTIONS) -> tuple[RunOption, ...]:
    return tuple(o for o in options if o.cli)


def group_keys(options=OPTIONS) -> tuple[str, ...]:
    """The columns whose values never share a report section (a protocol group)."""
    return tuple(o.name for o in options if o.report == "group")


def cell_keys(options=OPTIONS) -> tuple[str, ...]:
    """The run options that tell a table's cells apart."""
    return tuple(o.name for o in options if o.report == "cell")


def row_columns(options=OPTIONS) -> tuple[str, ...]:
    return tuple(o.name for o in options if o.row)


def row_defaults(options=OPTIONS, types=(str, int, bool, float)) -> dict:
    """Column → what a results row without it means (of the options of ``types``)."""
    return {o.name: o.row_default for o in options if o.row_default is not UNSET and o.type in types}


def baselines(options=OPTIONS) -> dict:
    """Remedy option → its baseline value (the poster's)."""
    return {o.name: o.baseline for o in options if o.is_remedy_option}


def remedy_flags(options=OPTIONS) -> dict[str, str]:
    """Remedy option → the grid's flag that sets it (``--heads``)."""
    return {o.name: o.grid_flag for o in options if o.is_remedy_option}
