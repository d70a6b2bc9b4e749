"""Coqui TTS through its public API, ``TTS.api.TTS``.

Two kinds of model:

* a local model folder (``config.json`` plus one checkpoint), loaded with
  ``TTS(model_path=<checkpoint>, config_path=<config.json>)``;
* a catalog id (``tts_models/<lang>/<dataset>/<model>``) from the catalog shipped inside the installed coqui-tts,
  loaded with ``TTS(model_name)``, which downloads into the pinned ``TTS_HOME`` when the model is not there yet.

The worker never prompts: Coqui's licence question reads ``input()``, and our stdin belongs to the protocol.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..errors import WorkerError

#: Checkpoint names tried in order inside a model folder.
CHECKPOINT_NAMES = ("model.pth", "model_file.pth", "best_model.pth", "checkpoint.pth", "model.pt")


def _enforce_weights_only(torch: Any) -> None:
    """Every checkpoint is loaded with torch.load(weights_only=True): tensors and plain containers, never pickled
    code. A caller asking for weights_only=False is refused rather than obeyed (no fallback)."""
    original = torch.load
    if getattr(original, "_tts_safe", False):
        return

    def safe_load(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("weights_only") is False:
            raise WorkerError("E_MODEL_LOAD", "refusing to load a checkpoint with weights_only=False (it could run code)")
        kwargs["weights_only"] = True
        try:
            return original(*args, **kwargs)
        except Exception as exc:
            if type(exc).__name__ == "UnpicklingError":
                raise WorkerError("E_MODEL_LOAD", f"the checkpoint holds objects other than weights; refusing to load it ({str(exc).splitlines()[0][:200]})") from exc
            raise

    safe_load._tts_safe = True  # type: ignore[attr-defined]
    torch.load = safe_load


def _no_prompt(*_args: object, **_kwargs: object) -> str:
    raise WorkerError(
        "E_MODEL_LICENSE",
        "this model requires accepting its licence; pass --accept-model-license if you agree to it",
    )


def find_checkpoint(folder: Path) -> Path:
    for name in CHECKPOINT_NAMES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    found = sorted(p for p in folder.glob("*.pth") if p.is_file() and not p.name.startswith(("speakers", "language")))
    if len(found) == 1:
        return found[0]
    if not found:
        raise WorkerError("E_MODEL_FOLDER", f"model folder {folder} has no checkpoint (expected one of {', '.join(CHECKPOINT_NAMES)})")
    raise WorkerError("E_MODEL_FOLDER", f"model folder {folder} has several checkpoints ({', '.join(p.name for p in found)}); keep one or name it model.pth")


def _catalog() -> dict[str, Any]:
    import TTS

    path = Path(TTS.__file__).parent / ".models.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _catalog_item(name: str) -> dict[str, Any]:
    parts = name.split("/")
    if len(parts) != 4:
        raise WorkerError("E_MODEL_UNKNOWN", f"{name!r} is not a catalog id of the form tts_models/<lang>/<dataset>/<model>")
    node: Any = _catalog()
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            raise WorkerError("E_MODEL_UNKNOWN", f"model {name} is not in the installed Coqui catalog")
        node = node[part]
    return node


def _models_home() -> Path:
    from trainer.io import get_user_data_dir

    return Path(get_user_data_dir("tts"))


def _download_reason(exc: BaseException) -> str:
    """A short reason for a failed download: network problems named as such, never a wall of urllib3 text."""
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    text = " ".join(f"{type(e).__name__}: {e}" for e in seen)
    host = re.search(r"host='([^']+)'", text)
    where = f" {host.group(1)}" if host else ""
    if "NameResolution" in text or "Name or service not known" in text or "Temporary failure in name resolution" in text:
        return f"no network: could not resolve{where or ' the download host'}"
    if any(k in text for k in ("ConnectionError", "ConnectTimeout", "Connection refused", "Network is unreachable", "LocalEntryNotFound", "offline")):
        return f"no network: could not connect to{where or ' the download host'}"
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first[:200]}"


def _complete(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.pth"))


@dataclass
class CoquiEngine:
    tts: Any
    model: str
    sample_rate: int
    name: str = "coqui"
    speakers: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, request: dict[str, Any]) -> "CoquiEngine":
        kind = request.get("kind")
        model = str(request.get("model"))
        builtins.input = _no_prompt  # Coqui's licence prompt must never read our protocol stream
        try:
            import torch

            torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1") or 1)))
            _enforce_weights_only(torch)
            from TTS.api import TTS
        except ImportError as exc:
            raise WorkerError("E_ENGINE_MISSING", f"coqui-tts cannot be imported ({exc})") from exc
        if kind == "folder":
            folder = Path(model)
            config = folder / "config.json"
            if not config.is_file():
                raise WorkerError("E_MODEL_FOLDER", f"model folder {folder} has no config.json")
            checkpoint = find_checkpoint(folder)
            try:
                tts = TTS(model_path=str(checkpoint), config_path=str(config), progress_bar=False)
            except WorkerError:
                raise
            except Exception as exc:
                raise WorkerError("E_MODEL_LOAD", f"cannot load Coqui model from {folder}: {type(exc).__name__}: {exc}") from exc
        elif kind == "catalog":
            tts = cls._load_catalog(TTS, model, request)
        else:
            raise WorkerError("E_BAD_REQUEST", f"unknown Coqui model kind {kind!r}; expected 'folder' or 'catalog'")
        return cls(
            tts=tts,
            model=model,
            sample_rate=int(tts.synthesizer.output_sample_rate),
            speakers=[str(s) for s in (tts.speakers or [])],
            languages=[str(lang) for lang in (tts.languages or [])],
        )

    @staticmethod
    def _load_catalog(TTS: Any, name: str, request: dict[str, Any]) -> Any:
        item = _catalog_item(name)
        if item.get("tos_required") and not request.get("accept_license"):
            _no_prompt()
        if request.get("accept_license"):
            os.environ["COQUI_TOS_AGREED"] = "1"
        folder = _models_home() / name.replace("/", "--")
        if folder.exists() and not _complete(folder) and "repo_id" not in item:
            # A folder left by an interrupted download: Coqui would treat it as downloaded and fail for ever.
            shutil.rmtree(folder, ignore_errors=True)
        needs_download = not folder.is_dir() or "repo_id" in item
        if needs_download and not request.get("allow_download", True):
            raise WorkerError("E_MODEL_DOWNLOAD", f"model {name} is not downloaded and downloads are disabled (--offline)")
        try:
            return TTS(name, progress_bar=False)
        except WorkerError:
            raise
        except Exception as exc:
            if needs_download:
                if folder.exists() and not _complete(folder):
                    shutil.rmtree(folder, ignore_errors=True)
                raise WorkerError("E_MODEL_DOWNLOAD", f"cannot download model {name}: {_download_reason(exc)}") from exc
            raise WorkerError("E_MODEL_LOAD", f"cannot load Coqui model {name}: {type(exc).__name__}: {exc}") from exc

    def _check_vocabulary(self, text: str, language: str | None) -> None:
        """Refuse text of which the model can say nothing (Coqui drops unknown characters, then crashes on empty input)."""
        tokenizer = getattr(getattr(self.tts.synthesizer, "tts_model", None), "tokenizer", None)
        if tokenizer is None:
            return
        before = list(tokenizer.not_found_characters)
        try:
            ids = tokenizer.text_to_ids(text, language=language)
        except Exception:  # phonemizer problems surface later with their own message
            return
        chars = tokenizer.characters
        special = {getattr(tokenizer, "pad_id", None), getattr(tokenizer, "blank_id", None)}
        special |= {getattr(chars, name, None) for name in ("pad_id", "blank_id", "bos_id", "eos_id")}
        heard = "".join(chars.id_to_char(i) for i in ids if i is not None and i not in special)
        if not any(c.isalnum() for c in heard):
            dropped = [c for c in tokenizer.not_found_characters if c not in before] or sorted(set(text) - set(heard))
            shown = "".join(dropped[:20])
            raise WorkerError("E_TEXT_UNSUPPORTED", f"model {self.model} has no characters for this text (it cannot speak: {shown})")

    def synthesize(self, text: str, speaker: str | None = None, language: str | None = None) -> Iterator[bytes]:
        import numpy as np

        if speaker is not None and self.speakers and speaker not in self.speakers:
            raise WorkerError("E_SPEAKER", f"model has no speaker {speaker!r}; choose one of: {', '.join(self.speakers[:20])}")
        if speaker is not None and not self.speakers:
            raise WorkerError("E_SPEAKER", "this model has a single speaker; do not pass --speaker")
        if language is not None and not self.languages:
            raise WorkerError("E_SPEAKER", f"model {self.model} is not multilingual; do not pass --language")
        if language is not None and language not in self.languages:
            raise WorkerError("E_SPEAKER", f"model has no language {language!r}; choose one of: {', '.join(self.languages[:40])}")
        self._check_vocabulary(text, language)
        kwargs: dict[str, Any] = {}
        if speaker is not None:
            kwargs["speaker"] = speaker
        if language is not None:
            kwargs["language"] = language
        import torch

        # Reproducible output: the same text gives the same audio, whatever was synthesized before it
        # (VITS samples noise; batch items and single runs must agree, and so must piped and file output).
        torch.manual_seed(0)
        try:
            wav = self.tts.tts(text=text, **kwargs)
        except RuntimeError as exc:
            if "Kernel size" in str(exc) or "kernel size" in str(exc):
                raise WorkerError("E_TEXT_TOO_SHORT", f"text is too short for model {self.model}") from exc
            raise
        audio = np.asarray(wav, dtype=np.float32).reshape(-1)
        if audio.size == 0:
            return
        # Same peak normalisation as Coqui's own save_wav, so files match what `tts_to_file` would write.
        audio = audio * (32767.0 / max(0.01, float(np.max(np.abs(audio)))))
        yield np.clip(audio, -32768, 32767).astype("<i2").tobytes()
