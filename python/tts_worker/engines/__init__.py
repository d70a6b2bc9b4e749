"""Synthesis engines behind one small interface.

An engine is loaded once per worker and then synthesizes many requests. ``synthesize`` yields mono 16-bit
little-endian PCM chunks at ``sample_rate``; it does no file I/O of its own.
"""

from __future__ import annotations

from typing import Any, Iterator, Protocol

from ..errors import WorkerError

__all__ = ["Engine", "load_engine"]


class Engine(Protocol):
    name: str
    model: str
    sample_rate: int
    speakers: list[str]
    languages: list[str]

    def synthesize(self, text: str, speaker: str | None = None, language: str | None = None) -> Iterator[bytes]: ...

    # Optional: ``prepare(pieces, speaker=None, language=None) -> dict[str, int]``, called by the worker with all
    # pieces of a request before any of them is synthesized. It validates the options and returns the characters
    # the model has no tokens for (not spoken) with their counts, or raises WorkerError (E_TEXT_UNSUPPORTED when
    # the model could say next to nothing of the text). Engines without it report nothing dropped.


# What allocation failures say: C++ and glibc, onnxruntime's arena, oneDNN's primitives (torch), libgomp's threads
# (their stacks are mappings too, so RLIMIT_AS refuses them).
_OOM_TEXT = (
    "bad_alloc",
    "cannot allocate memory",
    "failed to map segment",
    "memory allocation",
    "out of memory",
    "failed to allocate memory",
    "could not create a primitive",
    "thread creation failed",
)


def _near_address_space_limit() -> bool:
    """True when this process came within 1/8 of its address-space limit (RLIMIT_AS, from --max-memory)."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit == resource.RLIM_INFINITY:
            return False
        with open("/proc/self/status", encoding="ascii") as f:
            peak = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmPeak:"))
        return peak > limit * 7 // 8
    except (OSError, ValueError, StopIteration):
        return False


def out_of_memory(exc: BaseException) -> bool:
    """MemoryError, or an allocation failure surfacing through an import, a shared library or onnxruntime."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:  # the whole chain: wrappers keep the cause's text
        seen.add(id(e))
        text = str(e).lower()
        if isinstance(e, MemoryError) or any(s in text for s in _OOM_TEXT):
            return True
        # A shared library that cannot be mapped (llvmlite, torch's) when the limit was all but reached.
        if isinstance(e, OSError) and "shared object" in text and _near_address_space_limit():
            return True
        e = e.__cause__ or e.__context__
    return False


def memory_error() -> WorkerError:
    return WorkerError("E_MEMORY_LIMIT", "the engine ran out of memory under the worker's limit")


def load_engine(request: dict[str, Any]) -> Engine:
    """Load the engine a ``load`` request names. Heavy imports happen here, not at worker start."""
    try:
        return _load_engine(request)
    except WorkerError as exc:
        if out_of_memory(exc):
            raise memory_error() from exc
        raise
    except BaseException as exc:
        if out_of_memory(exc):
            raise memory_error() from exc
        raise


def _load_engine(request: dict[str, Any]) -> Engine:
    engine = request.get("engine")
    if engine == "piper":
        from .piper_engine import PiperEngine

        return PiperEngine.load(request)
    if engine == "coqui":
        from .coqui_engine import CoquiEngine

        return CoquiEngine.load(request)
    raise WorkerError("E_BAD_REQUEST", f"unknown engine {engine!r}; expected 'piper' or 'coqui'")
