// Placement details that whole-process tests cannot reach easily.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkAllowedDir } from '../../src/audio/base-dirs.js';
import { resolveOutput } from '../../src/audio/output-path.js';
import { publishFile, writeAll } from '../../src/audio/publish.js';
import { TtsError } from '../../src/errors.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tts-publish-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('publishFile', () => {
  it('refuses to write when the base directory was replaced after it was checked (E_BASE_CHANGED)', () => {
    const b = path.join(root, 'b');
    fs.mkdirSync(b, { mode: 0o700 });
    const base = checkAllowedDir(b, 'base directory');
    fs.renameSync(b, path.join(root, 'b.old'));
    fs.mkdirSync(b, { mode: 0o700 });
    let code = '';
    try {
      publishFile(resolveOutput('x.wav', [base]), [Buffer.from('data')], false);
    } catch (err) {
      code = (err as TtsError).code;
    }
    expect(code).toBe('E_BASE_CHANGED');
    expect(fs.readdirSync(b)).toEqual([]);
  });

  it('writeAll keeps writing after a short write', () => {
    const file = path.join(root, 'f');
    const fd = fs.openSync(file, 'w');
    const real = fs.writeSync;
    let calls = 0;
    const spy = vi.spyOn(fs, 'writeSync').mockImplementation(((f: number, b: Buffer, off: number, len: number) => {
      calls++;
      return real(f, b, off, Math.min(len, 3)); // at most 3 bytes per call, like a filling disk
    }) as typeof fs.writeSync);
    writeAll(fd, Buffer.from('0123456789'));
    spy.mockRestore();
    fs.closeSync(fd);
    expect(fs.readFileSync(file, 'utf8')).toBe('0123456789');
    expect(calls).toBe(4);
  });
});

describe('allowed directories', () => {
  it('refuses a group- or world-writable directory but accepts a sticky one', () => {
    const open = path.join(root, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    expect(() => checkAllowedDir(open, 'base directory')).toThrow(/writable by group or others/);
    fs.chmodSync(open, 0o1777);
    expect(checkAllowedDir(open, 'base directory').real).toBe(fs.realpathSync(open));
  });
});
