"""EmoBox's utterances, classes and folds (read from an EmoBox checkout) over the user's own audio.

``sergen manifest emobox:<dataset> --root AUDIO_DIR --emobox DIR`` writes ``manifests/emobox-<dataset>.csv``:

- ``utt_id`` is EmoBox's ``key``; ``path`` is EmoBox's ``wav`` without its ``downloads/<dataset>/`` prefix,
  resolved against ``--root`` (the dataset's own folder). Audio missing for any utterance EmoBox's folds
  name is refused, with the count and examples: a partial dataset would not give EmoBox's numbers.
- ``native_label`` is the class EmoBox scores (``label_map[emo]``, e.g. IEMOCAP's ``exc`` → ``Happy``),
  ``emobox_emo`` the raw ``emo``; ``label`` is the poster's class where EmoBox's maps to one (Happy → hap,
  Sad → sad, Neutral → neu, Angry → ang), else "": EmoBox's other classes (Calm, Fear, ...) are kept with
  their EmoBox name for ``--labels native``, as every reader keeps its corpus's own classes.
- ``emobox_folds`` holds the utterance's role in fold 1, 2, ... joined by ``|`` (``train``, ``valid``,
  ``test``, ``-`` where a fold does not list it); ``fold`` the fold that tests it (0: none), as IEMOCAP's.
- ``split`` is fold 1: its test set is ``test``; ``valid`` is EmoBox's official validation file where one
  exists (MSP-Podcast), else carved from fold 1's training part with EmoBox's 80/20 ratio, by speaker
  (seeded) when the protocol is speaker-independent, by utterance (seeded) otherwise.
- A segmented utterance (EmoBox's ``start_time``/``end_time``, as pavoque's) is one row whose
  ``segment_offset`` and ``num_samples`` cut it out of its file; extraction reads just that segment.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from sergen.corpora.base import CORPUS_READERS, OUTSIDE_FOUR, CorpusReader, Problems
from sergen.corpora.manifest import manifest_path
from sergen.errors import SergenError
from sergen.protocols.emobox import CLONE_HINT, EmoBoxDataset, dataset_folder, read_dataset, relative_audio_path

FOUR_CLASSES = {
    "happy": "hap", "happiness": "hap", "joy": "hap", "hap": "hap",
    "sad": "sad", "sadness": "sad",
    "neutral": "neu", "neu": "neu",
    "angry": "ang", "anger": "ang", "ang": "ang",
}
VALID_SHARE = 0.2  # EmoBox's EmoDataset carves validation from training 80/20 when no valid file exists


@CORPUS_READERS.register("emobox")
class EmoBoxReader(CorpusReader):
    name = "emobox"
    layout = ("emobox:<dataset> --emobox DIR: the dataset's audio as EmoBox lists it under downloads/<dataset>/ "
              "(root = that folder)")

    def __init__(self, root, seed: int = 0, dataset: str | None = None, emobox: str | Path | None = None):
        super().__init__(root, seed)
        if emobox is None:
            raise SergenError("emobox:<dataset> reads EmoBox's folds from an EmoBox checkout: --emobox DIR is missing",
                              fix=f"{CLONE_HINT}, e.g. `sergen manifest emobox:iemocap --root IEMOCAP_DIR --emobox EmoBox`")
        self.checkout = Path(emobox).expanduser().absolute()
        self.dataset = dataset_folder(self.checkout, dataset).name  # an unknown name lists the datasets found
        self.name = f"emobox-{self.dataset}"
        self.protocol: EmoBoxDataset | None = None
        self.valid_rule = ""  # how assign_splits chose the validation set, recorded in the sidecar

    def options(self) -> dict:
        options = {"seed": self.seed, "emobox": str(self.checkout), "dataset": self.dataset}
        if self.protocol is not None:
            options.update(folds=self.protocol.n_folds, speaker_independent=self.protocol.speaker_independent,
                           valid=self.valid_rule)
        return options

    def check_layout(self) -> None:
        if not self.root.is_dir():
            raise SergenError(f"the audio folder of EmoBox's {self.dataset} " + ("is not a folder" if self.root.exists()
                              else "does not exist"), where=str(self.root.absolute()),
                              fix=f"pass --root with the folder EmoBox calls downloads/{self.dataset}/")

    def scan(self, problems: Problems, dropped: Counter) -> list[dict]:
        protocol = self.protocol = read_dataset(self.checkout, self.dataset)
        if protocol.language:
            self.language = protocol.language
        halves = protocol.utterances[protocol.utterances["segmented"]
                                     & (protocol.utterances["start_time"].isna() | protocol.utterances["end_time"].isna())]
        if not halves.empty:
            raise SergenError(f"{len(halves)} utterance(s) of EmoBox's {self.dataset} have a start_time or an end_time "
                              f"but not both, e.g. {halves['key'].iloc[0]!r}: a segment needs both",
                              where=str(protocol.folder), fix="restore EmoBox's files (git checkout)")
        table = protocol.utterances.merge(protocol.fold_roles(), on="key")
        in_a_fold = table["emobox_folds"].str.split("|").map(lambda roles: any(r != "-" for r in roles))
        if (~in_a_fold).any():
            holding = holding_files(protocol, set(table.loc[~in_a_fold, "key"]))
            where = (f"in no train/valid/test fold file (only in {', '.join(holding[:3])}"
                     f"{' …' if len(holding) > 3 else ''}, which EmoBox's folds do not read)"
                     if holding else "in no EmoBox fold")
            dropped[where] += int((~in_a_fold).sum())
            self.fold_left_out = (int((~in_a_fold).sum()), where)
        table = table[in_a_fold].copy()
        table["path"] = table["wav"].map(relative_audio_path)
        self.check_audio(table)
        rows = []
        for rec in table.itertuples(index=False):
            label = FOUR_CLASSES.get(rec.emobox_class.strip().lower(), OUTSIDE_FOUR)
            rows.append({"utt_id": rec.key, "path": rec.path, "native_label": rec.emobox_class, "label": label,
                         "speaker": rec.speaker, "gender": "unknown", "emobox_emo": rec.emo,
                         "fold": int(rec.fold), "emobox_folds": rec.emobox_folds})
            if rec.segmented:  # one row per segment of a longer file (pavoque): read by _read_headers
                rows[-1]["segment"] = (rec.start_time, rec.end_time)
        return rows

    def check_audio(self, table: pd.DataFrame) -> None:
        """Every utterance EmoBox's folds name must have its audio under the root."""
        missing = table[~table["path"].map(lambda p: (self.root / p).is_file())]
        if missing.empty:
            return
        examples = ", ".join(f"{p} ({k})" for p, k in zip(missing["path"][:3], missing["key"][:3]))
        everything = len(missing) == len(table)
        raise SergenError(
            f"{len(missing)} of {len(table)} utterances in EmoBox's {self.dataset} folds have no audio under the root"
            f"{' (none was found: is this the right folder?)' if everything else ''}, e.g. {examples}",
            where=str(self.root.absolute()),
            fix=f"point --root at the folder EmoBox calls downloads/{self.dataset}/ (its wav paths, less that prefix, "
                "are read under --root), and restore the missing files: EmoBox's numbers need every utterance")

    def assign_splits(self, df: pd.DataFrame) -> pd.Series:
        first = df["emobox_folds"].str.split("|").str[0]
        split = first.map({"train": "train", "valid": "valid", "test": "test", "-": "valid"})
        train = first == "train"
        if "valid" in self.protocol.folds[0].values():
            self.valid_rule = "EmoBox's valid file of fold 1"
            return split
        rng = np.random.default_rng(self.seed)
        if self.protocol.speaker_independent:
            speakers = sorted(df.loc[train, "speaker"].unique())
            if len(speakers) >= 2:
                n_valid = min(len(speakers) - 1, max(1, round(len(speakers) * VALID_SHARE)))
                held = {speakers[i] for i in rng.permutation(len(speakers))[:n_valid]}
                split[train & df["speaker"].isin(held)] = "valid"
                self.valid_rule = f"{VALID_SHARE:.0%} of fold 1's training speakers (seeded)"
                return split
        self.valid_rule = f"{VALID_SHARE:.0%} of fold 1's training utterances (seeded)"
        ids = df.loc[train, "utt_id"].sort_values(kind="stable")
        n_valid = int(round(len(ids) * VALID_SHARE))
        split[ids.index[rng.permutation(len(ids))[:n_valid]]] = "valid"
        return split

    def read(self):
        result = super().read()
        result.warnings.extend(self.protocol.warnings)
        if not self.protocol.speaker_independent and not self.protocol.speaker_leaks:  # a leak warns on its own
            why = "one random fold" if self.protocol.n_folds == 1 else "no speakers in data.seg.wrd.stm"
            result.warnings.append(f"EmoBox's {self.dataset} protocol is not speaker-independent ({why}): "
                                   "a speaker may be in both train and test, as in EmoBox's own numbers")
        left_out = getattr(self, "fold_left_out", None)
        if left_out:  # said on stderr too: a count on stdout alone is easy to miss
            result.warnings.append(f"{left_out[0]} utterance(s) of EmoBox's {self.dataset} are left out: {left_out[1]}")
        not_in_first = int((result.manifest["emobox_folds"].str.split("|").str[0] == "-").sum())
        if not_in_first:
            result.warnings.append(f"{not_in_first} utterance(s) are not in EmoBox's fold 1 (only in later folds): "
                                   "their split is valid, never train or test")
        return result


def holding_files(protocol, keys: set[str]) -> list[str]:
    """Those of a dataset's extra fold files (mer2023's test2, test3) that list any of ``keys`` (read for their
    keys only: their other fields are not EmoBox's usual ones)."""
    import json

    def keys_of(path):
        found = set()
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                found.add(json.loads(line).get("key"))
            except (ValueError, AttributeError):
                continue
        return found

    return [name for name in protocol.extra_files if keys & keys_of(protocol.folder / name)]


def recorded_paths(dataset: str) -> tuple[Path | None, Path | None]:
    """The audio root and EmoBox checkout recorded beside ``manifests/emobox-<dataset>.csv``, so a rerun of
    ``sergen manifest emobox:<dataset>`` needs neither ``--root`` nor ``--emobox``."""
    try:
        meta = json.loads(manifest_path(f"emobox-{dataset.strip().lower()}").with_suffix(".json").read_text())
        root, checkout = meta.get("root"), meta.get("options", {}).get("emobox")
    except (OSError, ValueError, AttributeError):
        return None, None
    return (Path(root) if isinstance(root, str) and root else None,
            Path(checkout) if isinstance(checkout, str) and checkout else None)
