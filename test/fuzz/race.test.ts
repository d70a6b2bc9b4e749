// Symlink-swap race (SECURITY.md corpus #27): while we write sub/x-N.wav, an attacker process keeps swapping the
// directory `sub` for a symlink to a directory outside the base. Prints iterations and files found outside (must be 0).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { resolveOutput } from '../../src/audio/output-path.js';
import { publishFile } from '../../src/audio/publish.js';
import { checkAllowedDir } from '../../src/audio/base-dirs.js';
import { TtsError } from '../../src/errors.js';
import { figure } from '../support/figures.js';

const N = Number(process.env.RACE_N ?? 3000);
let root: string;
let B: string;
let O: string;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'tts-race-'));
  B = path.join(root, 'B');
  O = path.join(root, 'O');
  fs.mkdirSync(path.join(B, 'sub'), { recursive: true, mode: 0o700 });
  fs.mkdirSync(O);
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const ATTACKER = `
import os, sys, time
B, O = sys.argv[1], sys.argv[2]
sub, keep = os.path.join(B, "sub"), os.path.join(B, "sub.real")
swaps = 0
while os.path.isdir(B) and not os.path.exists(os.path.join(B, "STOP")):
    try:
        os.rename(sub, keep)
        os.symlink(O, sub)
        swaps += 1
        os.unlink(sub)
        os.rename(keep, sub)
    except OSError:
        pass
print(swaps)
`;

describe('symlink swap race', () => {
  it(`writes ${N} files while an attacker swaps the parent for a symlink: 0 files outside`, async () => {
    const base = checkAllowedDir(B, 'base directory');
    const attacker = spawn('python3', ['-c', ATTACKER, B, O], { stdio: ['ignore', 'pipe', 'inherit'] });
    let swaps = '';
    attacker.stdout.on('data', (c: Buffer) => (swaps += c.toString()));
    await new Promise((r) => setTimeout(r, 200)); // let the attacker get going
    let written = 0;
    let refused = 0;
    const codes = new Map<string, number>();
    const stopAttacker = setTimeout(() => attacker.kill('SIGKILL'), 600_000); // never outlive a failed test
    stopAttacker.unref();
    onTestFinished(() => {
      if (attacker.exitCode === null) attacker.kill('SIGKILL');
    });
    for (let i = 0; i < N; i++) {
      try {
        publishFile(resolveOutput(`sub/x-${i}.wav`, [base]), [Buffer.from('RIFF....WAVE')], false);
        written++;
      } catch (err) {
        if (!(err instanceof TtsError)) throw err;
        refused++;
        codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
      }
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    fs.writeFileSync(path.join(B, 'STOP'), '');
    await new Promise((r) => attacker.on('exit', r));
    const outside = fs.readdirSync(O);
    const inside = (fs.readdirSync(B, { recursive: true }) as string[]).filter((f) => /x-\d+\.wav$/.test(f) && !fs.lstatSync(path.join(B, f)).isSymbolicLink()).length;
    figure(
      `race: ${N} iterations / ${swaps.trim()} swaps / ${written} written inside / ${refused} refused (${[...codes].map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}) / ${outside.length} files outside`,
    );
    expect(outside).toEqual([]);
    expect(inside).toBe(written);
    expect(Number(swaps.trim())).toBeGreaterThan(0);
  });
});
