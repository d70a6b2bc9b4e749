// Whole-process tests: the built CLI, run as a user would, with the real engines.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listFiles, runCli, sandbox, treeHash } from '../support/cli.js';
import { readWav } from '../support/wav.js';
import { COQUI_FIXTURE, COQUI_FIXTURE_RATE } from '../support/paths.js';

const WORKER_STARTED = 'worker: starting';
let sb: ReturnType<typeof sandbox>;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

function wavAt(name: string) {
  return readWav(fs.readFileSync(path.join(sb.work, name)));
}

function expectSpeechWav(w: ReturnType<typeof readWav>, rate: number) {
  expect(w.riffOk).toBe(true);
  expect(w.format).toBe(1);
  expect(w.channels).toBe(1);
  expect(w.bits).toBe(16);
  expect(w.sampleRate).toBe(rate);
  expect(w.byteRate).toBe(rate * 2);
  expect(w.blockAlign).toBe(2);
  expect(w.riffSize).toBe(w.fileSize - 8);
  expect(w.dataSize).toBe(w.fileSize - 44);
  expect(w.rms).toBeGreaterThan(100); // not silence
}

/** WAV streamed to a pipe: the header is written before the length is known (0xFFFFFFFF), the rest is exact. */
function expectPipedWav(buf: Buffer) {
  expect(buf.readUInt32LE(4)).toBe(0xffffffff);
  expect(buf.readUInt32LE(40)).toBe(0xffffffff);
  const w = readWav(buf);
  expect(w.riffOk).toBe(true);
  expect([w.format, w.channels, w.bits, w.sampleRate, w.byteRate, w.blockAlign]).toEqual([1, 1, 16, 22050, 44100, 2]);
  expect(w.samples.length).toBe((buf.length - 44) / 2);
  expect(w.rms).toBeGreaterThan(100);
}

describe('the embedded voice (Piper en_US-joe-medium)', () => {
  it('speaks "Hello world" into hello.wav: 22050 Hz mono 16-bit, 0.6-3 s, nothing on stdout', async () => {
    const r = await runCli(['Hello world', '-o', 'hello.wav'], { cwd: sb.work });
    expect(r.stderr).toContain('Wrote hello.wav');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.length).toBe(0);
    const w = wavAt('hello.wav');
    expectSpeechWav(w, 22050);
    expect(w.seconds).toBeGreaterThan(0.6);
    expect(w.seconds).toBeLessThan(3);
    expect(listFiles(sb.work)).toEqual(['hello.wav']); // no temporary files left behind
    expect((fs.statSync(path.join(sb.work, 'hello.wav')).mode & 0o777).toString(8)).not.toBe('600');
  });

  it('reads text from a pipe', async () => {
    const r = await runCli(['-o', 'pipe.wav'], { cwd: sb.work, input: 'Testing from a pipe.\n' });
    expect(r.exitCode, r.stderr).toBe(0);
    const w = wavAt('pipe.wav');
    expectSpeechWav(w, 22050);
    expect(w.seconds).toBeGreaterThan(0.6);
  });

  it("speaks text that starts with '-' after --, with options after it still honoured", async () => {
    const r = await runCli(['--', '-5 degrees outside', '-o', 'neg.wav'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.length).toBe(0);
    const w = wavAt('neg.wav');
    expectSpeechWav(w, 22050);
    // "minus five degrees outside" is clearly longer than a single word.
    expect(w.seconds).toBeGreaterThan(1.0);
  });

  it("speaks '-5 degrees outside' without -- too (it contains a space, so it cannot be an option)", async () => {
    const r = await runCli(['-5 degrees outside', '-o', 'neg.wav'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expectSpeechWav(wavAt('neg.wav'), 22050);
  });

  it('speaks a 2,000-character sentence with no full stop (cut into bounded pieces, not an OOM kill)', async () => {
    const text = Array.from({ length: 35 }, () => 'and then the quick brown fox jumped over another lazy dog').join(', ');
    expect(text.length).toBeGreaterThan(2000);
    const r = await runCli([text, '-o', 'long.wav'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    // ~350 words: well over a minute of speech, so nothing was dropped.
    expect(wavAt('long.wav').seconds).toBeGreaterThan(60);
  });

  it('passes shell metacharacters and markup through as text', async () => {
    const r = await runCli(['Tom & Jerry; rm -rf ~ $(id) <b>5</b>', '-o', 'tj.wav'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(wavAt('tj.wav').seconds).toBeGreaterThan(1.5);
  });

  it('reads text from a file with -f (BOM and CRLF handled)', async () => {
    fs.writeFileSync(path.join(sb.work, 'in.txt'), '\ufeffFirst line.\r\nSecond line.\r\n');
    const r = await runCli(['-f', 'in.txt', '-o', 'f.wav'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(wavAt('f.wav').seconds).toBeGreaterThan(1.0);
  });

  it('writes WAV to stdout with -o - (and nothing else); on a pipe the sizes say "unknown length"', async () => {
    const r = await runCli(['Hello there.', '-o', '-'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expectPipedWav(r.stdout);
    expect(listFiles(sb.work)).toEqual([]);
  });

  it('ends quietly when the reader of stdout goes away early (| head -c 100)', async () => {
    const { execa } = await import('execa');
    const { baseEnv } = await import('../support/cli.js');
    const { BIN } = await import('../support/paths.js');
    const r = await execa('bash', ['-c', `node "${BIN}" "Hello there, this sentence makes more audio than a pipe buffer holds." -o - | head -c 100 | wc -c; echo "status=\${PIPESTATUS[0]}"`], {
      cwd: sb.work,
      env: baseEnv(`${sb.root}/home`),
      extendEnv: false,
      reject: false,
    });
    expect(r.stdout).toMatch(/^\s*100\s*\nstatus=0$/);
    expect(r.stderr).toBe('');
  });

  it('writes WAV to stdout when there is no -o and stdout is not a terminal', async () => {
    const r = await runCli(['Hello'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expectPipedWav(r.stdout);
    expect(listFiles(sb.work)).toEqual([]);
  });

  it('replaces an existing file with --force', async () => {
    const target = path.join(sb.work, 'hello.wav');
    fs.writeFileSync(target, 'old contents');
    const r = await runCli(['Hello world', '-o', 'hello.wav', '--force'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expectSpeechWav(wavAt('hello.wav'), 22050);
    expect(listFiles(sb.work)).toEqual(['hello.wav']);
  });

  it('sweeps temporary files that a killed run left behind, and only those', async () => {
    const stale = path.join(sb.work, '.tts-0123456789abcdef.tmp');
    const fresh = path.join(sb.work, '.tts-fedcba9876543210.tmp');
    const other = path.join(sb.work, '.tts-notours.tmp');
    for (const f of [stale, fresh, other]) fs.writeFileSync(f, 'partial');
    const old = new Date(Date.now() - 3600_000);
    fs.utimesSync(stale, old, old);
    fs.utimesSync(other, old, old);
    const r = await runCli(['Hello', '-o', 'x.wav'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(listFiles(sb.work)).toEqual(['.tts-fedcba9876543210.tmp', '.tts-notours.tmp', 'x.wav']);
  });

  it('creates missing parent directories inside the base', async () => {
    const r = await runCli(['Hello', '-o', 'new dir/sub/ü out.wav'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expectSpeechWav(readWav(fs.readFileSync(path.join(sb.work, 'new dir', 'sub', 'ü out.wav'))), 22050);
  });
});

describe('Coqui through TTS.api.TTS on a locally built model', () => {
  it('synthesizes with -m <model folder> at the model sample rate', async () => {
    const r = await runCli(['-m', COQUI_FIXTURE, '--models-dir', path.dirname(COQUI_FIXTURE), 'Hello', '-o', 'c.wav', '--verbose'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/coqui .* loaded in/);
    const w = wavAt('c.wav');
    expectSpeechWav(w, COQUI_FIXTURE_RATE);
    expect(w.seconds).toBeGreaterThan(0.05);
  });

  it('fails a catalog model that cannot be downloaded with exit 3 and one clear line', async () => {
    const r = await runCli(['-m', 'tts_models/en/ljspeech/vits', 'Hello', '-o', 'v.wav'], { cwd: sb.work });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/^tts: E_MODEL_DOWNLOAD: cannot download model tts_models\/en\/ljspeech\/vits: /);
    expect(r.stderr).not.toMatch(/Traceback|File "/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(listFiles(sb.work)).toEqual([]);
    // The interrupted download left no poisoned model folder behind.
    const models = path.join(sb.root, 'home', '.local', 'share', 'tts-cli', 'models', 'tts');
    expect(fs.existsSync(models) ? fs.readdirSync(models) : []).toEqual([]);
  });

  it('refuses an unknown catalog id before starting Python, suggesting the nearest', async () => {
    const r = await runCli(['-m', 'tts_models/en/ljspeech/vitz', 'Hello', '-o', 'v.wav', '--verbose'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('E_MODEL_UNKNOWN');
    expect(r.stderr).toContain('tts_models/en/ljspeech/vits');
    expect(r.stderr).not.toContain(WORKER_STARTED);
  });

  it('refuses text the model has no characters for, with the characters named (exit 2)', async () => {
    const r = await runCli(['-m', COQUI_FIXTURE, '--models-dir', path.dirname(COQUI_FIXTURE), '東京', '-o', 'x.wav'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^tts: E_TEXT_UNSUPPORTED: .*cannot speak: 東京/);
    expect(r.stderr).not.toContain('IndexError');
    expect(listFiles(sb.work)).toEqual([]);
  });

  it('refuses --language on a model that is not multilingual (exit 2)', async () => {
    const r = await runCli(['-m', COQUI_FIXTURE, '--models-dir', path.dirname(COQUI_FIXTURE), '--language', 'en', 'Hello', '-o', 'x.wav'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^tts: E_SPEAKER: .*not multilingual/);
  });

  it('refuses a model folder outside the allowed models directories, before starting Python', async () => {
    const r = await runCli(['-m', COQUI_FIXTURE, 'Hello', '-o', 'c.wav', '--verbose'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('E_MODEL_NOT_ALLOWED');
    expect(r.stderr).toContain('--models-dir');
    expect(r.stderr).not.toContain(WORKER_STARTED);
  });

  it('refuses a model folder without config.json', async () => {
    fs.mkdirSync(path.join(sb.work, 'empty-model'));
    const r = await runCli(['-m', './empty-model', 'Hello', '-o', 'v.wav', '--verbose'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('E_MODEL_FOLDER');
    expect(r.stderr).not.toContain(WORKER_STARTED);
  });
});

describe('rejections: exit 2, no file, no worker', () => {
  const cases: Array<{ name: string; args: string[]; input?: string; code: string }> = [
    { name: 'empty text', args: ['', '-o', 'a.wav'], code: 'E_TEXT_EMPTY' },
    { name: 'whitespace-only text', args: ['   ', '-o', 'a.wav'], code: 'E_TEXT_EMPTY' },
    { name: 'punctuation-only text', args: ['......', '-o', 'a.wav'], code: 'E_TEXT_EMPTY' },
    { name: 'whitespace-only stdin', args: ['-o', 'a.wav'], input: ' \n\t\n', code: 'E_TEXT_EMPTY' },
    { name: 'output in the parent directory', args: ['hi', '-o', '../outside/x.wav'], code: 'E_PATH_TRAVERSAL' },
    { name: 'absolute output outside', args: ['hi', '-o', '/tmp/tts-test-should-not-exist.wav'], code: 'E_PATH_TRAVERSAL' },
    { name: 'wrong extension', args: ['hi', '-o', 'a.wav.sh'], code: 'E_PATH_EXT' },
    { name: 'hidden file', args: ['hi', '-o', '.bashrc.wav'], code: 'E_PATH_INVALID_NAME' },
    { name: 'leading dash', args: ['hi', '-o', '-rf.wav'], code: 'E_PATH_INVALID_NAME' },
    { name: 'reserved name', args: ['hi', '-o', 'CON.wav'], code: 'E_PATH_RESERVED' },
    { name: 'terminal escape in name', args: ['hi', '-o', 'x\u001b[2J.wav'], code: 'E_PATH_INVALID_CHAR' },
    { name: 'text too long', args: ['a'.repeat(10_001), '-o', 'a.wav'], code: 'E_TEXT_TOO_LONG' },
    { name: 'a URL as model', args: ['hi', '-m', 'https://example.com/m.pth', '-o', 'a.wav'], code: 'E_MODEL_NOT_ALLOWED' },
    { name: 'unknown voice', args: ['hi', '-m', 'en_US-joe-mediun', '-o', 'a.wav'], code: 'E_MODEL_UNKNOWN' },
  ];
  for (const c of cases) {
    it(`${c.name} -> ${c.code}`, async () => {
      const before = treeHash(sb.outside);
      const r = await runCli([...c.args, '--verbose'], { cwd: sb.work, input: c.input });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toContain(`tts: ${c.code}: `);
      expect(r.stderr).not.toContain(WORKER_STARTED);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
      expect(r.stdout.length).toBe(0);
      expect(listFiles(sb.work)).toEqual([]);
      expect(treeHash(sb.outside)).toBe(before);
      expect(fs.existsSync('/tmp/tts-test-should-not-exist.wav')).toBe(false);
    });
  }

  it('leaves an existing output untouched without --force', async () => {
    const target = path.join(sb.work, 'hello.wav');
    fs.writeFileSync(target, 'precious');
    const r = await runCli(['Hello world', '-o', 'hello.wav', '--verbose'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('tts: E_PATH_EXISTS: ');
    expect(r.stderr).not.toContain(WORKER_STARTED);
    expect(fs.readFileSync(target, 'utf8')).toBe('precious');
    expect(listFiles(sb.work)).toEqual(['hello.wav']);
  });

  it('refuses a directory as the output', async () => {
    fs.mkdirSync(path.join(sb.work, 'dir.wav'));
    const r = await runCli(['Hello', '-o', 'dir.wav'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('E_PATH_NOT_FILE');
  });

  it('refuses to write through a symlinked directory that leads outside', async () => {
    fs.symlinkSync(sb.outside, path.join(sb.work, 'link'));
    const before = treeHash(sb.outside);
    const r = await runCli(['Hello', '-o', 'link/x.wav'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('E_PATH_SYMLINK');
    expect(treeHash(sb.outside)).toBe(before);
  });

  it('refuses a symlink as the output file, even with --force', async () => {
    fs.symlinkSync(path.join(sb.outside, 'sentinel.txt'), path.join(sb.work, 'x.wav'));
    const before = treeHash(sb.outside);
    const r = await runCli(['Hello', '-o', 'x.wav', '--force'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('E_PATH_SYMLINK');
    expect(treeHash(sb.outside)).toBe(before);
  });

  it('refuses --language the embedded voice does not speak, and accepts its own in any case', async () => {
    const bad = await runCli(['hi', '--language', 'de', '-o', 'x.wav'], { cwd: sb.work });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('E_SPEAKER');
    const good = await runCli(['hi', '--language', 'en_US', '-o', 'y.wav'], { cwd: sb.work });
    expect(good.exitCode, good.stderr).toBe(0);
    expect(listFiles(sb.work)).toEqual(['y.wav']);
  });

  it('refuses text arguments that are not valid UTF-8 (Node would turn them into U+FFFD)', async () => {
    const { execa } = await import('execa');
    const { baseEnv } = await import('../support/cli.js');
    const { BIN } = await import('../support/paths.js');
    const r = await execa('bash', ['-c', `node "${BIN}" "$(printf 'caf\\xe9 ole')" -o lat.wav`], { cwd: sb.work, env: baseEnv(`${sb.root}/home`), extendEnv: false, reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('E_TEXT_ENCODING');
    expect(listFiles(sb.work)).toEqual([]);
  });

  it('options after a subcommand belong to it: `tts setup -o x.wav` is a usage error', async () => {
    const r = await runCli(['setup', '-o', 'x.wav'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("unknown option '-o'");
  });

  it('reports an unknown option with a suggestion and exit 2', async () => {
    const r = await runCli(['hi', '--ouptut', 'x.wav'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^tts: E_USAGE: unknown option '--ouptut' \(Did you mean --output\?\)/);
    expect(listFiles(sb.work)).toEqual([]);
  });
});

describe('help and version', () => {
  it('--help prints usage with examples to stdout and exits 0', async () => {
    const r = await runCli(['--help'], { cwd: sb.work });
    expect(r.exitCode).toBe(0);
    const out = r.stdout.toString();
    expect(out).toContain('Usage: tts [options] [text...]');
    expect(out.match(/^\s+\$ tts /gm)?.length ?? 0).toBeGreaterThanOrEqual(3);
    expect(out).toContain('Exit status');
    expect(out).not.toMatch(/\x1b/);
    expect(r.stderr).toBe('');
  });

  it('`tts help` and `tts help setup` show help instead of speaking the word', async () => {
    const r = await runCli(['help'], { cwd: sb.work });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toContain('Usage: tts [options] [text...]');
    const s = await runCli(['help', 'setup'], { cwd: sb.work });
    expect(s.stdout.toString()).toContain('Usage: tts setup [options]');
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await runCli(['--version'], { cwd: sb.work });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString().trim()).toBe(pkg.version);
  });
});

describe('option values', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--timeout', 'abc'], /^tts: E_USAGE: --timeout must be a number of seconds, got "abc"\.$/m],
    [['--max-chars', '0'], /^tts: E_USAGE: --max-chars must be at least 1, got "0"\.$/m],
    [['--max-chars', '10000001'], /^tts: E_USAGE: --max-chars must be at most 10000000, got "10000001"\.$/m],
    [['--threads', '999'], /^tts: E_USAGE: --threads must be at most 64, got "999"\.$/m],
    [['--speaker', ''], /^tts: E_USAGE: --speaker must not be empty, got ""\.$/m],
  ];
  for (const [extra, message] of cases) {
    it(`${extra.join(' ')} is a usage error naming the value`, async () => {
      const r = await runCli(['hi', '-o', 'x.wav', ...extra], { cwd: sb.work });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(listFiles(sb.work)).toEqual([]);
    });
  }
});

describe('worker resource limits', () => {
  it('a memory limit too small for the engine is E_MEMORY_LIMIT (exit 3), not a machine-wide OOM', async () => {
    const r = await runCli(['Hello', '-o', 'x.wav', '--max-memory', '256'], { cwd: sb.work });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/^tts: E_MEMORY_LIMIT: .*--max-memory/);
    expect(listFiles(sb.work)).toEqual([]);
  });

  it('the same for Coqui, whose torch cannot even map its libraries', async () => {
    const r = await runCli(['-m', COQUI_FIXTURE, '--models-dir', path.dirname(COQUI_FIXTURE), 'Hello', '-o', 'x.wav', '--max-memory', '300'], { cwd: sb.work });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/^tts: E_MEMORY_LIMIT: /);
  });
});
