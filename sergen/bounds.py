"""The bounds of run options, in one table: the CLI's validators, experiment files and ``--set`` all read
them here, so a value is refused the same way wherever it is given, before any planning.

Each bound is where a value stops being a setting and starts breaking a library below: torch and numpy
take seeds below 2**32 everywhere (torch's own limit is 2**64, numpy's legacy one 2**32), and a window is
drawn in frames, so a length beyond any utterance only overflows the frame count.
"""

MAX_SEED = 2**32 - 1  # numpy's legacy RandomState and torch.manual_seed both accept it
MAX_WINDOW_S = 600.0  # seconds; longer than any utterance of the corpora sergen reads (a window is cut to it)

MAX_BOOT = 100_000
"""The most bootstrap resamples per test set (``n_boot``): each is scored over every test utterance, so 100,000
take minutes per run; more is a typo, not a wish for a tighter interval."""
