"""A failure's one-line reason: every line of the message (a runtime's reason often comes second), cut at a word."""

from __future__ import annotations

from edgebench.exceptions import error_text


def test_the_reason_on_a_later_line_is_kept() -> None:
    e = RuntimeError("Exception from src/inference/src/core.cpp:114:\n  Wrong value for INFERENCE_PRECISION_HINT\n")
    assert error_text(e) == "RuntimeError: Exception from src/inference/src/core.cpp:114: Wrong value for " \
        "INFERENCE_PRECISION_HINT"  # fmt: skip


def test_a_long_reason_is_cut_at_a_word_and_says_so() -> None:
    text = error_text(ValueError("word " * 100), limit=50)
    assert text == "ValueError: word word word word word word word …" and len(text) <= 50
