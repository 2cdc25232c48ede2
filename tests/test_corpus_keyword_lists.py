"""``all`` and ``each`` inside a corpus list (``--corpus all,emodb``, ``--train all+emodb``) are refused by one
function, ``sergen.corpora.keywords.keyword_misuse``, with a message saying why, not "unknown corpus 'all'"."""

from __future__ import annotations

import pytest

from sergen.corpora.keywords import CORPUS_LIST, TRAINING_SET, TRAINING_SETS, keyword_misuse
from tests.test_bad_input import cli  # noqa: F401 - the in-process CLI fixture

COMBINED = "`all` stands for every corpus and cannot be combined with corpus names"
EACH = "`each` (every corpus alone, one run each) belongs to a grid's --train only"


@pytest.mark.parametrize("spec,takes", [("all", CORPUS_LIST), ("emodb,ravdess", CORPUS_LIST), ("ALL", CORPUS_LIST),
                                        ("all", TRAINING_SET), ("emodb+ravdess", TRAINING_SET),
                                        ("each,all", TRAINING_SETS), ("each,emodb+ravdess", TRAINING_SETS),
                                        ("all,all", TRAINING_SETS), (None, CORPUS_LIST)])
def test_keywords_where_they_stand_are_accepted(spec, takes):
    assert keyword_misuse(spec, takes) is None


@pytest.mark.parametrize("spec,takes,message", [
    ("all,emodb", CORPUS_LIST, COMBINED), ("emodb, ALL", CORPUS_LIST, COMBINED),
    ("all+emodb", TRAINING_SET, COMBINED), ("emodb,all", TRAINING_SET, COMBINED),
    ("each", CORPUS_LIST, EACH), ("each", TRAINING_SET, EACH), ("all,each", CORPUS_LIST, EACH),
    ("each,all+emodb", TRAINING_SETS, "`all` cannot be joined with corpora in a union (all+emodb): it already "
                                      "stands for every corpus, so it goes as its own item"),
    ("emodb+each", TRAINING_SETS, "`each` cannot be joined with corpora in a union (emodb+each): it already "
                                  "stands for every corpus alone, so it goes as its own item"),
])
def test_keywords_among_names_are_refused_with_the_reason(spec, takes, message):
    assert keyword_misuse(spec, takes) == message


@pytest.mark.parametrize("args,shown", [
    (("extract", "--model", "melspec", "--corpus", "all,emodb"),
     f"Invalid value for '--corpus': 'all,emodb': {COMBINED}; give `all`, or corpus names, comma-separated"),
    (("analyze", "fragmentation", "--model", "melspec", "--corpora", "ALL,emodb"),
     f"Invalid value for '--corpora': 'ALL,emodb': {COMBINED}; give `all`"),
    (("extract", "--model", "melspec", "--corpus", "each"), f"Invalid value for '--corpus': 'each': {EACH}"),
    (("probe", "--model", "melspec", "--train", "all+emodb"), f"error: --train 'all+emodb': {COMBINED}"),
    (("probe", "--model", "melspec", "--train", "each"), f"error: --train 'each': {EACH}"),
    (("probe", "--model", "melspec", "--train", "emodb", "--test", "All,emodb"), f"error: --test 'all,emodb': {COMBINED}"),
    (("stores", "verify", "melspec", "all,emodb"), f"error: 'all,emodb': {COMBINED}"),
    (("grid", "--models", "melspec", "--train", "each,all+emodb"), "error: --train 'each,all+emodb': `all` cannot be "
                                                                   "joined with corpora in a union (all+emodb)"),
])
def test_the_commands_refuse_a_keyword_among_names_before_any_work(cli, workspace, args, shown):
    code, text = cli(*args)
    assert code == 2 and shown in text, text
    assert "unknown corpus" not in text
    assert not (workspace / "stores").exists() and not (workspace / "results").exists()


def test_an_experiment_file_is_named_where_it_sets_the_list(cli, tmp_path):
    config = tmp_path / "exp.toml"
    config.write_text('model = "melspec"\ntrain = "all+emodb"\n')
    code, text = cli("probe", "--config", str(config))
    assert code == 2 and f"error: train = 'all+emodb': {COMBINED}" in text and "exp.toml, line 2" in text, text
