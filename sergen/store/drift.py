"""What in a corpus's manifest moved away from the audio a store was made from, said precisely.

A store records, per utterance, the id and the audio file it was extracted from (``utt/utt_id``,
``utt/path``) and the audio's length (``utt/duration_s``). Extraction hashes the manifest's audio columns
(ids, paths, lengths, rates) and refuses a store whose hash no longer matches; this module says *why* it no
longer matches: utterances added or removed, ids that now name other files (a manifest whose ids were swapped
or renamed would otherwise pin one file's label on another's frames), or lengths that moved. Labels and
splits are not part of it: they are joined at probe time, so editing them never makes a store stale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import zarr

DURATION_TOLERANCE_S = 1e-3  # the store keeps durations as float32 seconds


def stored_audio(group: zarr.Group) -> pd.DataFrame:
    """The store's own record of what each utterance was extracted from: utt_id, path, duration_s."""
    utt = group["utt"]
    return pd.DataFrame({"utt_id": utt["utt_id"][:].tolist(), "path": utt["path"][:].tolist(),
                         "duration_s": np.asarray(utt["duration_s"][:], dtype=np.float64)})


def manifest_durations(manifest: pd.DataFrame) -> pd.Series:
    if {"num_samples", "sample_rate"} <= set(manifest.columns):
        return manifest["num_samples"].astype(float) / manifest["sample_rate"].astype(float)
    return manifest["duration_s"].astype(float)


def audio_drift(group: zarr.Group, manifest: pd.DataFrame) -> dict:
    """Counts and examples of how the manifest's audio columns differ from the store's record."""
    old = stored_audio(group).drop_duplicates("utt_id").set_index("utt_id")
    new = pd.DataFrame({"path": manifest["path"].astype(str).to_numpy(),
                        "duration_s": manifest_durations(manifest).to_numpy()},
                       index=manifest["utt_id"].astype(str).to_numpy())
    new = new[~new.index.duplicated()]
    both = old.index.intersection(new.index)
    moved = both[old.loc[both, "path"].to_numpy() != new.loc[both, "path"].to_numpy()]
    same_file = both.difference(moved)
    resized = same_file[np.abs(old.loc[same_file, "duration_s"].to_numpy()
                               - new.loc[same_file, "duration_s"].to_numpy()) > DURATION_TOLERANCE_S]
    drift = {"added": list(new.index.difference(old.index)), "removed": list(old.index.difference(new.index)),
             "moved": list(moved), "resized": list(resized)}
    drift["moved_example"] = ((moved[0], new.loc[moved[0], "path"], old.loc[moved[0], "path"]) if len(moved) else None)
    drift["relabelled"] = 0
    if "label" in manifest.columns and "label" in group["utt"].array_keys():
        then = pd.Series(group["utt"]["label"][:].tolist(), index=group["utt"]["utt_id"][:].tolist())
        m = manifest.drop_duplicates("utt_id")
        now = pd.Series(m["label"].astype(str).to_numpy(), index=m["utt_id"].astype(str).to_numpy())
        then = then[~then.index.duplicated()]
        drift["relabelled"] = int((then.loc[both].astype(str).to_numpy() != now.loc[both].to_numpy()).sum())
    return drift


def describe_audio_drift(group: zarr.Group, manifest: pd.DataFrame) -> str:
    """One sentence: what moved between the manifest and the audio the store was made from."""
    d = audio_drift(group, manifest)
    parts = [f"{len(d['added'])} utterance(s) added", f"{len(d['removed'])} removed"]
    if d["moved"]:
        utt, now, then = d["moved_example"]
        parts.append(f"{len(d['moved'])} id(s) now name other audio files (e.g. {utt!r} → {now}, extracted from "
                     f"{then}: ids swapped, renamed or re-pointed)")
    if d["resized"]:
        parts.append(f"{len(d['resized'])} audio length(s) or rate(s) changed (e.g. {d['resized'][0]!r})")
    text = ", ".join(parts)
    if d["relabelled"]:
        text += f" ({d['relabelled']} relabelled too: labels are applied at probe time, and alone need no extraction)"
    return text
