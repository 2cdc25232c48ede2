"""The report's PNG figures. Figures are made as ``matplotlib.figure.Figure`` objects and written by
the Agg canvas, without pyplot: no backend is chosen at import, no display is needed, nothing stays open."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sergen import LABELS

CLASS_COLOURS = {"hap": "#e6a700", "sad": "#3b6fb6", "neu": "#7f7f7f", "ang": "#c0392b"}
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def class_order(labels) -> list[str]:
    """The classes of ``labels``: the poster's order where they are among its four, else sorted by name (as
    native class lists are)."""
    seen = set(str(v) for v in labels)
    return [lab for lab in LABELS if lab in seen] if seen <= set(LABELS) else sorted(seen)


def class_colours(classes) -> dict[str, str]:
    """A colour per class: the poster's four keep theirs; any other class (a corpus's native ones) takes the
    next colour of tab10, then tab20, skipping none of the classes."""
    palette = [colormaps["tab10"](k) for k in range(10)] + [colormaps["tab20"](k) for k in range(1, 20, 2)]
    others = [c for c in classes if c not in CLASS_COLOURS]
    colours = {c: CLASS_COLOURS[c] for c in classes if c in CLASS_COLOURS}
    colours.update({c: palette[k % len(palette)] for k, c in enumerate(others)})
    return colours


def link_safe(name: str) -> str:
    """A file name a Markdown link can hold as is: runs of other settings or layers are named
    ``melspec [max_steps=300]`` or ``wavlm (layer 12)``, and CommonMark leaves ``![..](a b [c].png)`` as text."""
    kept = "".join(ch if ch.isalnum() or ch in "-_.=," else "_" for ch in name)
    while "__" in kept:
        kept = kept.replace("__", "_")
    return kept.replace("_.", ".")


def save(fig, path: Path) -> Path:
    """Lay out and write a figure through the Agg canvas, under a link-safe name (the path returned)."""
    path = Path(path).with_name(link_safe(Path(path).name))
    fig.tight_layout()
    FigureCanvasAgg(fig).print_png(str(path))
    return path


def subplots(*args, **kwargs):
    """pyplot's ``subplots`` without pyplot's global figure registry."""
    fig = Figure(figsize=kwargs.pop("figsize", None), dpi=kwargs.pop("dpi", None))
    return fig, fig.subplots(*args, **kwargs)


def heatmap(matrix: pd.DataFrame, path: Path, title: str, cmap: str = "viridis", vmin=0.3, vmax=1.0,
            fmt: str = "{:.2f}", center: float | None = None, cells: pd.DataFrame | None = None) -> Path:
    """``cells``: text per cell (e.g. the value with its interval and spread over seeds) in place of ``fmt``."""
    lines = 1 if cells is None else max(str(v).count("\n") + 1 for v in cells.to_numpy().ravel())
    fig, ax = subplots(figsize=(1.2 + (1.0 if lines == 1 else 1.35) * matrix.shape[1],
                                    1.0 + (0.6 if lines == 1 else 0.32 * (lines + 1)) * matrix.shape[0]), dpi=110)
    values = matrix.to_numpy(dtype=float)
    if center is not None:
        span = np.nanmax(np.abs(values - center)) or 1.0
        vmin, vmax = center - span, center + span
    im = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), matrix.columns, rotation=30, ha="right")
    ax.set_yticks(range(matrix.shape[0]), matrix.index)
    ax.set_xlabel("test")
    ax.set_ylabel("train")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if np.isfinite(values[i, j]):
                shade = (values[i, j] - vmin) / ((vmax - vmin) or 1)
                text = fmt.format(values[i, j]) if cells is None else str(cells.iat[i, j])
                ax.text(j, i, text, ha="center", va="center", fontsize=9 if lines == 1 else 7,
                        color="white" if shade < 0.55 else "black")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.04)
    return save(fig, path)


def plot_projection(projection: pd.DataFrame, path: Path, title: str, classes=None) -> Path:
    """One point per utterance: colour its class, marker its corpus. ``classes``: the legend's order
    (default: the classes of ``projection.label``, the poster's four first)."""
    classes = list(classes) if classes is not None else class_order(projection.label)
    colours = class_colours(classes)
    fig, ax = subplots(figsize=(6.5, 5), dpi=110)
    for k, corpus in enumerate(dict.fromkeys(projection.corpus)):
        for label in classes:
            part = projection[(projection.corpus == corpus) & (projection.label == label)]
            ax.scatter(part.x, part.y, s=12, alpha=0.7, color=colours[label], marker=MARKERS[k % len(MARKERS)],
                       edgecolors="none")
    handles = [Line2D([], [], color=colours[lab], marker="o", ls="", label=lab) for lab in classes]
    handles += [Line2D([], [], color="black", marker=MARKERS[k % len(MARKERS)], ls="", label=c)
                for k, c in enumerate(dict.fromkeys(projection.corpus))]
    ax.legend(handles=handles, fontsize=7, loc="best", ncol=2)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return save(fig, path)


def plot_similarity(sim: pd.DataFrame, path: Path, title: str) -> Path:
    fig, ax = subplots(figsize=(7.5, 6.5), dpi=110)
    im = ax.imshow(sim.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(sim)), sim.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(sim)), sim.index, fontsize=7)
    ax.set_title(title + "\nclass × corpus centroid cosine similarity", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.04)
    return save(fig, path)


def plot_lines(table: pd.DataFrame, path: Path, title: str, ylabel: str) -> Path:
    """One line per column over the index (e.g. AUROC difference over augmentation share)."""
    fig, ax = subplots(figsize=(6, 4), dpi=110)
    groups = list(dict.fromkeys(str(c).split(" (")[0] for c in table.columns))
    palette = colormaps["tab10"]
    for col in table.columns:
        # one colour per corpus; scrambled labels dashed beside the true-label line
        colour = palette(groups.index(str(col).split(" (")[0]) % 10)
        ax.plot(range(len(table)), table[col], marker="o", label=str(col), color=colour,
                linestyle="--" if "scrambled" in str(col) else "-")
    ax.set_xticks(range(len(table)), table.index)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel(table.index.name or "augmentation share")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    return save(fig, path)


def plot_confusions(panels: list[tuple], path: Path, title: str) -> Path:
    """One panel per (title, counts [true][predicted], classes): colour the row-normalised share, text the
    count and the share; ticks name the panel's classes (the poster's four where a panel gives none)."""
    from sergen.train.metrics import row_normalised

    n = len(panels)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    size = max(len(p[2]) if len(p) > 2 else len(LABELS) for p in panels)
    scale = max(1.0, size / 4 * 0.8)  # eight classes: panels 1.6× wider, so each cell keeps its text
    fig, axes = subplots(rows, cols, figsize=(3.4 * cols * scale, 3.2 * rows * scale), dpi=110, squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, panel in zip(axes.ravel(), panels):
        name, counts = panel[0], np.asarray(panel[1])
        classes = list(panel[2]) if len(panel) > 2 else list(LABELS)
        if counts.shape != (len(classes), len(classes)):
            raise ValueError(f"{name}: {counts.shape[0]}×{counts.shape[1]} counts for {len(classes)} classes")
        shares = row_normalised(counts)
        ax.imshow(np.nan_to_num(shares), cmap="Blues", vmin=0, vmax=1)
        for i in range(counts.shape[0]):
            for j in range(counts.shape[1]):
                share = shares[i, j]
                ax.text(j, i, f"{int(counts[i, j])}\n{share:.2f}" if np.isfinite(share) else f"{int(counts[i, j])}",
                        ha="center", va="center", fontsize=8 if len(classes) <= 5 else 6,
                        color="white" if np.isfinite(share) and share > 0.6 else "black")
        ax.set_xticks(range(len(classes)), classes, rotation=0 if len(classes) <= 5 else 45,
                      ha="center" if len(classes) <= 5 else "right")
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(name, fontsize=9)
    fig.suptitle(title, fontsize=10)
    return save(fig, path)


def plot_validation(curves: list[tuple[str, list]], path: Path, title: str) -> Path:
    """Validation AUROC (solid) and learning rate (dashed, right axis, log scale) against training steps,
    one colour per run; ``curves``: (label, [[step, AUROC, lr], …])."""
    fig, ax = subplots(figsize=(7, 4), dpi=110)
    lr_ax = ax.twinx()
    palette = colormaps["tab10"]
    for k, (label, history) in enumerate(curves):
        h = np.asarray(history, dtype=float)
        if not len(h):
            continue
        ax.plot(h[:, 0], h[:, 1], color=palette(k % 10), marker=".", label=label)
        lr_ax.step(h[:, 0], h[:, 2], where="post", color=palette(k % 10), linestyle="--", alpha=0.6)
    ax.set_xlabel("training step")
    ax.set_ylabel("validation AUROC (solid)")
    lr_ax.set_ylabel("learning rate (dashed)")
    lr_ax.set_yscale("log")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title, fontsize=10)
    return save(fig, path)


def plot_layers(means: pd.DataFrame, path: Path, title: str) -> Path:
    """AUROC against layer: within-corpus (solid) and cross-corpus (dashed, the mean off the diagonal), each
    the mean over seeds with ± one sd as a band where there are several seeds; ``means``: layer-indexed
    columns within, within_sd, cross, cross_sd."""
    fig, ax = subplots(figsize=(6, 4), dpi=110)
    layers = np.asarray(means.index, dtype=float)
    for column, label, style, colour in (("within", "within corpus (test in training set)", "-", "#1f77b4"),
                                         ("cross", "cross corpus (mean off the diagonal)", "--", "#d62728")):
        values = means[column].to_numpy(dtype=float)
        if not np.isfinite(values).any():
            continue
        ax.plot(layers, values, marker="o", linestyle=style, color=colour, label=label)
        sd = np.nan_to_num(means[f"{column}_sd"].to_numpy(dtype=float))
        if sd.any():
            ax.fill_between(layers, values - sd, values + sd, color=colour, alpha=0.15, linewidth=0)
    ax.set_xticks(layers, [str(int(v)) for v in layers])
    ax.set_xlabel("layer")
    ax.set_ylabel("AUROC (mean over seeds)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    return save(fig, path)
