// Output path rules. `checkOutputName` is pure (no file-system call) and runs first;
// `resolveOutput` then places the path inside an allowed base directory.
import path from 'node:path';
import { TtsError, show } from '../errors.js';
import { isInside, type AllowedDir } from './base-dirs.js';

/** Containers written: WAV directly, the others encoded by the worker (PyAV); the bytes always match the name. */
export const AUDIO_EXTENSIONS = ['.wav', '.mp3', '.ogg', '.flac', '.m4a'] as const;
export type AudioExtension = (typeof AUDIO_EXTENSIONS)[number];

const MAX_COMPONENT_BYTES = 255;
const MAX_PATH_BYTES = 4095;

// C0/C1 controls, DEL, bidi controls, zero-width and other invisible format characters.
const INVISIBLE_OR_CONTROL =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/u;
// Characters that are separators, stream markers or wildcards on some system we may share files with.
const FORBIDDEN_CHARS = /[\\:*?"<>|]/;
const RESERVED_BASENAMES = new Set([
  'con', 'prn', 'aux', 'nul', 'conin$', 'conout$',
  ...[...'0123456789¹²³'].flatMap((d) => [`com${d}`, `lpt${d}`]),
]);

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Validate the raw output string before any file-system call. Returns its components (no '.' or empty ones). */
export function checkOutputName(raw: string): { components: string[]; ext: AudioExtension } {
  if (raw.length === 0) throw new TtsError('E_PATH_INVALID_NAME', 'The output path is empty.');
  const bad = INVISIBLE_OR_CONTROL.exec(raw);
  if (bad) {
    throw new TtsError(
      'E_PATH_INVALID_CHAR',
      `Output path ${show(raw)} contains the control or invisible character U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}.`,
    );
  }
  if (raw.includes('\ufffd')) {
    // Node turns argv bytes that are not UTF-8 into U+FFFD: writing that name would create a different file.
    throw new TtsError('E_PATH_INVALID_CHAR', `Output path ${show(raw)} contains U+FFFD, the replacement character: the name is not valid UTF-8.`, {
      hint: "Check the terminal's locale (e.g. LANG=C.UTF-8).",
    });
  }
  if (raw.normalize('NFC') !== raw) {
    throw new TtsError('E_PATH_INVALID_CHAR', `Output path ${show(raw)} is not in Unicode NFC form.`, {
      hint: 'Write accented letters precomposed (NFC).',
    });
  }
  const forbidden = FORBIDDEN_CHARS.exec(raw);
  if (forbidden) {
    throw new TtsError('E_PATH_INVALID_CHAR', `Output path ${show(raw)} contains the forbidden character ${show(forbidden[0])}.`, {
      hint: 'Use / as the separator and avoid \\ : * ? " < > |.',
    });
  }
  if (bytes(raw) > MAX_PATH_BYTES) {
    throw new TtsError('E_PATH_TOO_LONG', `Output path is ${bytes(raw)} bytes long; the limit is ${MAX_PATH_BYTES}.`);
  }
  // Empty components (a//b.wav, as scripts joining "$dir/" produce) and '.' are harmless and dropped.
  const components = raw.split('/').filter((c) => c !== '' && c !== '.');
  if (components.length === 0) throw new TtsError('E_PATH_NOT_FILE', `Output path ${show(raw)} names a directory, not a file.`);
  if (raw.endsWith('/')) throw new TtsError('E_PATH_NOT_FILE', `Output path ${show(raw)} names a directory, not a file.`);
  for (const c of components) {
    if (c === '..') {
      throw new TtsError('E_PATH_TRAVERSAL', `Output path ${show(raw)} contains '..'; paths must stay inside the base directory.`);
    }
    if (bytes(c) > MAX_COMPONENT_BYTES) {
      throw new TtsError('E_PATH_TOO_LONG', `The name ${show(c, 40)} is ${bytes(c)} bytes long; the limit is ${MAX_COMPONENT_BYTES}.`);
    }
    if (/^\.+$/.test(c)) throw new TtsError('E_PATH_INVALID_NAME', `Output path ${show(raw)} has a name made only of dots (${show(c)}).`);
    if (c.startsWith('.')) {
      throw new TtsError('E_PATH_INVALID_NAME', `Output path ${show(raw)} has the hidden name ${show(c)}; names may not start with '.'.`);
    }
    if (c.startsWith('-')) {
      throw new TtsError('E_PATH_INVALID_NAME', `Output path ${show(raw)} has the name ${show(c)}, which starts with '-' and could be read as an option.`, {
        hint: "Rename it, e.g. 'x-dash.wav'.",
      });
    }
    if (/[. ]$/.test(c)) throw new TtsError('E_PATH_INVALID_NAME', `Output path ${show(raw)} has a name ending in a dot or space (${show(c)}).`);
    if (/~\d/.test(c)) throw new TtsError('E_PATH_INVALID_NAME', `Output path ${show(raw)} has the 8.3 short-name pattern ${show(c)}.`);
    const stem = c.split('.')[0]!.trimEnd().toLowerCase();
    if (RESERVED_BASENAMES.has(stem)) {
      throw new TtsError('E_PATH_RESERVED', `Output path ${show(raw)} uses the reserved device name ${show(c)}.`);
    }
  }
  const leaf = components[components.length - 1]!;
  const ext = path.extname(leaf).toLowerCase();
  if (!(AUDIO_EXTENSIONS as readonly string[]).includes(ext)) {
    throw new TtsError('E_PATH_EXT', `Output file ${show(leaf)} has ${ext ? `the extension ${show(ext)}` : 'no extension'}; expected one of ${AUDIO_EXTENSIONS.join(' ')}.`);
  }
  return { components, ext: ext as AudioExtension };
}

export interface ResolvedOutput {
  /** The allowed base directory that contains the output. */
  base: AllowedDir;
  /** Path components below the base, the last one being the file name. */
  components: string[];
  /** Absolute path for messages. */
  absolute: string;
  /** The path as the user wrote it, for messages. */
  display: string;
}

/**
 * Place a validated output path inside one of the allowed base directories. A relative path is relative to the
 * current directory, which is always the first base; an absolute path must lie inside one of them.
 */
export function resolveOutput(raw: string, bases: readonly AllowedDir[]): ResolvedOutput {
  const { components } = checkOutputName(raw);
  if (!path.isAbsolute(raw)) {
    const base = bases[0]!;
    if (base.refused) throw base.refused;
    return { base, components, absolute: path.join(base.real, ...components), display: raw };
  }
  const abs = path.resolve('/', ...components);
  for (const base of bases) {
    if (base.refused) continue;
    for (const prefix of [base.real, path.resolve(base.display)]) {
      if (!isInside(prefix, abs) || abs === prefix) continue;
      const parts = path.relative(prefix, abs).split(path.sep);
      return { base, components: parts, absolute: path.join(base.real, ...parts), display: raw };
    }
  }
  const refused = bases.find((b) => b.refused && isInside(b.real, abs));
  if (refused) throw refused.refused!;
  throw new TtsError('E_PATH_TRAVERSAL', `Output path ${show(raw)} lies outside the allowed directories (${bases.map((b) => show(b.display === '.' ? b.real : b.display)).join(', ')}).`, {
    hint: 'Write inside the current directory, or allow another directory with --base-dir.',
  });
}
