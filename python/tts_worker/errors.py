"""Typed worker errors; each carries a stable code that the CLI maps to an exit status."""

from __future__ import annotations


class WorkerError(Exception):
    """An error reported to the client as ``{"ok": false, "error": {"code", "message"}}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BadRequest(WorkerError):
    def __init__(self, message: str) -> None:
        super().__init__("E_BAD_REQUEST", message)
