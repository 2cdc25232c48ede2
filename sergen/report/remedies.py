"""Remedies for class fragmentation against their baselines, as the report compares them.

A remedy is one option of the same probe changed from the poster's: ``--norm`` corpus, speaker, coral, …
(baseline ``global``), ``--head mlp-dann`` (baseline ``mlp``), ``--pool mean+std`` (baseline ``mean``), ``--layer
weighted`` (baseline the default layer). Its baseline is the runs that differ from it in that option only
(model, training set, protocol, augmentation share and every other option equal), so each difference is the
remedy's own. Each side is summarised per seed, then as mean ± sd over seeds: AUROC on the training corpora's
test splits and off the diagonal (test corpora outside the training set), the scrambled-label gap, and the
fragmentation of the head's hidden features (held-out corpus-ID accuracy, silhouettes by class and by corpus).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sergen import corpus_order
from sergen.report.protocols import with_protocol_columns
from sergen.results import settings_sets
from sergen.spec import OPTION, OPTIONS, baselines, remedy_flags, row_defaults
from sergen.train.norms import choices_text, transductive_norms

# option → its baseline value (the poster's); the rows' column of the same name (``sergen.spec``)
BASELINES = baselines()
# what a row lacking the column means (``pool`` comes with a later sergen: absent is the poster's mean)
ROW_DEFAULTS = {k: v for k, v in row_defaults().items() if k in BASELINES}
OPTION_FLAGS = remedy_flags()  # the grid's flag of each
SETTING_OPTIONS = tuple(o for o in BASELINES if o != "head")  # beside the head: named in titles and commands


def context_columns(options=OPTIONS) -> tuple[str, ...]:
    """What a remedy and its baseline share: every run option that splits groups or cells but the remedies, the
    test corpus (a side is summarised over its tests) and scramble (a side's gap is scrambled against true)."""
    shared = [o.name for o in options if o.report in ("group", "cell") and not o.is_remedy_option
              and o.name not in ("test", "scramble")]
    return (*shared, "n_train_corpora", "classes", "settings")


CONTEXT = context_columns()
TRANSDUCTIVE = transductive_norms()  # read from the registry: a strategy says whether it reads test statistics
TRANSDUCTIVE_NOTE = (f"Runs with {choices_text(TRANSDUCTIVE, '`--norm {}`')} standardised each test corpus (or test "
                     "speaker) with statistics of its own unlabelled audio: transductive, so their figures are not "
                     "comparable with inductive leaderboard entries.")
TRANSDUCTIVE_CONSOLE = (f"note: --norm {'/'.join(TRANSDUCTIVE)} runs standardise each test corpus (or speaker) with "
                        "statistics of its own unlabelled audio (transductive): not comparable with inductive "
                        "leaderboard entries.")


def is_remedy(option: str, value: str) -> bool:
    """Whether ``value`` of ``option`` is a remedy (a numeric layer is a layer sweep, the linear head another
    head: neither is a remedy)."""
    return OPTION[option].is_remedy(value)


def remedy_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the protocol columns and every remedy option present as text (an absent ``pool`` is
    ``mean``, an absent layer ``-``; a layer read back as a number is its text)."""
    rows = with_protocol_columns(rows)
    for column, default in ROW_DEFAULTS.items():
        values = rows[column] if column in rows else pd.Series(default, index=rows.index, dtype=object)
        rows[column] = values.map(lambda v, d=default: d if v is None or (isinstance(v, float) and math.isnan(v))
                                  else _text(v) or d)
    rows["scramble"] = rows.scramble.map(_truth) if "scramble" in rows else False
    # from the names themselves, so rows of any sergen agree on what lies off the diagonal
    rows["in_training"] = [str(t) in str(train).split("+") for t, train in zip(rows.test, rows.train)]
    rows["aug_share"] = pd.to_numeric(rows.aug_share, errors="coerce").fillna(0.0) if "aug_share" in rows else 0.0
    return rows


def _text(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _number(value) -> float | None:
    """A record's figure as a float; None where it is missing or not a number (a hand-edited record)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _truth(value) -> bool:
    return str(value).strip().lower() in ("true", "1", "1.0", "yes")


# ---------------------------------------------------------------- one side's figures

@dataclass(frozen=True)
class Stat:
    """A figure over seeds: mean, sample standard deviation (ddof 1; NaN with one seed) and number of seeds."""

    mean: float
    sd: float
    n: int

    @classmethod
    def of(cls, values) -> "Stat | None":
        values = [float(v) for v in values if v is not None and np.isfinite(v)]
        if not values:
            return None
        return cls(float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else float("nan"),
                   len(values))

    def text(self, digits: int = 3, compact: bool = False) -> str:
        sep = "±" if compact else " ± "
        sd = f"{sep}{self.sd:.{digits}f}" if self.n > 1 else ""
        return f"{self.mean:.{digits}f}{sd} ({self.n})" if compact else f"{self.mean:.{digits}f}{sd} (n={self.n})"


MEASURES = (  # key, row title in report.md, short title on the console
    ("auroc_in", "AUROC on the training corpora (their test splits)", "AUROC, training"),
    ("auroc_out", "AUROC off the diagonal (test corpora outside the training set)", "AUROC, off-diagonal"),
    ("gap", "scrambled-label gap (true − scrambled AUROC, training corpora)", "scrambled gap"),
    ("corpus_id", "corpus-ID accuracy of the hidden features, held out", "corpus-ID acc"),
    ("sil_class", "silhouette of the hidden features by class, held out", "silhouette class"),
    ("sil_corpus", "silhouette of the hidden features by corpus, held out", "silhouette corpus"),
)


def side_figures(part: pd.DataFrame, records: dict) -> dict[str, Stat | None]:
    """The measures of one side (its rows: every seed, fold and test corpus, true and scrambled labels). Per
    seed first (folds averaged), then over seeds."""
    auroc = part[part.metric == "auroc"]
    true, scrambled = auroc[~auroc.scramble], auroc[auroc.scramble]

    def per_seed(rows: pd.DataFrame) -> pd.Series:
        return rows.groupby("seed").value.mean()

    inside_true, inside_scrambled = per_seed(true[true.in_training]), per_seed(scrambled[scrambled.in_training])
    both = inside_true.index.intersection(inside_scrambled.index)
    out = {"auroc_in": Stat.of(inside_true), "auroc_out": Stat.of(per_seed(true[~true.in_training])),
           "gap": Stat.of(inside_true[both] - inside_scrambled[both])}
    for key, attribute in (("corpus_id", "corpus_id_accuracy"), ("sil_class", "silhouette_class"),
                           ("sil_corpus", "silhouette_corpus")):
        values = {}
        for run_id, seed in true[["run_id", "seed"]].drop_duplicates().itertuples(index=False):
            value = _number(getattr(records.get(run_id), attribute, None))
            if value is not None:
                values.setdefault(seed, []).append(value)
        out[key] = Stat.of([np.mean(v) for v in values.values()])
    return out


# ---------------------------------------------------------------- remedy against baseline

@dataclass
class Comparison:
    """One remedy run set beside its baseline (``baseline`` empty when none was run)."""

    option: str  # norm, head, pool, layer
    value: str  # the remedy's value of it
    baseline_value: str
    context: dict  # model, train, head, … shared by both sides
    remedy: dict[str, Stat | None]
    baseline: dict[str, Stat | None] = field(default_factory=dict)
    outside: list[str] = field(default_factory=list)  # test corpora outside the training set
    n_corpora: int = 1
    hint: str = ""  # the command that makes a missing baseline
    remedy_rows: pd.DataFrame | None = None  # each side's rows, for paired tests on shared test utterances
    baseline_rows: pd.DataFrame | None = None

    @property
    def title(self) -> str:
        c = self.context
        extra = [f"{k} {c[k]}" for k in SETTING_OPTIONS if k != self.option and c[k] != BASELINES[k]]
        extra += [f"labels {c['labels']}"] if c["labels"] != "4" else []
        extra += [f"folds {c['folds']}"] if c["folds"] else []
        extra += [f"protocol {c['protocol']}"] if c["protocol"] else []
        extra += [f"aug share {c['aug_share']:g}"] if c["aug_share"] else []
        extra += [f"settings {c['settings']}"] if c.get("settings") else []
        head = c["head"] if self.option != "head" else "mlp"
        return " · ".join([c["model"], head, f"trained on {c['train']}", *extra])

    @property
    def remedy_name(self) -> str:
        return f"{OPTION_FLAGS[self.option].rstrip('s')} {self.value}"

    @property
    def baseline_name(self) -> str:
        return f"{OPTION_FLAGS[self.option].rstrip('s')} {self.baseline_value}"

    def difference(self, key: str) -> float | None:
        a, b = self.remedy.get(key), self.baseline.get(key)
        return None if a is None or b is None else a.mean - b.mean

    def within_spread(self, key: str) -> bool:
        """The difference is no larger than the seeds' spread (the larger sd of the two sides), or a side has
        one seed: nothing can be told from it."""
        a, b, diff = self.remedy[key], self.baseline[key], self.difference(key)
        if a.n < 2 or b.n < 2:
            return True
        return abs(diff) <= max(a.sd, b.sd)

    def verdict(self) -> str:
        """One line a reader takes in at a glance: did fragmentation go down, and did AUROC move?"""
        if not self.baseline:
            return f"no baseline ({self.baseline_name}) to compare with"
        return f"{self._fragmentation()}, {self._auroc()}"

    def _change(self, key: str, label: str, lower_is_less: bool, subject: str) -> str:
        """``lower_is_less``: a lower number means less of ``subject`` (corpus-ID and fragmentation, AUROC)."""
        a, b = self.baseline[key], self.remedy[key]
        numbers = " ".join(filter(None, (label, f"{a.mean:.3f} → {b.mean:.3f}")))
        if self.within_spread(key):
            one_seed = " (one seed)" if min(a.n, b.n) < 2 else ""
            return f"{subject} unchanged within spread{one_seed} ({numbers})"
        less = (b.mean < a.mean) == lower_is_less  # a wider scrambled-label gap is less fragmentation
        return f"{subject} {'lower' if less else 'higher'} ({numbers})"

    def _fragmentation(self) -> str:
        for key, label, lower_is_less in (("corpus_id", "corpus-ID", True), ("sil_corpus", "corpus silhouette", True),
                                          ("gap", "scrambled-label gap", False)):
            if self.remedy.get(key) and self.baseline.get(key):
                return self._change(key, label, lower_is_less, "fragmentation")
        return "fragmentation not measured (no hidden features held out, no scrambled runs on both sides)"

    def _auroc(self) -> str:
        if self.remedy.get("auroc_out") and self.baseline.get("auroc_out"):
            return self._change("auroc_out", "", True, "off-diagonal AUROC")
        if self.remedy.get("auroc_in") and self.baseline.get("auroc_in"):
            return self._change("auroc_in", "", True, "AUROC on the training corpora")
        return "AUROC not comparable (no common test corpora)"


def _baseline_part(rows: pd.DataFrame, option: str, key: dict) -> tuple[pd.DataFrame, str]:
    """The rows matching ``key`` with ``option`` at its baseline value (for the layer: ``-``, else the highest
    numeric layer, the one ``-`` stands for), and that value."""
    part = rows
    for column, value in key.items():
        part = part[part[column] == value]
    if option != "layer":
        value = BASELINES[option]
        return part[part[option] == value], value
    if (part.layer == "-").any():
        return part[part.layer == "-"], "-"
    numeric = sorted({int(v) for v in part.layer if v.isdigit()})
    if not numeric:
        return part.iloc[:0], "-"
    return part[part.layer == str(numeric[-1])], str(numeric[-1])


def baseline_command(option: str, value: str, context: dict, seeds, scrambles) -> str:
    """The ``sergen grid`` that makes the missing baseline runs."""
    parts = ["sergen grid", f"--models {context['model']}", f"--train {context['train']}",
             f"--heads {value if option == 'head' else context['head']}"]
    for opt in SETTING_OPTIONS:
        flag = OPTION_FLAGS[opt]
        chosen = value if opt == option else context[opt]
        if chosen != BASELINES[opt]:
            parts.append(f"{flag} {chosen}")
    if context["labels"] != "4":
        parts.append(f"--labels {context['labels']}")
    if context["folds"]:
        parts.append(f"--folds {context['folds']}")
    if context["protocol"]:
        parts.append(f"--protocol {context['protocol']}")
    if context["aug_share"]:
        parts.append(f"--aug-share {context['aug_share']:g}")
    parts += settings_sets(context.get("settings", ""))
    parts.append(f"--seeds {','.join(str(s) for s in sorted(seeds))}")
    if True in scrambles:
        parts.append("--scramble " + ("no,yes" if False in scrambles else "yes"))
    return " ".join(parts)


def remedy_comparisons(rows: pd.DataFrame, records: dict) -> list[Comparison]:
    """Every remedy run set in ``rows`` beside its baseline, in a stable order (model, training set, option)."""
    if rows.empty:
        return []
    rows = remedy_rows(rows)
    found = []
    for option in BASELINES:
        others = [o for o in BASELINES if o != option]
        remedies = rows[rows[option].map(lambda v, o=option: is_remedy(o, v))]
        for key, part in remedies.groupby(list(CONTEXT) + others + [option], sort=True):
            context = dict(zip(list(CONTEXT) + others + [option], key))
            value = context.pop(option)
            base, base_value = _baseline_part(rows, option, context)
            context[option] = value
            if option == "head":
                context["head"] = "mlp"
            tests = part[~part.in_training].test.unique()
            comparison = Comparison(option, value, base_value, context, side_figures(part, records),
                                    outside=corpus_order(tests), n_corpora=int(context["n_train_corpora"]),
                                    remedy_rows=part, baseline_rows=base)
            if base.empty:
                comparison.hint = baseline_command(option, base_value, context, part.seed.unique(),
                                                   set(part.scramble))
            else:
                comparison.baseline = side_figures(base, records)
            found.append(comparison)
    return sorted(found, key=lambda c: (c.context["model"], c.n_corpora, c.context["train"], c.option, c.value,
                                        c.context["head"], c.title))


def measure_label(comparison: Comparison, key: str, short: bool = False) -> str:
    """A measure's row title, with what it is over (which test corpora, chance)."""
    long_title, short_title = next((t, s) for k, t, s in MEASURES if k == key)
    title = short_title if short else long_title
    if key == "auroc_out" and not short:
        title += f": {', '.join(comparison.outside)}" if comparison.outside else \
            ": none, the training set covers every test corpus"
    if key == "corpus_id" and not short:
        title += f" (chance {1 / comparison.n_corpora:.2f})" if comparison.n_corpora > 1 else ""
    return title


def comparison_table(comparison: Comparison) -> pd.DataFrame:
    """Measure × (remedy, baseline, difference), cells as text; "–" where a side lacks the measure."""
    rows = []
    for key, _, _ in MEASURES:
        a, b, diff = comparison.remedy.get(key), comparison.baseline.get(key), comparison.difference(key)
        rows.append({"measure": measure_label(comparison, key), comparison.remedy_name: a.text() if a else "–",
                     comparison.baseline_name: b.text() if b else "–",
                     "difference": f"{diff:+.3f}" if diff is not None else "–"})
    return pd.DataFrame(rows)


def uses_transductive_norm(rows: pd.DataFrame) -> bool:
    """Whether any row was normalised with a test corpus's (or speaker's) own statistics."""
    return "norm" in rows and rows.norm.astype(str).isin(TRANSDUCTIVE).any()
