"""Shared fixtures: a running worker process talking the real protocol over pipes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
COQUI_FIXTURE = ROOT / "test" / ".cache" / "coqui-tiny-vits"


class WorkerProc:
    """The worker as the CLI runs it: ``python -I -m tts_worker`` with a small explicit environment."""

    def __init__(self, cwd: Path, env: dict[str, str] | None = None) -> None:
        base_env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(cwd),
            "TTS_HOME": str(cwd / "models"),
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
            "NUMBA_CACHE_DIR": str(cwd / "numba"),
            "MPLCONFIGDIR": str(cwd / "mpl"),
        }
        if env:
            base_env.update(env)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "tts_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=base_env,
        )
        self.cwd = cwd
        self.hello = self.read()

    def send_raw(self, line: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line)
        self.proc.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.send_raw(json.dumps(message).encode() + b"\n")

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"worker closed its stdout; stderr: {self.stderr_text()}"
        return json.loads(line)

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        self.send(message)
        return self.read()

    def close(self) -> int:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        return self.proc.wait(timeout=30)

    def stderr_text(self) -> str:
        return ""


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[WorkerProc]:
    w = WorkerProc(tmp_path)
    yield w
    w.proc.kill()
    w.proc.wait()


@pytest.fixture(scope="session")
def coqui_model() -> Path:
    if not (COQUI_FIXTURE / "model.pth").exists():
        subprocess.run(
            [sys.executable, str(ROOT / "test" / "fixtures" / "make_coqui_model.py"), str(COQUI_FIXTURE)],
            check=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
    return COQUI_FIXTURE
