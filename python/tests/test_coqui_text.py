"""Text a Coqui model has no characters for: reported (dropped, with counts), or refused when too much is missing.

Also short texts (one letter, one word, one digit): audio or a one-line error, never a traceback.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import WorkerProc
from tts_worker.engines.coqui_engine import _count_dropped, _show_dropped, measure_coverage

VOCAB = set("abcdefghijklmnopqrstuvwxyz0123456789 .,!?'-")


def char_to_id(ch: str) -> int:
    if ch not in VOCAB:
        raise KeyError(ch)
    return 1


def test_coverage_counts_dropped_letters_and_symbols_but_not_pause_punctuation() -> None:
    cov = measure_coverage("bakı şəhər «10%» – (x) @ ok.", char_to_id)
    assert cov.dropped == Counter({"ə": 2, "ı": 1, "ş": 1, "%": 1, "@": 1})
    assert cov.letters == len("bakışəhər10xok")
    assert cov.dropped_letters == 4
    assert "«" not in cov.dropped and "–" not in cov.dropped and "(" not in cov.dropped


def test_coverage_of_combining_marks_and_messages() -> None:
    cov = measure_coverage("i\u0307stanbul", char_to_id)
    assert cov.dropped == Counter({"\u0307": 1})
    assert cov.dropped_letters == 0  # the letter is spoken, only its dot is lost
    assert _show_dropped(Counter({"東": 1, "京": 1})) == "東京"
    assert _show_dropped(Counter({"ə": 1, "\u0307": 2})) == "U+0307 ə"
    assert _count_dropped(Counter({"ş": 1, "ə": 3})) == '"ə" ×3, "ş" ×1'


@pytest.fixture(scope="module")
def coqui(tmp_path_factory: pytest.TempPathFactory, coqui_model: Path) -> Iterator[WorkerProc]:
    w = WorkerProc(tmp_path_factory.mktemp("coqui-text"))
    ready = w.call({"id": "load", "op": "load", "engine": "coqui", "kind": "folder", "model": str(coqui_model)})
    assert ready["ok"] is True, ready
    yield w
    w.proc.kill()
    w.proc.wait()


_n = 0


def say(w: WorkerProc, text: str, **extra: Any) -> dict[str, Any]:
    global _n
    _n += 1
    return w.call({"id": str(_n), "op": "synthesize", "text": text, "out": f"t{_n}.pcm", **extra})


@pytest.mark.slow
def test_dropped_characters_are_reported_with_counts_and_the_rest_is_spoken(coqui: WorkerProc) -> None:
    reply = say(coqui, "Bakı şəhərində hava günəşlidir.")
    assert reply["ok"] is True, reply
    res = reply["result"]
    assert res["dropped"] == {"ı": 1, "ş": 2, "ə": 4, "ü": 1}
    assert res["samples"] > 0
    Path(res["path"]).unlink()


@pytest.mark.slow
def test_what_the_cleaner_rewrites_is_not_dropped(coqui: WorkerProc) -> None:
    # The fixture's english_cleaners lower-case ("HELLO"), spell out numbers ("7", "$5"), and the vocabulary has
    # the quotes: nothing is dropped. "%" is not rewritten by the cleaner and not in the vocabulary.
    for text, dropped in (("HELLO World 7", {}), ("It costs $5.", {}), ("«Hi» — “there”", {}), ("Up 10% today", {"%": 1})):
        reply = say(coqui, text)
        assert reply["ok"] is True, (text, reply)
        assert reply["result"]["dropped"] == dropped, text
        Path(reply["result"]["path"]).unlink()


@pytest.mark.slow
def test_text_mostly_outside_the_vocabulary_is_refused(coqui: WorkerProc) -> None:
    reply = say(coqui, "ŞƏHƏR")  # 3 of 5 letters have no token
    assert reply["ok"] is False
    assert reply["error"]["code"] == "E_TEXT_UNSUPPORTED"
    assert "3 of the 5 letters" in reply["error"]["message"] and '"ə" ×2' in reply["error"]["message"]
    reply = say(coqui, "əşə")
    assert reply["error"]["code"] == "E_TEXT_UNSUPPORTED"
    assert "cannot speak: əş" in reply["error"]["message"]
    assert not list(coqui.cwd.glob("*.pcm"))


@pytest.mark.slow
def test_a_sentence_of_only_unknown_characters_inside_a_request_does_not_crash(coqui: WorkerProc) -> None:
    # Coqui splits "Hi! 東京" into two sentences and used to crash (IndexError) on the second one.
    reply = say(coqui, "Hi! 東京")
    assert reply["ok"] is True, reply
    assert reply["result"]["dropped"] == {"東": 1, "京": 1}
    Path(reply["result"]["path"]).unlink()


@pytest.mark.slow
@pytest.mark.parametrize("text", ["a", "Hi", "7"])
def test_one_short_word_gives_audio(coqui: WorkerProc, text: str) -> None:
    reply = say(coqui, text)
    assert reply["ok"] is True, reply
    assert reply["result"]["samples"] > 0
    assert reply["result"]["dropped"] == {}
    Path(reply["result"]["path"]).unlink()


@pytest.mark.slow
def test_piper_reports_nothing_dropped(worker: WorkerProc) -> None:
    assert worker.call({"id": "1", "op": "load", "engine": "piper", "kind": "voice", "model": "en_US-joe-medium"})["ok"] is True
    reply = worker.call({"id": "2", "op": "synthesize", "text": "Hello.", "out": "p.pcm"})
    assert reply["ok"] is True
    assert reply["result"]["dropped"] == {}
