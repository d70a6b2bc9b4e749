// Allowed directories: where outputs may be written (base directories) and where local models may live.
import fs from 'node:fs';
import path from 'node:path';
import { TtsError, show } from '../errors.js';

export interface AllowedDir {
  /** Real path (symlinks resolved once, at startup). */
  real: string;
  dev: number;
  ino: number;
  /** How the user named it, for messages. */
  display: string;
}

const S_ISVTX = 0o1000;

/**
 * Resolve and check one allowed directory: it must exist, be a directory, belong to you (or root), and not be
 * writable by group or others -- unless it is a sticky directory like /tmp, where others cannot remove or rename
 * our files and our O_EXCL / link() placement is safe (a user's expectation that `cd /tmp && tts ...` works wins
 * over the stricter rule in the design notes).
 */
export function checkAllowedDir(dir: string, what: string): AllowedDir {
  if (dir.includes('\u0000')) throw new TtsError('E_BASE_INSECURE', `The ${what} ${show(dir)} contains NUL.`);
  const abs = path.resolve(dir);
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    throw new TtsError('E_BASE_INSECURE', `The ${what} ${show(dir)} does not exist.`);
  }
  const st = fs.lstatSync(real);
  if (!st.isDirectory()) throw new TtsError('E_BASE_INSECURE', `The ${what} ${show(dir)} is not a directory.`);
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== uid && st.uid !== 0) {
    throw new TtsError('E_BASE_INSECURE', `The ${what} ${show(dir)} belongs to uid ${st.uid}, not to you.`);
  }
  if (st.mode & 0o022 && !(st.mode & S_ISVTX)) {
    throw new TtsError('E_BASE_INSECURE', `The ${what} ${show(dir)} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}).`, {
      hint: 'Others could swap files under it; use a private directory (chmod go-w).',
    });
  }
  return { real, dev: st.dev, ino: st.ino, display: dir };
}

/**
 * The current directory plus the extra directories given, checked and de-duplicated by real path.
 * `defaults` are built-in directories that are skipped while they do not exist yet.
 */
export function allowedDirs(extra: readonly string[], what: string, defaults: readonly string[] = []): AllowedDir[] {
  const out: AllowedDir[] = [];
  const add = (a: AllowedDir) => {
    if (!out.some((o) => o.real === a.real)) out.push(a);
  };
  for (const d of ['.', ...extra]) add(checkAllowedDir(d, what));
  for (const d of defaults) if (fs.existsSync(d)) add(checkAllowedDir(d, what));
  return out;
}

/** True when `p` (a real path) is `dir` or lies below it. Never a bare string-prefix test. */
export function isInside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
