// Property-based fuzzing of output-path validation and placement against a hostile fixture tree.
// Prints: paths: N fuzzed / E escapes / U uncaught (seed S). `npm run test:fuzz` runs 100,000; `npm test` a smaller
// N with a fixed seed. An escape is any change outside the base directory (hashed sentinel tree, new entries).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveOutput } from '../../src/audio/output-path.js';
import { preflightOutput, publishFile } from '../../src/audio/publish.js';
import { checkAllowedDir, type AllowedDir } from '../../src/audio/base-dirs.js';
import { ERROR_CODES, TtsError } from '../../src/errors.js';
import { treeHash } from '../support/cli.js';
import { figure } from '../support/figures.js';

const N = Number(process.env.FUZZ_N ?? 20_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261203);

let root: string;
let B: string;
let O: string;
let base: AllowedDir;

function buildFixture(): void {
  // Empty B in place (replacing B itself would change its inode, which the tool rightly refuses).
  fs.mkdirSync(B, { recursive: true, mode: 0o700 });
  for (const e of fs.readdirSync(B)) fs.rmSync(path.join(B, e), { recursive: true, force: true });
  fs.mkdirSync(path.join(B, 'dir', 'sub'), { recursive: true, mode: 0o700 });
  fs.symlinkSync(O, path.join(B, 'link-out')); // a directory symlink leading outside
  fs.symlinkSync(path.join(O, 'nothing.wav'), path.join(B, 'dangling.wav')); // dangling, pointing outside
  fs.symlinkSync(path.join(O, 'sentinel.wav'), path.join(B, 'link-file.wav')); // a file symlink to outside
  fs.symlinkSync('loop', path.join(B, 'loop')); // a symlink loop
  fs.symlinkSync('..', path.join(B, 'dir', 'up')); // a symlink back up
  fs.symlinkSync('/', path.join(B, 'dir', 'root'));
  execFileSync('mkfifo', [path.join(B, 'fifo.wav')]);
  fs.linkSync(path.join(O, 'hard-target.wav'), path.join(B, 'hard.wav')); // a hard link to a file outside
  fs.writeFileSync(path.join(B, 'exists.wav'), 'old');
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'tts-fuzz-'));
  B = path.join(root, 'B');
  O = path.join(root, 'O');
  fs.mkdirSync(O);
  fs.writeFileSync(path.join(O, 'sentinel.wav'), 'sentinel');
  fs.writeFileSync(path.join(O, 'hard-target.wav'), 'hard target');
  buildFixture();
  base = checkAllowedDir(B, 'base directory');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const FIXTURE_NAMES = ['dir', 'sub', 'link-out', 'dangling.wav', 'link-file.wav', 'loop', 'up', 'root', 'fifo.wav', 'hard.wav', 'exists.wav', 'etc', 'O', 'B'];
const EXTS = ['.wav', '.WAV', '.Wav', '.mp3', '.flac', '.wav.sh', '.txt', '', '.wav.', '.wav ', '.wav:x'];
const TRICKY = ['..', '.', '', '...', '....', '-x', '--help', 'CON', 'nul', 'COM1 ', 'COM¹', 'CONOUT$', 'a~1', 'C:', '\\', '\\\\?\\C:', '\u202e', '\u200b', 'e\u0301', '\u0000', '\n', '\u001b[2J', 'ü', '日本', '😀', ' ', 'a'.repeat(250)];

const component = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...FIXTURE_NAMES) },
  { weight: 3, arbitrary: fc.constantFrom(...TRICKY) },
  { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }) },
);
const prefix = fc.constantFrom('', '', '', '', './', '/', 'B/', 'B/', 'O/', '/proc/self/cwd/', '//', '../');
// Half the paths are plausible (fixture names, plain names, .wav), so that many get past validation and reach the
// file system, where symlinks, FIFOs and hard links wait; the other half are hostile strings.
const plainName = fc.stringMatching(/^[a-z0-9][a-z0-9 _-]{0,8}$/);
const plausibleComponent = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...FIXTURE_NAMES) }, { weight: 2, arbitrary: plainName });
const pathArb = fc
  .tuple(
    prefix,
    fc.oneof(fc.array(plausibleComponent, { minLength: 0, maxLength: 4 }), fc.array(component, { minLength: 0, maxLength: 5 })),
    fc.oneof({ weight: 3, arbitrary: fc.constant('.wav') }, { weight: 1, arbitrary: fc.constantFrom(...EXTS) }),
    fc.boolean(),
  )
  .map(([pre, parts, ext, force]) => {
    const p = pre === 'B/' ? `${B}/` : pre === 'O/' ? `${O}/` : pre;
    return { raw: p + parts.join('/') + ext, force };
  });

describe('path fuzzing', () => {
  it(`finds no escape and no uncaught error in ${N} generated paths`, () => {
    const outsideHash = treeHash(O);
    const rootEntries = fs.readdirSync(root).sort().join(',');
    let fuzzed = 0;
    let escapes = 0;
    let uncaught = 0;
    let written = 0;
    let rejected = 0;
    const undocumented = new Set<string>();
    const byCode = new Map<string, number>();
    const check = () => {
      if (treeHash(O) !== outsideHash || fs.readdirSync(root).sort().join(',') !== rootEntries) escapes++;
    };
    fc.assert(
      fc.property(pathArb, ({ raw, force }) => {
        fuzzed++;
        try {
          const out = resolveOutput(raw, [base]);
          preflightOutput(out, force);
          publishFile(out, [Buffer.from('RIFF')], force);
          written++;
        } catch (err) {
          if (err instanceof TtsError) {
            rejected++;
            byCode.set(err.code, (byCode.get(err.code) ?? 0) + 1);
            if (!(err.code in ERROR_CODES)) undocumented.add(err.code);
          } else {
            uncaught++;
            console.log(`uncaught for ${JSON.stringify(raw)}: ${String(err)}`);
          }
        }
        if (fuzzed % 200 === 0) {
          check();
          buildFixture(); // undo --force replacements so every batch meets the hostile fixture again
        }
      }),
      { numRuns: N, seed: SEED, endOnFailure: true },
    );
    check();
    figure(`paths: ${fuzzed.toLocaleString('en-US')} fuzzed / ${escapes} escapes / ${uncaught} uncaught (seed ${SEED}; ${written} written inside the base, ${rejected} rejected, all with documented codes: ${undocumented.size === 0})`);
    console.log(`paths: rejections by code: ${[...byCode].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`);
    expect(escapes).toBe(0);
    expect(uncaught).toBe(0);
    expect([...undocumented]).toEqual([]);
    expect(fuzzed).toBe(N);
  });
});
