// Text input: where it comes from, how much of it is read, and what counts as something to speak.
import fs from 'node:fs';
import { TtsError, show } from './errors.js';

/** Text given on the command line, and each line of a batch or of --lines: one request (SECURITY.md R13). */
export const DEFAULT_MAX_CHARS = 10_000;
/**
 * Long text from a file or stdin. It is spoken sentence by sentence, so memory for audio is bounded by a sentence;
 * the text itself is held (about 2 bytes per character). 2,000,000 characters is a long novel (~40 hours of speech).
 */
export const DEFAULT_MAX_LONG_CHARS = 2_000_000;
export const HARD_MAX_CHARS = 10_000_000;

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
// Variation selectors and the keycap mark are invisible too (`1️⃣` is the digit 1).
const DROPPED = /[\u00ad\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufe0e\ufe0f\u20e3\ufeff]/gu;

// Emoji (pictographs shown as emoji, with their skin tones, tags and ZWJ sequences) are not spoken, by any engine:
// one rule, so `😀` alone is "nothing to speak" and `👩‍👩‍👧 family` says "family" (Piper would otherwise read
// "woman woman girl", a Coqui model would drop them). Text-style symbols (© ™ ☃ ✓) are left to the engine.
const EMOJI =
  /(?:\p{Emoji_Presentation}|\p{Extended_Pictographic}\ufe0f)[\u{1f3fb}-\u{1f3ff}\ufe0f\u20e3\u{e0020}-\u{e007f}]*(?:\u200d(?:\p{Emoji_Presentation}|\p{Extended_Pictographic}\ufe0f?)[\u{1f3fb}-\u{1f3ff}\ufe0f\u{e0020}-\u{e007f}]*)*/gu;

// Other control characters (ESC, BEL, ...) become spaces: they are not speech, and must not reach a terminal
// through an engine's log line.
const CONTROLS = /[\u0001-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Clean text for synthesis: NFC, unified line ends, invisible format and control characters removed. */
export function normalizeText(text: string): string {
  // Each step copies the text only when it has something to change (long texts are held once, not five times).
  let t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (t.includes('\r')) t = t.replace(/\r\n?/g, '\n');
  if (/[^\u0000-\u00ff]/.test(t)) {
    t = t.normalize('NFC'); // Latin-1 text is always in NFC already, and has no emoji
    EMOJI.lastIndex = 0;
    if (EMOJI.test(t)) t = t.replace(EMOJI, ' ');
    EMOJI.lastIndex = 0;
  }
  DROPPED.lastIndex = 0;
  if (DROPPED.test(t)) t = t.replace(DROPPED, '');
  DROPPED.lastIndex = 0;
  CONTROLS.lastIndex = 0;
  if (CONTROLS.test(t)) t = t.replace(CONTROLS, ' ');
  CONTROLS.lastIndex = 0;
  return t;
}

/** The text with invisible and control characters removed, but emoji kept (for messages). */
function normalizeInvisibles(text: string): string {
  return text.replace(DROPPED, '').replace(CONTROLS, ' ');
}

/** Length in code points (an emoji counts 1), without building an array of the characters. */
export function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) n++;
    else {
      const d = s.charCodeAt(i + 1);
      n++;
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return n;
}

/** Validate text already decoded: no NUL, within the limit, and something speakable. */
export function checkText(text: string, maxChars: number, source: string): string {
  if (text.includes('\u0000')) throw new TtsError('E_TEXT_ENCODING', `The text from ${source} contains a NUL character.`);
  const clean = normalizeText(text);
  if (clean.length > maxChars && codePoints(clean) > maxChars) {
    throw new TtsError('E_TEXT_TOO_LONG', `The text from ${source} is longer than ${maxChars} characters.`, {
      hint: 'Split it into several requests, or raise --max-chars.',
    });
  }
  if (!/[\p{L}\p{N}]/u.test(clean)) {
    const shown = normalizeInvisibles(text).trim();
    throw new TtsError('E_TEXT_EMPTY', `The text from ${source} has nothing to speak${shown ? ` (${show(shown, 40)} has no letters or digits${clean.trim() ? '' : '; emoji are not spoken'})` : ''}.`, {
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

/** Collects chunks up to a byte cap, so a small input never costs the cap's worth of memory. */
class CappedBuffer {
  private chunks: Buffer[] = [];
  total = 0;
  constructor(readonly cap: number) {}
  /** How many bytes the next read may ask for: never more than cap + 1 in all. */
  room(): number {
    return Math.min(65_536, this.cap + 1 - this.total);
  }
  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.total += chunk.length;
  }
  get over(): boolean {
    return this.total > this.cap;
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks, this.total);
  }
}

/**
 * Read stdin to EOF, but never more than the cap + 1 bytes: each read asks only for what is still allowed, so an
 * endless producer (`yes |`, /dev/zero) costs at most cap + 1 bytes. Reads run on libuv's thread pool, so Ctrl-C
 * is still handled while waiting for input.
 */
export async function readStdin(maxChars: number): Promise<string> {
  const acc = new CappedBuffer(byteCap(maxChars));
  for (;;) {
    const chunk = await readChunk(acc.room());
    if (chunk === null) break;
    acc.add(chunk);
    if (acc.over) throw tooLong('stdin', maxChars);
  }
  return decode(acc.concat(), 'stdin');
}

/** One read from stdin of at most `size` bytes; null at EOF. */
async function readChunk(size: number): Promise<Buffer | null> {
  const buf = Buffer.allocUnsafe(Math.max(1, size));
  for (;;) {
    let n: number;
    try {
      n = await readAsync(0, buf, 0, buf.length);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        await new Promise((r) => setTimeout(r, 10)); // a non-blocking stdin with nothing yet
        continue;
      }
      if (code === 'EOF') return null;
      throw new TtsError('E_TEXT_SOURCE', `Cannot read stdin: ${code ?? String(err)}.`);
    }
    return n === 0 ? null : buf.subarray(0, n);
  }
}

/**
 * Lines from stdin as they arrive (`tail -f | tts --lines -o -`): each line is decoded strictly, and a line
 * longer than `maxChars` is an error as soon as it passes the byte cap, without waiting for its end.
 * CRLF and lone CR end lines too.
 */
export async function* readStdinLines(maxChars: number): AsyncGenerator<{ line: number; text: string }> {
  const cap = byteCap(maxChars);
  let pending: Buffer[] = [];
  let pendingLen = 0;
  let lineNo = 0;
  let lastWasCR = false;
  const emit = (buf: Buffer) => {
    lineNo++;
    return { line: lineNo, text: decode(buf, `stdin line ${lineNo}`) };
  };
  for (;;) {
    const chunk = await readChunk(65_536);
    if (chunk === null) break;
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === 0x0a && lastWasCR && i === start && pendingLen === 0) {
        start = i + 1; // the LF of a CRLF whose CR ended the previous line
        lastWasCR = false;
        continue;
      }
      lastWasCR = b === 0x0d;
      if (b !== 0x0a && b !== 0x0d) continue;
      pending.push(chunk.subarray(start, i));
      const line = Buffer.concat(pending, pendingLen + (i - start));
      pending = [];
      pendingLen = 0;
      start = i + 1;
      if (line.length > cap) throw tooLong(`stdin line ${lineNo + 1}`, maxChars);
      yield emit(line);
    }
    if (start < chunk.length) {
      pending.push(Buffer.from(chunk.subarray(start)));
      pendingLen += chunk.length - start;
      if (pendingLen > cap) throw tooLong(`stdin line ${lineNo + 1}`, maxChars);
    }
  }
  if (pendingLen > 0) yield emit(Buffer.concat(pending, pendingLen));
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
    if (st.size > cap) throw tooLong(show(file), maxChars);
    // One buffer of the file's size (+1 to notice a file that grows while read), never more than cap + 1.
    let buf = Buffer.allocUnsafe(Math.min(cap + 1, st.size + 1));
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        if (buf.length > cap) break;
        const bigger = Buffer.allocUnsafe(Math.min(cap + 1, buf.length * 2 + 65_536));
        buf.copy(bigger, 0, 0, total);
        buf = bigger;
      }
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
