"""Keep the protocol stream clean.

The real stdout file descriptor is duplicated to a private descriptor used only for protocol lines, and fd 1 is
pointed at stderr. Anything printed later -- by Python code, tqdm, torch, onnxruntime or C libraries writing to fd 1
-- lands on stderr instead of corrupting the protocol.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from typing import Any, BinaryIO


class ProtocolStream:
    """Writes one JSON object per line, flushed, thread-safe."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            self._raw.write(line.encode("utf-8"))
            self._raw.flush()


def take_over_stdout() -> ProtocolStream:
    """Move the protocol to a private fd and send fd 1 (and sys.stdout) to stderr."""
    sys.stdout.flush()
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = io.TextIOWrapper(os.fdopen(os.dup(2), "wb", buffering=0), encoding="utf-8", line_buffering=True)
    return ProtocolStream(os.fdopen(proto_fd, "wb", buffering=0))
