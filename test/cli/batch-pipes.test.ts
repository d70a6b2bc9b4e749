// Whole-process tests for long text, batch mode and pipes: the built CLI with the real engines.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, listFiles, runCli, sandbox, treeHash } from '../support/cli.js';
import { readWav } from '../support/wav.js';
import { BIN, COQUI_FIXTURE, COQUI_FIXTURE_RATE } from '../support/paths.js';

const COQUI = ['-m', COQUI_FIXTURE, '--models-dir', path.dirname(COQUI_FIXTURE)];
const WORKER_STARTED = 'worker: starting';
let sb: ReturnType<typeof sandbox>;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

const at = (...p: string[]) => path.join(sb.work, ...p);
const wav = (...p: string[]) => readWav(fs.readFileSync(at(...p)));
const pcm = (w: ReturnType<typeof readWav>) => Buffer.from(w.samples.buffer, w.samples.byteOffset, w.samples.byteLength);

/** A deterministic text of `n` sentences, hard-wrapped at 70 columns like prose in a text editor. */
function prose(n: number): string {
  const words = 'the quick brown fox jumps over a lazy dog while seven clever birds sing softly near old river banks'.split(' ');
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const sentences: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = 5 + Math.floor(rnd() * 6);
    const s = Array.from({ length: len }, () => words[Math.floor(rnd() * words.length)]).join(' ');
    sentences.push(`${s[0]!.toUpperCase()}${s.slice(1)}.`);
  }
  const lines: string[] = [];
  let cur = '';
  for (const w of sentences.join(' ').split(' ')) {
    if (cur && cur.length + 1 + w.length > 70) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  lines.push(cur);
  return `${lines.join('\n')}\n`;
}

interface ItemReport {
  input: string;
  line: number;
  output: string | null;
  status: string;
  seconds: number | null;
  error: { code: string; message: string } | null;
}
const report = (stdout: Buffer) => JSON.parse(stdout.toString('utf8')) as { items: ItemReport[]; summary: Record<string, number> };

describe('batch: one output per line', () => {
  it('a 3-line file with CRLF and a BOM gives 3 outputs whose audio equals single runs of each line (Coqui, seeded)', async () => {
    const lines = ['First line.', 'The second line is a little longer.', 'Third!'];
    fs.writeFileSync(at('in.txt'), `\ufeff${lines.join('\r\n')}\r\n`);
    const r = await runCli(['batch', 'in.txt', '--out-dir', 'out', ...COQUI, '--json'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    const rep = report(r.stdout);
    expect(rep.items.map((i) => [i.line, i.output, i.status])).toEqual([
      [1, 'out/0001.wav', 'written'],
      [2, 'out/0002.wav', 'written'],
      [3, 'out/0003.wav', 'written'],
    ]);
    expect(listFiles(at('out'))).toEqual(['0001.wav', '0002.wav', '0003.wav']);
    for (const [k, text] of lines.entries()) {
      const single = await runCli([...COQUI, text, '-o', `single${k}.wav`], { cwd: sb.work });
      expect(single.exitCode, single.stderr).toBe(0);
      const a = wav('out', `000${k + 1}.wav`);
      const b = wav(`single${k}.wav`);
      expect(a.sampleRate).toBe(COQUI_FIXTURE_RATE);
      expect(a.riffSize).toBe(a.fileSize - 8);
      expect(pcm(a).equals(pcm(b)), `line ${k + 1} differs from its single run`).toBe(true);
      expect(rep.items[k]!.seconds).toBeCloseTo(b.seconds, 2);
    }
  });

  it('LF, CRLF and lone-CR versions of a file give identical outputs (no \\r reaches the engine)', async () => {
    const body = ['One line here.', 'Another line.'];
    const hashes: string[] = [];
    for (const [name, eol] of [['lf', '\n'], ['crlf', '\r\n'], ['cr', '\r']] as const) {
      fs.writeFileSync(at(`${name}.txt`), body.join(eol) + eol);
      const r = await runCli(['batch', `${name}.txt`, '-d', name, ...COQUI], { cwd: sb.work });
      expect(r.exitCode, r.stderr).toBe(0);
      hashes.push(treeHash(at(name)));
    }
    expect(hashes[1]).toBe(hashes[0]);
    expect(hashes[2]).toBe(hashes[0]);
  });

  it('on the embedded voice: blank, comment and unspeakable lines are skipped and reported; durations match single runs', async () => {
    fs.writeFileSync(at('list.txt'), '# a comment\nHello there.\n\n......\nThis line is quite a bit longer than the first one.\n');
    const r = await runCli(['batch', 'list.txt', '-d', 'out', '--json'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    const rep = report(r.stdout);
    expect(rep.items.map((i) => [i.line, i.status])).toEqual([
      [2, 'written'],
      [4, 'empty'],
      [5, 'written'],
    ]);
    expect(rep.items[1]!.error?.code).toBe('E_TEXT_EMPTY');
    expect(listFiles(at('out'))).toEqual(['0001.wav', '0003.wav']);
    const single = await runCli(['This line is quite a bit longer than the first one.', '-o', 's.wav'], { cwd: sb.work });
    expect(single.exitCode).toBe(0);
    const long = wav('out', '0003.wav');
    expect(long.sampleRate).toBe(22050);
    expect(long.rms).toBeGreaterThan(100);
    expect(Math.abs(long.seconds - wav('s.wav').seconds) / wav('s.wav').seconds).toBeLessThan(0.2);
    expect(wav('out', '0001.wav').seconds).toBeLessThan(long.seconds);
  });

  it('a manifest with bad lines writes the other items, exits 4 and names each bad line', async () => {
    fs.writeFileSync(
      at('m.jsonl'),
      ['{"text": "Good morning.", "output": "a.wav"}', '{"txt": "typo"}', 'not json', '{"text": "Good night.", "output": "sub/b.wav"}', '{"text": "Up.", "output": "../escape.wav"}', ''].join('\n'),
    );
    const before = treeHash(sb.outside);
    const r = await runCli(['batch', 'm.jsonl', '-d', 'out', '--json'], { cwd: sb.work });
    expect(r.exitCode).toBe(4);
    const rep = report(r.stdout);
    expect(rep.items.map((i) => [i.line, i.status, i.error?.code ?? null])).toEqual([
      [1, 'written', null],
      [2, 'failed', 'E_MANIFEST'],
      [3, 'failed', 'E_MANIFEST'],
      [4, 'written', null],
      [5, 'failed', 'E_PATH_TRAVERSAL'],
    ]);
    expect(r.stderr).toMatch(/^tts: E_MANIFEST: m\.jsonl:2: unknown key "txt"/m);
    expect(r.stderr).toMatch(/^tts: E_MANIFEST: m\.jsonl:3: not valid JSON/m);
    expect(r.stderr).toMatch(/^tts: E_BATCH_FAILED: 3 of 5 items failed/m);
    expect(wav('out', 'a.wav').rms).toBeGreaterThan(100);
    expect(wav('out', 'sub', 'b.wav').rms).toBeGreaterThan(100);
    expect(fs.existsSync(at('escape.wav'))).toBe(false);
    expect(treeHash(sb.outside)).toBe(before);
  });

  it('two items writing the same file (case twins) are refused before any synthesis: exit 2, nothing written', async () => {
    fs.writeFileSync(at('m.jsonl'), '{"text": "One.", "output": "x.wav"}\n{"text": "Two.", "output": "ok.wav"}\n{"text": "Three.", "output": "X.WAV"}\n');
    const before = treeHash(sb.root);
    const r = await runCli(['batch', 'm.jsonl', '-d', 'out', '--verbose'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^tts: E_BATCH_COLLISION: m\.jsonl:1 and m\.jsonl:3 would both write/m);
    expect(r.stderr).not.toContain(WORKER_STARTED);
    expect(treeHash(sb.root)).toBe(before);
  });

  it('Unicode-normalisation twins from a {slug}-free template collide too', async () => {
    // "café" typed precomposed and decomposed: one name on macOS; the template {line} keeps them apart.
    fs.writeFileSync(at('m.jsonl'), '{"text": "One.", "output": "caf\\u00e9.wav"}\n{"text": "Two.", "output": "CAF\\u00c9.wav"}\n');
    const r = await runCli(['batch', 'm.jsonl', '-d', 'out'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('E_BATCH_COLLISION');
    expect(fs.existsSync(at('out'))).toBe(false);
  });

  it('a resumed batch skips existing outputs (left untouched) and --force replaces them', async () => {
    fs.writeFileSync(at('in.txt'), 'Alpha.\nBravo.\nCharlie.\n');
    fs.mkdirSync(at('out'));
    fs.writeFileSync(at('out', '0002.wav'), 'precious');
    const r = await runCli(['batch', 'in.txt', '-d', 'out', '--json'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(report(r.stdout).items.map((i) => i.status)).toEqual(['written', 'exists', 'written']);
    expect(fs.readFileSync(at('out', '0002.wav'), 'utf8')).toBe('precious');
    const again = await runCli(['batch', 'in.txt', '-d', 'out', '--verbose'], { cwd: sb.work });
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain('0 written, 3 skipped');
    expect(again.stderr).not.toContain(WORKER_STARTED); // nothing to do: no worker
    const forced = await runCli(['batch', 'in.txt', '-d', 'out', '--force'], { cwd: sb.work });
    expect(forced.exitCode).toBe(0);
    expect(wav('out', '0002.wav').rms).toBeGreaterThan(100);
  });

  it('--split paragraph, --name templates and several input files', async () => {
    fs.writeFileSync(at('a.txt'), 'First paragraph,\nwrapped over two lines.\n\nSecond paragraph.\n');
    fs.writeFileSync(at('b.txt'), 'Only one here.\n');
    const r = await runCli(['batch', 'a.txt', 'b.txt', '--split', 'paragraph', '-d', 'out', '--name', '{stem}-{n:02}-{slug}.wav', '--json'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(report(r.stdout).items.map((i) => [i.input, i.line, i.output])).toEqual([
      ['a.txt', 1, 'out/a-01-first-paragraph-wrapped-over-two-lines.wav'],
      ['a.txt', 4, 'out/a-02-second-paragraph.wav'],
      ['b.txt', 1, 'out/b-01-only-one-here.wav'],
    ]);
    const bad = await runCli(['batch', 'a.txt', '-d', 'out2', '--name', '{nope}.wav'], { cwd: sb.work });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/^tts: E_USAGE: --name: unknown placeholder \{nope\}/);
    const traversal = await runCli(['batch', 'a.txt', '-d', '../outside'], { cwd: sb.work });
    expect(traversal.exitCode).toBe(2);
    expect(traversal.stderr).toContain('E_PATH_TRAVERSAL');
  });

  it('--jobs 2 shares the items between two workers and writes the same audio as one worker (Coqui, seeded)', async () => {
    fs.writeFileSync(at('in.txt'), ['Alpha one.', 'Bravo two two.', 'Charlie three three three.', 'Delta four.', 'Echo five five.'].join('\n'));
    // The same thread count on both sides: float sums in torch depend on how the work is split between threads.
    const one = await runCli(['batch', 'in.txt', '-d', 'one', ...COQUI, '--threads', '1'], { cwd: sb.work });
    const two = await runCli(['batch', 'in.txt', '-d', 'two', ...COQUI, '--jobs', '2', '--threads', '1', '--verbose'], { cwd: sb.work });
    expect(one.exitCode, one.stderr).toBe(0);
    expect(two.exitCode, two.stderr).toBe(0);
    expect(two.stderr.split(WORKER_STARTED).length - 1).toBe(2);
    expect(listFiles(at('two'))).toHaveLength(5);
    expect(treeHash(at('two'))).toBe(treeHash(at('one')));
  });

  it('an input with an invalid UTF-8 byte stops the batch before synthesis, naming the file, line and byte offset', async () => {
    fs.writeFileSync(at('bad.txt'), Buffer.concat([Buffer.from('Fine line.\nBroken '), Buffer.from([0xff]), Buffer.from(' line.\n')]));
    const r = await runCli(['batch', 'bad.txt', '-d', 'out', '--verbose'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^tts: E_TEXT_ENCODING: The text from "bad\.txt" is not valid UTF-8 \(line 2, byte offset 18\)/m);
    expect(r.stderr).not.toContain(WORKER_STARTED);
    expect(fs.existsSync(at('out'))).toBe(false);
  });

  it('--fail-fast stops at the first failed item; the rest are reported as not run', async () => {
    // The Coqui model's speakers are known only to the worker: item 2 fails while synthesizing, after item 1.
    fs.writeFileSync(at('m.jsonl'), '{"text": "One.", "output": "1.wav"}\n{"text": "Two.", "output": "2.wav", "speaker": "nobody"}\n{"text": "Three.", "output": "3.wav"}\n');
    const r = await runCli(['batch', 'm.jsonl', '-d', 'out', '--fail-fast', '--json', ...COQUI], { cwd: sb.work });
    expect(r.exitCode).toBe(4);
    expect(report(r.stdout).items.map((i) => [i.status, i.error?.code ?? null])).toEqual([
      ['written', null],
      ['failed', 'E_SPEAKER'],
      ['cancelled', null],
    ]);
    expect(listFiles(at('out'))).toEqual(['1.wav']);
  });
});

describe('long text and pipes', () => {
  it('-f <50-sentence file> -o - | cat gives the same samples as -o file; the pipe header says "unknown length"', async () => {
    fs.writeFileSync(at('fifty.txt'), prose(50));
    const piped = await runCli(['-f', 'fifty.txt', '-o', '-', '--json'], { cwd: sb.work, timeoutMs: 300_000 });
    expect(piped.exitCode, piped.stderr).toBe(0);
    const info = JSON.parse(piped.stderr.trim().split('\n').pop()!) as { sentences: number; format: string };
    expect(info.sentences).toBe(50);
    expect(piped.stdout.readUInt32LE(4)).toBe(0xffffffff);
    expect(piped.stdout.readUInt32LE(40)).toBe(0xffffffff);
    const file = await runCli(['-f', 'fifty.txt', '-o', 'out2.wav'], { cwd: sb.work, timeoutMs: 300_000 });
    expect(file.exitCode, file.stderr).toBe(0);
    const f = wav('out2.wav');
    expect(f.riffSize).toBe(f.fileSize - 8);
    expect(f.dataSize).toBe(f.fileSize - 44);
    expect(piped.stdout.subarray(44).equals(pcm(f))).toBe(true);
    expect(f.seconds).toBeGreaterThan(50); // all 50 sentences are there
  });

  it('stdout redirected to a regular file gets exact sizes: byte-identical to -o', async () => {
    // A shell redirection, so that the CLI's fd 1 really is the file (execa's {file} would put a pipe in between).
    const r = await execa('bash', ['-c', `node "${BIN}" 'One. Two. Three.' -o - > redirected.wav`], { cwd: sb.work, env: baseEnv(path.join(sb.root, 'home')), extendEnv: false, reject: false });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const file = await runCli(['One. Two. Three.', '-o', 'direct.wav'], { cwd: sb.work });
    expect(file.exitCode).toBe(0);
    expect(fs.readFileSync(at('redirected.wav')).equals(fs.readFileSync(at('direct.wav')))).toBe(true);
    // --verbose fills stderr with the engine's messages; stdout stays the same audio.
    const v = await execa('bash', ['-c', `node "${BIN}" 'One. Two. Three.' -o - --verbose > verbose.wav`], { cwd: sb.work, env: baseEnv(path.join(sb.root, 'home')), extendEnv: false, reject: false });
    expect(v.exitCode).toBe(0);
    expect(String(v.stderr)).toContain('worker');
    expect(fs.readFileSync(at('verbose.wav')).equals(fs.readFileSync(at('direct.wav')))).toBe(true);
  });

  it('a reader that exits early (| head -c 100) ends the CLI quietly: exit 0, no message, no worker left', async () => {
    fs.writeFileSync(at('fifty.txt'), prose(50));
    const tmp = path.join(sb.root, 'tmp');
    fs.mkdirSync(tmp);
    const env = { ...baseEnv(path.join(sb.root, 'home')), TMPDIR: tmp };
    const r = await execa('bash', ['-c', `node "${BIN}" -f fifty.txt -o - | head -c 100 > head.bin; echo "status=\${PIPESTATUS[0]}" >&2`], { cwd: sb.work, env, extendEnv: false, reject: false });
    expect(r.stderr).toBe('status=0');
    expect(fs.statSync(at('head.bin')).size).toBe(100);
    // The worker ran with its private directory under our TMPDIR: no process may still have its cwd there.
    await new Promise((res) => setTimeout(res, 500));
    const leftovers = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return fs.readlinkSync(`/proc/${p}/cwd`).startsWith(tmp);
      } catch {
        return false;
      }
    });
    expect(leftovers).toEqual([]);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('--raw writes headerless s16le equal to the WAV data, and states the format on stderr', async () => {
    const raw = await runCli(['Raw audio, please.', '--raw'], { cwd: sb.work });
    expect(raw.exitCode, raw.stderr).toBe(0);
    expect(raw.stderr).toMatch(/raw audio on stdout: s16le .*22050 Hz, 1 channel/);
    expect(raw.stdout.subarray(0, 4).toString('latin1')).not.toBe('RIFF');
    const file = await runCli(['Raw audio, please.', '-o', 'r.wav'], { cwd: sb.work });
    expect(raw.stdout.equals(pcm(wav('r.wav')))).toBe(true);
    const bad = await runCli(['x', '--raw', '-o', 'x.wav'], { cwd: sb.work });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/^tts: E_USAGE: --raw writes headerless PCM to stdout/);
    expect(file.exitCode).toBe(0);
  });

  it('hard-wrapped prose is re-flowed and a list gets one sentence per line', async () => {
    fs.writeFileSync(at('list.txt'), 'Shopping list:\nApples\nPears\nBread\n');
    const r = await runCli(['-f', 'list.txt', '-o', 'list.wav', '--json'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.toString()).sentences).toBe(4);
    fs.writeFileSync(at('wrapped.txt'), prose(6));
    const w = await runCli(['-f', 'wrapped.txt', '-o', 'w.wav', '--json'], { cwd: sb.work });
    expect(JSON.parse(w.stdout.toString()).sentences).toBe(6);
  });

  it('--sentence-silence adds exactly that much silence between sentences', async () => {
    const a = await runCli([...COQUI, 'One. Two.', '-o', 'a.wav', '--sentence-silence', '0'], { cwd: sb.work });
    const b = await runCli([...COQUI, 'One. Two.', '-o', 'b.wav', '--sentence-silence', '0.5'], { cwd: sb.work });
    expect(a.exitCode, a.stderr).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(wav('b.wav').samples.length - wav('a.wav').samples.length).toBe(COQUI_FIXTURE_RATE / 2);
  });

  it('--lines speaks each line as it arrives: audio for line 1 comes out before line 2 is even written', { timeout: 60_000 }, async () => {
    const child = execa('node', [BIN, '--lines', '--raw'], { cwd: sb.work, env: baseEnv(path.join(sb.root, 'home')), extendEnv: false, reject: false, encoding: 'buffer', buffer: false });
    const got: Buffer[] = [];
    const firstAudio = new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    child.stdout!.on('data', (c: Buffer) => got.push(c));
    child.stdin!.write('The first line arrives.\r\n');
    await firstAudio; // would hang (and time out) if the CLI waited for EOF
    const afterFirst = Buffer.concat(got).length;
    child.stdin!.write('\n.....\nAnd then the second.\n');
    child.stdin!.end();
    const r = await child;
    expect(r.exitCode).toBe(0);
    const total = Buffer.concat(got).length;
    expect(afterFirst).toBeGreaterThan(0);
    expect(total).toBeGreaterThan(afterFirst);
  });

  it('--play streams the WAV into the first player on PATH (no shell); none found is exit 3', async () => {
    const bin = path.join(sb.root, 'fakebin');
    fs.mkdirSync(bin);
    // A stand-in for aplay that keeps what it was sent; its stdout must not reach ours.
    fs.writeFileSync(path.join(bin, 'aplay'), '#!/bin/sh\necho "player says hi"\ncat > played.wav\n', { mode: 0o755 });
    const env = { ...baseEnv(path.join(sb.root, 'home')), PATH: `${bin}:${process.env.PATH}` };
    const r = await runCli(['Play this. And this too.', '--play'], { cwd: sb.work, env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(/^Played \d+\.\d+ s with aplay$/m);
    const played = fs.readFileSync(at('played.wav'));
    expect(played.readUInt32LE(40)).toBe(0xffffffff);
    const file = await runCli(['Play this. And this too.', '-o', 'f.wav'], { cwd: sb.work });
    expect(played.subarray(44).equals(pcm(wav('f.wav')))).toBe(true);

    const none = await runCli(['x', '--play'], { cwd: sb.work, env: { ...env, PATH: path.dirname(process.execPath) } });
    expect(none.exitCode).toBe(3);
    expect(none.stderr).toMatch(/^tts: E_PLAYER_MISSING: No audio player found/);
    const both = await runCli(['x', '--play', '-o', 'x.wav'], { cwd: sb.work, env });
    expect(both.exitCode).toBe(2);
    expect(file.exitCode).toBe(0);
  });
});
