import { describe, expect, it } from 'vitest';
import { parseWav, wavHeader } from '../../src/audio/wav.js';
import { readWav } from '../support/wav.js';

describe('wavHeader', () => {
  it('writes exact RIFF and data sizes that an independent reader agrees with', () => {
    const pcm = Buffer.alloc(2 * 1234);
    for (let i = 0; i < 1234; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin(i / 5)), i * 2);
    const file = Buffer.concat([wavHeader({ sampleRate: 22050, channels: 1, bitsPerSample: 16 }, pcm.length), pcm]);
    const w = readWav(file);
    expect(w.riffOk).toBe(true);
    expect(w.riffSize).toBe(file.length - 8);
    expect(w.dataSize).toBe(pcm.length);
    expect(w.sampleRate).toBe(22050);
    expect(w.byteRate).toBe(44100);
    expect(w.samples.length).toBe(1234);
    const p = parseWav(file);
    expect(p.dataBytes).toBe(pcm.length);
    expect(p.dataOffset).toBe(44);
  });
  it('parseWav refuses non-WAV data', () => {
    expect(() => parseWav(Buffer.from('ID3\u0003 not a wav at all'))).toThrow();
  });
});
