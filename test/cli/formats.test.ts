// Compressed outputs: the bytes are the container the name asks for (USER-REPORTS B30: "asked for .mp3, got WAV
// bytes"), decoded by an independent reader (PyAV in the worker's venv, run here by the test, not by the CLI) to
// the same length as the WAV of the same text; FLAC is lossless, so its samples equal the WAV's exactly.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listFiles, runCli, sandbox } from '../support/cli.js';
import { readWav } from '../support/wav.js';
import { COQUI_FIXTURE, COQUI_FIXTURE_RATE, VENV_PYTHON } from '../support/paths.js';

let sb: ReturnType<typeof sandbox>;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

const at = (name: string) => path.join(sb.work, name);
const TEXT = 'Hello world. This is a test of compressed audio.';

interface Decoded {
  container: string;
  codec: string;
  rate: number;
  channels: number;
  seconds: number;
  /** 16-bit samples at the stream's rate (for FLAC: the exact samples). */
  samples?: number[];
}

async function decode(file: string, withSamples = false): Promise<Decoded> {
  const script = `
import av, json, sys
import numpy as np
c = av.open(sys.argv[1])
s = c.streams.audio[0]
chunks = [f.to_ndarray() for f in c.decode(s)]
a = np.concatenate(chunks, axis=1)[0] if chunks else np.zeros(0)
out = {"container": c.format.name, "codec": s.codec_context.name, "rate": s.rate, "channels": s.channels, "seconds": a.shape[0] / s.rate}
if sys.argv[2] == "1":
    out["samples"] = a.astype("int64").tolist()
print(json.dumps(out))
`;
  const r = await execa(VENV_PYTHON, ['-I', '-c', script, file, withSamples ? '1' : '0'], { extendEnv: false, env: { PATH: '/usr/bin:/bin' } });
  return JSON.parse(r.stdout) as Decoded;
}

const MAGIC: Record<string, (b: Buffer) => boolean> = {
  mp3: (b) => b.subarray(0, 3).toString('latin1') === 'ID3' || (b[0] === 0xff && (b[1]! & 0xe0) === 0xe0),
  ogg: (b) => b.subarray(0, 4).toString('latin1') === 'OggS',
  flac: (b) => b.subarray(0, 4).toString('latin1') === 'fLaC',
  m4a: (b) => b.subarray(4, 12).toString('latin1') === 'ftypM4A ',
};
const CODEC: Record<string, RegExp> = { mp3: /^mp3/, ogg: /opus/, flac: /^flac$/, m4a: /^aac/ }; // decoder names (mp3float, libopus, ...)

describe('compressed outputs', () => {
  it('.mp3 .ogg .flac .m4a hold their own container, as long as the WAV; FLAC has the very samples', async () => {
    const wavRun = await runCli([TEXT, '-o', 'ref.wav'], { cwd: sb.work });
    expect(wavRun.exitCode, wavRun.stderr).toBe(0);
    const ref = readWav(fs.readFileSync(at('ref.wav')));
    for (const ext of ['mp3', 'ogg', 'flac', 'm4a']) {
      const r = await runCli([TEXT, '-o', `out.${ext}`, '--json'], { cwd: sb.work });
      expect(r.exitCode, `${ext}: ${r.stderr}`).toBe(0);
      const bytes = fs.readFileSync(at(`out.${ext}`));
      const report = JSON.parse(r.stdout.toString()) as { format: string; bytes: number; output: string };
      expect([report.format, report.bytes, report.output]).toEqual([ext, bytes.length, `out.${ext}`]);
      expect(MAGIC[ext]!(bytes), `${ext} signature`).toBe(true);
      expect(bytes.subarray(0, 4).toString('latin1')).not.toBe('RIFF');
      const d = await decode(at(`out.${ext}`), ext === 'flac');
      expect(d.codec, ext).toMatch(CODEC[ext]!);
      expect(d.channels).toBe(1);
      expect(d.rate).toBe(ext === 'ogg' ? 48000 : 22050); // Opus always decodes at 48 kHz
      expect(Math.abs(d.seconds - ref.seconds), `${ext}: ${d.seconds} s vs ${ref.seconds} s`).toBeLessThan(0.1);
      if (ext === 'flac') expect(d.samples).toEqual(Array.from(ref.samples));
    }
    // Nothing else was left: no spool, no temporary files.
    expect(listFiles(sb.work)).toEqual(['out.flac', 'out.m4a', 'out.mp3', 'out.ogg', 'ref.wav']);
  });

  it('the same text gives the same bytes, and an upper-case extension is the same format', async () => {
    await runCli(['Same bytes.', '-o', 'a.mp3'], { cwd: sb.work });
    await runCli(['Same bytes.', '-o', 'b.MP3'], { cwd: sb.work });
    await runCli(['Same bytes.', '-o', 'a.ogg'], { cwd: sb.work });
    await runCli(['Same bytes.', '-o', 'b.ogg'], { cwd: sb.work });
    expect(fs.readFileSync(at('a.mp3')).equals(fs.readFileSync(at('b.MP3')))).toBe(true);
    expect(fs.readFileSync(at('a.ogg')).equals(fs.readFileSync(at('b.ogg')))).toBe(true);
  });

  it('no-clobber and --force work as for WAV; a Coqui model is encoded at its own rate', async () => {
    fs.writeFileSync(at('keep.flac'), 'old');
    const refused = await runCli(['Hello.', '-o', 'keep.flac'], { cwd: sb.work });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('E_PATH_EXISTS');
    expect(fs.readFileSync(at('keep.flac'), 'utf8')).toBe('old');
    const forced = await runCli(['Hello.', '-o', 'keep.flac', '--force'], { cwd: sb.work });
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(MAGIC.flac!(fs.readFileSync(at('keep.flac')))).toBe(true);

    const c = await runCli(['-m', COQUI_FIXTURE, '--models-dir', path.dirname(COQUI_FIXTURE), 'Hello there', '-o', 'c.m4a'], { cwd: sb.work });
    expect(c.exitCode, c.stderr).toBe(0);
    const d = await decode(at('c.m4a'));
    expect(d.codec).toMatch(/^aac/);
    expect(d.rate).toBe(COQUI_FIXTURE_RATE);
  });

  it('a batch writes compressed items too', async () => {
    fs.writeFileSync(at('list.txt'), 'First item.\nSecond item.\n');
    const r = await runCli(['batch', 'list.txt', '-d', 'out', '--name', '{n:02}.mp3'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(listFiles(at('out'))).toEqual(['01.mp3', '02.mp3']);
    for (const f of ['01.mp3', '02.mp3']) expect(MAGIC.mp3!(fs.readFileSync(path.join(sb.work, 'out', f)))).toBe(true);
  });
});
