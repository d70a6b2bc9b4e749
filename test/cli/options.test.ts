// Whole-process tests for option handling across commands, stdout that is not audio, reported durations,
// player failures, voice options decided in Node, number formats, path encodings, base directories and emoji.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, listFiles, runCli, sandbox } from '../support/cli.js';
import { readWav } from '../support/wav.js';
import { BIN, COQUI_FIXTURE as COQUI_MODEL, COQUI_FIXTURE_RATE as COQUI_RATE } from '../support/paths.js';
import { isPrivateGroup } from '../../src/audio/base-dirs.js';

const WORKER_STARTED = 'worker: starting';
let sb: ReturnType<typeof sandbox>;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

const at = (name: string) => path.join(sb.work, name);
const env = () => baseEnv(path.join(sb.root, 'home'));

/** Run the CLI through bash, for what execa cannot express: closed pipes, /dev/full, bytes that are not UTF-8. */
async function shell(script: string, cwd = sb.work) {
  const r = await execa('bash', ['-c', `tts() { node "$TTS_BIN" "$@"; }\n${script}`], { cwd, env: { ...env(), TTS_BIN: BIN }, extendEnv: false, reject: false });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe('options given before a subcommand', () => {
  it('are honoured when the subcommand has them: --dry-run batch writes nothing, --offline batch never downloads', async () => {
    fs.writeFileSync(at('lines.txt'), 'One.\nTwo.\n');
    const dry = await runCli(['--dry-run', 'batch', 'lines.txt', '-d', 'out', '--verbose'], { cwd: sb.work });
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stderr).not.toContain(WORKER_STARTED);
    expect(fs.existsSync(at('out'))).toBe(false);
    const offline = await runCli(['--offline', 'batch', 'lines.txt', '-d', 'out', '-m', 'tts_models/en/ljspeech/vits', '--verbose'], { cwd: sb.work });
    expect(offline.exitCode, offline.stderr).toBe(3);
    expect(offline.stderr).toContain('E_MODEL_DOWNLOAD');
    expect(offline.stderr).toContain('--offline');
    expect(offline.stderr).not.toContain(WORKER_STARTED);
  });

  it('are refused when the subcommand does not have them, instead of being dropped', async () => {
    const r = await runCli(['-o', 'x.wav', 'setup'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^tts: E_USAGE: --output is not an option of `tts setup`\./);
    expect(listFiles(sb.work)).toEqual([]);
  });
});

describe('help', () => {
  it('`tts help <unknown>` names the command; `tts help help` shows the help', async () => {
    const bad = await runCli(['help', 'nonexist'], { cwd: sb.work });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim()).toBe('tts: E_USAGE: Unknown command "nonexist"; the commands are setup, doctor, batch. See tts --help.');
    const help = await runCli(['help', 'help'], { cwd: sb.work });
    expect(help.exitCode).toBe(0);
    expect(help.stdout.toString()).toMatch(/^Usage: tts /);
  });

  it('--no-color takes the colour out of error lines even when colour is forced', async () => {
    const forced = { ...env(), FORCE_COLOR: '1' };
    delete (forced as Record<string, string>).NO_COLOR;
    const coloured = await runCli(['--bogus'], { cwd: sb.work, env: forced });
    expect(coloured.stderr).toContain('\u001b[');
    const plain = await runCli(['--bogus', '--no-color'], { cwd: sb.work, env: forced });
    expect(plain.exitCode).toBe(2);
    expect(plain.stderr).not.toContain('\u001b[');
  });
});

describe('stdout that is not audio', () => {
  it('a reader that goes away early is no error: no stack trace, exit 0', async () => {
    // The reader is gone before the CLI writes (`| true` has exited): every write meets EPIPE.
    for (const cmd of ['tts --help', 'tts --version', 'tts doctor --json', 'tts batch --help', 'tts hi -o x.wav --json']) {
      const r = await shell(`{ sleep 0.3; ${cmd}; echo "status=$?" >&2; } | true`);
      expect(r.stderr.trim(), cmd).toBe('status=0');
    }
    expect(listFiles(sb.work)).toEqual(['x.wav']);
  });

  it('a stdout that cannot be written (a full disk) is E_OUTPUT_WRITE, exit 4', async () => {
    const r = await shell('tts --version > /dev/full');
    expect(r.exitCode).toBe(4);
    expect(r.stderr.trim()).toBe('tts: E_OUTPUT_WRITE: Could not write to stdout: ENOSPC.');
  });
});

describe('reported durations', () => {
  it('--json seconds include the silence between sentences: they equal the WAV file', async () => {
    const r = await runCli(['One. Two. Three.', '-o', 'a.wav', '--json'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.toString()) as { seconds: number; sentences: number };
    const w = readWav(fs.readFileSync(at('a.wav')));
    expect(report.sentences).toBe(3);
    expect(report.seconds).toBeCloseTo(w.seconds, 3);
  });
});

describe('--play', () => {
  it('a player that fails without reading everything is E_PLAYER (exit 4), not "Played"', async () => {
    const bin = path.join(sb.root, 'fakebin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'aplay'), '#!/bin/sh\necho "aplay: audio open error" >&2\nexit 1\n', { mode: 0o755 });
    const r = await runCli(['Hello there. This is a second sentence.', '--play'], { cwd: sb.work, env: { ...env(), PATH: `${bin}:${process.env.PATH}` } });
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toContain('audio open error');
    expect(r.stderr).toMatch(/^tts: E_PLAYER: The player aplay exited with status 1\./m);
    expect(r.stderr).not.toContain('Played');
  });
});

describe('the embedded voice: speaker and language decided before Python starts', () => {
  it('--speaker on a single-speaker voice and a language it does not speak are E_SPEAKER, even with --dry-run', async () => {
    const s = await runCli(['hi', '-o', 'p.wav', '--speaker', 'p225', '--dry-run'], { cwd: sb.work });
    expect(s.exitCode).toBe(2);
    expect(s.stderr).toMatch(/^tts: E_SPEAKER: Voice en_US-joe-medium has a single speaker; --speaker "p225" does not apply\./);
    const l = await runCli(['hi', '-o', 'p.wav', '--language', 'zh-cn', '--verbose'], { cwd: sb.work });
    expect(l.exitCode).toBe(2);
    expect(l.stderr).toContain('E_SPEAKER');
    expect(l.stderr).not.toContain(WORKER_STARTED);
    expect(listFiles(sb.work)).toEqual([]);
  });

  it('in a batch too: a batch-wide --speaker is refused once, before any input is planned or a worker starts', async () => {
    fs.writeFileSync(at('lines.txt'), 'One.\nTwo.\n');
    const r = await runCli(['batch', 'lines.txt', '-d', 'out', '--speaker', 'p225', '--verbose'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.match(/E_SPEAKER/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/^tts: E_SPEAKER: Voice en_US-joe-medium has a single speaker/m);
    expect(r.stderr).not.toContain(WORKER_STARTED);
    expect(fs.existsSync(at('out'))).toBe(false);
    // A manifest item's own speaker is that item's failure.
    fs.writeFileSync(at('m.jsonl'), '{"text": "One."}\n{"text": "Two.", "speaker": "p225"}\n');
    const m = await runCli(['batch', 'm.jsonl', '-d', 'out', '--dry-run'], { cwd: sb.work });
    expect(m.exitCode).toBe(4);
    expect(m.stderr).toContain('tts: E_SPEAKER: m.jsonl:2:');
  });

  it('a batch with letters in other scripts gets one warning for all its items', async () => {
    fs.writeFileSync(at('nl.txt'), 'Hello.\n你好世界\nשלום\n');
    const r = await runCli(['batch', 'nl.txt', '-d', 'out', '--dry-run'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('tts: warning:'))).toEqual([expect.stringContaining('2 items have letters in other scripts (first: nl.txt:2: Han ×4)')]);
  });

  it('accepts its language as en, en-US, EN_us and en-us, with the same audio', async () => {
    const runs = [];
    for (const [i, tag] of ['en', 'en-US', 'EN_us', 'en-us'].entries()) {
      const r = await runCli(['Hello there.', '-o', `l${i}.wav`, '--language', tag], { cwd: sb.work });
      expect(r.exitCode, `${tag}: ${r.stderr}`).toBe(0);
      runs.push(fs.readFileSync(at(`l${i}.wav`)));
    }
    for (const b of runs.slice(1)) expect(b.equals(runs[0]!)).toBe(true);
  });

  it('warns once when the text has letters in scripts the voice cannot read', async () => {
    const r = await runCli(['你好 hello שלום', '-o', 'x.wav', '--dry-run'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('tts: warning:'));
    expect(warnings).toEqual([expect.stringContaining('(Hebrew ×4, Han ×2)')]);
    const latin = await runCli(['Café naïve façade', '-o', 'x.wav', '--dry-run'], { cwd: sb.work });
    expect(latin.stderr).not.toContain('warning');
  });
});

describe('numbers in option values are plain decimals', () => {
  for (const [flag, value] of [
    ['--max-chars', '0x10'],
    ['--max-chars', '1e3'],
    ['--max-chars', '1.5'],
    ['--timeout', 'Infinity'],
    ['--timeout', '1e2'],
    ['--threads', ' '],
  ] as const) {
    it(`${flag} ${JSON.stringify(value)} is a usage error naming the value`, async () => {
      const r = await runCli(['hi', '-o', 'x.wav', flag, value], { cwd: sb.work });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^tts: E_USAGE: ${flag} must be .*, got ${JSON.stringify(JSON.stringify(value)).slice(1, -1)}\\.`));
    });
  }
  it('a sub-second --timeout is reported as it was given', async () => {
    const r = await runCli(['Hello there.', '-o', 'x.wav', '--timeout', '0.001'], { cwd: sb.work });
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toContain('within 0.001 s');
    expect(listFiles(sb.work)).toEqual([]);
  });
});

describe('output names that are not valid UTF-8', () => {
  it('are refused (Node would write U+FFFD instead), not silently renamed', async () => {
    const r = await shell(`tts hi -o $'x\\xffb.wav'`);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^tts: E_PATH_INVALID_CHAR: Output path "x\uFFFDb\.wav" contains U\+FFFD/);
    expect(listFiles(sb.work)).toEqual([]);
  });
});

describe('an unsafe current directory', () => {
  it('does not block writing into an allowed --base-dir elsewhere; paths that need it are still refused', async () => {
    const open = path.join(sb.root, 'open');
    const good = path.join(sb.root, 'good');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    fs.mkdirSync(good, { mode: 0o755 });
    const ok = await runCli(['hi', '-o', path.join(good, 'x.wav'), '--base-dir', good], { cwd: open });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(readWav(fs.readFileSync(path.join(good, 'x.wav'))).sampleRate).toBe(22050);
    for (const out of ['x.wav', path.join(open, 'y.wav')]) {
      const r = await runCli(['hi', '-o', out, '--base-dir', good], { cwd: open });
      expect(r.exitCode, out).toBe(2);
      expect(r.stderr).toMatch(/^tts: E_BASE_INSECURE: The base directory "\." is writable by group or others \(mode 777\)/);
    }
    expect(fs.readdirSync(open)).toEqual([]);
  });

  it.runIf(isPrivateGroup(process.getgid!()))('a directory writable only by your own private group (umask 002) is yours', async () => {
    const d = path.join(sb.root, 'upg');
    fs.mkdirSync(d);
    fs.chmodSync(d, 0o775);
    const r = await runCli(['hi', '-o', 'x.wav', '--dry-run'], { cwd: d });
    expect(r.exitCode, r.stderr).toBe(0);
  });
});

describe('emoji', () => {
  it('are never spoken: emoji alone is E_TEXT_EMPTY, and with words they give the same audio as the words', async () => {
    const only = await runCli(['😀😀', '-o', 'e.wav'], { cwd: sb.work });
    expect(only.exitCode).toBe(2);
    expect(only.stderr).toMatch(/^tts: E_TEXT_EMPTY: .*emoji are not spoken/);
    const mixed = await runCli(['👩‍👩‍👧 family time 👍🏽', '-o', 'm.wav'], { cwd: sb.work });
    const words = await runCli(['family time', '-o', 'w.wav'], { cwd: sb.work });
    expect(mixed.exitCode, mixed.stderr).toBe(0);
    expect(words.exitCode, words.stderr).toBe(0);
    expect(fs.readFileSync(at('m.wav')).equals(fs.readFileSync(at('w.wav')))).toBe(true);
  });
});

describe('tight --max-memory values', () => {
  it('end in a WAV or E_MEMORY_LIMIT (exit 3), never a crash (exit 5) or a spin until the load timeout', async () => {
    // 576 MiB used to abort in OpenBLAS, 800 to spin in its thread start-up until --load-timeout, 900 to fail
    // loading llvmlite as E_MODEL_LOAD: wherever the allocation fails, the user must hear that memory ran out.
    const seen: string[] = [];
    for (const mb of ['400', '576', '800', '900']) {
      const r = await runCli(['-m', COQUI_MODEL, '--models-dir', path.dirname(COQUI_MODEL), 'Hello', '-o', `m${mb}.wav`, '--max-memory', mb, '--load-timeout', '60'], { cwd: sb.work });
      seen.push(`${mb}: ${r.exitCode}`);
      if (r.exitCode === 0) expect(readWav(fs.readFileSync(at(`m${mb}.wav`))).sampleRate).toBe(COQUI_RATE);
      else {
        expect(r.exitCode, `${mb}: ${r.stderr}`).toBe(3);
        expect(r.stderr).toMatch(/^tts: E_MEMORY_LIMIT: /m);
        expect(fs.existsSync(at(`m${mb}.wav`))).toBe(false);
      }
    }
    expect(seen.length).toBe(4);
  });
});

describe('a model folder named without a path', () => {
  it('is E_MODEL_UNKNOWN with the path to write instead, before Python starts', async () => {
    fs.cpSync(COQUI_MODEL, at('mymodel'), { recursive: true });
    const r = await runCli(['-m', 'mymodel', 'Hello', '-o', 'x.wav', '--verbose'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^tts: E_MODEL_UNKNOWN: Unknown model "mymodel"; there is a model folder of that name here\. Model folders are given as paths: -m "\.\/mymodel"\.$/m);
    expect(r.stderr).not.toContain(WORKER_STARTED);
    const ok = await runCli(['-m', './mymodel', 'Hello', '-o', 'x.wav'], { cwd: sb.work });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(readWav(fs.readFileSync(at('x.wav'))).sampleRate).toBe(COQUI_RATE);
  });
});

describe('batch --name errors', () => {
  it('name the template as given, not a stand-in', async () => {
    fs.writeFileSync(at('lines.txt'), 'One.\n');
    const noExt = await runCli(['batch', 'lines.txt', '--name', '{n}'], { cwd: sb.work });
    expect(noExt.exitCode).toBe(2);
    expect(noExt.stderr).toMatch(/^tts: E_PATH_EXT: --name "\{n\}": the name has no extension/m);
    const up = await runCli(['batch', 'lines.txt', '--name', '../{n}.wav'], { cwd: sb.work });
    expect(up.stderr).toMatch(/^tts: E_PATH_TRAVERSAL: --name "\.\.\/\{n\}\.wav": the name contains '\.\.'/m);
    expect(listFiles(sb.work)).toEqual(['lines.txt']);
  });
});
