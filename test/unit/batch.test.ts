// Batch naming: templates, slugs and the collision key that catches case and Unicode-normalisation twins.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_ITEMS, MAX_ITEMS_LIMIT, batchOptionsSchema, checkOutDir, checkTemplate, collisionKey, expandTemplate, slug, stemOf } from '../../src/commands/batch.js';
import { checkAllowedDir } from '../../src/audio/base-dirs.js';
import { checkOutputName } from '../../src/audio/output-path.js';
import { progressLine } from '../../src/ui/progress.js';
import { ERROR_CODES, TtsError } from '../../src/errors.js';

const vals = { n: 7, i: 12, line: 9, stem: 'chapter', text: 'Hello, World! Ça va?' };

describe('expandTemplate', () => {
  it.each([
    ['{n}.wav', '7.wav'],
    ['{n:04}.wav', '0007.wav'],
    ['{i:3}.wav', ' 12.wav'],
    ['{stem}-{line:03}.wav', 'chapter-009.wav'],
    ['{slug}.wav', 'hello-world-ca-va.wav'],
    ['out/{stem}/{n:02}.wav', 'out/chapter/07.wav'],
    ['plain.wav', 'plain.wav'],
  ])('%s -> %s', (template, expected) => {
    expect(expandTemplate(template, vals)).toBe(expected);
  });

  it('refuses an unknown placeholder with a usage error naming it', () => {
    expect(() => expandTemplate('{nope}.wav', vals)).toThrow(TtsError);
    expect(() => expandTemplate('{nope}.wav', vals)).toThrow(/unknown placeholder \{nope\}/);
  });
});

/** The error a function throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): TtsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TtsError);
    return err as TtsError;
  }
  throw new Error('expected an error');
}

describe('checkTemplate', () => {
  it.each([
    ['{n:04}.wav', true],
    ['{i}.wav', true],
    ['{line:3}-{stem}.wav', true],
    ['{slug}.wav', true],
    ['{n:012}.wav', true],
    ['{stem}.wav', false],
    ['plain.wav', false],
    ['{stem}/{stem:10}.wav', false],
  ])('%s is valid (varying: %s)', (template, varying) => {
    expect(checkTemplate(template)).toEqual({ varying });
  });

  it.each([
    ['{n:}.wav', '"{n:}" in "{n:}.wav" is not a valid placeholder: the width'],
    ['{n:abc}.wav', '"{n:abc}" in "{n:abc}.wav" is not a valid placeholder: the width'],
    ['{n:-4}.wav', '"{n:-4}" in "{n:-4}.wav" is not a valid placeholder: the width'],
    ['{n:0}.wav', '"{n:0}" in "{n:0}.wav" is not a valid placeholder: the width'],
    ['{n:100}.wav', '"{n:100}"'],
    ['{N}.wav', 'unknown placeholder {N} in "{N}.wav" (did you mean {n}?)'],
    ['{Slug}.wav', 'unknown placeholder {Slug} in "{Slug}.wav" (did you mean {slug}?)'],
    ['{nope}.wav', 'unknown placeholder {nope} in "{nope}.wav";'],
    ['{ n }.wav', '"{ n }" in "{ n }.wav" is not a valid placeholder (no spaces inside the braces)'],
    ['{}.wav', '"{}" in "{}.wav" is not a valid placeholder (empty braces)'],
    ['{n\u202e}.wav', '"{n\\u202e}"'], // shown escaped
    ['x-{n.wav', 'a "{" without a matching "}" at character 3 of "x-{n.wav"'],
    ['x-n}.wav', 'a "}" without a matching "{" at character 4 of "x-n}.wav"'],
    ['{{n}}.wav', 'a "{" without a matching "}" at character 1'],
    ['{n}}.wav', 'a "}" without a matching "{" at character 4'],
  ])('%s is E_USAGE: %s', (template, part) => {
    const t = template.replace('\\u202e', '\u202e');
    const err = thrown(() => checkTemplate(t));
    expect(err.code).toBe('E_USAGE');
    expect(err.message.startsWith('--name: ')).toBe(true);
    expect(err.message).toContain(part);
    expect(err.message).toContain('valid placeholders: {n}, {i}, {line}, {stem}, {slug}, each with an optional width: {n:4} pads with spaces, {n:04} with zeros (1 to 99).');
    expect(err.message).not.toMatch(/\n|\u202e/);
    // expandTemplate refuses the same templates (it never keeps a bad placeholder as literal text).
    expect(() => expandTemplate(t, vals)).toThrow(TtsError);
  });
});

describe('stemOf', () => {
  it.each([
    ['chapter.txt', 'chapter'],
    ['dir/book.v2.txt', 'book.v2'],
    ['.notes.txt', 'notes'],
    ['..hidden', 'hidden'],
    ['.bashrc', 'bashrc'],
    ['-', 'stdin'],
    ['...', 'input'],
    ['-dash: "x".txt', 'dash-x'],
    ['a*?b.txt', 'a-b'],
    ['a\u0007b.txt', 'a-b'],
    ['x\u200bz.txt', 'x-z'],
    ['x~1.txt', 'x-1'],
    ['name. .txt', 'name'],
    ['con.txt', 'con_'],
    ['COM1 .txt', 'COM1_'],
    ['cafe\u0301.txt', 'caf\u00e9'],
  ])('%j -> %j', (input, want) => {
    expect(stemOf(input)).toBe(want);
  });

  it('always gives a name the output-name rules accept, alone or in the default template', () => {
    const hostile = ['.notes.txt', '-x.txt', ' .txt', 'a:b.txt', 'lpt\u00b9.txt', 'aux.x.txt', 'x\ufffd.txt', 'e\u0301'.repeat(300), '\u202eevil.txt', 'trail..txt', '~1.txt'];
    for (const input of hostile) {
      const stem = stemOf(input);
      expect(Buffer.byteLength(stem)).toBeLessThanOrEqual(100);
      for (const name of [`${stem}.wav`, `${stem}-0001.wav`, `${stem}/0001.wav`]) expect(() => checkOutputName(name), `${input} -> ${name}`).not.toThrow();
    }
  });
});

describe('--max-items', () => {
  const parse = (extra: Record<string, unknown>) => batchOptionsSchema.safeParse({ inputs: ['a.txt'], ...extra });
  it('defaults to 10,000 and accepts 1 to 1,000,000', () => {
    expect(DEFAULT_MAX_ITEMS).toBe(10_000);
    expect(parse({}).data?.maxItems).toBe(10_000);
    expect(parse({ maxItems: '1' }).data?.maxItems).toBe(1);
    expect(parse({ maxItems: String(MAX_ITEMS_LIMIT) }).data?.maxItems).toBe(1_000_000);
    for (const bad of ['0', '1000001', '2.5', 'many']) expect(parse({ maxItems: bad }).success, bad).toBe(false);
  });

  it('E_BATCH_TOO_LARGE is a documented usage error (exit 2)', () => {
    expect(ERROR_CODES.E_BATCH_TOO_LARGE.exit).toBe(2);
  });
});

describe('checkOutDir', () => {
  let root: string;
  let base: ReturnType<typeof checkAllowedDir>;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tts-outdir-'));
    fs.mkdirSync(path.join(root, 'base'));
    fs.mkdirSync(path.join(root, 'base', 'real'));
    fs.writeFileSync(path.join(root, 'base', 'file'), 'x');
    fs.symlinkSync(path.join(root, 'base', 'real'), path.join(root, 'base', 'link'));
    base = checkAllowedDir(path.join(root, 'base'), 'base directory');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
  const abs = (...p: string[]) => path.join(root, 'base', ...p);

  it('accepts existing and missing directories inside the base, and returns the value to join names to', () => {
    expect(checkOutDir(abs('real'), [base])).toBe(abs('real'));
    expect(checkOutDir(`${abs('real')}///`, [base])).toBe(abs('real'));
    expect(checkOutDir(abs('real', 'new', 'deeper'), [base])).toBe(abs('real', 'new', 'deeper'));
    expect(checkOutDir(abs('missing'), [base])).toBe(abs('missing'));
  });

  it.each([
    ['link', 'E_PATH_SYMLINK', /^--out-dir "[^"]*\/link" is a symbolic link; output directories may not be links\.$/],
    ['link/sub', 'E_PATH_SYMLINK', /^--out-dir "[^"]*\/link\/sub": "[^"]*\/link" on its path is a symbolic link/],
    ['file', 'E_PATH_NOT_FILE', /^--out-dir "[^"]*\/file" is not a directory\.$/],
    ['file/sub', 'E_PATH_NOT_FILE', /^--out-dir "[^"]*\/file\/sub": "[^"]*\/file" is not a directory\.$/],
    ['../outside', 'E_PATH_TRAVERSAL', /^--out-dir "[^"]*\/\.\.\/outside" contains '\.\.'/],
    ['.hidden', 'E_PATH_INVALID_NAME', /^--out-dir "[^"]*\/\.hidden" has the hidden name "\.hidden"/],
    ['a:b', 'E_PATH_INVALID_CHAR', /^--out-dir "[^"]*\/a:b" contains the forbidden character ":"/],
  ])('%s is %s, naming the --out-dir as given', (dir, code, message) => {
    const err = thrown(() => checkOutDir(`${abs()}/${dir}`, [base])); // not path.join: it would resolve '..'
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('x.wav');
  });

  it('an absolute directory outside every base is E_PATH_TRAVERSAL naming it', () => {
    const err = thrown(() => checkOutDir(root, [base]));
    expect(err.code).toBe('E_PATH_TRAVERSAL');
    expect(err.message).toBe(`--out-dir ${JSON.stringify(root)} lies outside the allowed directories (${JSON.stringify(abs())}).`);
  });
});

describe('slug', () => {
  it.each([
    ['Hello world', 'hello-world'],
    ['  --Tom & Jerry; $5 <b>--  ', 'tom-jerry-5-b'],
    ['Café naïve façade', 'cafe-naive-facade'],
    ['東京', 'item'],
    ['!!!', 'item'],
    ['a'.repeat(100), 'a'.repeat(40)],
    [`${'word '.repeat(7)}end`, 'word-word-word-word-word-word-word-end'],
    ['x'.repeat(39) + ' yz', 'x'.repeat(39)],
  ])('%j -> %j', (text, expected) => {
    expect(slug(text)).toBe(expected);
  });

  it('never yields a name with a leading dot or dash, or longer than 40', () => {
    for (const t of ['.hidden', '-dash', '..', 'a-'.repeat(50)]) {
      const s = slug(t);
      expect(s).toMatch(/^[a-z0-9][a-z0-9-]{0,39}$/);
      expect(s.endsWith('-')).toBe(false);
    }
  });
});

describe('collisionKey', () => {
  it('equates case twins, NFC/NFD twins and ß/SS', () => {
    expect(collisionKey('/w/out/A.WAV')).toBe(collisionKey('/w/out/a.wav'));
    expect(collisionKey('/w/out/caf\u00e9.wav')).toBe(collisionKey('/w/out/cafe\u0301.wav'));
    expect(collisionKey('/w/out/CAF\u00c9.wav')).toBe(collisionKey('/w/out/cafe\u0301.wav'));
    expect(collisionKey('/w/out/stra\u00dfe.wav')).toBe(collisionKey('/w/out/STRASSE.wav'));
  });

  it('keeps different names apart', () => {
    expect(collisionKey('/w/out/a.wav')).not.toBe(collisionKey('/w/out/b.wav'));
    expect(collisionKey('/w/out/1/a.wav')).not.toBe(collisionKey('/w/out/1a.wav'));
  });
});

describe('progressLine', () => {
  it('shows count, bar and percentage; no ETA before there is anything to go on', () => {
    expect(progressLine('Batch', '0/4', 0, performance.now())).toBe('Batch 0/4 [....................] 0%');
    expect(progressLine('Batch', '2/4', 0.5, performance.now(), 10)).toBe('Batch 2/4 [#####.....] 50%');
  });

  it('estimates the remaining time from the elapsed time', () => {
    const started = performance.now() - 10_000; // 10 s for half the work: 10 s to go
    expect(progressLine('Batch', '2/4', 0.5, started, 4)).toMatch(/^Batch 2\/4 \[##\.\.\] 50% ETA 0:1\d$/);
  });
});
