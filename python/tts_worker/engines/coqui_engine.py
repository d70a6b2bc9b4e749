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
import errno
import json
import os
import re
import shutil
import unicodedata
import zipfile
from collections import Counter
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
            # Only torch's own weights-only refusal means "objects other than weights"; any other unpickling error
            # is a damaged file and surfaces as such (a broken catalog copy is then repaired, see _load_catalog).
            if type(exc).__name__ == "UnpicklingError" and "Weights only load failed" in str(exc):
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


def _out_of_memory(exc: BaseException) -> bool:
    from . import out_of_memory

    return out_of_memory(exc)


def _short(exc: BaseException) -> str:
    """``Type: first sentence`` of an exception, at most 300 characters (torch's zip errors run to a paragraph)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    m = re.match(r"(.+?[.:])\s+(?:This is an internal|If you are seeing|The file might)", text)
    if m:
        text = m.group(1).rstrip(".:")
    return f"{type(exc).__name__}: {text}"[:300]


#: Signs, in an exception raised while loading, that a file is damaged rather than the model unsupported.
_CORRUPT_MARKERS = ("PytorchStreamReader failed", "unexpected EOF", "might be corrupted", "is corrupted", "truncated", "invalid load key", "central directory")


def _corruption(exc: BaseException) -> bool:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        if isinstance(cur, (EOFError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError)):
            return True
        if isinstance(cur, OSError) and cur.errno in (errno.EINVAL, errno.EIO):
            return True
        if type(cur).__name__ == "UnpicklingError" and "Weights only load failed" not in str(cur):
            return True
        if any(m in str(cur) for m in _CORRUPT_MARKERS):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def checkpoint_problem(path: Path) -> str | None:
    """A cheap look at one checkpoint: empty, or a zip archive (torch's format since 1.6) without its central
    directory (a truncated download). Old-style pickled checkpoints cannot be checked without loading them."""
    try:
        size = path.stat().st_size
        if size == 0:
            return f"{path.name} is empty"
        with open(path, "rb") as f:
            head = f.read(4)
        if head == b"PK\x03\x04" and not zipfile.is_zipfile(path):
            return f"{path.name} is truncated: an incomplete zip archive of {size:,} bytes"
    except OSError as exc:
        return f"{path.name} cannot be read ({exc.strerror or exc})"
    return None


def _folder_problem(folder: Path) -> str | None:
    """What is visibly wrong with a model folder's files, or None."""
    config = folder / "config.json"
    if not config.is_file():
        return "config.json is missing"
    try:
        json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"config.json is damaged ({type(exc).__name__})"
    checkpoints = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith((".pth", ".pth.tar", ".pt")))
    if not checkpoints:
        return "it has no checkpoint"
    for p in checkpoints:
        problem = checkpoint_problem(p)
        if problem:
            return problem
    return None


def _broken_copy(folder: Path, item: dict[str, Any], exc: BaseException) -> tuple[list[Path], str] | None:
    """The catalog folders to remove (the model's, and its default vocoder's when that is the broken one) and what
    is wrong, when a downloaded model failed to load because its files are damaged; None when the failure has
    another cause (an unsupported model, a missing dependency), which a new download would not cure.
    Hugging Face-hosted models are left to huggingface_hub, which verifies its own downloads."""
    if "repo_id" in item:
        return None
    candidates = [folder]
    vocoder = item.get("default_vocoder")
    if isinstance(vocoder, str) and vocoder.count("/") == 3:
        candidates.append(_models_home() / vocoder.replace("/", "--"))
    damaged = []
    problem = None
    for f in candidates:
        if f.is_dir():
            p = _folder_problem(f)
            if p:
                damaged.append(f)
                problem = problem or (p if f == folder else f"its vocoder: {p}")
    if damaged:
        return damaged, problem or ""
    if _corruption(exc):
        return [folder], _short(exc)
    return None


def _remove_model_folder(folder: Path, name: str, problem: str) -> None:
    """Remove one catalog folder of our own models home; never a symlink or anything outside it."""
    home = _models_home().resolve()
    if folder.is_symlink() or folder.resolve().parent != home:
        raise WorkerError("E_MODEL_LOAD", f"the copy of model {name} at {folder} is broken ({problem}); it is not a folder the tool downloaded, so it was left alone: remove it by hand")
    try:
        shutil.rmtree(folder)
    except OSError as exc:
        raise WorkerError("E_MODEL_LOAD", f"the copy of model {name} is broken ({problem}) and could not be removed ({exc.strerror or exc}); delete {folder}") from exc


#: Punctuation that only shapes the pauses: a model without it loses nothing worth a warning. Every other
#: character the model has no token for (letters, marks, digits, symbols such as % & @ $ +) is reported.
_PAUSE_PUNCTUATION = frozenset(".,;:!?¡¿…‥·'\"‚„、。，．！？：；")
_PAUSE_CATEGORIES = frozenset({"Pd", "Ps", "Pe", "Pi", "Pf", "Pc"})


@dataclass
class Coverage:
    """Letters (Unicode L* and N*) in the cleaned text, how many of them the model has no token for, and every
    reportable character it has no token for, with counts."""

    letters: int = 0
    dropped_letters: int = 0
    dropped: Counter = field(default_factory=Counter)

    def add(self, other: "Coverage") -> None:
        self.letters += other.letters
        self.dropped_letters += other.dropped_letters
        self.dropped.update(other.dropped)


def measure_coverage(cleaned: str, char_to_id: Any) -> Coverage:
    known: dict[str, bool] = {}
    cov = Coverage()
    for ch in cleaned:
        if ch.isspace():
            continue
        ok = known.get(ch)
        if ok is None:
            try:
                char_to_id(ch)
                ok = True
            except (KeyError, ValueError, IndexError):
                ok = False
            known[ch] = ok
        cat = unicodedata.category(ch)
        letter = cat[0] in "LN"
        if letter:
            cov.letters += 1
        if ok:
            continue
        if letter:
            cov.dropped_letters += 1
        if cat in _PAUSE_CATEGORIES or ch in _PAUSE_PUNCTUATION:
            continue
        cov.dropped[ch] += 1
    return cov


def _is_coqui_tokenizer(tokenizer: Any) -> bool:
    """Coqui's TTSTokenizer (character or phoneme vocabularies); XTTS, bark and tortoise bring their own."""
    return all(hasattr(tokenizer, a) for a in ("characters", "text_cleaner", "text_to_ids", "not_found_characters"))


def _count_dropped(dropped: Counter, limit: int = 12) -> str:
    """``"ə" ×3, "ş" ×2, …``, most frequent first, as the CLI's warning shows them."""
    items = sorted(dropped.items(), key=lambda kv: -kv[1])
    out = [(json.dumps(ch, ensure_ascii=False) if unicodedata.category(ch)[0] in "LNSP" else f"U+{ord(ch):04X}") + f" ×{n}" for ch, n in items[:limit]]
    if len(items) > limit:
        out.append(f"and {len(items) - limit} more")
    return ", ".join(out)


def _show_dropped(dropped: Counter, limit: int = 20) -> str:
    """The dropped characters, most frequent first, as one string (combining marks and invisibles by code point)."""
    out = []
    for ch, _n in sorted(dropped.items(), key=lambda kv: -kv[1])[:limit]:  # stable: ties in order of appearance
        out.append(ch if unicodedata.category(ch)[0] in "LNSP" else f"U+{ord(ch):04X}")
    return "".join(out) if all(len(x) == 1 for x in out) else " ".join(out)


def _open_catalog(TTS: Any, name: str) -> tuple[Any, Exception | None]:
    """``TTS(name)`` (which downloads a missing catalog model): the engine, or the failure to classify.

    Our own errors and allocation failures are not load failures of the model: they propagate as they are.
    """
    try:
        return TTS(name, progress_bar=False), None
    except WorkerError:
        raise
    except Exception as exc:
        if _out_of_memory(exc):
            raise
        return None, exc


def _drop_incomplete(folders: list[Path]) -> None:
    """Remove what an interrupted or failed download left in our models home (a folder without a full model)."""
    for f in folders:
        if f.exists() and not _complete(f):
            shutil.rmtree(f, ignore_errors=True)


@dataclass
class CoquiEngine:
    tts: Any
    model: str
    sample_rate: int
    name: str = "coqui"
    speakers: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    #: Pieces of the current request that prepare() has checked, with their coverage (None: not measurable).
    _prepared: dict[str, Coverage | None] = field(default_factory=dict, repr=False)

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
                if _out_of_memory(exc):
                    raise
                # A user's folder is only reported, never repaired: name the damaged file when it can be told.
                problem = _folder_problem(folder) or _short(exc)
                raise WorkerError("E_MODEL_LOAD", f"cannot load Coqui model from {folder}: {problem}") from exc
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
        tts, exc = _open_catalog(TTS, name)
        if exc is None:
            return tts
        if needs_download:
            _drop_incomplete([folder])
            raise WorkerError("E_MODEL_DOWNLOAD", f"cannot download model {name}: {_download_reason(exc)}") from exc
        # A copy we downloaded earlier that no longer loads (a truncated checkpoint, a damaged config): it lies
        # in our own models home, so it is removed and fetched again, instead of failing on every run.
        broken = _broken_copy(folder, item, exc)
        if broken is None:
            raise WorkerError("E_MODEL_LOAD", f"cannot load Coqui model {name}: {_short(exc)}") from exc
        return CoquiEngine._repair_catalog(TTS, name, broken, request)

    @staticmethod
    def _repair_catalog(TTS: Any, name: str, broken: tuple[list[Path], str], request: dict[str, Any]) -> Any:
        folders, problem = broken
        for folder in folders:
            _remove_model_folder(folder, name, problem)
        what = f"the downloaded copy of model {name} was broken ({problem}) and has been removed"
        if not request.get("allow_download", True):
            raise WorkerError("E_MODEL_LOAD", f"{what}; it will be downloaded again on the next run without --offline")
        tts, exc = _open_catalog(TTS, name)
        if exc is None:
            return tts
        if not all(f.is_dir() and _complete(f) for f in folders):
            _drop_incomplete(folders)
            raise WorkerError(
                "E_MODEL_LOAD",
                f"{what}; downloading it again failed ({_download_reason(exc)}); it will be downloaded again on the next run with network access",
            ) from exc
        raise WorkerError("E_MODEL_LOAD", f"{what}, but the fresh download does not load either: {_short(exc)}") from exc

    def _check_options(self, speaker: str | None, language: str | None) -> None:
        if speaker is not None and self.speakers and speaker not in self.speakers:
            raise WorkerError("E_SPEAKER", f"model has no speaker {speaker!r}; choose one of: {', '.join(self.speakers[:20])}")
        if speaker is not None and not self.speakers:
            raise WorkerError("E_SPEAKER", "this model has a single speaker; do not pass --speaker")
        if language is not None and not self.languages:
            raise WorkerError("E_SPEAKER", f"model {self.model} is not multilingual; do not pass --language")
        if language is not None and language not in self.languages:
            raise WorkerError("E_SPEAKER", f"model has no language {language!r}; choose one of: {', '.join(self.languages[:40])}")

    def _tokenizer(self) -> Any:
        return getattr(getattr(self.tts.synthesizer, "tts_model", None), "tokenizer", None)

    def coverage(self, text: str, language: str | None) -> Coverage | None:
        """What of ``text`` the model's vocabulary can say, after the cleaning Coqui itself applies.

        For character models the text is cleaned exactly as ``TTSTokenizer.text_to_ids`` does (lower-casing, number
        and abbreviation expansion, symbol replacement: what the cleaner rewrites is not "dropped"), then every
        character of the result is looked up in the model's characters. ``None`` when that cannot be told: phoneme
        models (what is dropped there are phonemes, not the user's characters) and models without a tokenizer.
        """
        tokenizer = self._tokenizer()
        if not _is_coqui_tokenizer(tokenizer) or getattr(tokenizer, "use_phonemes", False) or getattr(tokenizer, "phonemizer", None) is not None:
            return None
        chars = tokenizer.characters
        cleaned = text
        if tokenizer.text_cleaner is not None:
            try:
                from TTS.tts.utils.languages import normalize_language

                cleaned = tokenizer.text_cleaner(text, lang=normalize_language(language))
            except Exception:  # the cleaner's own problems surface in synthesis, with its message
                return None
        return measure_coverage(cleaned, chars.char_to_id)

    def prepare(self, pieces: list[str], speaker: str | None = None, language: str | None = None) -> dict[str, int]:
        """Check a request before any audio is made: options, then characters. Returns the characters the model
        has no tokens for (Coqui would drop them silently) with their counts; refuses text of which the model can
        say nothing, or would leave out more than half of the letters."""
        self._check_options(speaker, language)
        total = Coverage()
        self._prepared = {}
        for piece in pieces:
            cov = self.coverage(piece, language)
            if cov is None:
                self._check_not_empty(piece, language)
            else:
                total.add(cov)
            self._prepared[piece] = cov
        if total.letters == 0 and not total.dropped:
            return {}
        shown = _show_dropped(total.dropped)
        if total.letters == total.dropped_letters:
            raise WorkerError("E_TEXT_UNSUPPORTED", f"model {self.model} has no characters for this text (it cannot speak: {shown})")
        if total.dropped_letters * 2 > total.letters:
            raise WorkerError(
                "E_TEXT_UNSUPPORTED",
                f"model {self.model} has no characters for {total.dropped_letters} of the {total.letters} letters of this text "
                f"({_count_dropped(total.dropped)}); too much would be left out",
            )
        return dict(total.dropped)

    def _check_not_empty(self, text: str, language: str | None) -> None:
        """Phoneme models: refuse text of which the model can say nothing (Coqui drops unknown symbols, then
        crashes on empty input)."""
        tokenizer = self._tokenizer()
        if not _is_coqui_tokenizer(tokenizer):
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

    def _speakable_sentences(self, text: str, language: str | None) -> list[str] | None:
        """Coqui's own sentence split of ``text`` without the sentences it has no characters for at all, or None
        when every sentence can be spoken (or the split is not available)."""
        try:
            sentences = list(self.tts.synthesizer.split_into_sentences(text, language))
        except Exception:
            return None
        kept = []
        for sentence in sentences:
            cov = self.coverage(sentence, language)
            if cov is None or cov.letters > cov.dropped_letters:
                kept.append(sentence)
        return kept if len(kept) != len(sentences) and kept else None

    def synthesize(self, text: str, speaker: str | None = None, language: str | None = None) -> Iterator[bytes]:
        import numpy as np

        self._check_options(speaker, language)
        if text in self._prepared:  # checked by prepare() just now, with the whole request
            cov = self._prepared.pop(text)
        else:
            cov = self.coverage(text, language)
            if cov is None:
                self._check_not_empty(text, language)
            elif cov.letters == cov.dropped_letters:
                raise WorkerError("E_TEXT_UNSUPPORTED", f"model {self.model} has no characters for this text (it cannot speak: {_show_dropped(cov.dropped)})")
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
            parts = self._speakable_sentences(text, language) if cov is not None and cov.dropped_letters else None
            if parts is None:
                wav = self.tts.tts(text=text, **kwargs)
            else:
                # Coqui splits the text into sentences and would crash on one it can say nothing of ("Hi! 東京"):
                # the same loop as its own, without those sentences.
                wav = []
                for part in parts:
                    wav.extend(self.tts.tts(text=part, split_sentences=False, **kwargs))
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
