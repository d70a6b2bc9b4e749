// WAV (RIFF) encoding and parsing for 16-bit PCM.

export interface PcmFormat {
  sampleRate: number;
  channels: number;
  /** Bits per sample; only 16 is produced. */
  bitsPerSample: 16;
}

export const HEADER_BYTES = 44;
/** A RIFF size field is 32 bits: the most PCM one WAV file can describe. */
export const MAX_WAV_DATA = 0xffffffff - 36;
/** Size fields of a WAV whose length is unknown when the header is written (a pipe): the streaming convention. */
export const UNKNOWN_SIZE = 0xffffffff;

/** The canonical 44-byte header for `dataBytes` of PCM; `null` writes the sizes as unknown (0xFFFFFFFF). */
export function wavHeader(format: PcmFormat, dataBytes: number | null): Buffer {
  const { sampleRate, channels, bitsPerSample } = format;
  const blockAlign = (channels * bitsPerSample) / 8;
  const h = Buffer.alloc(HEADER_BYTES);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(dataBytes === null ? UNKNOWN_SIZE : Math.min(36 + dataBytes, 0xffffffff), 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(bitsPerSample, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes === null ? UNKNOWN_SIZE : Math.min(dataBytes, 0xffffffff), 40);
  return h;
}

export interface WavInfo {
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  riffSize: number;
  dataOffset: number;
  dataBytes: number;
}

/** Parse a RIFF/WAVE buffer, walking its chunks. Throws on anything malformed. */
export function parseWav(buf: Buffer): WavInfo {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  const riffSize = buf.readUInt32LE(4);
  let off = 12;
  let fmt: Omit<WavInfo, 'riffSize' | 'dataOffset' | 'dataBytes'> | undefined;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      fmt = {
        format: buf.readUInt16LE(body),
        channels: buf.readUInt16LE(body + 2),
        sampleRate: buf.readUInt32LE(body + 4),
        bitsPerSample: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('data chunk before fmt chunk');
      return { ...fmt, riffSize, dataOffset: body, dataBytes: Math.min(size, buf.length - body) };
    }
    off = body + size + (size % 2);
  }
  throw new Error('no data chunk');
}
