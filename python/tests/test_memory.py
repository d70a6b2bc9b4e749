"""How allocation failures are recognised, wherever in a chain of wrapped exceptions they surface."""

from __future__ import annotations

from tts_worker.engines import out_of_memory


def _wrapped(inner: BaseException, outer: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:
        return exc


def test_memory_errors_and_native_allocation_failures_count() -> None:
    assert out_of_memory(MemoryError())
    assert out_of_memory(RuntimeError("std::bad_alloc"))
    assert out_of_memory(OSError("libfoo.so: failed to map segment from shared object"))
    assert out_of_memory(_wrapped(MemoryError(), RuntimeError("could not load model")))
    # onnxruntime's arena (the embedded voice), oneDNN under torch, libgomp's thread stacks.
    assert out_of_memory(RuntimeError("[ONNXRuntimeError] : 6 : BFCArena::AllocateRawInternal Failed to allocate memory for requested buffer"))
    assert out_of_memory(RuntimeError("could not create a primitive"))
    assert out_of_memory(RuntimeError("libgomp: Thread creation failed: Resource temporarily unavailable"))


def test_other_errors_do_not() -> None:
    assert not out_of_memory(ValueError("bad config"))
    assert not out_of_memory(_wrapped(KeyError("x"), RuntimeError("could not load model")))
    # Without an address-space limit close to being reached, a missing library is a broken install, not memory.
    assert not out_of_memory(OSError("Could not find/load shared object file 'libllvmlite.so'"))
