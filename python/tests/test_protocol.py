"""The worker protocol, exercised through a real worker process."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest

from conftest import WorkerProc

PIPER = {"op": "load", "engine": "piper", "kind": "voice", "model": "en_US-joe-medium"}


def test_hello_comes_first_and_names_the_interpreter(worker: WorkerProc) -> None:
    h = worker.hello
    assert h["type"] == "hello"
    assert h["protocol"] == 1
    assert h["isolated"] is True
    assert h["pid"] == worker.proc.pid


def test_bad_json_gets_an_error_reply_and_the_worker_keeps_serving(worker: WorkerProc) -> None:
    worker.send_raw(b"this is not json\n")
    reply = worker.read()
    assert reply == {"id": None, "ok": False, "error": {"code": "E_BAD_JSON", "message": reply["error"]["message"]}}
    worker.send_raw(b"\xff\xfe\n")
    assert worker.read()["error"]["code"] == "E_BAD_JSON"
    worker.send_raw(b"[1, 2]\n")
    assert worker.read()["error"]["code"] == "E_BAD_REQUEST"
    assert worker.call({"id": "p", "op": "ping"}) == {"id": "p", "ok": True, "result": {"pong": True, "pid": worker.proc.pid}}


def test_unknown_op_gets_an_error_reply_and_the_worker_keeps_serving(worker: WorkerProc) -> None:
    reply = worker.call({"id": "7", "op": "format_disk"})
    assert reply["id"] == "7"
    assert reply["ok"] is False
    assert reply["error"]["code"] == "E_UNKNOWN_OP"
    assert worker.call({"id": "8", "op": "ping"})["ok"] is True


def test_synthesize_before_load_is_refused(worker: WorkerProc) -> None:
    reply = worker.call({"id": "1", "op": "synthesize", "text": "hi", "out": "a.pcm"})
    assert reply["error"]["code"] == "E_NOT_LOADED"


def test_unknown_engine_and_voice_are_errors(worker: WorkerProc) -> None:
    assert worker.call({"id": "1", "op": "load", "engine": "espeak", "model": "x"})["error"]["code"] == "E_BAD_REQUEST"
    reply = worker.call({"id": "2", "op": "load", "engine": "piper", "kind": "voice", "model": "en_US-nobody-low"})
    assert reply["error"]["code"] == "E_MODEL_UNKNOWN"
    assert worker.call({"id": "3", "op": "ping"})["ok"] is True


def test_exits_cleanly_when_stdin_closes(worker: WorkerProc) -> None:
    assert worker.close() == 0


def test_shutdown_op_replies_then_exits(worker: WorkerProc) -> None:
    assert worker.call({"id": "s", "op": "shutdown"})["ok"] is True
    assert worker.proc.wait(timeout=10) == 0


def test_env_report_shows_isolation(worker: WorkerProc) -> None:
    reply = worker.call({"id": "e", "op": "env"})["result"]
    assert reply["isolated"] is True
    assert not any(k.startswith("PYTHON") for k in reply["env"])
    assert reply["cwd"] == str(worker.cwd)
    assert "" not in reply["sys_path"] and str(worker.cwd) not in reply["sys_path"]


def test_a_json_py_in_the_working_directory_is_not_imported(tmp_path: Path) -> None:
    (tmp_path / "json.py").write_text("raise SystemExit('hijacked')\n")
    w = WorkerProc(tmp_path)
    try:
        assert w.hello["type"] == "hello"
        assert w.call({"id": "1", "op": "ping"})["ok"] is True
    finally:
        w.proc.kill()
        w.proc.wait()


@pytest.mark.slow
def test_piper_load_and_synthesize_writes_pcm_in_its_directory(worker: WorkerProc) -> None:
    ready = worker.call({"id": "1", **PIPER})
    assert ready["ok"] is True and ready["type"] == "ready"
    info = ready["result"]
    assert info["protocol"] == 1 and info["engine"] == "piper" and info["sample_rate"] == 22050
    assert info["speakers"] == []
    reply = worker.call({"id": "2", "op": "synthesize", "text": "Hello world.", "out": "r2.pcm"})
    assert reply["ok"] is True, reply
    res = reply["result"]
    path = Path(res["path"])
    assert path.parent == worker.cwd
    data = path.read_bytes()
    assert len(data) == res["samples"] * 2
    assert 0.5 < res["samples"] / res["sample_rate"] < 3
    samples = struct.unpack(f"<{len(data) // 2}h", data)
    assert max(abs(s) for s in samples) > 1000
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


@pytest.mark.slow
def test_out_must_be_a_plain_name_in_the_worker_directory(worker: WorkerProc) -> None:
    assert worker.call({"id": "1", **PIPER})["ok"] is True
    for bad in ("../escape.pcm", "/tmp/x.pcm", "sub/x.pcm", ".hidden", ""):
        reply = worker.call({"id": "b", "op": "synthesize", "text": "Hello.", "out": bad})
        assert reply["error"]["code"] == "E_BAD_REQUEST", bad
    assert not (worker.cwd.parent / "escape.pcm").exists()


@pytest.mark.slow
def test_existing_out_file_is_never_overwritten(worker: WorkerProc) -> None:
    assert worker.call({"id": "1", **PIPER})["ok"] is True
    (worker.cwd / "taken.pcm").write_bytes(b"keep")
    reply = worker.call({"id": "2", "op": "synthesize", "text": "Hello.", "out": "taken.pcm"})
    assert reply["ok"] is False
    assert (worker.cwd / "taken.pcm").read_bytes() == b"keep"
    assert worker.call({"id": "3", "op": "ping"})["ok"] is True


@pytest.mark.slow
def test_protocol_stream_carries_only_json_lines(tmp_path: Path) -> None:
    w = WorkerProc(tmp_path, env={"TTS_WORKER_VERBOSE": "1"})
    try:
        w.send({"id": "1", **PIPER})
        w.send({"id": "2", "op": "synthesize", "text": "One. Two.", "out": "a.pcm"})
        out, err = w.proc.communicate(timeout=120)
        lines = out.decode().splitlines()
        assert [json.loads(line)["id"] for line in lines] == ["1", "2"]
        assert w.proc.returncode == 0
    finally:
        w.proc.kill()


@pytest.mark.slow
def test_coqui_local_model_through_tts_api(tmp_path: Path, coqui_model: Path) -> None:
    w = WorkerProc(tmp_path)
    try:
        ready = w.call({"id": "1", "op": "load", "engine": "coqui", "kind": "folder", "model": str(coqui_model)})
        assert ready["ok"] is True, ready
        assert ready["result"]["engine"] == "coqui"
        assert ready["result"]["sample_rate"] == json.loads((coqui_model / "FIXTURE.json").read_text())["sample_rate"]
        reply = w.call({"id": "2", "op": "synthesize", "text": "Hello there.", "out": "c.pcm"})
        assert reply["ok"] is True, reply
        assert reply["result"]["samples"] > 0
        speaker = w.call({"id": "3", "op": "synthesize", "text": "Hello.", "out": "d.pcm", "speaker": "bob"})
        assert speaker["error"]["code"] == "E_SPEAKER"
    finally:
        w.proc.kill()
        w.proc.wait()


@pytest.mark.slow
def test_coqui_catalog_model_offline_is_a_download_error(tmp_path: Path) -> None:
    w = WorkerProc(tmp_path, env={"HF_HUB_OFFLINE": "0"})
    try:
        reply = w.call({"id": "1", "op": "load", "engine": "coqui", "kind": "catalog", "model": "tts_models/en/ljspeech/vits", "allow_download": True})
        assert reply["ok"] is False
        assert reply["error"]["code"] == "E_MODEL_DOWNLOAD"
        assert "tts_models/en/ljspeech/vits" in reply["error"]["message"]
        assert not (tmp_path / "models" / "tts" / "tts_models--en--ljspeech--vits").exists()
        # downloads disabled: refused without touching the network
        reply = w.call({"id": "2", "op": "load", "engine": "coqui", "kind": "catalog", "model": "tts_models/en/ljspeech/vits", "allow_download": False})
        assert reply["error"]["code"] == "E_MODEL_DOWNLOAD"
        assert "disabled" in reply["error"]["message"]
    finally:
        w.proc.kill()
        w.proc.wait()


def test_catalog_model_needing_a_licence_never_prompts(tmp_path: Path) -> None:
    w = WorkerProc(tmp_path)
    try:
        reply = w.call({"id": "1", "op": "load", "engine": "coqui", "kind": "catalog", "model": "tts_models/multilingual/multi-dataset/xtts_v2"})
        assert reply["ok"] is False
        assert reply["error"]["code"] == "E_MODEL_LICENSE"
    finally:
        w.proc.kill()
        w.proc.wait()


@pytest.mark.slow
def test_coqui_refuses_text_without_known_characters_and_checks_language(tmp_path: Path, coqui_model: Path) -> None:
    w = WorkerProc(tmp_path)
    try:
        assert w.call({"id": "1", "op": "load", "engine": "coqui", "kind": "folder", "model": str(coqui_model)})["ok"] is True
        reply = w.call({"id": "2", "op": "synthesize", "text": "東京", "out": "a.pcm"})
        assert reply["error"]["code"] == "E_TEXT_UNSUPPORTED"
        reply = w.call({"id": "3", "op": "synthesize", "text": "Hello", "out": "b.pcm", "language": "en"})
        assert reply["error"]["code"] == "E_SPEAKER"
        assert w.call({"id": "4", "op": "synthesize", "text": "Hello", "out": "c.pcm"})["ok"] is True
        assert sorted(p.name for p in tmp_path.glob("*.pcm")) == ["c.pcm"]
    finally:
        w.proc.kill()
        w.proc.wait()


@pytest.mark.slow
def test_pickle_canary_checkpoint_never_runs_code(tmp_path: Path, coqui_model: Path) -> None:
    """A checkpoint whose unpickling would run a command is refused, and the command never runs."""
    import shutil
    import subprocess
    import sys

    evil = tmp_path / "evil-model"
    evil.mkdir()
    shutil.copy(coqui_model / "config.json", evil / "config.json")
    canary = tmp_path / "CANARY"
    maker = (
        "import os, sys, torch\n"
        "class Evil:\n"
        "    def __reduce__(self):\n"
        f"        return (os.system, ('touch {canary}',))\n"
        f"torch.save({{'model': Evil()}}, {str(evil / 'model.pth')!r})\n"
    )
    subprocess.run([sys.executable, "-c", maker], check=True)
    assert not canary.exists()
    work = tmp_path / "work"
    work.mkdir()
    w = WorkerProc(work)
    try:
        reply = w.call({"id": "1", "op": "load", "engine": "coqui", "kind": "folder", "model": str(evil)})
        assert reply["ok"] is False
        assert reply["error"]["code"] == "E_MODEL_LOAD"
        assert not canary.exists(), "the pickled command ran"
        assert w.call({"id": "2", "op": "ping"})["ok"] is True
    finally:
        w.proc.kill()
        w.proc.wait()
    assert not canary.exists()


@pytest.mark.slow
def test_weights_only_false_is_refused_not_obeyed(tmp_path: Path) -> None:
    """Coqui code that asks for weights_only=False (bark does) gets a refusal, not an unpickler."""
    import torch

    from tts_worker.engines.coqui_engine import _enforce_weights_only
    from tts_worker.errors import WorkerError

    canary = tmp_path / "CANARY"

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {canary}",))

    path = tmp_path / "evil.pth"
    torch.save({"x": Evil()}, str(path))
    original = torch.load
    try:
        _enforce_weights_only(torch)
        with pytest.raises(WorkerError) as info:
            torch.load(str(path), weights_only=False)
        assert info.value.code == "E_MODEL_LOAD"
        with pytest.raises(WorkerError):
            torch.load(str(path))
        assert torch.load is not original
    finally:
        torch.load = original
    assert not canary.exists()


def test_unread_results_are_removed_when_the_client_closes_stdin(tmp_path: Path) -> None:
    # A CLI that stops reading (its stdout reader went away, or it was killed) leaves queued results behind;
    # the worker removes them, and its directory when empty, as it exits.
    w = WorkerProc(tmp_path)
    assert w.call({"id": "1", **PIPER})["ok"] is True
    reply = w.call({"id": "2", "op": "synthesize", "text": "Nobody reads this.", "out": "unread.pcm"})
    path = Path(reply["result"]["path"])
    assert path.exists()
    assert w.proc.stdin is not None
    w.proc.stdin.close()
    assert w.proc.wait(timeout=30) == 0
    assert not path.exists()


def test_piper_is_reproducible_for_the_same_sequence_of_requests(tmp_path: Path) -> None:
    # The voice samples noise; its generator is seeded when the voice loads, so two fresh workers agree.
    outs = []
    for k in range(2):
        d = tmp_path / f"w{k}"
        d.mkdir()
        w = WorkerProc(d)
        try:
            assert w.call({"id": "1", **PIPER})["ok"] is True
            got = []
            for i, text in enumerate(["One sentence.", "And another one."]):
                res = w.call({"id": f"s{i}", "op": "synthesize", "text": text, "out": f"s{i}.pcm"})["result"]
                got.append(Path(res["path"]).read_bytes())
            outs.append(got)
        finally:
            w.proc.kill()
            w.proc.wait()
    assert outs[0] == outs[1]


@pytest.mark.slow
def test_coqui_output_depends_only_on_the_text(tmp_path: Path, coqui_model: Path) -> None:
    # Seeded per request: a sentence gives the same audio whatever was synthesized before it (batch == single).
    w = WorkerProc(tmp_path)
    try:
        assert w.call({"id": "1", "op": "load", "engine": "coqui", "kind": "folder", "model": str(coqui_model)})["ok"] is True
        first = w.call({"id": "2", "op": "synthesize", "text": "Same words.", "out": "a.pcm"})["result"]
        w.call({"id": "3", "op": "synthesize", "text": "Something else in between.", "out": "b.pcm"})
        again = w.call({"id": "4", "op": "synthesize", "text": "Same words.", "out": "c.pcm"})["result"]
        assert Path(first["path"]).read_bytes() == Path(again["path"]).read_bytes()
    finally:
        w.proc.kill()
        w.proc.wait()


def test_encode_turns_spooled_pcm_into_each_container_and_refuses_unsafe_names(worker: WorkerProc) -> None:
    import math
    import struct

    import av

    rate = 22050
    pcm = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(rate))
    (worker.cwd / "in.pcm").write_bytes(pcm)
    magic = {"mp3": (0, b"ID3"), "ogg": (0, b"OggS"), "flac": (0, b"fLaC"), "m4a": (4, b"ftypM4A ")}
    for n, (fmt, (offset, sig)) in enumerate(magic.items()):
        reply = worker.call({"id": f"e{n}", "op": "encode", "in": "in.pcm", "out": f"out.{fmt}", "format": fmt, "sample_rate": rate})
        assert reply["ok"] is True, reply
        path = Path(reply["result"]["path"])
        assert path.parent == worker.cwd
        data = path.read_bytes()
        assert data[offset : offset + len(sig)] == sig, fmt
        with av.open(str(path)) as c:
            stream = c.streams.audio[0]
            decoded = sum(frame.samples for frame in c.decode(stream))
            assert abs(decoded / stream.rate - 1.0) < 0.05, (fmt, decoded, stream.rate)
    # Names are plain names in the worker's directory; an existing output is never overwritten; formats are known.
    for bad in ({"in": "../x.pcm"}, {"out": "/tmp/x.mp3"}, {"out": "out.mp3"}, {"format": "wma"}, {"sample_rate": "fast"}):
        msg = {"id": "bad", "op": "encode", "in": "in.pcm", "out": "other.mp3", "format": "mp3", "sample_rate": rate, **bad}
        reply = worker.call(msg)
        assert reply["ok"] is False and reply["error"]["code"] == "E_BAD_REQUEST", bad
    assert not (worker.cwd / "other.mp3").exists()
    assert worker.call({"id": "p", "op": "ping"})["ok"] is True
