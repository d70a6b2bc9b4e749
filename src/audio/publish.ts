// Atomic, no-clobber publication of an output file inside a pinned base directory.
//
// Linux: every directory on the way is opened with O_DIRECTORY|O_NOFOLLOW through /proc/self/fd/<fd>/<name>
// (Node has no openat), so a directory swapped for a symlink after the check cannot redirect the write.
// The file is written to a 0600 temporary name with O_CREAT|O_EXCL|O_NOFOLLOW, fsynced, then published with
// link() (fails if the name exists: no clobber) or rename() (--force: replaces the entry atomically), and the
// directory is fsynced. Elsewhere (no /proc) the same steps run on plain paths and the remaining window is
// documented in SECURITY.md.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TtsError, show } from '../errors.js';
import type { ResolvedOutput } from './output-path.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY } = fs.constants;
const HAS_PROC_FD = process.platform === 'linux' && fs.existsSync('/proc/self/fd');
export const TEMP_PREFIX = '.tts-';
export const TEMP_SUFFIX = '.tmp';

class DirHandle {
  constructor(readonly fd: number, readonly display: string, readonly plainPath: string) {}
  at(name: string): string {
    return HAS_PROC_FD ? `/proc/self/fd/${this.fd}/${name}` : path.join(this.plainPath, name);
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}

function openDir(p: string, display: string, plainPath: string): DirHandle {
  try {
    return new DirHandle(fs.openSync(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW), display, plainPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new TtsError('E_OUTPUT_WRITE', `The directory ${show(display)} disappeared while writing; nothing was written.`);
    }
    if (code === 'ELOOP' || code === 'ENOTDIR') {
      let isLink = false;
      try {
        isLink = fs.lstatSync(plainPath).isSymbolicLink();
      } catch {
        /* vanished: report as not a directory */
      }
      throw new TtsError(
        isLink ? 'E_PATH_SYMLINK' : 'E_PATH_NOT_FILE',
        isLink ? `${show(display)} is a symbolic link; output directories may not be links.` : `${show(display)} is not a directory.`,
      );
    }
    throw err;
  }
}

/**
 * Walk from the base to the output's parent directory, one component at a time.
 * With `create`, missing directories are made (mode 0777 & ~umask) and then opened the same way.
 * Without it, a missing directory ends the walk and `null` is returned (the preflight case).
 */
function walkToParent(out: ResolvedOutput, create: boolean): DirHandle | null {
  const base = out.base;
  let dir = openDir(base.real, base.real, base.real);
  const st = fs.fstatSync(dir.fd);
  if (st.dev !== base.dev || st.ino !== base.ino) {
    dir.close();
    throw new TtsError('E_BASE_CHANGED', `The base directory ${show(base.real)} was replaced while tts was running; nothing was written.`);
  }
  const parents = out.components.slice(0, -1);
  let shown = '';
  let plain = base.real;
  try {
    for (const name of parents) {
      shown = shown ? `${shown}/${name}` : name;
      plain = path.join(plain, name);
      const next = dir.at(name);
      if (create) {
        try {
          fs.mkdirSync(next);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      } else if (!fs.existsSync(next) && !isLink(next)) {
        dir.close();
        return null;
      }
      const child = openDir(next, shown, plain);
      dir.close();
      dir = child;
    }
    return dir;
  } catch (err) {
    try {
      dir.close();
    } catch {
      /* already closed */
    }
    throw err;
  }
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Check the leaf without changing anything: it must be absent, or a regular file when `force` is set. */
function checkLeaf(dir: DirHandle, out: ResolvedOutput, force: boolean): void {
  const leaf = out.components[out.components.length - 1]!;
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir.at(leaf));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (st.isSymbolicLink()) throw new TtsError('E_PATH_SYMLINK', `Output ${show(out.display)} is a symbolic link; refusing to write through it.`);
  if (st.isDirectory()) throw new TtsError('E_PATH_NOT_FILE', `Output ${show(out.display)} is a directory; give a file name such as ${show(path.posix.join(out.display, 'out.wav'))}.`);
  if (!st.isFile()) throw new TtsError('E_PATH_NOT_FILE', `Output ${show(out.display)} is not a regular file.`);
  if (!force) {
    throw new TtsError('E_PATH_EXISTS', `Output ${show(out.display)} already exists.`, { hint: 'Pass --force to replace it, or choose another name.' });
  }
}

/** Preflight: everything that can be decided before synthesis, without creating anything. */
export function preflightOutput(out: ResolvedOutput, force: boolean): void {
  const dir = walkToParent(out, false);
  if (!dir) return; // parents will be created at publication
  try {
    checkLeaf(dir, out, force);
  } finally {
    dir.close();
  }
}

/** write(2) may write less than asked (a disk filling up): loop until all is written; errors (ENOSPC) throw. */
export function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    const n = fs.writeSync(fd, buf, off, buf.length - off);
    if (n <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
    off += n;
  }
}

// Temporary names carry the writer's PID: `.tts-<pid>-<16 hex>.tmp`. (`.tts-<16 hex>.tmp` is the older form.)
const STALE_TEMP = /^\.tts-(?:(\d+)-)?[0-9a-f]{16}\.tmp$/;
const STALE_AFTER_MS = 10 * 60 * 1000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, but not ours
  }
}

/**
 * Remove temporary files that a killed run left behind: at once when the PID in the name is no longer running
 * (a kill -9 of a streaming run), else after 10 minutes (a PID reused by another process). Regular files only.
 */
function sweepStaleTemps(dir: DirHandle): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir.at('.'));
  } catch {
    return;
  }
  const cutoff = Date.now() - STALE_AFTER_MS;
  for (const name of names) {
    const m = STALE_TEMP.exec(name);
    if (!m) continue;
    try {
      const st = fs.lstatSync(dir.at(name));
      const ownerGone = m[1] !== undefined && Number(m[1]) !== process.pid && !processAlive(Number(m[1]));
      if (st.isFile() && (ownerGone || st.mtimeMs < cutoff)) fs.unlinkSync(dir.at(name));
    } catch {
      /* raced with another run: fine */
    }
  }
}

/**
 * An output being written: a private temporary file (O_EXCL, 0600) next to the target, in a directory pinned by
 * its descriptor. Audio is appended as it arrives, so memory is bounded by the piece, not the whole output;
 * `commit()` makes it appear at the final name in one step; `abort()` removes it. Nothing appears at the final
 * name unless everything was written.
 */
export class StagedFile {
  private fd: number | undefined;
  private done = false;
  bytes = 0;

  private constructor(
    private readonly out: ResolvedOutput,
    private readonly dir: DirHandle,
    private readonly tmpName: string,
    private readonly force: boolean,
  ) {}

  static open(out: ResolvedOutput, force: boolean): StagedFile {
    let dir: DirHandle;
    try {
      dir = walkToParent(out, true)!;
    } catch (err) {
      if (err instanceof TtsError) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new TtsError('E_OUTPUT_WRITE', `Could not create the directories for ${show(out.display)}: ${e.code ?? e.message}.`, { cause: err });
    }
    const staged = new StagedFile(out, dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}${TEMP_SUFFIX}`, force);
    try {
      sweepStaleTemps(dir);
      checkLeaf(dir, out, force);
      staged.fd = fs.openSync(dir.at(staged.tmpName), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    } catch (err) {
      staged.abort();
      throw staged.wrap(err);
    }
    return staged;
  }

  private wrap(err: unknown): TtsError {
    if (err instanceof TtsError) return err;
    const e = err as NodeJS.ErrnoException;
    return new TtsError('E_OUTPUT_WRITE', `Could not write ${show(this.out.display)}: ${e.code ?? e.message}.`, { cause: err });
  }

  /** Append bytes (a write error such as ENOSPC removes the temporary file and throws). */
  write(buf: Buffer): void {
    if (this.fd === undefined) throw new Error('StagedFile: write after close');
    try {
      writeAll(this.fd, buf);
      this.bytes += buf.length;
    } catch (err) {
      this.abort();
      throw this.wrap(err);
    }
  }

  /** Overwrite bytes already written (the WAV header, once the sizes are known). */
  patch(buf: Buffer, position: number): void {
    if (this.fd === undefined) throw new Error('StagedFile: patch after close');
    try {
      let off = 0;
      while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off, position + off);
    } catch (err) {
      this.abort();
      throw this.wrap(err);
    }
  }

  /** fsync, publish at the final name (link: no clobber; rename with --force), fsync the directory. */
  commit(): void {
    if (this.fd === undefined || this.done) throw new Error('StagedFile: commit after close');
    const leaf = this.out.components[this.out.components.length - 1]!;
    try {
      fs.fchmodSync(this.fd, 0o666 & ~process.umask());
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
      this.fd = undefined;
      if (this.force) {
        fs.renameSync(this.dir.at(this.tmpName), this.dir.at(leaf));
      } else {
        try {
          fs.linkSync(this.dir.at(this.tmpName), this.dir.at(leaf));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
            throw new TtsError('E_PATH_EXISTS', `Output ${show(this.out.display)} appeared while synthesizing; left untouched.`, {
              hint: 'Pass --force to replace it.',
            });
          }
          throw err;
        }
        fs.unlinkSync(this.dir.at(this.tmpName));
      }
      this.done = true;
      fs.fsyncSync(this.dir.fd);
      this.dir.close();
    } catch (err) {
      this.abort();
      throw this.wrap(err);
    }
  }

  /** Remove the temporary file; safe to call more than once and after commit. */
  abort(): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = undefined;
    }
    if (!this.done) {
      this.done = true;
      try {
        fs.unlinkSync(this.dir.at(this.tmpName));
      } catch {
        /* not created, or already gone: the startup sweep removes leftovers */
      }
      try {
        this.dir.close();
      } catch {
        /* closed */
      }
    }
  }
}

/** Write `chunks` to the output atomically. Nothing appears at the final name unless everything was written. */
export function publishFile(out: ResolvedOutput, chunks: readonly Buffer[], force: boolean): void {
  const staged = StagedFile.open(out, force);
  for (const c of chunks) staged.write(c);
  staged.commit();
}
