"""Split text into pieces an engine can take in one call, so memory is bounded by the piece, not the input.

Engines split on sentence ends themselves, but a long run without full stops is one "sentence" to them, and the
models' memory grows faster than linearly with its length (Piper needed 1.6 GB for 1,000 characters without a
full stop, and was killed by the OOM killer at 10,000). So: sentences are grouped up to ``max_chars``; a sentence
longer than that is cut at clause punctuation, then at a space, and only as a last resort inside a word.
"""

from __future__ import annotations

import re

#: Longest piece handed to an engine in one call.
MAX_CHUNK_CHARS = 250

_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])\s+|\n\s*\n")
_CLAUSE_BREAK = re.compile(r"[,;:—–)\]]\s+|\s+[-—–(]\s*")


def _split_sentence(sentence: str, max_chars: int) -> list[str]:
    pieces: list[str] = []
    rest = sentence
    while len(rest) > max_chars:
        window = rest[: max_chars + 1]
        cut = 0
        for m in _CLAUSE_BREAK.finditer(window):
            if m.end() <= max_chars and m.start() >= max_chars // 3:
                cut = m.end()
        if not cut:
            space = window.rfind(" ", max_chars // 3)
            cut = space + 1 if space > 0 else max_chars
        piece = rest[:cut].strip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip()
    if rest.strip():
        pieces.append(rest.strip())
    return pieces


def split_text(text: str, max_chars: int = MAX_CHUNK_CHARS) -> list[str]:
    """Pieces of at most ``max_chars`` characters, in order, together holding all the words of ``text``."""
    chunks: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        sentence = " ".join(sentence.split())
        if not sentence:
            continue
        for piece in _split_sentence(sentence, max_chars) if len(sentence) > max_chars else [sentence]:
            if current and len(current) + 1 + len(piece) <= max_chars:
                current = f"{current} {piece}"
            else:
                if current:
                    chunks.append(current)
                current = piece
    if current:
        chunks.append(current)
    return chunks
