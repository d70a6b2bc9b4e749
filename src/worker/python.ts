// The worker's interpreter and environment. Never looked up through PATH; never inherits the CLI's environment.
import fs from 'node:fs';
import fse from 'fs-extra';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { TtsError, show } from '../errors.js';
import { VENV_DIR, VENV_PYTHON, dataDir, modelsHome } from '../paths.js';
import { checkAllowedDir } from '../audio/base-dirs.js';

export interface Interpreter {
  /** The path we execute (inside the venv, so Python finds the venv's site-packages). */
  path: string;
  /** Its real path, checked for ownership and permissions. */
  real: string;
}

function checkTrusted(p: string, what: string): fs.Stats {
  const st = fs.statSync(p);
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== uid) {
    throw new TtsError('E_PYTHON', `${what} ${show(p)} is owned by uid ${st.uid}, not by root or you.`);
  }
  if (st.mode & 0o022) {
    throw new TtsError('E_PYTHON', `${what} ${show(p)} is writable by group or others (mode ${(st.mode & 0o777).toString(8)}).`);
  }
  return st;
}

/** The project's own venv interpreter, checked: absolute, real, a regular file, not writable by others. */
export function resolveInterpreter(): Interpreter {
  if (!fs.existsSync(VENV_PYTHON)) {
    throw new TtsError('E_ENGINE_MISSING', `The Python environment is not installed (no ${show(VENV_PYTHON)}).`, {
      hint: 'Run `tts setup` (or `npm run setup`) once.',
    });
  }
  const real = fs.realpathSync(VENV_PYTHON);
  const st = checkTrusted(real, 'The Python interpreter');
  if (!st.isFile()) throw new TtsError('E_PYTHON', `The Python interpreter ${show(real)} is not a regular file.`);
  // `tts setup` creates the venv with --copies, so the interpreter lives inside the venv and cannot be
  // swapped by changing a symlink elsewhere.
  const rel = path.relative(VENV_DIR, real);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new TtsError('E_PYTHON', `The Python interpreter resolves outside the venv (${show(real)}).`, {
      hint: 'Run `tts setup --force` to recreate the environment.',
    });
  }
  checkTrusted(path.dirname(real), 'The directory of the Python interpreter');
  return { path: VENV_PYTHON, real };
}

export interface WorkerEnvOptions {
  allowNetwork: boolean;
  acceptLicense: boolean;
  threads?: number;
  verbose?: boolean;
  /** Address-space limit of the worker, MiB (default 8192). */
  memoryMb?: number;
  /** CPU-seconds limit of the worker (default 1 hour per thread). */
  cpuSeconds?: number;
}

export const DEFAULT_MEMORY_MB = 8192;

/** The complete environment of the worker. Nothing from the CLI's environment is passed through. */
export function workerEnv(opts: WorkerEnvOptions): Record<string, string> {
  const data = dataDir();
  const threads = opts.threads ?? Math.max(1, Math.min(4, availableParallelism()));
  const env: Record<string, string> = {
    PATH: '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    HOME: data,
    TTS_HOME: modelsHome(),
    HF_HOME: path.join(data, 'hf'),
    XDG_CACHE_HOME: path.join(data, 'cache'),
    NUMBA_CACHE_DIR: path.join(data, 'cache', 'numba'),
    MPLCONFIGDIR: path.join(data, 'cache', 'matplotlib'),
    OMP_NUM_THREADS: String(threads),
    // scipy's and numpy's OpenBLAS do no heavy work here (torch and onnxruntime have their own BLAS), but each of
    // their threads reserves a large buffer at import: under a tight --max-memory that spun or aborted the worker.
    OPENBLAS_NUM_THREADS: '1',
    TOKENIZERS_PARALLELISM: 'false',
    // address space MiB, CPU seconds, file size MiB, open files: applied by the worker to itself at start.
    TTS_WORKER_LIMITS: [opts.memoryMb ?? DEFAULT_MEMORY_MB, opts.cpuSeconds ?? 3600 * threads, 2048, 4096].join(','),
  };
  if (!opts.allowNetwork) {
    env.HF_HUB_OFFLINE = '1';
    env.TRANSFORMERS_OFFLINE = '1';
  }
  if (opts.acceptLicense) env.COQUI_TOS_AGREED = '1';
  if (opts.verbose) env.TTS_WORKER_VERBOSE = '1';
  return env;
}

/**
 * Create the data directories (0700) and check the data directory the way allowed directories are checked:
 * models are loaded from it, so a data directory that others can write (say XDG_DATA_HOME pointed at a shared
 * folder) is refused.
 */
export function ensureDataDirs(): void {
  for (const d of [dataDir(), modelsHome(), path.join(modelsHome(), 'tts'), path.join(dataDir(), 'cache')]) fse.ensureDirSync(d, 0o700);
  // The folder holding the data directory counts too: in a non-sticky shared folder others could swap ours.
  for (const d of [path.dirname(dataDir()), dataDir(), modelsHome()]) checkAllowedDir(d, 'data directory');
}
