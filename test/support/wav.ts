// An independent WAV reader for assertions (deliberately not the CLI's own parser).
export interface WavFacts {
  riffOk: boolean;
  riffSize: number;
  fileSize: number;
  format: number;
  channels: number;
  sampleRate: number;
  byteRate: number;
  blockAlign: number;
  bits: number;
  dataSize: number;
  samples: Int16Array;
  seconds: number;
  rms: number;
  peak: number;
}

export function readWav(buf: Buffer): WavFacts {
  if (buf.length < 44) throw new Error(`too short for a WAV file: ${buf.length} bytes`);
  const tag = (o: number) => buf.toString('ascii', o, o + 4);
  const riffOk = tag(0) === 'RIFF' && tag(8) === 'WAVE';
  let off = 12;
  let fmt: { format: number; channels: number; sampleRate: number; byteRate: number; blockAlign: number; bits: number } | undefined;
  while (off + 8 <= buf.length) {
    const id = tag(off);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      fmt = {
        format: buf.readUInt16LE(off + 8),
        channels: buf.readUInt16LE(off + 10),
        sampleRate: buf.readUInt32LE(off + 12),
        byteRate: buf.readUInt32LE(off + 16),
        blockAlign: buf.readUInt16LE(off + 20),
        bits: buf.readUInt16LE(off + 22),
      };
    }
    if (id === 'data') {
      if (!fmt) throw new Error('data before fmt');
      const data = buf.subarray(off + 8, off + 8 + size);
      const samples = new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + (data.length & ~1)));
      let sum = 0;
      let peak = 0;
      for (const s of samples) {
        sum += s * s;
        peak = Math.max(peak, Math.abs(s));
      }
      return {
        riffOk,
        riffSize: buf.readUInt32LE(4),
        fileSize: buf.length,
        ...fmt,
        dataSize: size,
        samples,
        seconds: samples.length / fmt.channels / fmt.sampleRate,
        rms: samples.length ? Math.sqrt(sum / samples.length) : 0,
        peak,
      };
    }
    off += 8 + size + (size % 2);
  }
  throw new Error('no data chunk');
}
