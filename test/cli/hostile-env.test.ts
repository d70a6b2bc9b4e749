// A hostile environment around the CLI: none of it reaches or runs in the worker (SECURITY.md corpus #48-54).
// The proof is the worker's own report of its environment and sys.path (tts doctor --json), plus marker files
// that any hijack would create.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { baseEnv, sandbox } from '../support/cli.js';
import { BIN } from '../support/paths.js';
import { figure } from '../support/figures.js';

let sb: ReturnType<typeof sandbox>;
let evil: string;
let env: Record<string, string>;
let haveCompiler = true;

const WORKER_ENV_ALLOWED = [
  'HF_HOME', 'HF_HUB_OFFLINE', 'HOME', 'LANG', 'LC_ALL', 'MPLCONFIGDIR', 'NUMBA_CACHE_DIR', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'PATH',
  'TOKENIZERS_PARALLELISM', 'TRANSFORMERS_OFFLINE', 'TTS_HOME', 'TTS_WORKER_LIMITS', 'XDG_CACHE_HOME',
];

function marker(name: string): string {
  return `import pathlib; pathlib.Path(${JSON.stringify(path.join('MARKERS', name))}).touch()\n`;
}

beforeAll(() => {
  sb = sandbox();
  evil = path.join(sb.root, 'evil');
  const markers = path.join(sb.root, 'markers');
  fs.mkdirSync(evil);
  fs.mkdirSync(markers);
  const m = (name: string) => marker(name).replace('MARKERS', markers);
  fs.writeFileSync(path.join(evil, 'sitecustomize.py'), m('sitecustomize'));
  fs.writeFileSync(path.join(evil, 'usercustomize.py'), m('usercustomize'));
  fs.writeFileSync(path.join(evil, 'json.py'), m('json-from-pythonpath'));
  fs.writeFileSync(path.join(evil, 'startup.py'), m('pythonstartup'));
  fs.writeFileSync(path.join(sb.work, 'json.py'), m('json-from-cwd'));
  for (const name of ['python', 'python3', 'python3.11']) {
    fs.writeFileSync(path.join(evil, name), `#!/bin/sh\ntouch ${JSON.stringify(path.join(markers, `fake-${name}`))}\nexit 1\n`, { mode: 0o755 });
  }
  // A preload library that records which program it was loaded into.
  fs.writeFileSync(
    path.join(evil, 'evil.c'),
    `#include <stdio.h>\n#include <string.h>\n__attribute__((constructor)) static void hit(void) {\n  char comm[64] = {0}; FILE *f = fopen("/proc/self/comm", "r");\n  if (f) { fgets(comm, sizeof comm, f); fclose(f); comm[strcspn(comm, "\\n")] = 0; }\n  char p[4096]; snprintf(p, sizeof p, "${markers}/ldpreload-%s", comm);\n  FILE *o = fopen(p, "w"); if (o) fclose(o);\n}\n`,
  );
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-o', path.join(evil, 'evil.so'), path.join(evil, 'evil.c')], { stdio: 'ignore' });
  } catch {
    haveCompiler = false;
  }
  env = {
    ...baseEnv(path.join(sb.root, 'home')),
    PYTHONPATH: evil,
    PYTHONSTARTUP: path.join(evil, 'startup.py'),
    PYTHONHOME: evil,
    PYTHONINSPECT: '1',
    PYTHONUSERBASE: evil,
    PATH: `${evil}:${process.env.PATH}`,
    LD_LIBRARY_PATH: evil,
    TTS_HOME: path.join(evil, 'models'),
    HF_HOME: path.join(evil, 'hf'),
    HTTPS_PROXY: 'http://attacker.invalid:8080',
    HTTP_PROXY: 'http://attacker.invalid:8080',
    ALL_PROXY: 'socks5://attacker.invalid:1080',
    NODE_OPTIONS: '--no-warnings',
    COQUI_TOS_AGREED: '1',
    CUDA_VISIBLE_DEVICES: '0',
  };
  if (haveCompiler) env.LD_PRELOAD = path.join(evil, 'evil.so');
});
afterAll(() => sb.cleanup());

function markersFound(): string[] {
  return fs.readdirSync(path.join(sb.root, 'markers')).sort();
}

describe('hostile environment', () => {
  it('the worker reports only the allowlisted environment, pinned homes, and a clean sys.path', async () => {
    const r = await execa(process.execPath, [BIN, 'doctor', '--json'], { cwd: sb.work, env, extendEnv: false, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      worker: { env_keys: string[]; env: Record<string, string>; sys_path: string[]; isolated: boolean; startup_hooks: string[]; limits: Record<string, [number, number]> };
    };
    const w = report.worker;
    figure(`hostile env: worker sees ${w.env_keys.length} variables: ${w.env_keys.join(' ')}`);
    expect(w.env_keys).toEqual(WORKER_ENV_ALLOWED);
    expect(w.isolated).toBe(true);
    expect(w.startup_hooks).toEqual([]);
    expect(w.env.PATH).toBe('/usr/bin:/bin');
    // Resource limits are in force inside the worker: address space, file size, descriptors, no core dumps.
    expect(w.limits.RLIMIT_AS?.[0]).toBe(8192 * 1024 * 1024);
    expect(w.limits.RLIMIT_FSIZE?.[0]).toBe(2048 * 1024 * 1024);
    expect(w.limits.RLIMIT_NOFILE?.[0]).toBe(4096);
    expect(w.limits.RLIMIT_CORE?.[0]).toBe(0);
    expect(w.limits.RLIMIT_CPU?.[0]).toBeGreaterThan(0);
    expect(w.env.TTS_HOME).toBe(path.join(sb.root, 'home', '.local', 'share', 'tts-cli', 'models'));
    expect(w.env.HF_HOME).toBe(path.join(sb.root, 'home', '.local', 'share', 'tts-cli', 'hf'));
    for (const p of w.sys_path) {
      expect(p.startsWith(evil)).toBe(false);
      expect(p.startsWith(sb.work)).toBe(false);
      expect(p).not.toBe('');
    }
  });

  it('a real synthesis under the hostile environment works and runs none of the planted code in Python', async () => {
    const r = await execa(process.execPath, [BIN, 'Hello there', '-o', 'x.wav'], { cwd: sb.work, env, extendEnv: false, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(fs.statSync(path.join(sb.work, 'x.wav')).size).toBeGreaterThan(10_000);
    const found = markersFound();
    // LD_PRELOAD does load into the CLI's own node process (the user's environment is trusted for the CLI
    // itself, as documented) but never into Python.
    figure(`hostile env: markers created: ${found.join(', ') || 'none'}${haveCompiler ? '' : ' (no C compiler: LD_PRELOAD not tried)'}`);
    expect(found.filter((f) => !/^ldpreload-node/.test(f))).toEqual([]);
  });
});

describe('hostile data directory', () => {
  it('XDG_DATA_HOME pointing at a world-writable folder is refused before any model loads from it', async () => {
    const shared = path.join(sb.root, 'shared-data');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o777);
    const r = await execa(process.execPath, [BIN, 'Hello', '-o', 'y.wav'], {
      cwd: sb.work,
      env: { ...baseEnv(path.join(sb.root, 'home')), XDG_DATA_HOME: shared },
      extendEnv: false,
      reject: false,
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^tts: E_BASE_INSECURE: The data directory .* writable by group or others/);
    expect(fs.existsSync(path.join(sb.work, 'y.wav'))).toBe(false);
  });
});
