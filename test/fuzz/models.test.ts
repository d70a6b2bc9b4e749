// Property-based fuzzing of model-name resolution: URLs, paths (traversal, symlinks out of the models directory,
// dangling links, files posing as folders), near misses of voice names and catalog ids, option-like and
// control-character strings. Whatever resolveModel accepts is what the worker would load, so an accepted name must
// be an embedded voice, an id that really is in the installed Coqui catalog, or a folder whose real path lies inside
// an allowed models directory and holds config.json. Everything else must be refused with a documented code.
// Prints: models: N fuzzed / A not allowlisted but accepted / U uncaught (seed S).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDED_VOICES, catalogIds, resolveModel, type ModelSpec } from '../../src/models.js';
import { checkAllowedDir, isInside, type AllowedDir } from '../../src/audio/base-dirs.js';
import { ERROR_CODES, TtsError } from '../../src/errors.js';
import { figure } from '../support/figures.js';

const N = Number(process.env.MODEL_FUZZ_N ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261203);

let root: string;
let M: string; // the allowed models directory
let O: string; // outside it
let allowed: AllowedDir[];
let catalog: Set<string>;
let cwd: string;

function modelFolder(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), '{}');
  fs.writeFileSync(path.join(dir, 'model.pth'), 'not a real checkpoint');
}

beforeAll(() => {
  cwd = process.cwd();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tts-model-fuzz-'));
  M = path.join(root, 'M');
  O = path.join(root, 'O');
  modelFolder(path.join(M, 'good'));
  modelFolder(path.join(M, 'nested', 'deep'));
  fs.mkdirSync(path.join(M, 'no-config'));
  fs.writeFileSync(path.join(M, 'no-config', 'model.pth'), 'x');
  fs.mkdirSync(path.join(M, 'no-checkpoint'));
  fs.writeFileSync(path.join(M, 'no-checkpoint', 'config.json'), '{}');
  fs.writeFileSync(path.join(M, 'file.pth'), 'x');
  modelFolder(path.join(O, 'evil'));
  fs.symlinkSync(path.join(O, 'evil'), path.join(M, 'link-out')); // a folder symlink leading outside
  fs.symlinkSync(O, path.join(M, 'link-dir-out'));
  fs.symlinkSync(path.join(O, 'missing'), path.join(M, 'dangling'));
  fs.symlinkSync('loop', path.join(M, 'loop'));
  fs.symlinkSync(path.join(M, 'good'), path.join(O, 'link-in')); // a symlink outside pointing in: real path is inside
  process.chdir(root); // relative names resolve here: ./M/... and ./O/...
  allowed = [checkAllowedDir(M, 'models directory')];
  catalog = new Set(catalogIds());
});
afterAll(() => {
  process.chdir(cwd);
  fs.rmSync(root, { recursive: true, force: true });
});

const PARTS = ['M', 'O', 'good', 'nested', 'deep', 'no-config', 'no-checkpoint', 'file.pth', 'evil', 'link-out', 'link-dir-out', 'dangling', 'loop', 'link-in', '..', '.', '', 'etc', 'passwd', 'tts_models', 'en', 'ljspeech', 'vits'];
const PREFIXES = ['', './', '../', '/', '//', '~/', 'file://', 'https://', 'hf://', 'C:\\', '\\\\?\\', '-', '--', 'M/', 'O/', './M/', './O/', '/proc/self/cwd/'];

function mutate(s: string, how: number, ch: string): string {
  switch (how % 7) {
    case 0:
      return s.toUpperCase();
    case 1:
      return `${s} `;
    case 2:
      return s.replace(/\//g, '\\');
    case 3:
      return s.slice(0, -1);
    case 4:
      return s + ch;
    case 5:
      return s.normalize('NFD').replace(/_/g, '-');
    default:
      return `${ch}${s}`;
  }
}

function nameArb(ids: string[]): fc.Arbitrary<string> {
  const known = [...EMBEDDED_VOICES, ...ids.slice(0, 200), 'tts_models/en/ljspeech/vits', 'tts_models/multilingual/multi-dataset/xtts_v3'];
  const tricky = fc.constantFrom('\u0000', '\n', '\u001b[2J', '\u202e', '\u200b', 'é', '日本', '%2e%2e', '..%2f', ' ', '?', '#', '@', ':');
  return fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...PREFIXES), fc.array(fc.constantFrom(...PARTS), { minLength: 0, maxLength: 5 })).map(([p, xs]) => p + xs.join('/')) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...known), fc.nat(), tricky).map(([s, how, ch]) => mutate(s, how, ch)) },
    { weight: 1, arbitrary: fc.constantFrom(...known) },
    { weight: 1, arbitrary: fc.string({ minLength: 0, maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...PREFIXES), tricky, fc.constantFrom(...known)).map(([p, t, k]) => p + t + k) },
  );
}

/** Would the worker be allowed to load this? (The independent statement of the rule, not the implementation's.) */
function allowlisted(spec: ModelSpec): boolean {
  switch (spec.kind) {
    case 'voice':
      return EMBEDDED_VOICES.includes(spec.model);
    case 'catalog':
      return catalog.has(spec.model);
    case 'folder': {
      let real: string;
      try {
        real = fs.realpathSync(spec.model);
      } catch {
        return false;
      }
      return real === spec.model && allowed.some((d) => isInside(d.real, real)) && fs.statSync(real).isDirectory() && fs.existsSync(path.join(real, 'config.json'));
    }
  }
}

describe('model-name fuzzing', () => {
  it(`accepts only allowlisted models in ${N} generated names`, () => {
    let fuzzed = 0;
    let accepted = 0;
    let leaks = 0;
    let uncaught = 0;
    const undocumented = new Set<string>();
    const byCode = new Map<string, number>();
    fc.assert(
      fc.property(nameArb([...catalog]), (name) => {
        fuzzed++;
        try {
          const spec = resolveModel(name, () => allowed);
          accepted++;
          if (!allowlisted(spec)) {
            leaks++;
            console.log(`not allowlisted but accepted: ${JSON.stringify(name)} -> ${JSON.stringify(spec.model)}`);
          }
        } catch (err) {
          if (err instanceof TtsError) {
            byCode.set(err.code, (byCode.get(err.code) ?? 0) + 1);
            if (!(err.code in ERROR_CODES)) undocumented.add(err.code);
          } else {
            uncaught++;
            console.log(`uncaught for ${JSON.stringify(name)}: ${String(err)}`);
          }
        }
      }),
      { numRuns: N, seed: SEED, endOnFailure: true },
    );
    figure(`models: ${fuzzed.toLocaleString('en-US')} fuzzed / ${leaks} not allowlisted but accepted / ${uncaught} uncaught (seed ${SEED}; ${accepted} accepted, catalog of ${catalog.size} ids)`);
    console.log(`models: rejections by code: ${[...byCode].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`);
    expect(catalog.size).toBeGreaterThan(10); // the installed catalog was found: catalog ids were really tested
    expect(accepted).toBeGreaterThan(0); // the generator reaches the accepting branches too
    expect(leaks).toBe(0);
    expect(uncaught).toBe(0);
    expect([...undocumented]).toEqual([]);
    expect(fuzzed).toBe(N);
  });
});
