"""Text is cut into bounded pieces without losing or reordering words."""

from __future__ import annotations

import random

from tts_worker.chunking import MAX_CHUNK_CHARS, split_text


def words(text: str) -> list[str]:
    return text.split()


def test_short_text_is_one_piece() -> None:
    assert split_text("Hello world. How are you?") == ["Hello world. How are you?"]


def test_sentences_are_grouped_up_to_the_limit() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    pieces = split_text(text, 100)
    assert all(len(p) <= 100 for p in pieces)
    assert words(" ".join(pieces)) == words(text)
    assert all(p.endswith(".") for p in pieces)  # no sentence was cut, since each fits


def test_a_long_sentence_breaks_at_commas_first() -> None:
    text = ", ".join(["and then the quick brown fox jumped over another lazy dog"] * 20)
    pieces = split_text(text, MAX_CHUNK_CHARS)
    assert len(pieces) > 1
    assert all(len(p) <= MAX_CHUNK_CHARS for p in pieces)
    assert all(p.endswith(",") for p in pieces[:-1])
    assert words(" ".join(pieces)) == words(text)


def test_no_punctuation_breaks_at_spaces_and_a_giant_word_is_cut() -> None:
    text = " ".join(["word"] * 300) + " " + "x" * 700
    pieces = split_text(text, 120)
    assert all(len(p) <= 120 for p in pieces)
    assert "".join(" ".join(pieces).split()) == "".join(text.split())


def test_random_texts_keep_every_character_in_order() -> None:
    rng = random.Random(1234)
    alphabet = "abc de, f. g; h! i? — (j) k\n\nl "
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 2000)))
        limit = rng.randint(20, 300)
        pieces = split_text(text, limit)
        assert all(0 < len(p) <= limit for p in pieces)
        assert "".join("".join(pieces).split()) == "".join(text.split())
