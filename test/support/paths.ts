import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'tts.js');
export const VENV_PYTHON = path.join(ROOT, '.venv', 'bin', 'python');
/** The small random-weight Coqui VITS model built by test/fixtures/make_coqui_model.py. */
export const COQUI_FIXTURE = path.join(ROOT, 'test', '.cache', 'coqui-tiny-vits');
export const COQUI_FIXTURE_RATE = 16000;
