// Batch naming: templates, slugs and the collision key that catches case and Unicode-normalisation twins.
import { describe, expect, it } from 'vitest';
import { collisionKey, expandTemplate, slug } from '../../src/commands/batch.js';
import { progressLine } from '../../src/ui/progress.js';
import { TtsError } from '../../src/errors.js';

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
