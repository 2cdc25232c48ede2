"""The results folder, its layout and schema, and which runs are fresh.

One owner for the on-disk format of results (experiments write through it, report and CLI read
through it)::

    results/runs/<run_id>.csv    tidy rows: one per test corpus × metric (ROW_COLUMNS)
    results/runs/<run_id>.json   the run's record: spec, fingerprints of every store it read, sergen
                                 version, validation history, confusion counts per test corpus
    results/matrices/*.csv       train × test AUROC means over the fresh runs

A run is identified by everything that makes its numbers: its spec (the file name hashes it) and the
stores it read (their fingerprints, kept in the record). A run whose stores changed since (rebuilt with
``--overwrite``, new weights or manifest, a view store added or removed) is *stale*: ``grid`` reruns it
and ``report`` leaves it out, saying so. Unreadable files are skipped visibly, never dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

import sergen
from sergen.config import data_dir
from sergen.errors import SergenError
from sergen.spec import OPTIONS, row_columns

RECORD_FORMAT = 2
SCORES_SUFFIX = ".scores.npz"  # a run's per-utterance scores beside its rows (``sergen.experiments.run_scores``)
# the columns of saved rows, in the order files hold them (a file's header is checked against it): a run option
# added to ``sergen.spec`` since comes last, so files written before keep their header
SAVED_COLUMNS = ("model", "layer", "head", "train", "n_train_corpora", "test", "metric", "value", "ci_low",
                 "ci_high", "seed", "scramble", "aug_share", "steps", "best_step", "val_auroc", "n_test",
                 "absent_classes", "in_training", "synthetic", "sergen_version", "run_id", "seconds",
                 "labels", "folds", "fold", "classes", "protocol", "norm", "corpus_id_acc", "pool")

OWN_COLUMNS = {o.name for o in OPTIONS if o.home != "spec"}  # run options kept in the sampler config


def columns_of(options=None) -> tuple[str, ...]:
    """The saved columns, then any run option's (``sergen.spec``) that files written before lack."""
    return SAVED_COLUMNS + tuple(c for c in (row_columns(options) if options else row_columns()) if c not in SAVED_COLUMNS)


ROW_COLUMNS = columns_of()


def runs_dir(results_dir=None) -> Path:
    return Path(results_dir or data_dir("results")) / "runs"


def matrices_dir(results_dir=None) -> Path:
    return Path(results_dir or data_dir("results")) / "matrices"


def ensure_writable(results_dir=None) -> Path:
    """Make ``results/runs`` and check that a file can be written there, before any training: a run
    that can only be saved at the end would otherwise be lost."""
    target = runs_dir(results_dir)
    fix = "pass another folder (SERGEN_RESULTS, or `[dirs] results` in sergen.toml) or make this one writable"
    try:
        target.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise SergenError("the results folder cannot be made: a file stands where a folder is needed",
                          where=str(target), fix=fix) from None
    except OSError as exc:
        raise SergenError(f"the results folder cannot be made ({exc.strerror})", where=str(target), fix=fix) from None
    if not os.access(target, os.W_OK | os.X_OK):
        raise SergenError("the results folder is not writable", where=str(target), fix=fix)
    try:
        with tempfile.NamedTemporaryFile(dir=target, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise SergenError(f"the results folder is not writable ({exc.strerror})", where=str(target), fix=fix) from None
    return target


# ---------------------------------------------------------------- store fingerprints

def stores_of(model: str, train, test, aug_share: float, stores_root=None) -> list[str]:
    """Names of the stores a run reads: each training corpus (and, when views are drawn, its complete
    view stores) and each test corpus."""
    from sergen.experiments.store_index import views_of

    names = list(train)
    if aug_share > 0:
        names += [v for corpus in train for v in views_of(model, corpus, stores_root)]
    return list(dict.fromkeys(names + list(test)))


def store_fingerprint(model: str, name: str, stores_root=None) -> dict | None:
    """The content identity of one store (None when it does not exist): its handle's fingerprint."""
    from sergen.experiments.store_index import store_ref

    return store_ref(model, name, stores_root).fingerprint


def fingerprints(model: str, names, stores_root=None) -> dict[str, dict | None]:
    return {f"{model}/{name}": store_fingerprint(model, name, stores_root) for name in names}


# ---------------------------------------------------------------- the run record

class OldRecord(ValueError):
    """A record from before runs carried store fingerprints."""


@dataclass
class RunRecord:
    """What a run's JSON file holds beside its rows."""

    run_id: str
    spec: dict
    stores: dict[str, dict | None]
    stores_root: str | None
    sergen_version: str = sergen.__version__
    finished: str = ""
    history: list = field(default_factory=list)  # [step, validation AUROC, learning rate]
    confusion: dict = field(default_factory=dict)  # test corpus → counts [true][predicted], ``classes`` order
    absent_classes: dict = field(default_factory=dict)  # test corpus → classes missing from its test split
    classes: list = field(default_factory=lambda: ["hap", "sad", "neu", "ang"])  # the head's outputs, in order
    protocol: dict = field(default_factory=dict)  # corpus → fingerprint of the label/split table the run used
    layer_weights: dict | None = None  # ``--layer weighted``: stored layer → learned softmax weight (else None)
    left_out: dict = field(default_factory=dict)  # corpus → {class: utterances left out (not shared)}
    protocol_files: dict = field(default_factory=dict)  # "map:FILE"/"file:FILE" → digest of the bytes the run read
    corpus_id_accuracy: float | None = None  # held-out corpus ID from the head's hidden features (multi-corpus)
    discriminator_accuracy: float | None = None  # an adversarial head's own corpus classifier, held out
    silhouette_class: float | None = None  # held-out hidden features grouped by true class (None: linear head,
    silhouette_corpus: float | None = None  # one corpus, or a record of an older sergen); and by corpus
    sampling: dict | None = None  # windows drawn from resident subsets (training rows over the RAM budget): how
    # (``sergen.train.resident.sampling_record``); None: the training set was sampled whole, or an older sergen
    n_rows: int = 0  # rows of the CSV, so a truncated one is told from a whole one
    scores_sha256: str | None = None  # digest of <run_id>.scores.npz's bytes (None: no scores kept, or older)
    rows_sha256: str | None = None  # digest of the CSV's bytes: an edited value is told from the run's own (None: older)
    record_sha256: str | None = None  # digest of every other field here (``record_digest``): an edited record is told
    format: int = RECORD_FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, default=str)

    @classmethod
    def from_json(cls, text: str) -> "RunRecord":
        data = json.loads(text)
        if isinstance(data, dict) and "format" not in data and "model" in data:
            raise OldRecord("no store fingerprints (written by an older sergen)")
        if not isinstance(data, dict):
            kind = {list: "a list", str: "a string", type(None): "null", bool: "a boolean"}.get(type(data), "a number")
            raise ValueError(f"holds {kind} ({text.strip()[:20]}), not a run record (a JSON object)")
        if data.get("format") != RECORD_FORMAT:
            raise ValueError(f"not a run record of format {RECORD_FORMAT}")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        lacking = [k for k in ("run_id", "spec", "stores", "stores_root") if k not in data]
        if lacking:
            raise ValueError(f"the record lacks its {', '.join(lacking)}")
        record = cls(**known)
        if not isinstance(record.spec, dict) or "model" not in record.spec or not isinstance(record.stores, dict):
            raise ValueError("the record lacks its spec or store fingerprints")
        return record


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_bytes(text.encode("utf-8"))
    tmp.replace(path)


def rows_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_digest(data: dict) -> str:
    """Digest of a record as JSON (``record_sha256`` itself aside), over the values as read back, so that
    what was written and what is read give the same digest."""
    rest = {k: v for k, v in data.items() if k != "record_sha256"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode("utf-8")).hexdigest()


def save_run(rows: pd.DataFrame, record: RunRecord, results_dir=None) -> Path:
    """``runs/<run_id>.json`` then ``runs/<run_id>.csv``, each written atomically (rename): the CSV comes
    last, so a run killed mid-save is never taken for a finished one. The record holds the digest of the
    CSV's bytes, tying the rows to it. A full disk is a ``SergenError`` saying what was kept (no partial file
    is left)."""
    out = runs_dir(results_dir)
    text = rows.reindex(columns=list(ROW_COLUMNS)).to_csv(index=False)
    record.n_rows = len(rows)
    record.rows_sha256 = rows_digest(text.encode("utf-8"))
    record.finished = record.finished or datetime.now(timezone.utc).isoformat(timespec="seconds")
    record.record_sha256 = None
    record.record_sha256 = record_digest(json.loads(record.to_json()))
    wrote = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        _write_atomic(out / f"{record.run_id}.json", record.to_json())
        wrote.append(out / f"{record.run_id}.json")
        _write_atomic(out / f"{record.run_id}.csv", text)
    except OSError as exc:  # nothing of this save stays: a record without its rows would be a run that never was
        for path in [*wrote, out / f".{record.run_id}.json.partial", out / f".{record.run_id}.csv.partial"]:
            path.unlink(missing_ok=True)
        raise not_saved(record.run_id, out, exc) from None
    return out / f"{record.run_id}.csv"


def not_saved(run_id: str, out: Path, exc: OSError) -> SergenError:
    """The one answer to a run whose files could not be written (a full disk, a read-only folder)."""
    return SergenError(f"run {run_id} could not be saved ({exc.strerror or exc}); its numbers are lost, the "
                       "runs saved before it are kept", where=str(out),
                       fix="free space (or point SERGEN_RESULTS elsewhere), then rerun the same command: "
                           "finished runs are skipped")


# ---------------------------------------------------------------- reading back

@dataclass
class Skipped:
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class Runs:
    """Every run in a results folder, sorted into fresh, stale and unreadable."""

    rows: pd.DataFrame  # rows of the fresh runs
    records: dict[str, RunRecord]  # fresh runs
    stale: dict[str, str]  # run_id → why it is stale
    skipped: list[Skipped]  # unreadable files

    @property
    def unverified(self) -> list[str]:
        """Fresh runs saved by a sergen before records held their rows' digest: used, but their values
        cannot be checked against what the run wrote."""
        return sorted(run_id for run_id, record in self.records.items()
                      if not (record.rows_sha256 and record.record_sha256))

    def stale_summary(self) -> list[str]:
        """One line per reason, with how many runs it covers."""
        return [f"{n} run(s): {why}" for why, n in Counter(self.stale.values()).most_common()]


class _FingerprintCache:
    """Fingerprints of the stores at one root, each read once per check."""

    def __init__(self):
        self.cache: dict[tuple, dict | None] = {}
        self.views: dict[tuple, list[str]] = {}
        self.protocols: dict[tuple, dict] = {}

    def fingerprint(self, root, model: str, name: str):
        key = (root, model, name)
        if key not in self.cache:
            self.cache[key] = store_fingerprint(model, name, root)
        return self.cache[key]

    def stores_of(self, root, spec: dict) -> list[str]:
        key = (root, spec["model"], tuple(spec["train"]), tuple(spec["test"]), _aug_share(spec) > 0)
        if key not in self.views:
            self.views[key] = stores_of(spec["model"], spec["train"], spec["test"], _aug_share(spec), root)
        return self.views[key]


def _aug_share(spec: dict) -> float:
    return float((spec.get("sampler") or {}).get("aug_share", 0.0))


def why_stale(record: RunRecord, cache: _FingerprintCache | None = None, stores_root=None) -> str | None:
    """None when every store the run read is still the same (and no view store came or went) at
    ``stores_root`` (default: where the run read them)."""
    cache = cache or _FingerprintCache()
    root, model = stores_root or record.stores_root, record.spec["model"]
    try:
        return _why_stale(record, cache, root, model)
    except SergenError as exc:  # a store whose metadata is corrupt: its runs cannot be checked, so not fresh
        return f"a store it read cannot be read now: {exc.what} ({exc.where})"


def _why_stale(record: RunRecord, cache: _FingerprintCache, root, model: str) -> str | None:
    now = cache.stores_of(root, record.spec)
    read = [key.split("/", 1)[1] for key in record.stores]
    if sorted(now) != sorted(read):
        added, gone = sorted(set(now) - set(read)), sorted(set(read) - set(now))
        parts = ([f"{model}/{n} added" for n in added] + [f"{model}/{n} gone" for n in gone])
        return "the stores it reads changed: " + ", ".join(parts)
    for name in read:
        then = record.stores[f"{model}/{name}"]
        current = cache.fingerprint(root, model, name)
        if current is None:
            return f"store {model}/{name} no longer exists"
        if then is None or then.get("fingerprint") != current["fingerprint"]:
            return (f"store {model}/{name} was rebuilt or changed since the run "
                    f"(made {current.get('created')}; the run read the one made {(then or {}).get('created')})")
    from sergen.experiments.protocol_join import protocol_change

    key = (root, record.run_id)
    if key not in cache.protocols:
        cache.protocols[key] = protocol_change(record, root)
    return cache.protocols[key]


class UnreadableRun(ValueError):
    """A run file that cannot be read: which file, and why."""

    def __init__(self, path: Path, reason: str, old_format: bool = False):
        self.path, self.reason, self.old_format = path, reason, old_format
        super().__init__(f"{path}: {reason}")


def _read_rows(data: bytes) -> pd.DataFrame:
    import io

    df = pd.read_csv(io.BytesIO(data), dtype={"run_id": str})  # an all-digit id keeps its leading zeros
    missing = [c for c in ("model", "head", "train", "test", "metric", "value", "seed", "run_id") if c not in df]
    if missing:
        raise ValueError(f"lacks the column(s) {', '.join(missing)}")
    if df.empty:
        raise ValueError("holds no rows")
    if df.value.isna().all() or not pd.api.types.is_numeric_dtype(df.value):
        raise ValueError("its values are not numbers")
    return df


def read_run(run_id: str, results_dir=None) -> tuple[pd.DataFrame, RunRecord]:
    """One run's rows and record; ``UnreadableRun`` (naming the file) when either cannot be read."""
    folder = runs_dir(results_dir)
    csv, js = folder / f"{run_id}.csv", folder / f"{run_id}.json"
    try:
        data = csv.read_bytes()
        rows = _read_rows(data)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise UnreadableRun(csv, f"unreadable ({_reason(exc)})") from None
    try:
        text = js.read_text()
    except FileNotFoundError:
        raise UnreadableRun(js, "missing (the run's record, written beside its rows)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableRun(js, f"unreadable ({_reason(exc)})") from None
    try:
        record = RunRecord.from_json(text)
    except OldRecord as exc:
        raise UnreadableRun(js, str(exc), old_format=True) from None
    except (json.JSONDecodeError, TypeError, KeyError, ValueError) as exc:
        raise UnreadableRun(js, f"unreadable ({_reason(exc)})") from None
    if record.run_id != run_id or set(rows.run_id.astype(str)) != {run_id}:
        original = record.run_id if record.run_id != run_id else next(iter(set(rows.run_id.astype(str)) - {run_id}))
        raise UnreadableRun(csv, f"a copy of run {original} (its rows and record name that run, not this file's "
                                 "name): a run counts once, so the copy is left out; delete or move it")
    if record.n_rows and len(rows) != record.n_rows:
        raise UnreadableRun(csv, f"truncated ({len(rows)} of {record.n_rows} rows)")
    if record.record_sha256 and record_digest(json.loads(text)) != record.record_sha256:
        raise UnreadableRun(js, "edited after the run saved it (its fields no longer match the digest it holds): "
                                "its spec, counts or figures are not the run's, so it is left out; a grid reruns it")
    if record.rows_sha256 and rows_digest(data) != record.rows_sha256:
        raise UnreadableRun(csv, "edited after the run saved it (its bytes no longer match the digest in its "
                                 "record): its values are not the run's, so it is left out; a grid reruns it")
    if record.scores_sha256:  # the paired tests and calibration read them: never scores that are not the run's
        scores = folder / f"{run_id}{SCORES_SUFFIX}"
        try:
            same = rows_digest(scores.read_bytes()) == record.scores_sha256
        except OSError:
            raise UnreadableRun(scores, "missing or unreadable (the run's per-utterance scores, saved with its "
                                        "rows): the run is left out; a grid reruns it") from None
        if not same:
            raise UnreadableRun(scores, "changed after the run saved it (its bytes no longer match the digest in "
                                        "its record): the run is left out; a grid reruns it")
    return rows, record


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return {"No columns to parse from file": "empty file"}.get(text, text)


def settings_tag(spec: dict) -> str:
    """The stream and training settings of a run where they are not the defaults, as ``key=value`` pairs
    (``max_steps=100,window_s=1-2``); "" for the defaults (the bootstrap count, which moves intervals only, aside). Runs whose settings differ are different
    experiments: the report and the matrices keep them apart by this tag, never average them together."""
    from sergen.train.loop import TrainConfig
    from sergen.train.sampler import SamplerConfig

    parts = []
    for name, cls in (("sampler", SamplerConfig), ("training", TrainConfig)):
        given = dict(spec.get(name) or {})
        try:
            given = asdict(cls(**{**given, **({"window_s": tuple(given["window_s"])} if "window_s" in given else {})}))
        except (TypeError, ValueError):
            pass  # a hand-edited record: its values as written
        for key, default in asdict(cls()).items():
            value = given.get(key, default)
            if key not in OWN_COLUMNS and value != default:  # a run option (``aug_share``) has its own column
                parts.append(f"{key}={'-'.join(f'{v:g}' for v in value) if isinstance(value, (list, tuple)) else value}")
    return ",".join(parts)  # n_boot changes intervals only, never a value: no tag


def settings_sets(tag: str) -> list[str]:
    """The ``--set`` options that give a run the settings of ``tag`` (``settings_tag``): a command printed for
    a run of other settings must make runs of those settings, or it never makes what it promises."""
    import re

    from sergen.train.loop import TrainConfig
    from sergen.train.sampler import SamplerConfig

    tables = {**{f: "sampler" for f in SamplerConfig.__dataclass_fields__},
              **{f: "training" for f in TrainConfig.__dataclass_fields__}}
    sets = []
    for part in filter(None, str(tag or "").split(",")):
        key, _, value = part.partition("=")
        if key == "window_s":
            value = "[" + ",".join(re.split(r"(?<![eE])-", value)) + "]"
        elif value in ("True", "False"):
            value = value.lower()
        sets.append(f"--set {tables.get(key, 'training')}.{key}={value}")
    return sets


def load_runs(results_dir=None, run_ids=None, stores_root=None) -> Runs:
    """Every run (or those of ``run_ids``) sorted into fresh, stale and unreadable; freshness against
    the stores at ``stores_root`` (default: where each run read them)."""
    folder = runs_dir(results_dir)
    ids = sorted(p.stem for p in folder.glob("*.csv")) if run_ids is None else sorted(set(run_ids))
    frames, records, stale, skipped = [], {}, {}, []
    cache = _FingerprintCache()
    for run_id in ids:
        if run_ids is not None and not (folder / f"{run_id}.csv").exists():
            continue
        try:
            rows, record = read_run(run_id, results_dir)
        except UnreadableRun as exc:
            if exc.old_format:
                stale[run_id] = exc.reason
            else:
                skipped.append(Skipped(exc.path, exc.reason))
            continue
        reason = why_stale(record, cache, stores_root)
        if reason:
            stale[run_id] = reason
            continue
        frames.append(rows.assign(settings=settings_tag(record.spec)))
        records[run_id] = record
    if run_ids is None:  # a record whose rows never came: named, as every file the results leave out
        for orphan in sorted(set(p.stem for p in folder.glob("*.json")) - set(ids)):
            skipped.append(Skipped(folder / f"{orphan}.json", f"a run record without its rows ({orphan}.csv is "
                                   "missing: the run was killed while saving, or the file was removed)"))
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*ROW_COLUMNS, "settings"])
    rows = once_per_training(rows, records)
    if "absent_classes" in rows:
        rows["absent_classes"] = rows["absent_classes"].map(lambda v: "" if pd.isna(v) else str(v))
    # runs saved before pooling was a choice pooled each window's mean
    rows["pool"] = rows["pool"].astype(object).fillna("mean").astype(str) if "pool" in rows else "mean"
    return Runs(rows, records, stale, skipped)


def training_key(spec: dict) -> str:
    """What a run trained, whatever it was tested on: its spec without ``test``. Two probes that differ only in
    ``--test`` train the same head (the test sets play no part in training), so their shared test corpora
    are one result, not two."""
    return json.dumps({k: v for k, v in spec.items() if k != "test"}, sort_keys=True, default=str)


def once_per_training(rows: pd.DataFrame, records: dict) -> pd.DataFrame:
    """Rows of each (training, test corpus) from one run only, the first by run id: a test corpus scored by
    two runs of the same training (``--test all`` and ``--test ravdess``, same seed) would otherwise count
    twice in averages, seed counts and summed confusions. A row is a repeat only when its run trained the
    same spec (``training_key``) and every column but the run id and its seconds is equal."""
    if rows.empty or "run_id" not in rows:
        return rows
    same = [c for c in rows.columns if c not in ("run_id", "seconds")]
    trained = {run_id: training_key(record.spec) for run_id, record in records.items()}  # once per run, not row
    keys = rows["run_id"].map(lambda r: trained.get(r, r))
    key_frame = rows[same].astype(str).assign(_training=keys.to_numpy(), _run=rows["run_id"].to_numpy())
    order = key_frame.sort_values("_run", kind="stable").index
    repeat = key_frame.loc[order].duplicated(subset=[*same, "_training"], keep="first")
    return rows.drop(index=repeat[repeat].index).reset_index(drop=True)


# ---------------------------------------------------------------- stores that changed under fresh runs

@dataclass
class StoreProblem:
    """A store fresh runs read that is no longer fine although its fingerprint is unchanged."""

    store: str  # model/name
    problem: str
    fix: str
    runs: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.store}: {self.problem} ({len(self.runs)} run(s); fix: {self.fix})"


def _same_folder(a, b) -> bool:
    from sergen.store.location import is_remote

    if a is None or b is None or is_remote(a) or is_remote(b):
        return str(a) == str(b)
    return Path(a).resolve() == Path(b).resolve()


def store_problems(records: dict[str, RunRecord]) -> list[StoreProblem]:
    """Stores read by these (fresh) runs that are damaged now (lost chunk files or whole arrays: the numbers
    cannot be reproduced from them) or whose corpus's manifest was edited after extraction (the runs used the
    labels and splits the store holds, not the manifest's). Manifests are compared in the workspace whose
    manifests folder belongs to the stores folder only, as ``probe`` does."""
    import zarr

    from sergen.corpora.manifest import load_manifest, manifest_hash, manifest_path
    from sergen.experiments.store_index import store_ref
    from sergen.store.layout import extract_command
    from sergen.store.reader import store_attrs
    from sergen.store.verify import chunk_damage

    problems: dict[tuple, StoreProblem] = {}
    checked: dict[tuple, tuple[str, str] | None] = {}
    hashes: dict[str, str | None] = {}

    def manifest_sha(corpus: str) -> str | None:
        if corpus not in hashes:
            try:
                hashes[corpus] = manifest_hash(load_manifest(corpus)[0]) if manifest_path(corpus).exists() else None
            except SergenError:
                hashes[corpus] = None  # an unreadable manifest is `probe`'s to report
        return hashes[corpus]

    for run_id, record in records.items():
        model, root = record.spec["model"], record.stores_root
        for key in record.stores:
            name = key.split("/", 1)[1]
            where = (root, model, name)
            if where not in checked:
                path = store_ref(model, name, root).path
                checked[where] = None
                try:
                    damage = chunk_damage(zarr.open_group(str(path), mode="r"))
                except Exception as exc:  # noqa: BLE001 - an unopenable store is damaged for this purpose
                    damage, unopenable = None, f"cannot be opened ({type(exc).__name__})"
                else:
                    unopenable = None
                corpus = name.split("@")[0]
                if unopenable or damage:
                    what = unopenable or "; ".join(damage.problems[:2]) + (
                        f" and {len(damage.problems) - 2} more" if len(damage.problems) > 2 else "")
                    rebuild = unopenable or damage.needs_rebuild
                    checked[where] = (f"damaged since the run: {what}",
                                      extract_command(model, name, overwrite=bool(rebuild))
                                      + ("" if rebuild else " (rewrites what was lost)"))
                elif _same_folder(root, data_dir("stores")) and not record.protocol:  # older runs: no fingerprint
                    recorded, current = store_attrs(path).get("manifest_sha256"), manifest_sha(corpus)
                    if recorded and current and recorded != current:
                        checked[where] = (f"the {corpus} manifest was edited after this store was made: the runs "
                                          "used the labels and splits the store holds, not the manifest's",
                                          f"`sergen extract --model {model} --corpus {corpus} --overwrite`, "
                                          "then the same `sergen grid`")
            if checked[where]:
                problem = problems.setdefault(where, StoreProblem(f"{model}/{name}", *checked[where]))
                problem.runs.append(run_id)
    return list(problems.values())


def absent_by_test(rows: pd.DataFrame) -> dict[str, list[str]]:
    """Test corpus → the classes missing from its test split (macro metrics there cover the others only)."""
    if rows.empty or "absent_classes" not in rows:
        return {}
    absent = rows.drop_duplicates("test").set_index("test").absent_classes
    return {t: str(a).split(",") for t, a in absent.items() if isinstance(a, str) and a}


def load_results(results_dir=None) -> pd.DataFrame:
    """Rows of the fresh runs (see ``load_runs`` for what was left out and why)."""
    runs = load_runs(results_dir)
    if runs.rows.empty:
        what = "no results yet" if not (runs.stale or runs.skipped) else \
            f"no fresh results: {len(runs.stale)} stale run(s), {len(runs.skipped)} unreadable file(s)"
        raise SergenError(what, where=str(runs_dir(results_dir)),
                          fix="run `sergen probe …` or `sergen grid …` (a grid reruns stale runs)")
    return runs.rows
