"""Are classes organised by emotion or by corpus in an embedding space? Utterance-level vectors (each
utterance's mean frame) of several corpora, standardised together, then:

- a corpus-ID probe beside an emotion probe (cross-validated logistic regression);
- the class × corpus centroid cosine-similarity matrix;
- silhouette scores with classes as clusters and with corpora as clusters;
- a 2-D projection (PCA; UMAP when installed and asked for).

Corpus clusters that are tighter than emotion clusters are the poster's "class fragmentation".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import silhouette_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sergen import LABELS
from sergen.errors import SergenError
from sergen.train.metrics import point_metrics


@dataclass
class Fragmentation:
    summary: pd.DataFrame  # metric, value
    centroid_similarity: pd.DataFrame  # (class|corpus) × (class|corpus)
    projection: pd.DataFrame  # x, y, label, corpus


def _probe_scores(x: np.ndarray, y: np.ndarray, seed: int) -> dict[str, float]:
    folds = StratifiedKFold(n_splits=min(5, np.bincount(y).min()), shuffle=True, random_state=seed)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    proba = cross_val_predict(clf, x, y, cv=folds, method="predict_proba")
    return point_metrics(y, proba)


def analyse(x: np.ndarray, labels: np.ndarray, corpora: np.ndarray, seed: int = 0, method: str = "pca",
            max_points: int = 5000) -> Fragmentation:
    """``x``: one vector per utterance; ``labels``: class names; ``corpora``: corpus names."""
    rng = np.random.default_rng(seed)
    z = StandardScaler().fit_transform(x)
    corpus_names = list(dict.fromkeys(corpora))
    label_idx = np.array([LABELS.index(v) for v in labels])
    corpus_idx = np.array([corpus_names.index(c) for c in corpora])
    rows = []
    emotion = _probe_scores(z, label_idx, seed)
    corpus = _probe_scores(z, corpus_idx, seed)
    for name, scores, n_cls in (("emotion", emotion, len(np.unique(label_idx))), ("corpus", corpus, len(corpus_names))):
        rows += [(f"{name}_probe_auroc", scores["auroc"]), (f"{name}_probe_uar", scores["uar"]),
                 (f"{name}_chance_uar", 1 / n_cls)]
    sample = rng.choice(len(z), size=min(len(z), max_points), replace=False)
    sil_class = float(silhouette_score(z[sample], label_idx[sample], random_state=seed))
    sil_corpus = float(silhouette_score(z[sample], corpus_idx[sample], random_state=seed))
    rows += [("silhouette_by_class", sil_class), ("silhouette_by_corpus", sil_corpus)]

    keys, cents = [], []
    for c in corpus_names:
        for lab in LABELS:
            sel = (corpora == c) & (labels == lab)
            if sel.any():
                keys.append(f"{lab}|{c}")
                cents.append(z[sel].mean(0))
    cents = np.array(cents)
    unit = cents / np.maximum(np.linalg.norm(cents, axis=1, keepdims=True), 1e-12)
    sim = pd.DataFrame(unit @ unit.T, index=keys, columns=keys)
    lab_of = np.array([k.split("|")[0] for k in keys])
    cor_of = np.array([k.split("|")[1] for k in keys])
    same_class = (lab_of[:, None] == lab_of[None]) & (cor_of[:, None] != cor_of[None])
    same_corpus = (cor_of[:, None] == cor_of[None]) & (lab_of[:, None] != lab_of[None])
    rows += [("centroid_sim_same_class_other_corpus", float(sim.values[same_class].mean())),
             ("centroid_sim_same_corpus_other_class", float(sim.values[same_corpus].mean()))]

    if method == "umap":
        import umap  # optional

        xy = umap.UMAP(random_state=seed).fit_transform(z[sample])
    else:
        xy = PCA(n_components=2, random_state=seed).fit_transform(z[sample])
    projection = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "label": labels[sample], "corpus": corpora[sample]})
    return Fragmentation(pd.DataFrame(rows, columns=["metric", "value"]), sim, projection)


def analyse_stores(model: str, corpora: list[str], stores_root=None, seed: int = 0, method: str = "pca") -> Fragmentation:
    from sergen.config import data_dir
    from sergen.experiments.data import load_corpus, stores_root_key

    if len(set(corpora)) < 2:
        raise SergenError(f"the fragmentation analysis compares corpora, and got only {', '.join(corpora)}",
                          fix="give two or more with --corpora a,b (or all)")
    root = stores_root_key(stores_root or data_dir("stores"))
    xs, labels, names = [], [], []
    for corpus in corpora:
        data = load_corpus(model, corpus, root)
        rows = np.flatnonzero(data.is_clean & (data.label >= 0))  # the four classes (-1: a class outside them)
        xs.append(data.pooled[rows])
        labels += [LABELS[i] for i in data.label[rows]]
        names += [corpus] * len(rows)
    return analyse(np.concatenate(xs), np.array(labels), np.array(names), seed=seed, method=method)


def save_fragmentation(result: Fragmentation, out: Path, title: str) -> dict[str, Path]:
    from sergen.report.figures import plot_projection, plot_similarity

    out.mkdir(parents=True, exist_ok=True)
    paths = {"summary": out / "fragmentation.csv", "similarity": out / "centroid_similarity.csv"}
    result.summary.to_csv(paths["summary"], index=False)
    result.centroid_similarity.round(4).to_csv(paths["similarity"])
    paths["projection_png"] = plot_projection(result.projection, out / "projection.png", title)
    paths["similarity_png"] = plot_similarity(result.centroid_similarity, out / "centroid_similarity.png", title)
    return paths
