// Text input: where it comes from, how much of it is read, and what counts as something to speak.
import fs from 'node:fs';
import { TtsError, show } from './errors.js';

export const DEFAULT_MAX_CHARS = 10_000;
export const HARD_MAX_CHARS = 100_000;

/** Bytes read at most for a limit in code points: 4 UTF-8 bytes per code point, plus a BOM. */
export function byteCap(maxChars: number): number {
  return maxChars * 4 + 3;
}

/** Offset of the first byte that is not part of valid UTF-8, or -1. */
export function invalidUtf8Offset(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    let need = 0;
    let min = 0;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    if (i + need >= buf.length) return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

// Invisible format characters dropped from text: soft hyphen, zero-width space, word joiner, BOM, bidi controls.
// ZWJ and ZWNJ (U+200C, U+200D) stay: emoji sequences and Persian/Indic spelling need them.
const DROPPED = /[\u00ad\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/gu;

// Other control characters (ESC, BEL, ...) become spaces: they are not speech, and must not reach a terminal
// through an engine's log line.
const CONTROLS = /[\u0001-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Clean text for synthesis: NFC, unified line ends, invisible format and control characters removed. */
export function normalizeText(text: string): string {
  return text.replace(/^\ufeff/, '').replace(/\r\n?/g, '\n').normalize('NFC').replace(DROPPED, '').replace(CONTROLS, ' ');
}

/** Validate text already decoded: no NUL, within the limit, and something speakable. */
export function checkText(text: string, maxChars: number, source: string): string {
  if (text.includes('\u0000')) throw new TtsError('E_TEXT_ENCODING', `The text from ${source} contains a NUL character.`);
  const clean = normalizeText(text);
  let count = 0;
  for (const _ of clean) {
    if (++count > maxChars) {
      throw new TtsError('E_TEXT_TOO_LONG', `The text from ${source} is longer than ${maxChars} characters.`, {
        hint: 'Split it into several requests, or raise --max-chars.',
      });
    }
  }
  if (!/[\p{L}\p{N}]/u.test(clean)) {
    throw new TtsError('E_TEXT_EMPTY', `The text from ${source} has nothing to speak${clean.trim() ? ` (${show(clean.trim(), 40)} has no letters or digits)` : ''}.`, {
      hint: 'Give some words, e.g. tts "Hello world" -o hello.wav',
    });
  }
  return clean;
}

function decode(buf: Buffer, source: string): string {
  const bad = invalidUtf8Offset(buf);
  if (bad !== -1) {
    const line = buf.subarray(0, bad).toString('latin1').split('\n').length;
    throw new TtsError('E_TEXT_ENCODING', `The text from ${source} is not valid UTF-8 (line ${line}, byte offset ${bad}).`);
  }
  return buf.toString('utf8');
}

function tooLong(source: string, maxChars: number): TtsError {
  return new TtsError('E_TEXT_TOO_LONG', `The text from ${source} is longer than ${maxChars} characters (stopped reading at ${byteCap(maxChars)} bytes).`, {
    hint: 'Split it into several requests, or raise --max-chars.',
  });
}

/**
 * Read stdin to EOF, but never more than the cap + 1 bytes: each read asks only for what is still allowed, so an
 * endless producer (`yes |`, /dev/zero) costs at most cap + 1 bytes. Reads run on libuv's thread pool, so Ctrl-C
 * is still handled while waiting for input.
 */
export async function readStdin(maxChars: number): Promise<string> {
  const cap = byteCap(maxChars);
  const buf = Buffer.alloc(cap + 1);
  let total = 0;
  for (;;) {
    let n: number;
    try {
      n = await readAsync(0, buf, total, Math.min(65_536, buf.length - total));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        await new Promise((r) => setTimeout(r, 10)); // a non-blocking stdin with nothing yet
        continue;
      }
      if (code === 'EOF') break;
      throw new TtsError('E_TEXT_SOURCE', `Cannot read stdin: ${code ?? String(err)}.`);
    }
    if (n === 0) break;
    total += n;
    if (total > cap) throw tooLong('stdin', maxChars);
  }
  return decode(buf.subarray(0, total), 'stdin');
}

function readAsync(fd: number, buf: Buffer, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, offset, length, null, (err, n) => (err ? reject(err) : resolve(n))));
}

/** Read a regular file with a byte cap. FIFOs, devices and directories are refused before reading. */
export function readTextFile(file: string, maxChars: number): string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TtsError('E_INPUT_FILE', `Cannot read text file ${show(file)}: ${code === 'ENOENT' ? 'no such file' : code}.`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new TtsError('E_INPUT_FILE', `Text file ${show(file)} is not a regular file.`);
    const cap = byteCap(maxChars);
    const buf = Buffer.alloc(cap + 1);
    let total = 0;
    while (total < buf.length) {
      const n = fs.readSync(fd, buf, total, buf.length - total, null);
      if (n === 0) break;
      total += n;
    }
    if (total > cap) throw tooLong(show(file), maxChars);
    return decode(buf.subarray(0, total), show(file));
  } finally {
    fs.closeSync(fd);
  }
}
