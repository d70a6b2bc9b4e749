"""A broken copy of a downloaded catalog model is removed (and downloaded again when allowed), not trusted for ever.

A user's own model folder is never touched: its problem is only reported. There is no network on the test
machine, so the download again fails; what matters is that the broken copy is gone and the message says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import WorkerProc
from tts_worker.engines.coqui_engine import checkpoint_problem

VITS = "tts_models/en/ljspeech/vits"


def broken_copy(models: Path, coqui_model: Path, keep: float = 1 / 3) -> Path:
    """``<models>/tts/tts_models--en--ljspeech--vits`` with the fixture's config and a truncated checkpoint."""
    folder = models / "tts" / VITS.replace("/", "--")
    folder.mkdir(parents=True)
    shutil.copy(coqui_model / "config.json", folder / "config.json")
    data = (coqui_model / "model.pth").read_bytes()
    (folder / "model_file.pth").write_bytes(data[: int(len(data) * keep)])
    return folder


def load_catalog(w: WorkerProc, allow_download: bool) -> dict:
    return w.call({"id": "1", "op": "load", "engine": "coqui", "kind": "catalog", "model": VITS, "allow_download": allow_download})


def test_checkpoint_problem_spots_empty_and_truncated_zip_files(tmp_path: Path, coqui_model: Path) -> None:
    good = coqui_model / "model.pth"
    assert checkpoint_problem(good) is None
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    assert "empty" in (checkpoint_problem(empty) or "")
    cut = tmp_path / "cut.pth"
    cut.write_bytes(good.read_bytes()[:100_000])
    assert "truncated" in (checkpoint_problem(cut) or "")
    legacy = tmp_path / "legacy.pth"
    legacy.write_bytes(b"\x80\x02" + b"\x00" * 100)  # an old-style pickle: not checkable without loading
    assert checkpoint_problem(legacy) is None


@pytest.mark.slow
def test_broken_catalog_copy_offline_is_removed_with_a_clear_message(tmp_path: Path, coqui_model: Path) -> None:
    folder = broken_copy(tmp_path / "models", coqui_model)
    w = WorkerProc(tmp_path)
    try:
        reply = load_catalog(w, allow_download=False)
        assert reply["ok"] is False
        err = reply["error"]
        assert err["code"] == "E_MODEL_LOAD"
        msg = err["message"]
        assert VITS in msg and "model_file.pth is truncated" in msg
        assert "has been removed" in msg and "downloaded again on the next run without --offline" in msg
        assert "\n" not in msg and "PytorchStreamReader" not in msg
        assert not folder.exists()
        assert w.call({"id": "2", "op": "ping"})["ok"] is True
    finally:
        w.proc.kill()
        w.proc.wait()


@pytest.mark.slow
def test_broken_catalog_copy_is_downloaded_again_once(tmp_path: Path, coqui_model: Path) -> None:
    folder = broken_copy(tmp_path / "models", coqui_model)
    w = WorkerProc(tmp_path, env={"HF_HUB_OFFLINE": "0"})
    try:
        reply = load_catalog(w, allow_download=True)
        assert reply["ok"] is False
        msg = reply["error"]["message"]
        assert reply["error"]["code"] == "E_MODEL_LOAD"
        assert "has been removed" in msg and "downloading it again failed (" in msg
        assert "downloaded again on the next run with network access" in msg
        assert not folder.exists()
        assert not (tmp_path / "models" / "tts").exists() or not any((tmp_path / "models" / "tts").iterdir())
    finally:
        w.proc.kill()
        w.proc.wait()


@pytest.mark.slow
def test_broken_legacy_checkpoint_is_recognised_by_its_load_error(tmp_path: Path, coqui_model: Path) -> None:
    # An old-style (pickle) checkpoint cannot be checked cheaply; torch's "unexpected EOF" tells it is damaged.
    folder = tmp_path / "models" / "tts" / VITS.replace("/", "--")
    folder.mkdir(parents=True)
    shutil.copy(coqui_model / "config.json", folder / "config.json")
    code = (
        "import torch, sys\n"
        f"sd = torch.load({str(coqui_model / 'model.pth')!r}, weights_only=True)\n"
        f"torch.save(sd, {str(tmp_path / 'legacy.pth')!r}, _use_new_zipfile_serialization=False)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    data = (tmp_path / "legacy.pth").read_bytes()
    (folder / "model_file.pth").write_bytes(data[: len(data) // 2])
    w = WorkerProc(tmp_path)
    try:
        reply = load_catalog(w, allow_download=False)
        assert reply["error"]["code"] == "E_MODEL_LOAD", reply
        assert "has been removed" in reply["error"]["message"]
        assert not folder.exists()
    finally:
        w.proc.kill()
        w.proc.wait()


@pytest.mark.slow
def test_refused_checkpoint_in_the_catalog_is_not_removed_or_downloaded_again(tmp_path: Path, coqui_model: Path) -> None:
    # A checkpoint that asks for pickled objects is refused (weights_only), not "repaired" by a download on
    # every run: the folder stays and the refusal is the error.
    folder = tmp_path / "models" / "tts" / VITS.replace("/", "--")
    folder.mkdir(parents=True)
    shutil.copy(coqui_model / "config.json", folder / "config.json")
    maker = (
        "import collections, torch\n"
        "class Odd(collections.OrderedDict):\n    pass\n"
        f"torch.save({{'model': Odd()}}, {str(folder / 'model_file.pth')!r})\n"
    )
    subprocess.run([sys.executable, "-c", maker], check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    w = WorkerProc(tmp_path)
    try:
        reply = load_catalog(w, allow_download=True)
        assert reply["error"]["code"] == "E_MODEL_LOAD", reply
        assert "refusing to load" in reply["error"]["message"]
        assert folder.is_dir() and (folder / "model_file.pth").is_file()
    finally:
        w.proc.kill()
        w.proc.wait()


@pytest.mark.slow
def test_a_users_broken_model_folder_is_only_reported(tmp_path: Path, coqui_model: Path) -> None:
    mine = tmp_path / "my-model"
    mine.mkdir()
    shutil.copy(coqui_model / "config.json", mine / "config.json")
    data = (coqui_model / "model.pth").read_bytes()
    (mine / "model.pth").write_bytes(data[: len(data) // 2])
    work = tmp_path / "work"
    work.mkdir()
    w = WorkerProc(work)
    try:
        reply = w.call({"id": "1", "op": "load", "engine": "coqui", "kind": "folder", "model": str(mine)})
        assert reply["error"]["code"] == "E_MODEL_LOAD"
        msg = reply["error"]["message"]
        assert str(mine) in msg and "model.pth is truncated" in msg
        assert "removed" not in msg
        assert (mine / "model.pth").read_bytes() == data[: len(data) // 2]
        assert (mine / "config.json").is_file()
    finally:
        w.proc.kill()
        w.proc.wait()
