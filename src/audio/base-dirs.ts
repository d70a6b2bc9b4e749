// Allowed directories: where outputs may be written (base directories) and where local models may live.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TtsError, show } from '../errors.js';

export interface AllowedDir {
  /** Real path (symlinks resolved once, at startup). */
  real: string;
  dev: number;
  ino: number;
  /** How the user named it, for messages. */
  display: string;
  /**
   * Set on the implicit current directory when it failed the checks: it is then no allowed directory, and this
   * error is what a path that needs it gets (so an unsafe current directory does not block --base-dir elsewhere).
   */
  refused?: TtsError;
}

let privateGroupCache: Map<number, boolean> | undefined;

/**
 * True when `gid` is the user's own private group (the user-private-group scheme of Debian/Ubuntu, where a
 * `umask 002` makes every new directory group-writable): it is the user's primary group, no other account has it
 * as its primary group, and it lists no member but the user. Then "writable by the group" means "by you".
 */
export function isPrivateGroup(gid: number): boolean {
  privateGroupCache ??= new Map();
  const known = privateGroupCache.get(gid);
  if (known !== undefined) return known;
  let result = false;
  try {
    const me = os.userInfo();
    if (gid === me.gid) {
      const lines = (f: string) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
      const group = lines('/etc/group').find((g) => Number(g[2]) === gid);
      const members = (group?.[3] ?? '').split(',').filter(Boolean);
      const sharers = lines('/etc/passwd').filter((u) => Number(u[3]) === gid && u[0] !== me.username);
      result = group !== undefined && members.every((m) => m === me.username) && sharers.length === 0;
    }
  } catch {
    result = false; // cannot tell: stay strict
  }
  privateGroupCache.set(gid, result);
  return result;
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
  const othersWrite = st.mode & 0o002 || (st.mode & 0o020 && !isPrivateGroup(st.gid));
  if (othersWrite && !(st.mode & S_ISVTX)) {
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
  try {
    add(checkAllowedDir('.', what));
  } catch (err) {
    if (!(err instanceof TtsError)) throw err;
    // The current directory is allowed implicitly; when it is unsafe, only paths that need it fail.
    out.push({ real: path.resolve('.'), dev: -1, ino: -1, display: '.', refused: err });
  }
  for (const d of extra) add(checkAllowedDir(d, what));
  for (const d of defaults) if (fs.existsSync(d)) add(checkAllowedDir(d, what));
  return out;
}

/** The first allowed directory (not a refused one) that contains the real path `p`; a refused one throws. */
export function containing(dirs: readonly AllowedDir[], p: string): AllowedDir | undefined {
  const hit = dirs.filter((d) => isInside(d.real, p));
  const ok = hit.find((d) => !d.refused);
  if (ok) return ok;
  if (hit[0]?.refused) throw hit[0].refused;
  return undefined;
}

/** True when `p` (a real path) is `dir` or lies below it. Never a bare string-prefix test. */
export function isInside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
