// A disk that fills up mid-write: exit 4, nothing at the final name, and an existing file survives --force.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listFiles, runCli, sandbox } from '../support/cli.js';

const LONG = 'Hello world, this is a longer sentence that will certainly not fit in a few kilobytes of disk.';
let sb: ReturnType<typeof sandbox>;
let mounted = false;
let small = '';

beforeEach(() => {
  sb = sandbox();
  small = path.join(sb.work, 'small');
  fs.mkdirSync(small);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32k,mode=0755', 'tmpfs', small], { stdio: 'ignore' });
    mounted = true;
  } catch {
    mounted = false; // needs root and mount permission; the test reports itself skipped
  }
});
afterEach(() => {
  if (mounted) execFileSync('umount', [small]);
  sb.cleanup();
});

describe('disk full', () => {
  it('a new output that does not fit: E_OUTPUT_WRITE (exit 4), no file, no temp file', async (ctx) => {
    if (!mounted) ctx.skip();
    const r = await runCli([LONG, '-o', 'small/full.wav'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/^tts: E_OUTPUT_WRITE: Could not write "small\/full.wav": ENOSPC/);
    expect(listFiles(small)).toEqual([]);
  });

  it('--force over a good file when the new one does not fit: the old file survives', async (ctx) => {
    if (!mounted) ctx.skip();
    const target = path.join(small, 'f.wav');
    fs.writeFileSync(target, Buffer.alloc(4096, 7));
    const r = await runCli([LONG, '-o', 'small/f.wav', '--force'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(4);
    expect(fs.readFileSync(target).equals(Buffer.alloc(4096, 7))).toBe(true);
    expect(listFiles(small)).toEqual(['f.wav']);
  });
});
