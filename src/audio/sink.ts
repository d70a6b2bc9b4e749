// Where synthesized audio goes, piece by piece: a staged file published atomically, or stdout.
// Audio is written as it arrives, so memory is bounded by the piece (a sentence), not by the whole output.
import fs from 'node:fs';
import { TtsError, show } from '../errors.js';
import type { ResolvedOutput } from './output-path.js';
import { StagedFile, writeAll } from './publish.js';
import { HEADER_BYTES, MAX_WAV_DATA, wavHeader, type PcmFormat } from './wav.js';

export interface AudioSink {
  /** Called once, before the first write. */
  start(format: PcmFormat): Promise<void>;
  write(pcm: Buffer): Promise<void>;
  finish(): Promise<void>;
  /** Drop what was written (files) or stop writing (stdout). Safe to call more than once. */
  abort(): void;
  /** True once the reader of stdout went away (EPIPE): stop synthesizing, quietly. */
  readonly gone: boolean;
  /** Bytes of PCM written so far. */
  readonly dataBytes: number;
}

function tooLarge(what: string): TtsError {
  return new TtsError('E_OUTPUT_TOO_LARGE', `The audio for ${what} would exceed the 4 GiB a WAV file can hold.`, {
    hint: 'Split the text (tts batch --split paragraph), or stream it: -o - or --raw.',
  });
}

/** A WAV file: header placeholder, PCM appended, sizes patched, published atomically at finish(). */
export class FileSink implements AudioSink {
  private staged: StagedFile | undefined;
  private format: PcmFormat | undefined;
  dataBytes = 0;
  readonly gone = false;

  constructor(
    private readonly out: ResolvedOutput,
    private readonly force: boolean,
  ) {}

  async start(format: PcmFormat): Promise<void> {
    this.format = format;
    this.staged = StagedFile.open(this.out, this.force);
    this.staged.write(wavHeader(format, 0));
  }

  async write(pcm: Buffer): Promise<void> {
    if (this.dataBytes + pcm.length > MAX_WAV_DATA) {
      this.abort();
      throw tooLarge(show(this.out.display));
    }
    this.staged!.write(pcm);
    this.dataBytes += pcm.length;
  }

  async finish(): Promise<void> {
    this.staged!.patch(wavHeader(this.format!, this.dataBytes), 0);
    this.staged!.commit();
  }

  abort(): void {
    this.staged?.abort();
  }
}

/** What an encoding sink needs from the worker: its private directory, and the `encode` request. */
export interface Encoder {
  readonly workdir: string;
  encode(payload: { in: string; out: string; format: CompressedFormat; sample_rate: number }, timeoutMs: number): Promise<{ path: string; bytes: number }>;
}

export type CompressedFormat = 'mp3' | 'ogg' | 'flac' | 'm4a';

/** The first bytes each container must start with: checked before anything is published. */
export function hasSignature(format: CompressedFormat, head: Buffer): boolean {
  switch (format) {
    case 'mp3': // an ID3v2 tag, or an MPEG audio frame sync
      return head.subarray(0, 3).toString('latin1') === 'ID3' || (head[0] === 0xff && ((head[1] ?? 0) & 0xe0) === 0xe0);
    case 'ogg':
      return head.subarray(0, 4).toString('latin1') === 'OggS';
    case 'flac':
      return head.subarray(0, 4).toString('latin1') === 'fLaC';
    case 'm4a':
      return head.subarray(4, 8).toString('latin1') === 'ftyp' && head.subarray(8, 12).toString('latin1') === 'M4A ';
  }
}

const COPY_CHUNK = 1 << 20;

/**
 * An MP3, Ogg (Opus), FLAC or M4A (AAC) file. The PCM is spooled into the worker's private directory as it
 * arrives (memory stays bounded by a sentence), encoded there by the worker at the end, checked for its container
 * signature, and copied into the staged file that is published atomically, like a WAV.
 */
export class EncodedFileSink implements AudioSink {
  private staged: StagedFile | undefined;
  private format: PcmFormat | undefined;
  private spoolFd: number | undefined;
  private readonly spool: string;
  private readonly encoded: string;
  dataBytes = 0;
  /** Size of the published file, known after finish(). */
  encodedBytes = 0;
  readonly gone = false;

  constructor(
    private readonly out: ResolvedOutput,
    private readonly force: boolean,
    private readonly container: CompressedFormat,
    private readonly encoder: Encoder,
    private readonly timeoutMs: number,
  ) {
    const tag = `encode-${process.pid}-${Math.random().toString(16).slice(2, 10)}`;
    this.spool = `${tag}.pcm`;
    this.encoded = `${tag}.${container}`;
  }

  async start(format: PcmFormat): Promise<void> {
    this.format = format;
    this.staged = StagedFile.open(this.out, this.force); // directory problems show up now, not after synthesis
    this.spoolFd = fs.openSync(`${this.encoder.workdir}/${this.spool}`, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  }

  async write(pcm: Buffer): Promise<void> {
    if (this.dataBytes + pcm.length > MAX_WAV_DATA) {
      this.abort();
      throw tooLarge(show(this.out.display));
    }
    try {
      writeAll(this.spoolFd!, pcm);
    } catch (err) {
      this.abort();
      throw new TtsError('E_OUTPUT_WRITE', `Could not spool audio for ${show(this.out.display)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`);
    }
    this.dataBytes += pcm.length;
  }

  async finish(): Promise<void> {
    try {
      fs.closeSync(this.spoolFd!);
      this.spoolFd = undefined;
      // Encoding runs at tens of times real time; allow the request limit plus 0.1 s per second of audio.
      const seconds = this.dataBytes / 2 / this.format!.sampleRate;
      const res = await this.encoder.encode({ in: this.spool, out: this.encoded, format: this.container, sample_rate: this.format!.sampleRate }, this.timeoutMs + seconds * 100);
      const fd = fs.openSync(res.path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        const buf = Buffer.allocUnsafe(COPY_CHUNK);
        for (let first = true; ; first = false) {
          const n = fs.readSync(fd, buf, 0, COPY_CHUNK, null);
          if (n === 0) break;
          if (first && !hasSignature(this.container, buf.subarray(0, n))) {
            throw new TtsError('E_SYNTHESIS', `The encoder's output for ${show(this.out.display)} is not a valid ${this.container.toUpperCase()} file; nothing was written.`);
          }
          this.staged!.write(buf.subarray(0, n));
        }
      } finally {
        fs.closeSync(fd);
      }
      this.staged!.commit();
      this.encodedBytes = res.bytes;
    } catch (err) {
      this.abort();
      throw err;
    } finally {
      this.cleanup();
    }
  }

  private cleanup(): void {
    if (this.spoolFd !== undefined) {
      try {
        fs.closeSync(this.spoolFd);
      } catch {
        /* closed */
      }
      this.spoolFd = undefined;
    }
    for (const f of [this.spool, this.encoded]) fs.rmSync(`${this.encoder.workdir}/${f}`, { force: true });
  }

  abort(): void {
    this.staged?.abort();
    this.cleanup();
  }
}

/** The container an output name asks for: its extension, in lower case. */
export function containerOf(out: ResolvedOutput): 'wav' | CompressedFormat {
  return out.components[out.components.length - 1]!.toLowerCase().split('.').pop()! as 'wav' | CompressedFormat;
}

/** The sink for an output file: WAV written directly, the compressed containers through the worker's encoder. */
export function fileSink(out: ResolvedOutput, force: boolean, encoder: Encoder, timeoutMs: number): AudioSink {
  const container = containerOf(out);
  if (container === 'wav') return new FileSink(out, force);
  return new EncodedFileSink(out, force, container, encoder, timeoutMs);
}

type StdoutKind = { seekable: true; position: number } | { seekable: false };

/**
 * What stdout is: a regular file we may patch (`> out.wav`: exact sizes, byte-identical to -o out.wav), or
 * anything else (a pipe, a socket, a file opened for appending): sizes are written as unknown (0xFFFFFFFF),
 * the convention ffmpeg, sox and libsndfile read to the end of the stream.
 */
function stdoutKind(): StdoutKind {
  try {
    const st = fs.fstatSync(1);
    if (!st.isFile()) return { seekable: false };
    const info = fs.readFileSync('/proc/self/fdinfo/1', 'utf8');
    const flags = Number.parseInt(/^flags:\s*([0-7]+)/m.exec(info)?.[1] ?? '0', 8);
    const pos = Number.parseInt(/^pos:\s*(\d+)/m.exec(info)?.[1] ?? '-1', 10);
    const O_APPEND = 0o2000;
    if (flags & O_APPEND || pos < 0) return { seekable: false };
    return { seekable: true, position: pos };
  } catch {
    return { seekable: false };
  }
}

/** WAV (or raw s16le with `raw`) on stdout. Nothing else is ever written to stdout. */
export class StdoutSink implements AudioSink {
  gone = false;
  dataBytes = 0;
  private format: PcmFormat | undefined;
  private readonly kind = stdoutKind();
  private failure: TtsError | undefined;

  constructor(private readonly raw: boolean) {
    // A reader that exits early (`| head -c 100`) is not our failure: stop quietly. The listener stays for the
    // life of the process, because an EPIPE 'error' event can arrive after the write callback.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.gone = true;
      else this.failure ??= new TtsError('E_OUTPUT_WRITE', `Could not write audio to stdout: ${err.code ?? err.message}.`);
    });
  }

  private writeOut(buf: Buffer): Promise<void> {
    if (this.gone) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    if (this.kind.seekable) {
      try {
        let off = 0;
        while (off < buf.length) off += fs.writeSync(1, buf, off, buf.length - off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') this.gone = true;
        else return Promise.reject(new TtsError('E_OUTPUT_WRITE', `Could not write audio to stdout: ${code ?? String(err)}.`));
      }
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const ok = process.stdout.write(buf, (err) => {
        if (err && (err as NodeJS.ErrnoException).code === 'EPIPE') this.gone = true;
        else if (err) this.failure ??= new TtsError('E_OUTPUT_WRITE', `Could not write audio to stdout: ${(err as NodeJS.ErrnoException).code ?? err.message}.`);
        if (!ok) return; // wait for 'drain' below
        if (this.failure) reject(this.failure);
        else resolve();
      });
      if (!ok) {
        // Backpressure: the reader is slower than synthesis. Wait, so memory stays bounded by one piece.
        const done = () => {
          process.stdout.off('drain', done);
          process.stdout.off('close', done);
          if (this.failure) reject(this.failure);
          else resolve();
        };
        process.stdout.once('drain', done);
        process.stdout.once('close', done);
      }
    });
  }

  async start(format: PcmFormat): Promise<void> {
    this.format = format;
    if (!this.raw) await this.writeOut(wavHeader(format, this.kind.seekable ? 0 : null));
  }

  async write(pcm: Buffer): Promise<void> {
    if (!this.raw && this.kind.seekable && this.dataBytes + pcm.length > MAX_WAV_DATA) throw tooLarge('stdout');
    await this.writeOut(pcm);
    this.dataBytes += pcm.length;
  }

  async finish(): Promise<void> {
    if (this.raw || !this.kind.seekable || this.gone) return;
    // stdout is a regular file we were writing from `position`: now the sizes are known.
    const header = wavHeader(this.format!, this.dataBytes);
    try {
      fs.writeSync(1, header, 0, HEADER_BYTES, this.kind.position);
    } catch (err) {
      throw new TtsError('E_OUTPUT_WRITE', `Could not finish the WAV header on stdout: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`);
    }
  }

  abort(): void {
    /* what reached stdout cannot be taken back; the exit status says it is incomplete */
  }
}

/** Players tried by --play, in order: PulseAudio/PipeWire, ALSA, ffmpeg, sox. Each reads WAV on stdin. */
export const PLAYERS: readonly { name: string; args: string[] }[] = [
  { name: 'paplay', args: [] },
  { name: 'aplay', args: ['-q', '-'] },
  { name: 'ffplay', args: ['-nodisp', '-autoexit', '-loglevel', 'error', '-i', '-'] },
  { name: 'play', args: ['-q', '-t', 'wav', '-'] },
];

/** The first player found on PATH, as an absolute path (the player is the user's own program, like their shell's). */
export function findPlayer(env: NodeJS.ProcessEnv = process.env): { path: string; name: string; args: string[] } | undefined {
  const dirs = (env.PATH ?? '').split(':').filter((d) => d.startsWith('/'));
  for (const p of PLAYERS) {
    for (const d of dirs) {
      const candidate = `${d}/${p.name}`;
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (fs.statSync(candidate).isFile()) return { path: candidate, name: p.name, args: p.args };
      } catch {
        /* not here */
      }
    }
  }
  return undefined;
}

/** --play: WAV streamed into a player's stdin (no shell), sentence by sentence as it is synthesized. */
export class PlayerSink implements AudioSink {
  gone = false;
  dataBytes = 0;
  private child: import('node:child_process').ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;

  constructor(private readonly player: { path: string; name: string; args: string[] }) {}

  async start(format: PcmFormat): Promise<void> {
    const { spawn } = await import('node:child_process');
    // stdout is ours and carries nothing; the player's messages go to stderr.
    const child = spawn(this.player.path, this.player.args, { stdio: ['pipe', 'ignore', 'inherit'], shell: false });
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.on('error', () => resolve(-1));
      child.on('exit', (code) => resolve(code));
    });
    child.stdin!.on('error', () => {
      this.gone = true; // the player was closed: stop quietly, like a reader of stdout that went away
    });
    await this.writeOut(wavHeader(format, null));
  }

  private writeOut(buf: Buffer): Promise<void> {
    const stdin = this.child?.stdin;
    if (this.gone || !stdin || stdin.destroyed) {
      this.gone = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      if (stdin.write(buf)) resolve();
      else {
        const done = () => {
          stdin.off('drain', done);
          stdin.off('close', done);
          resolve();
        };
        stdin.once('drain', done);
        stdin.once('close', done);
      }
    });
  }

  async write(pcm: Buffer): Promise<void> {
    await this.writeOut(pcm);
    this.dataBytes += pcm.length;
  }

  async finish(): Promise<void> {
    this.child?.stdin?.end();
    const code = await this.exited;
    if (code === -1) throw new TtsError('E_PLAYER', `The player ${show(this.player.path)} could not be started.`);
    // A player that stopped reading and then failed ("audio open error") is a failure, even though we stopped
    // quietly when its stdin closed; one that exits 0 early was closed by its user.
    if (code !== 0 && code !== null) {
      throw new TtsError('E_PLAYER', `The player ${this.player.name} exited with status ${code}.`, {
        hint: 'Check that a sound device is available, or write a file with -o out.wav.',
      });
    }
  }

  abort(): void {
    this.child?.kill('SIGTERM');
  }
}
