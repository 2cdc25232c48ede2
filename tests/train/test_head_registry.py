"""The heads the CLI names (``HEAD_CHOICES`` and the ``head`` option's help, written out so that starting the
CLI never imports torch) are exactly the registered heads, with each one's ``note`` and ``summary``: a head
registered without them fails here, saying what to write."""

from sergen.spec import HEAD_CHOICES, OPTION
from sergen.train.head_base import head_choices
from sergen.train.heads import HEADS


def test_the_cli_lists_exactly_the_registered_heads():
    summaries, notes = head_choices()
    assert HEAD_CHOICES == notes, f"set sergen/spec.py's HEAD_CHOICES to {notes!r}"
    assert OPTION["head"].help == summaries, f"set the head option's help in sergen/spec.py to {summaries!r}"
    assert HEADS.names() == ["linear", "mlp", "mlp-dann", "attn", "cnn"]


def test_an_unknown_head_lists_them_with_their_notes():
    try:
        HEADS.get("svm")
    except Exception as exc:  # noqa: BLE001 - the registry's own error
        assert str(exc).startswith("unknown head 'svm'; known: linear, mlp, mlp-dann, attn, cnn")
        assert f"heads: {HEAD_CHOICES}" in str(exc)
    else:
        raise AssertionError("an unknown head was accepted")
