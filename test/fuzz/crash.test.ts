// Crash atomicity (design notes, reliability figures): SIGKILL a writer at a random moment while it publishes an
// 8 MiB file, new or replacing (--force). Afterwards the final name holds nothing, the whole old file or the whole
// new file -- never a partial one -- and the next write sweeps stale temporary files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/paths.js';
import { figure } from '../support/figures.js';

const N = Number(process.env.CRASH_N ?? 60);
const SIZE = 8 * 1024 * 1024;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tts-crash-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function writeOnce(name: string, force: boolean, fill: number, killAfterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'test', 'fixtures', 'writer.mjs'), dir, name, force ? '1' : '0', String(fill)], { stdio: ['ignore', 'pipe', 'ignore'] });
    let timer: NodeJS.Timeout | undefined;
    child.stdout.once('data', () => {
      timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function classify(file: string, oldFill: number | null, newFill: number): 'absent' | 'old' | 'new' | 'partial' {
  if (!fs.existsSync(file)) return 'absent';
  const b = fs.readFileSync(file);
  if (b.length === SIZE && b.every((x) => x === newFill)) return 'new';
  if (oldFill !== null && b.length === SIZE && b.every((x) => x === oldFill)) return 'old';
  return 'partial';
}

describe('crash atomicity', () => {
  it(`${N} random SIGKILLs per writer: 0 partial files at the final name`, async () => {
    const next = rng(20261203);
    const tally = { new: { absent: 0, old: 0, new: 0, partial: 0 }, force: { absent: 0, old: 0, new: 0, partial: 0 } };
    for (let i = 0; i < N; i++) {
      // A new output.
      const fresh = `fresh-${i}.wav`;
      await writeOnce(fresh, false, 1, Math.floor(next() * 60));
      tally.new[classify(path.join(dir, fresh), null, 1)]++;
      // Replacing an existing output with --force.
      const target = path.join(dir, `replace-${i}.wav`);
      fs.writeFileSync(target, Buffer.alloc(SIZE, 2));
      await writeOnce(`replace-${i}.wav`, true, 3, Math.floor(next() * 60));
      tally.force[classify(target, 2, 3)]++;
      fs.rmSync(path.join(dir, fresh), { force: true });
      fs.rmSync(target, { force: true });
    }
    const temps = fs.readdirSync(dir).filter((f) => f.startsWith('.tts-'));
    // Age the leftovers and let one more write sweep them.
    const old = new Date(Date.now() - 3600_000);
    for (const t of temps) fs.utimesSync(path.join(dir, t), old, old);
    await writeOnce('sweeper.wav', false, 4, 60_000);
    const left = fs.readdirSync(dir).filter((f) => f.startsWith('.tts-'));
    figure(
      `crash: ${N} kills per writer / new file: ${tally.new.new} complete, ${tally.new.absent} absent, ${tally.new.partial} partial / --force: ${tally.force.new} new, ${tally.force.old} old, ${tally.force.absent} absent, ${tally.force.partial} partial / temp files left ${temps.length}, after the sweep ${left.length}`,
    );
    expect(tally.new.partial).toBe(0);
    expect(tally.force.partial).toBe(0);
    expect(tally.force.absent).toBe(0); // replacing never leaves the name empty
    expect(left).toEqual([]);
  }, 60_000 + N * 1000);
});
