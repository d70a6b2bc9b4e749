// Where things live. The Python environment belongs to the installed package; models and caches to the user.
import os from 'node:path';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The package root (the directory holding package.json, bin/, dist/, python/). */
export const PACKAGE_ROOT = os.resolve(os.dirname(fileURLToPath(import.meta.url)), '..');
export const PYTHON_SRC = os.join(PACKAGE_ROOT, 'python');
export const VENV_DIR = os.join(PACKAGE_ROOT, '.venv');
export const VENV_PYTHON = os.join(VENV_DIR, 'bin', 'python');

/** Per-user data directory: pinned model home (TTS_HOME) and caches handed to the worker. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_DATA_HOME;
  const base = xdg && os.isAbsolute(xdg) ? xdg : os.join(env.HOME && os.isAbsolute(env.HOME) ? env.HOME : homedir(), '.local', 'share');
  return os.join(base, 'tts-cli');
}

export function modelsHome(env: NodeJS.ProcessEnv = process.env): string {
  return os.join(dataDir(env), 'models');
}
