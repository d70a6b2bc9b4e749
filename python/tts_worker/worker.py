"""The worker loop: read one JSON request per line, answer one JSON reply per line.

Messages (protocol 1)::

    <- {"type":"hello","protocol":1,"version":..,"pid":..,"executable":..,"isolated":true}
    -> {"id":"1","op":"load","engine":"piper","kind":"voice","model":"en_US-joe-medium"}
    <- {"id":"1","ok":true,"type":"ready","result":{"protocol":1,"engine":..,"model":..,"sample_rate":..,
        "speakers":[..],"languages":[..],"load_ms":..}}
    -> {"id":"2","op":"synthesize","text":"Hello","out":"r2.pcm"}
    <- {"id":"2","ok":true,"result":{"path":"/private/dir/r2.pcm","sample_rate":22050,"channels":1,
        "sample_width":2,"samples":..,"engine_ms":..,"dropped":{"ə":3,..}}}
    -> {"id":"3","op":"ping"} | {"op":"env"} | {"op":"shutdown"}
    <- {"id":..,"ok":false,"error":{"code":"E_...","message":".."}}

``dropped``: characters of the text the model has no tokens for (so they are not spoken), with their counts,
after the model's own text cleaning; ``{}`` when nothing is dropped or the engine cannot tell.

Audio never travels on the protocol stream: the worker writes raw PCM into its working directory (a private
directory the CLI created) and the CLI does all placement. The worker exits when stdin closes.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import sys
import threading
import time
import traceback
from typing import Any, Callable

from . import PROTOCOL_VERSION, __version__
from .chunking import split_text
from .engines import Engine, load_engine, memory_error, out_of_memory
from .errors import BadRequest, WorkerError
from .stdio import ProtocolStream, take_over_stdout

_LOGGER = logging.getLogger("tts_worker")
#: Longest request line accepted (text is capped far below this by the CLI).
MAX_LINE_BYTES = 1 << 20
_SAFE_OUT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class ClientGone(Exception):
    """The CLI that started us died while a request was running: stop work and exit (no orphans)."""


class Worker:
    def __init__(self, proto: ProtocolStream) -> None:
        self.proto = proto
        #: The CLI's pid. If we are re-parented, the CLI died: a long synthesis stops at its next chunk.
        self.parent_pid = os.getppid()
        #: Files this worker wrote (the CLI normally removes them; see cleanup_if_orphaned).
        self.written: list[str] = []
        self.engines: dict[tuple[str, str, str], Engine] = {}
        self.current: Engine | None = None
        self.ops: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "load": self.op_load,
            "synthesize": self.op_synthesize,
            "encode": self.op_encode,
            "ping": lambda _msg: {"pong": True, "pid": os.getpid()},
            "env": self.op_env,
            "shutdown": lambda _msg: {"bye": True},
        }

    def op_load(self, msg: dict[str, Any]) -> dict[str, Any]:
        engine, kind, model = (str(msg.get(k, "")) for k in ("engine", "kind", "model"))
        if not engine or not model:
            raise BadRequest("load needs 'engine' and 'model'")
        key = (engine, kind, model)
        started = time.perf_counter()
        if key not in self.engines:
            self.engines[key] = load_engine(msg)
        self.current = self.engines[key]
        e = self.current
        return {
            "protocol": PROTOCOL_VERSION,
            "engine": e.name,
            "model": e.model,
            "sample_rate": e.sample_rate,
            "speakers": list(e.speakers or []),
            "languages": list(e.languages or []),
            "load_ms": round((time.perf_counter() - started) * 1000, 1),
        }

    def op_encode(self, msg: dict[str, Any]) -> dict[str, Any]:
        """PCM the CLI spooled into this directory -> MP3/Ogg/FLAC/M4A next to it (python/tts_worker/encode.py)."""
        names = [msg.get("in"), msg.get("out")]
        for name in names:
            if not isinstance(name, str) or not name or name.startswith(".") or not set(name) <= _SAFE_OUT:
                raise BadRequest("'in' and 'out' must be plain file names inside the worker's directory")
        fmt, rate = msg.get("format"), msg.get("sample_rate")
        if not isinstance(fmt, str) or not isinstance(rate, int) or not 1000 <= rate <= 384_000:
            raise BadRequest("encode needs a 'format' string and an integer 'sample_rate'")
        src, dst = (os.path.join(os.getcwd(), n) for n in names)
        if os.path.islink(src) or not os.path.isfile(src):
            raise BadRequest("'in' must be a regular file the client spooled into the worker's directory")
        if os.path.lexists(dst):
            raise BadRequest("'out' already exists; the worker never overwrites a file")
        self.written.append(dst)
        from .encode import encode

        try:
            return encode(src, dst, fmt, rate)
        except BaseException:
            if os.path.exists(dst):
                os.unlink(dst)
            raise

    def op_synthesize(self, msg: dict[str, Any]) -> dict[str, Any]:
        if self.current is None:
            raise WorkerError("E_NOT_LOADED", "no model loaded; send a 'load' request first")
        text = msg.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("synthesize needs a non-empty 'text' string")
        out = msg.get("out")
        if not isinstance(out, str) or not out or out.startswith(".") or not set(out) <= _SAFE_OUT:
            raise BadRequest("'out' must be a plain file name inside the worker's directory")
        speaker = msg.get("speaker")
        language = msg.get("language")
        path = os.path.join(os.getcwd(), out)
        started = time.perf_counter()
        samples = 0
        pieces = split_text(text)
        # Checked before any audio is made: options, and characters the model has no tokens for (reported to
        # the CLI, which warns once per run; text the model can say next to nothing of is refused here).
        prepare = getattr(self.current, "prepare", None)
        dropped: dict[str, int] = prepare(pieces, speaker=speaker, language=language) if prepare else {}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        self.written.append(path)
        try:
            with os.fdopen(fd, "wb") as f:
                for piece in pieces:
                    for chunk in self.current.synthesize(piece, speaker=speaker, language=language):
                        if os.getppid() != self.parent_pid:
                            raise ClientGone()
                        f.write(chunk)
                        samples += len(chunk) // 2
        except BaseException:
            os.unlink(path)
            raise
        if samples == 0:
            os.unlink(path)
            raise WorkerError("E_SYNTHESIS", "the engine produced no audio for this text")
        return {
            "path": path,
            "sample_rate": self.current.sample_rate,
            "channels": 1,
            "sample_width": 2,
            "samples": samples,
            "engine_ms": round((time.perf_counter() - started) * 1000, 1),
            "dropped": dropped,
        }

    def cleanup_if_orphaned(self, client_closed: bool = False) -> None:
        """When the CLI died (kill -9), nobody else will remove our files and private directory: do it.

        ``client_closed``: stdin ended or stdout broke. A killed parent closes its pipes before the kernel
        re-parents us, so getppid() may still name it: a closed pipe counts as gone too. (A CLI that closes stdin
        normally has read every result it wanted; what is left is unread and can go.)
        """
        if os.getppid() == self.parent_pid and not client_closed:
            return
        # Ours, and the PCM the client spools here for 'encode' (named encode-*, by the protocol).
        spooled = [e.path for e in os.scandir(".") if e.name.startswith("encode-") and e.is_file(follow_symlinks=False)]
        for path in [*self.written, *spooled]:
            try:
                os.unlink(path)
            except OSError:
                pass
        try:
            os.rmdir(os.getcwd())  # only succeeds if empty: never removes anything else
        except OSError:
            pass

    def op_env(self, _msg: dict[str, Any]) -> dict[str, Any]:
        """What the worker actually runs with; tests use it to prove the environment was scrubbed."""
        return {
            "env": dict(os.environ),
            "sys_path": list(sys.path),
            "executable": sys.executable,
            "isolated": bool(sys.flags.isolated),
            "cwd": os.getcwd(),
            "modules": sorted(m for m in sys.modules if m in {"sitecustomize", "usercustomize"}),
            "limits": {name: list(__import__("resource").getrlimit(getattr(__import__("resource"), name))) for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE")},
        }

    def handle(self, raw: bytes) -> bool:
        """Answer one request line. Returns False when the worker should stop."""
        try:
            msg = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.proto.send({"id": None, "ok": False, "error": {"code": "E_BAD_JSON", "message": f"request is not JSON: {exc}"}})
            return True
        if not isinstance(msg, dict):
            self.proto.send({"id": None, "ok": False, "error": {"code": "E_BAD_REQUEST", "message": "request must be a JSON object"}})
            return True
        req_id = msg.get("id")
        op = msg.get("op")
        handler = self.ops.get(op) if isinstance(op, str) else None
        if handler is None:
            self.proto.send({"id": req_id, "ok": False, "error": {"code": "E_UNKNOWN_OP", "message": f"unknown op {op!r}; expected one of {', '.join(self.ops)}"}})
            return True
        try:
            result = handler(msg)
        except ClientGone:
            raise
        except WorkerError as exc:
            if exc.code in ("E_SYNTHESIS", "E_MODEL_LOAD") and out_of_memory(exc):
                exc = memory_error()  # an engine's own wrapper around an allocation failure
            self.proto.send({"id": req_id, "ok": False, "error": {"code": exc.code, "message": exc.message}})
            return True
        except Exception as exc:  # a bug or an engine failure we did not classify
            if out_of_memory(exc):
                err = memory_error()
                self.proto.send({"id": req_id, "ok": False, "error": {"code": err.code, "message": err.message}})
                return True
            traceback.print_exc(file=sys.stderr)
            code = "E_SYNTHESIS" if op == "synthesize" else "E_INTERNAL"
            self.proto.send({"id": req_id, "ok": False, "error": {"code": code, "message": f"{type(exc).__name__}: {exc}"[:500]}})
            return True
        reply: dict[str, Any] = {"id": req_id, "ok": True, "result": result}
        if op == "load":
            reply["type"] = "ready"
        self.proto.send(reply)
        return op != "shutdown"


def _read_line(stream: Any) -> bytes | None:
    """One request line, or None at EOF. Over-long lines are drained and answered with an error."""
    line = stream.readline(MAX_LINE_BYTES + 1)
    if not line:
        return None
    if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
        while True:
            rest = stream.readline(MAX_LINE_BYTES)
            if not rest or rest.endswith(b"\n"):
                break
        return b"\x00too-long"
    return line


def apply_limits() -> dict[str, int]:
    """Resource limits on this process, from the CLI (TTS_WORKER_LIMITS="as_mb,cpu_s,fsize_mb,nofile").

    A runaway model cannot take the machine's memory (address space), spin for ever (CPU seconds), fill the disk
    (file size) or exhaust descriptors; core dumps are off. Values of 0 leave that limit alone.
    """
    import resource

    applied: dict[str, int] = {}
    raw = os.environ.get("TTS_WORKER_LIMITS", "")
    try:
        as_mb, cpu_s, fsize_mb, nofile = (int(x) for x in raw.split(",")) if raw else (0, 0, 0, 0)
    except ValueError:
        as_mb = cpu_s = fsize_mb = nofile = 0
    wanted = {
        "RLIMIT_CORE": 0,
        "RLIMIT_AS": as_mb * 1024 * 1024,
        "RLIMIT_CPU": cpu_s,
        "RLIMIT_FSIZE": fsize_mb * 1024 * 1024,
        "RLIMIT_NOFILE": nofile,
    }
    for name, value in wanted.items():
        if value == 0 and name != "RLIMIT_CORE":
            continue
        res = getattr(resource, name, None)
        if res is None:
            continue
        soft, hard = resource.getrlimit(res)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(res, (value, hard if name != "RLIMIT_CPU" else hard))
            applied[name] = value
        except (ValueError, OSError):
            pass
    return applied


def main(argv: list[str] | None = None) -> int:
    # Ctrl-C reaches the whole foreground process group; the CLI owns cancellation, so stay quiet.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limits = apply_limits()
    proto = take_over_stdout()
    level = logging.DEBUG if os.environ.get("TTS_WORKER_VERBOSE") == "1" else logging.ERROR
    logging.basicConfig(stream=sys.stderr, level=level, format="worker: %(name)s: %(message)s")
    for noisy in ("TTS", "trainer", "piper", "numba", "matplotlib", "urllib3", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(level)
    if level != logging.DEBUG:
        import warnings

        warnings.filterwarnings("ignore")
    worker = Worker(proto)
    proto.send(
        {
            "type": "hello",
            "protocol": PROTOCOL_VERSION,
            "version": __version__,
            "pid": os.getpid(),
            "executable": sys.executable,
            "isolated": bool(sys.flags.isolated),
            "limits": limits,
        }
    )
    requests: queue.Queue[bytes | None] = queue.Queue(maxsize=64)

    def reader() -> None:
        stdin = sys.stdin.buffer
        while True:
            line = _read_line(stdin)
            if line is None:
                requests.put(None)
                return
            requests.put(line)

    threading.Thread(target=reader, name="stdin-reader", daemon=True).start()
    client_closed = False
    try:
        while True:
            raw = requests.get()
            if raw is None:
                client_closed = True
                return 0
            if raw == b"\x00too-long":
                proto.send({"id": None, "ok": False, "error": {"code": "E_BAD_REQUEST", "message": f"request longer than {MAX_LINE_BYTES} bytes"}})
                continue
            if not raw.strip():
                continue
            try:
                if not worker.handle(raw):
                    return 0
            except (BrokenPipeError, ClientGone):
                client_closed = True
                return 0
    finally:
        worker.cleanup_if_orphaned(client_closed)
