"""Where things live: corpus roots (set once), model weights, manifests, stores and results folders.

Corpus roots are looked up in this order: the environment (``SERGEN_ROOT_<CORPUS>``), the config file
(``$SERGEN_CONFIG``, else ``./sergen.toml``, else ``~/.config/sergen/config.toml``), then the root recorded
beside the corpus's manifest when it was built. Model weights: ``--weights``, then ``SERGEN_WEIGHTS_<MODEL>``
(dashes as underscores), then the config's ``[weights]`` table; hub revisions from ``[revisions]``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

DEFAULT_DIRS = {"manifests": "manifests", "stores": "stores", "results": "results", "reports": "reports"}


def config_path() -> Path:
    if os.environ.get("SERGEN_CONFIG"):
        return Path(os.environ["SERGEN_CONFIG"])
    local = Path("sergen.toml")
    if local.exists():
        return local
    return Path.home() / ".config" / "sergen" / "config.toml"


def load_config() -> dict:
    path = config_path()
    if not path.exists():
        return {}
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _toml_value(value) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def save_config(cfg: dict, path: Path | None = None) -> Path:
    """Write a config of flat tables (``[roots]``, ``[dirs]``, ``[weights]``); enough for sergen's own keys."""
    path = Path(path or config_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for table, entries in cfg.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {_toml_value(val)}" for key, val in entries.items()]
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def _env_key(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.upper())


def _remember_path(table: str, name: str, path: str | Path) -> Path:
    cfg = load_config()
    cfg.setdefault(table, {})[name] = str(Path(path).resolve())
    return save_config(cfg)


def _configured_path(env_prefix: str, table: str, name: str) -> Path | None:
    """``SERGEN_<PREFIX>_<NAME>`` first, then the config file's ``[table]``."""
    value = os.environ.get(f"SERGEN_{env_prefix}_{_env_key(name)}") or load_config().get(table, {}).get(name)
    return Path(value) if value else None


def set_root(corpus: str, root: str | Path) -> Path:
    return _remember_path("roots", corpus, root)


def configured_root(corpus: str) -> Path | None:
    return _configured_path("ROOT", "roots", corpus)


def set_weights(model: str, path: str | Path) -> Path:
    return _remember_path("weights", model, path)


def configured_weights(model: str) -> Path | None:
    return _configured_path("WEIGHTS", "weights", model)


def configured_revision(model: str) -> str | None:
    return load_config().get("revisions", {}).get(model)


def data_dir(kind: str):
    """The manifests/stores/results/reports folder: ``SERGEN_<KIND>`` env, config ``[dirs]``, or the default.
    Stores may also be an fsspec URL (``s3://bucket/stores``), returned as a string."""
    value = os.environ.get(f"SERGEN_{kind.upper()}") or load_config().get("dirs", {}).get(kind, DEFAULT_DIRS[kind])
    if kind == "stores" and "://" in str(value) and not str(value).startswith("file://"):
        return str(value)
    return Path(value)


def ram_budget_mib() -> int:
    """Memory sergen may use for training, all processes of a grid together: ``SERGEN_RAM_MIB``, else half
    the machine's physical memory (the rest is for the page cache that serves the stores, and the OS)."""
    value = os.environ.get("SERGEN_RAM_MIB")
    if value:
        try:
            mib = float(value)
        except ValueError:
            mib = 0
        if not mib >= 64:
            from sergen.errors import SergenError

            raise SergenError(f"SERGEN_RAM_MIB={value!r} is not a memory size in MiB of at least 64",
                              fix="set it to the MiB sergen may use, e.g. SERGEN_RAM_MIB=8192, or unset it")
        return int(mib)
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2 // 2**20
