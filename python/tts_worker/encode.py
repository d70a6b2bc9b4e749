"""Encode the CLI's 16-bit mono PCM into the container its output name asks for: MP3, Ogg (Opus), FLAC or M4A (AAC).

PyAV (the `av` package, which bundles its own FFmpeg) does all four, so no system ffmpeg is needed. The input is read
and encoded in bounded chunks, so memory does not grow with the length of the audio. Every format is written with
FFmpeg's bitexact flags: the same samples give the same bytes (no encoder version tags, a fixed Ogg stream serial).
Only files inside the worker's private directory are read and written; the CLI places the result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import WorkerError

CHUNK_SAMPLES = 1 << 16


@dataclass(frozen=True)
class Format:
    container: str
    codec: str
    bit_rate: int | None
    # Rates the encoder takes; None: any. Other rates are resampled to the first one above them (or the highest).
    rates: tuple[int, ...] | None
    # First bytes of a good file (checked by the CLI as well), for the error message if the encoder misbehaves.
    magic: str


FORMATS: dict[str, Format] = {
    "mp3": Format("mp3", "libmp3lame", 64_000, None, "ID3 or an MPEG frame"),
    "ogg": Format("ogg", "libopus", 48_000, (8000, 12000, 16000, 24000, 48000), "OggS"),
    "flac": Format("flac", "flac", None, None, "fLaC"),
    "m4a": Format("ipod", "aac", 96_000, None, "ftyp M4A"),
}


def _rate_for(fmt: Format, rate: int) -> int:
    if fmt.rates is None or rate in fmt.rates:
        return rate
    higher = [r for r in fmt.rates if r >= rate]
    return higher[0] if higher else fmt.rates[-1]


def encode(pcm_path: str, out_path: str, fmt_name: str, sample_rate: int) -> dict:
    """Encode s16le mono PCM at `sample_rate` from `pcm_path` into `out_path`. Returns what was written."""
    fmt = FORMATS.get(fmt_name)
    if fmt is None:
        raise WorkerError("E_BAD_REQUEST", f"unknown output format {fmt_name!r}; expected one of {', '.join(FORMATS)}")
    try:
        import av  # bundled FFmpeg; imported only when a compressed output is asked for
        import numpy as np
    except ImportError as exc:  # pragma: no cover - setup installs it
        raise WorkerError("E_ENGINE_MISSING", f"the audio encoder (PyAV) is not installed: {exc}; run `tts setup`") from exc

    out_rate = _rate_for(fmt, sample_rate)
    samples = 0
    try:
        container = av.open(out_path, mode="w", format=fmt.container, options={"fflags": "+bitexact"})
        try:
            stream = container.add_stream(fmt.codec, rate=out_rate, layout="mono")
            if fmt.bit_rate:
                stream.bit_rate = fmt.bit_rate
            stream.codec_context.flags |= av.codec.context.Flags.bitexact
            resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=out_rate)
            pts = 0
            with open(pcm_path, "rb") as f:
                while True:
                    chunk = f.read(CHUNK_SAMPLES * 2)
                    if not chunk:
                        break
                    data = np.frombuffer(chunk[: len(chunk) // 2 * 2], dtype="<i2").reshape(1, -1)
                    frame = av.AudioFrame.from_ndarray(data, format="s16", layout="mono")
                    frame.sample_rate = sample_rate
                    frame.pts = pts
                    pts += data.shape[1]
                    samples += data.shape[1]
                    for resampled in resampler.resample(frame):
                        for packet in stream.encode(resampled):
                            container.mux(packet)
            for resampled in resampler.resample(None):
                for packet in stream.encode(resampled):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
        finally:
            container.close()
    except WorkerError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise WorkerError("E_SYNTHESIS", f"could not encode {fmt_name}: {exc}") from exc
    return {"path": out_path, "format": fmt_name, "sample_rate": out_rate, "samples": samples, "bytes": os.path.getsize(out_path)}
