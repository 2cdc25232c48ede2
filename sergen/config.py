"""Where things live: the workspace (manifests, stores, results, reports), the config file, corpus roots and
model weights. Every environment variable sergen reads is read here.

The workspace is found the same way from any folder, so a notebook in a sub-folder sees the same stores as
the shell: ``SERGEN_HOME`` if set, else the nearest folder holding a ``sergen.toml``, from the working
directory upwards (as git finds ``.git``), else the working directory itself. Its folders default to
``<workspace>/manifests``, ``stores``, ``results`` and ``reports``; ``SERGEN_MANIFESTS``, ``SERGEN_STORES``, …
(read as typed, against the working directory) or the config's ``[dirs]`` table (against the workspace)
move them.

The config file is ``$SERGEN_CONFIG``, else the workspace's ``sergen.toml``, else
``~/.config/sergen/config.toml``. Only ``sergen config …`` writes it, through tomlkit, so comments, other
tables and values of other types survive. Corpus roots: ``SERGEN_ROOT_<CORPUS>``, the config's ``[roots]``,
then the root recorded beside the corpus's manifest. Model weights: ``--weights``, then
``SERGEN_WEIGHTS_<MODEL>`` (dashes as underscores), then ``[weights]``; hub revisions from ``[revisions]``.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import tomlkit
from tomlkit.exceptions import TOMLKitError

from sergen.errors import SergenError
from sergen.paths import Dirs, check_writable

CONFIG_NAME = "sergen.toml"
DEFAULT_DIRS = {"manifests": "manifests", "stores": "stores", "results": "results", "reports": "reports"}
# tables sergen reads, each a table of strings; [dirs] also names the bank cache folder
PATH_TABLES = ("roots", "weights", "revisions", "dirs")
DIR_KEYS = (*DEFAULT_DIRS, "cache")
# variables that point sergen at folders or files outside a workspace; a demo run clears them
LOCATION_VARIABLES = ("SERGEN_HOME", "SERGEN_CONFIG", "SERGEN_CACHE",
                      *(f"SERGEN_{kind.upper()}" for kind in DEFAULT_DIRS))
LOCATION_PREFIXES = ("SERGEN_ROOT_", "SERGEN_WEIGHTS_")


@dataclass(frozen=True)
class Workspace:
    """The folder sergen's relative paths hang from, and how it was found (quoted in errors)."""

    root: Path
    found_via: str

    def describe(self) -> str:
        return f"workspace {self.root}, found via {self.found_via}"


def find_workspace() -> Workspace:
    """``SERGEN_HOME``, else the nearest ``sergen.toml`` from the working directory upwards, else the
    working directory."""
    home = os.environ.get("SERGEN_HOME")
    if home:
        root = Path(home).expanduser().absolute()
        if root.exists() and not root.is_dir():
            raise SergenError("SERGEN_HOME is a file, not a folder (the workspace holding sergen.toml and its "
                              "folders)", where=f"SERGEN_HOME={home}",
                              fix="point SERGEN_HOME at a folder (`sergen config init DIR` makes one), or unset it")
        if not root.is_dir():
            raise SergenError("SERGEN_HOME is not an existing folder", where=f"SERGEN_HOME={home}",
                              fix=f"create it with `sergen config init {home}`, or unset SERGEN_HOME")
        return Workspace(root, f"SERGEN_HOME={home}")
    cwd = Path.cwd()
    for folder in (cwd, *cwd.parents):
        if (folder / CONFIG_NAME).is_file():
            return Workspace(folder, str(folder / CONFIG_NAME))
    return Workspace(cwd, f"the working directory (no {CONFIG_NAME} in it or above; "
                          f"`sergen config init` makes one)")


def config_path() -> Path:
    if os.environ.get("SERGEN_CONFIG"):
        return Path(os.environ["SERGEN_CONFIG"]).expanduser()
    local = find_workspace().root / CONFIG_NAME
    if local.is_file():
        return local
    return Path.home() / ".config" / "sergen" / "config.toml"


_parsed: dict[tuple, tuple[dict, str]] = {}


def _read_document(path: Path) -> tomlkit.TOMLDocument:
    """The config file as a tomlkit document; a file that is not TOML names its line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise SergenError(f"config file is not UTF-8 text (byte {exc.start})", where=f"{path}, line {line}",
                          fix="save it as UTF-8, or point SERGEN_CONFIG at another file") from None
    except OSError as exc:
        raise SergenError(f"cannot read the config file: {exc.strerror}", where=str(path),
                          fix="check its permissions, or point SERGEN_CONFIG at another file") from None
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        line, col = getattr(exc, "line", None), getattr(exc, "col", None)
        message = re.sub(r" at line \d+ col \d+$", "", str(exc))
        duplicate = re.match(r'Key "(.+)" already exists', message)
        if duplicate:  # tomlkit gives no position for this one: the key's second occurrence is the culprit
            line, col = _second_line_of(text, duplicate.group(1)), None
        where = (f"{path}, line {line}" + (f", column {col}" if col is not None else "")) if line else str(path)
        raise SergenError(f"config file is not valid TOML: {message}", where=where,
                          fix="fix that line (TOML: `[table]` headers, `key = \"value\"` lines)") from None


def _second_line_of(text: str, key: str) -> int | None:
    """Line of the second ``key = …`` or ``[key]``: where a duplicated key is reported."""
    name = re.escape(key)
    pattern = re.compile(rf"""\s*(\[+\s*)?(?:"{name}"|'{name}'|{name})\s*(=|\])""")
    hits = [n for n, line in enumerate(text.splitlines(), 1) if pattern.match(line)]
    return hits[1] if len(hits) > 1 else None


def _line_of(text: str, table: str, key: str | None = None) -> int | None:
    """Line number of ``[table]`` / ``table = …`` (key None) or of ``key = …`` inside ``table``:
    tomlkit keeps no positions, and an error without a line is hard to act on."""
    current = None
    quoted = r"""(?:"{0}"|'{0}'|{0})"""
    table_re, key_re = quoted.format(re.escape(table)), quoted.format(re.escape(key or ""))
    for number, line in enumerate(text.splitlines(), 1):
        header = re.match(r"\s*\[\[?\s*(.+?)\s*\]", line)
        if header:
            current = header.group(1).strip("\"'")
            if key is None and current == table:
                return number
            continue
        if current is None and re.match(rf"\s*{table_re}\s*(=|\.)", line):
            if key is None or re.match(rf"\s*{table_re}\s*\.\s*{key_re}\s*=", line) or "{" in line:
                return number
        if key is not None and current == table and re.match(rf"\s*{key_re}\s*=", line):
            return number
    return None


def _check_config(cfg: dict, path: Path, text: str) -> None:
    """sergen's tables must be tables of strings: say which key, on which line, is not."""
    def where(table, key=None):
        line = _line_of(text, table, key)
        name = f"{table}.{key}" if key is not None else table
        return f"{path}, line {line}, key {name}" if line else f"{path}, key {name}"

    for table in PATH_TABLES:
        if table not in cfg:
            continue
        entries = cfg[table]
        if not isinstance(entries, dict):
            raise SergenError(f"'{table}' in the config must be a table, not {type(entries).__name__} {entries!r}",
                              where=where(table), fix=f'write it as a [{table}] header with name = "value" lines')
        for key, value in entries.items():
            if table == "dirs" and key not in DIR_KEYS:
                raise SergenError(f"unknown folder '{key}' in [dirs]; known: {', '.join(DIR_KEYS)}",
                                  where=where(table, key), fix="rename or remove that line")
            if not isinstance(value, str) or not value:
                raise SergenError(f"{table}.{key} must be a non-empty string, not {type(value).__name__} {value!r}",
                                  where=where(table, key), fix=f'quote it: {key} = "…"')


def load_config() -> dict:
    """The config file as plain dicts (empty when there is none), checked; parsed once per file version."""
    path = config_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SergenError(f"cannot read the config file: {exc.strerror}", where=str(path)) from None
    if path.is_dir():
        raise SergenError("the config file is a folder", where=str(path),
                          fix="point SERGEN_CONFIG at a file, or move that folder away")
    key = (str(path.absolute()), stat.st_mtime_ns, stat.st_size)
    if key not in _parsed:
        document = _read_document(path)
        cfg = document.unwrap()
        _check_config(cfg, path, document.as_string())
        _parsed.clear()
        _parsed[key] = (cfg, document.as_string())
    return _parsed[key][0]


def set_config_value(table: str, key: str, value: str, path: Path | None = None) -> Path:
    """Set ``[table] key = "value"`` and keep everything else in the file as it was (comments, order, other
    tables, values of other types). Written to a temporary file and renamed: never half a config."""
    path = Path(path or config_path())
    if path.exists():
        document = _read_document(path)
        _check_config(document.unwrap(), path, document.as_string())  # report a malformed file, never rewrite it
    else:
        document = tomlkit.document()
    if table not in document:
        document[table] = tomlkit.table()
    elif not isinstance(document[table], dict):
        raise SergenError(f"'{table}' in the config is not a table", where=str(path),
                          fix=f"make it a [{table}] table, then rerun")
    document[table][key] = value
    _make_config_folder(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(tomlkit.dumps(document), encoding="utf-8")
    tmp.replace(path)
    return path


def _make_config_folder(path: Path) -> None:
    """The folder the config file goes in. ``~/.config/sergen`` is made on the first ``sergen config set-…``
    (as any XDG tool does); a folder named through ``SERGEN_CONFIG`` must exist: a typo there would
    otherwise leave a config where no later command looks."""
    variable = os.environ.get("SERGEN_CONFIG")
    named = bool(variable) and Path(variable).expanduser().absolute() == path.absolute()
    fix = ("fix SERGEN_CONFIG, or make the folder first (mkdir -p " f"{path.parent})" if named
           else "point SERGEN_CONFIG at a config file in a writable folder")
    if named and not path.parent.exists():
        raise SergenError("the folder of the config file does not exist (sergen makes no folder SERGEN_CONFIG names)",
                          where=f"SERGEN_CONFIG={variable} (folder {path.parent})", fix=fix)
    check_writable(path.parent, "config file's folder", elsewhere="SERGEN_CONFIG")
    path.parent.mkdir(parents=True, exist_ok=True)


def configured_cache_dir() -> tuple[Path, str, str] | None:
    """The store-bank cache folder the user chose (``SERGEN_CACHE``, else ``[dirs] cache``, read as typed),
    the setting's name and where it was set; None when unset (the cache then lies beside the stores)."""
    value = os.environ.get("SERGEN_CACHE")
    if value:
        return Path(value), "SERGEN_CACHE", f"SERGEN_CACHE={value}"
    value = load_config().get("dirs", {}).get("cache")
    if value:
        return Path(value), "[dirs] cache", f"[dirs] cache = {value!r} in {config_path()}"
    return None


def check_cache_dir() -> None:
    """Refuse, before any training, a chosen bank cache folder that is a file, lies under a file or is
    read-only: a bank is built into it in the middle of a run."""
    chosen = configured_cache_dir()
    if chosen is None:
        return
    folder, name, origin = chosen
    try:
        check_writable(folder, "store-bank cache folder", elsewhere=f"set {name} to a folder, or unset it")
    except SergenError as exc:
        raise SergenError(f"{exc.what} (chosen by {name})", where=f"{exc.where} ({origin})", fix=exc.fix) from None


def init_workspace(folder: Path) -> Path:
    """Make ``folder/sergen.toml``, the anchor that marks ``folder`` as a workspace."""
    folder = Path(folder).absolute()
    if folder.exists() and not folder.is_dir():
        raise SergenError("not a folder", where=str(folder), fix="give a folder for the workspace")
    check_writable(folder, "workspace folder", elsewhere="give a folder that is not inside a file")
    path = folder / CONFIG_NAME
    if path.exists():
        raise SergenError("this folder is already a sergen workspace", where=str(path),
                          fix="nothing to do; `sergen config show` shows what it holds")
    folder.mkdir(parents=True, exist_ok=True)
    document = tomlkit.document()
    document.add(tomlkit.comment("sergen workspace: manifests/, stores/, results/ and reports/ live beside this file."))
    document.add(tomlkit.comment("`sergen config set-root CORPUS DIR` adds [roots]; a [dirs] table moves folders."))
    path.write_text(tomlkit.dumps(document), encoding="utf-8")
    return path


def _env_key(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.upper())


def _configured_path(env_prefix: str, table: str, name: str) -> Path | None:
    """``SERGEN_<PREFIX>_<NAME>`` first, then the config file's ``[table]``. A variable set to blanks is refused
    by name: read as a path, it was reported as a folder that does not exist, with no word of where it came from."""
    variable = f"SERGEN_{env_prefix}_{_env_key(name)}"
    given = os.environ.get(variable)
    if given and not given.strip():
        from sergen.errors import SergenError

        raise SergenError(f"{variable} is set to blanks ({given!r}), not a path",
                          fix=f"unset it (`unset {variable}`) or set it to the folder")
    value = given or load_config().get(table, {}).get(name)
    return Path(value).expanduser() if value else None


def set_root(corpus: str, root: str | Path) -> Path:
    return set_config_value("roots", corpus, str(Path(root).expanduser().resolve()))


def configured_root(corpus: str) -> Path | None:
    return _configured_path("ROOT", "roots", corpus)


def set_weights(model: str, path: str | Path) -> Path:
    return set_config_value("weights", model, str(Path(path).expanduser().resolve()))


def configured_weights(model: str) -> Path | None:
    return _configured_path("WEIGHTS", "weights", model)


def configured_revision(model: str) -> str | None:
    return load_config().get("revisions", {}).get(model)


def locate_dir(kind: str) -> tuple[Path | str, str]:
    """A workspace folder and where its location came from (``SERGEN_STORES``, ``[dirs]``, the workspace)."""
    return _locate(kind, load_config(), _Lazy(find_workspace))


class _Lazy:
    """A value computed on first use: the workspace is looked for only when a folder falls back to it."""

    def __init__(self, make):
        self.make, self.value = make, None

    def __call__(self):
        if self.value is None:
            self.value = self.make()
        return self.value


def _locate(kind: str, config: dict, workspace: _Lazy) -> tuple[Path | str, str]:
    variable = f"SERGEN_{kind.upper()}"
    if os.environ.get(variable):
        value, origin = os.environ[variable], f"set by {variable}"
    elif config.get("dirs", {}).get(kind):
        value = config["dirs"][kind]
        if "://" not in value:
            value = str(workspace().root / Path(value).expanduser())
        origin = f"[dirs] {kind} in {config_path()}; {workspace().describe()}"
    else:
        value, origin = str(workspace().root / DEFAULT_DIRS[kind]), workspace().describe()
    if kind == "stores" and "://" in value and not value.startswith("file://"):
        return value, origin
    return Path(value).expanduser(), origin


def data_dir(kind: str):
    """The manifests/stores/results/reports folder: ``SERGEN_<KIND>`` env, config ``[dirs]``, or the
    workspace's. Stores may also be an fsspec URL (``s3://bucket/stores``), returned as a string."""
    return locate_dir(kind)[0]


def workspace_dirs() -> Dirs:
    """The workspace's folders, read from the environment and the configuration once, at the CLI's edge (or
    an API call's), and passed down to the layers that must not read the configuration (``sergen.store``)."""
    config, workspace = load_config(), _Lazy(find_workspace)
    (stores, origin), *rest = (_locate(kind, config, workspace) for kind in ("stores", "manifests", "results",
                                                                            "reports"))
    manifests, results, reports = (str(folder) for folder, _ in rest)
    return Dirs(stores=str(stores), manifests=manifests, results=results, reports=reports, stores_origin=origin)


def describe_dir(kind: str) -> str:
    """``/x/stores (workspace /x, found via /x/sergen.toml)``: for errors that must say where sergen looked."""
    folder, origin = locate_dir(kind)
    return f"{folder} ({origin})"


@contextlib.contextmanager
def use_workspace(root: Path) -> Iterator[Workspace]:
    """Run with ``root`` as the workspace and ``root/sergen.toml`` as the config, ignoring every variable
    that points elsewhere. Set in the environment, so worker processes started inside inherit it."""
    saved = {k: v for k, v in os.environ.items() if k in LOCATION_VARIABLES or k.startswith(LOCATION_PREFIXES)}
    for name in saved:
        del os.environ[name]
    os.environ["SERGEN_HOME"] = str(Path(root).absolute())
    os.environ["SERGEN_CONFIG"] = str(Path(root).absolute() / CONFIG_NAME)
    try:
        yield find_workspace()
    finally:
        for name in ("SERGEN_HOME", "SERGEN_CONFIG"):
            os.environ.pop(name, None)
        os.environ.update(saved)


def _env_mib(name: str, minimum: float) -> float | None:
    """A memory size in MiB from the environment variable ``name``, checked; None when unset."""
    value = os.environ.get(name)
    if not value:
        return None
    try:
        mib = float(value)
    except ValueError:
        mib = float("nan")
    if not minimum <= mib < 2**40:  # nan, inf and sizes past any machine (int() of inf would overflow) fail too
        raise SergenError(f"{name}={value!r} is not a memory size in MiB of at least {minimum:g} (a finite number "
                          "below 2**40)",
                          fix=f"set it to a number of MiB, e.g. {name}=8192, or unset it")
    return mib


def ram_budget_mib() -> int:
    """Memory sergen may use for training, all processes of a grid together: ``SERGEN_RAM_MIB``, else half
    the machine's physical memory (the rest is for the page cache that serves the stores, and the OS)."""
    mib = _env_mib("SERGEN_RAM_MIB", 64)
    if mib is not None:
        return int(mib)
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2 // 2**20


def bank_cache_mib(default: float) -> float:
    """Store banks from this size up are built into a shared file (``SERGEN_BANK_CACHE_MIB``); smaller ones
    stay in RAM."""
    mib = _env_mib("SERGEN_BANK_CACHE_MIB", 0)
    return default if mib is None else mib