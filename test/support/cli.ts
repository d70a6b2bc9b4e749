// Run the built CLI as a user would, in a directory of the test's choosing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { BIN } from './paths.js';

export interface CliResult {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  input?: string | Buffer;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Environment for CLI runs: the caller's, minus colour and terminal hints, plus a private HOME. */
export function baseEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  delete env.FORCE_COLOR;
  env.NO_COLOR = '1';
  env.HOME = home;
  env.XDG_DATA_HOME = path.join(home, '.local', 'share');
  return env;
}

export async function runCli(args: string[], opts: RunOptions): Promise<CliResult> {
  const r = await execa('node', [BIN, ...args], {
    cwd: opts.cwd,
    input: opts.input ?? '',
    env: opts.env ?? baseEnv(path.join(opts.cwd, '..', 'home')),
    extendEnv: false,
    reject: false,
    encoding: 'buffer',
    timeout: opts.timeoutMs ?? 180_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: Buffer.from(r.stdout as Uint8Array), stderr: Buffer.from(r.stderr as Uint8Array).toString('utf8') };
}

/** A fresh sandbox: <tmp>/work (the cwd), <tmp>/home, and <tmp>/outside with a sentinel file. */
export function sandbox(): { root: string; work: string; outside: string; cleanup: () => void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tts-test-'));
  const work = path.join(root, 'work');
  const outside = path.join(root, 'outside');
  fs.mkdirSync(work);
  fs.mkdirSync(path.join(root, 'home'));
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'sentinel.txt'), 'do not touch\n');
  return { root, work, outside, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** Hash of every file name, type and content under a directory: equal hashes mean nothing changed. */
export function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      const type = e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : e.isFile() ? 'f' : 'other';
      h.update(`${path.relative(dir, p)}\0${type}\0`);
      if (type === 'd') walk(p);
      else if (type === 'l') h.update(fs.readlinkSync(p));
      else if (type === 'f') h.update(fs.readFileSync(p)); // never open FIFOs or devices: they block
    }
  };
  walk(dir);
  return h.digest('hex');
}

export function listFiles(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}
