"""Feature normalisations (``--norm``), one registered strategy each (``base.Normalisation``). Importing
this package registers them; the order here is the order the CLI and the errors list them in."""

from sergen.train.norms.base import (NORMS, Normalisation, Utterances, check_norm, choices_text,  # noqa: F401
                                     norm_strategy, register, transductive_norms)
from sergen.train.norms import standardise  # noqa: F401  global, corpus, speaker
from sergen.train.norms import coral  # noqa: F401,E402  coral (correlation alignment)
