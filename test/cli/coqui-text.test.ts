// Whole-process tests of text a Coqui model cannot (fully) say, short texts, and a broken downloaded catalog
// model, on the locally built random-weight VITS fixture (test/fixtures/make_coqui_model.py).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listFiles, runCli, sandbox } from '../support/cli.js';
import { readWav } from '../support/wav.js';
import { COQUI_FIXTURE, COQUI_FIXTURE_RATE } from '../support/paths.js';
import { catalogCopyProblem, droppedWarning, formatDropped } from '../../src/synth/session.js';

const MODEL = ['-m', COQUI_FIXTURE, '--models-dir', path.dirname(COQUI_FIXTURE)];
const VITS = 'tts_models/en/ljspeech/vits';

let sb: ReturnType<typeof sandbox>;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

const lines = (stderr: string) => stderr.trim().split('\n').filter(Boolean);
const warnings = (stderr: string) => lines(stderr).filter((l) => l.startsWith('tts: warning: '));

function expectAudio(name: string) {
  const w = readWav(fs.readFileSync(path.join(sb.work, name)));
  expect(w.riffOk).toBe(true);
  expect(w.sampleRate).toBe(COQUI_FIXTURE_RATE);
  expect(w.dataSize).toBe(w.fileSize - 44);
  expect(w.seconds).toBeGreaterThan(0.05);
}

describe('characters a Coqui model has no tokens for', () => {
  it('warns once, with the dropped characters and their counts, and still speaks the rest', async () => {
    const r = await runCli([...MODEL, 'Bakı şəhərində hava günəşlidir.', '-o', 'a.wav'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(warnings(r.stderr)).toEqual([
      `tts: warning: model ${COQUI_FIXTURE} has no characters for "ə" ×4, "ş" ×2, "ı" ×1, "ü" ×1; they are not spoken`,
    ]);
    expect(r.stderr).not.toMatch(/Discarding|Traceback/);
    expect(lines(r.stderr)).toHaveLength(2); // the warning and "Wrote a.wav ..."
    expectAudio('a.wav');
  });

  it('adds up the counts over every sentence of the text into one warning', async () => {
    const text = 'Bakı gözəldir. Şəki də gözəldir. Hello there.';
    const r = await runCli([...MODEL, text, '-o', 'a.wav'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(warnings(r.stderr)).toEqual([`tts: warning: model ${COQUI_FIXTURE} has no characters for "ə" ×4, "ö" ×2, "ı" ×1, "ş" ×1; they are not spoken`]);
  });

  it('shows a lost combining mark by its code point, and symbols the cleaner does not spell out', async () => {
    const r = await runCli([...MODEL, 'İstanbul grew 10% in 2020.', '-o', 'a.wav'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(warnings(r.stderr)).toEqual([`tts: warning: model ${COQUI_FIXTURE} has no characters for U+0307 ×1, "%" ×1; they are not spoken`]);
  });

  it('says nothing when every character is known (the cleaner lower-cases and spells out numbers)', async () => {
    const r = await runCli([...MODEL, 'HELLO World, it is 7 o\'clock.', '-o', 'a.wav'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(warnings(r.stderr)).toEqual([]);
  });

  it('-q silences the warning', async () => {
    const r = await runCli([...MODEL, 'Bakı şəhəri.', '-o', 'a.wav', '-q'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expectAudio('a.wav');
  });

  it('refuses text of which more than half of the letters would be dropped (exit 2, one line, no file)', async () => {
    const r = await runCli([...MODEL, 'ŞƏHƏR', '-o', 'a.wav'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^tts: E_TEXT_UNSUPPORTED: model .* has no characters for 3 of the 5 letters of this text \("ə" ×2, "ş" ×1\); too much would be left out/);
    expect(listFiles(sb.work)).toEqual([]);
  });

  it('a sentence of unknown characters between known ones is left out, not a crash', async () => {
    const r = await runCli([...MODEL, 'Hi!東京', '-o', 'a.wav'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(warnings(r.stderr)).toEqual([`tts: warning: model ${COQUI_FIXTURE} has no characters for "東" ×1, "京" ×1; they are not spoken`]);
  });

  it('batch: one warning for the whole run, also with two workers', async () => {
    fs.writeFileSync(path.join(sb.work, 'items.txt'), 'Bakı şəhəri.\nGəncə.\nHello.\n');
    const r = await runCli(['batch', 'items.txt', ...MODEL, '--out-dir', 'out', '--jobs', '2', '--threads', '1'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(warnings(r.stderr)).toEqual([`tts: warning: model ${COQUI_FIXTURE} has no characters for "ə" ×4, "ı" ×1, "ş" ×1; they are not spoken`]);
    expect(listFiles(path.join(sb.work, 'out'))).toEqual(['0001.wav', '0002.wav', '0003.wav']);
  });
});

describe('one short word on a Coqui model', () => {
  for (const text of ['a', 'Hi', '7']) {
    it(`${JSON.stringify(text)} gives audio or one line "too short", never a traceback`, async () => {
      const r = await runCli([...MODEL, text, '-o', 'a.wav'], { cwd: sb.work });
      expect(r.stderr).not.toMatch(/Traceback|File "|\n\s+at /);
      if (r.exitCode === 0) {
        expectAudio('a.wav');
        expect(warnings(r.stderr)).toEqual([]);
      } else {
        expect(r.exitCode).toBe(4);
        expect(lines(r.stderr)).toHaveLength(1);
        expect(r.stderr).toMatch(/^tts: E_SYNTHESIS: text is too short for model /);
      }
    });
  }
});

describe('a broken downloaded catalog model', () => {
  const modelsTts = () => path.join(sb.root, 'home', '.local', 'share', 'tts-cli', 'models', 'tts');
  function breakCache(): string {
    const dir = path.join(modelsTts(), VITS.replace(/\//g, '--'));
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.copyFileSync(path.join(COQUI_FIXTURE, 'config.json'), path.join(dir, 'config.json'));
    const pth = fs.readFileSync(path.join(COQUI_FIXTURE, 'model.pth'));
    fs.writeFileSync(path.join(dir, 'model_file.pth'), pth.subarray(0, Math.floor(pth.length / 3)));
    return dir;
  }

  for (const offline of [false, true]) {
    it(`is removed${offline ? ' (--offline: not downloaded again)' : ' and downloaded again (no network here: that fails)'}, in one line, exit 3`, async () => {
      // The data directory and its parents must be private (the CLI checks them like models directories).
      fs.mkdirSync(path.join(sb.root, 'home', '.local', 'share'), { recursive: true, mode: 0o700 });
      const dir = breakCache();
      const r = await runCli(['-m', VITS, 'Hi', '-o', 'v.wav', ...(offline ? ['--offline'] : [])], { cwd: sb.work });
      expect(r.exitCode, r.stderr).toBe(3);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^tts: E_MODEL_LOAD: the downloaded copy of model ${VITS} was broken \\(model_file\\.pth is truncated`));
      expect(r.stderr).toContain('has been removed');
      expect(r.stderr).toContain(offline ? 'downloaded again on the next run without --offline' : 'downloaded again on the next run with network access');
      expect(r.stderr).not.toMatch(/Traceback|PytorchStreamReader/);
      expect(fs.existsSync(dir)).toBe(false);
      expect(listFiles(sb.work)).toEqual([]);
      // The next run no longer finds a copy: a plain "not downloaded" (offline) / download error.
      const again = await runCli(['-m', VITS, 'Hi', '-o', 'v.wav', '--offline'], { cwd: sb.work });
      expect(again.exitCode).toBe(3);
      expect(again.stderr).toMatch(/^tts: E_MODEL_DOWNLOAD: /);
    });
  }
});

describe('helpers (no worker)', () => {
  it('formats dropped characters most frequent first, invisible ones by code point, capped', () => {
    expect(formatDropped(new Map([['ş', 1], ['ə', 3], ['\u0307', 1]]))).toBe('"ə" ×3, "ş" ×1, U+0307 ×1');
    expect(droppedWarning('m', new Map([['\u001b', 2]]))).toBe('model m has no characters for U+001B ×2; they are not spoken');
    const many = new Map([...'abcdefghijklmnop'].map((c, i) => [c, 100 - i] as [string, number]));
    expect(formatDropped(many)).toMatch(/"l" ×89, and 4 more$/);
  });

  it('catalogCopyProblem: a whole copy passes; empty, truncated and missing files are named', () => {
    const dir = path.join(sb.root, 'copy');
    fs.mkdirSync(dir);
    expect(catalogCopyProblem(dir)).toBe('config.json is missing');
    fs.copyFileSync(path.join(COQUI_FIXTURE, 'config.json'), path.join(dir, 'config.json'));
    expect(catalogCopyProblem(dir)).toBe('it has no checkpoint');
    const pth = fs.readFileSync(path.join(COQUI_FIXTURE, 'model.pth'));
    fs.writeFileSync(path.join(dir, 'model_file.pth'), pth);
    expect(catalogCopyProblem(dir)).toBeNull();
    fs.writeFileSync(path.join(dir, 'model_file.pth'), pth.subarray(0, 100_000));
    expect(catalogCopyProblem(dir)).toBe('model_file.pth is truncated: an incomplete zip archive of 100,000 bytes');
    fs.writeFileSync(path.join(dir, 'model_file.pth'), '');
    expect(catalogCopyProblem(dir)).toBe('model_file.pth is empty');
    fs.writeFileSync(path.join(dir, 'model_file.pth'), Buffer.from([0x80, 0x02, 0x8a, 0x0a])); // old-style pickle: trusted
    expect(catalogCopyProblem(dir)).toBeNull();
    fs.writeFileSync(path.join(dir, 'config.json'), '{"half":');
    expect(catalogCopyProblem(dir)).toBe('config.json is damaged');
  });
});
