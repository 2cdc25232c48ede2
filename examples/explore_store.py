"""A first look at a store, the way a notebook would use it.

Run after `make demo`, in the demo's workspace (or in your own, after extracting real corpora):

    SERGEN_HOME=demo .venv/bin/python examples/explore_store.py melspec ravdess
"""

import sys

import numpy as np

import sergen
from sergen.store.reader import select, utterance_frames

model, corpus = (sys.argv[1:3] + ["melspec", "ravdess"][len(sys.argv[1:3]):])[:2]
ds = sergen.open_store(model, corpus)  # lazy: metadata in memory, frames on disk until asked for
print(ds)
print(f"\n{ds.sizes['utt']} utterances, {ds.sizes['frame']} frames of {ds.sizes['feature']} features "
      f"at {ds.attrs['frame_rate']} frames/s" + ("  [synthetic demo data]" if ds.attrs.get("synthetic") else ""))

# Utterance-level view: per-utterance mean frames, grouped by label within the test split.
test = select(ds, split="test")
for label in sergen.LABELS:
    part = select(test, label=label)
    if part.sizes["utt"]:
        print(f"{label}: {part.sizes['utt']:3d} test utterances, mean feature norm "
              f"{np.linalg.norm(part['mean'].values, axis=1).mean():.2f}")

# Frame-level view: one utterance's frames, read from just the chunks that hold them.
first = test.utt_id.values[0]
frames = utterance_frames(ds, first)
print(f"\n{first}: {frames.shape[0]} frames; first frame's first five features {np.round(frames[0, :5], 2)}")
