// The CLI side of the worker protocol: spawn, handshake, requests with ids and timeouts, shutdown.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { z } from 'zod';
import { TtsError, ERROR_CODES, type ErrorCode } from '../errors.js';
import { helloSchema, readySchema, replySchema, synthResultSchema, type Hello, type Ready, type SynthResult } from './protocol.js';
import type { Interpreter } from './python.js';

const MAX_LINE_BYTES = 1 << 20;
const encodeResultSchema = z.object({ path: z.string(), bytes: z.number().int().nonnegative() }).loose();
const STDERR_TAIL_BYTES = 8192;

export interface WorkerStartOptions {
  interpreter: Interpreter;
  env: Record<string, string>;
  /** Called with each chunk the worker writes to stderr (for --verbose). */
  onStderr?: (chunk: Buffer) => void;
  helloTimeoutMs?: number;
}

export interface LoadRequest {
  engine: 'piper' | 'coqui';
  kind: 'voice' | 'catalog' | 'folder';
  model: string;
  allow_download?: boolean;
  accept_license?: boolean;
}

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
  op: string;
}

const WORKER_HINTS: Partial<Record<ErrorCode, string>> = {
  E_MODEL_DOWNLOAD: 'Catalog models are downloaded on first use and need network access; offline, use the embedded voice or a local model folder (-m ./folder).',
  E_ENGINE_MISSING: 'Run `tts setup`.',
  E_MODEL_LOAD: 'Check the model files; `tts doctor` shows what is installed.',
  E_MEMORY_LIMIT: 'Raise the limit with --max-memory MiB (default 8192).',
};

const live = new Set<WorkerClient>();
const seconds = (ms: number) => String(ms < 1000 ? ms / 1000 : Math.round(ms / 100) / 10);

let shuttingDown = false;
export const isShuttingDown = () => shuttingDown;

/** Kill every running worker (used on SIGINT/SIGTERM before exiting); no new worker starts after this. */
export function killAllWorkers(): void {
  shuttingDown = true;
  for (const w of live) w.kill();
}

function mapWorkerCode(code: string, op: string): ErrorCode {
  if (code in ERROR_CODES && code !== 'E_INTERNAL') return code as ErrorCode;
  if (code === 'E_TEXT_TOO_SHORT') return 'E_SYNTHESIS';
  if (['E_BAD_JSON', 'E_BAD_REQUEST', 'E_UNKNOWN_OP', 'E_NOT_LOADED'].includes(code)) return 'E_WORKER_PROTOCOL';
  return op === 'load' ? 'E_MODEL_LOAD' : 'E_SYNTHESIS';
}

export class WorkerClient {
  readonly workdir: string;
  hello?: Hello;
  private child: ResultPromise;
  private pending = new Map<string, Pending>();
  private nextId = 1;
  private lineBuf: Buffer[] = [];
  private lineLen = 0;
  private stderrTail = Buffer.alloc(0);
  private exited = false;
  private exitError?: TtsError;
  private helloWaiter?: { resolve: (h: Hello) => void; reject: (e: Error) => void };

  private constructor(opts: WorkerStartOptions, workdir: string) {
    this.workdir = workdir;
    this.child = execa(opts.interpreter.path, ['-I', '-m', 'tts_worker'], {
      shell: false,
      extendEnv: false,
      env: opts.env,
      cwd: workdir,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      cleanup: true,
      reject: false,
      killSignal: 'SIGTERM',
      forceKillAfterDelay: 2000,
      windowsHide: true,
    });
    live.add(this);
    this.child.stdout!.on('data', (chunk: Buffer) => this.onStdout(chunk));
    this.child.stderr!.on('data', (chunk: Buffer) => {
      opts.onStderr?.(chunk);
      const joined = Buffer.concat([this.stderrTail, chunk]);
      this.stderrTail = joined.subarray(Math.max(0, joined.length - STDERR_TAIL_BYTES));
    });
    this.child.stdin!.on('error', () => {
      /* EPIPE when the worker died; the exit handler reports it */
    });
    void this.child.then((result) => this.onExit(result.exitCode, result.signal ?? undefined));
  }

  /** Spawn the worker in a private 0700 directory and wait for its hello. */
  static async start(opts: WorkerStartOptions): Promise<WorkerClient> {
    if (shuttingDown) throw new TtsError('E_INTERRUPTED', 'Interrupted; no new worker is started.');
    const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'tts-worker-'));
    fs.chmodSync(workdir, 0o700);
    const w = new WorkerClient(opts, workdir);
    const hello = await w.waitHello(opts.helloTimeoutMs ?? 30_000);
    if (hello.protocol !== 1) {
      w.kill();
      throw new TtsError('E_WORKER_PROTOCOL', `The worker speaks protocol ${hello.protocol}; this CLI needs protocol 1.`, {
        hint: 'Run `tts setup --force`.',
      });
    }
    if (hello.executable !== opts.interpreter.path || !hello.isolated) {
      w.kill();
      throw new TtsError('E_PYTHON', `The worker runs as ${JSON.stringify(hello.executable)}, not the expected interpreter (a shim?).`);
    }
    return w;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  stderrText(): string {
    return this.stderrTail.toString('utf8');
  }

  private waitHello(timeoutMs: number): Promise<Hello> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill();
        reject(new TtsError('E_WORKER_TIMEOUT', `The worker did not start within ${seconds(timeoutMs)} s.`, { detail: this.stderrText() }));
      }, timeoutMs);
      this.helloWaiter = {
        resolve: (h) => {
          clearTimeout(timer);
          resolve(h);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  private onStdout(chunk: Buffer): void {
    let start = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, start)) {
      this.lineBuf.push(chunk.subarray(start, i));
      const line = Buffer.concat(this.lineBuf).toString('utf8');
      this.lineBuf = [];
      this.lineLen = 0;
      start = i + 1;
      this.onLine(line);
    }
    if (start < chunk.length) {
      this.lineBuf.push(chunk.subarray(start));
      this.lineLen += chunk.length - start;
      if (this.lineLen > MAX_LINE_BYTES) this.protocolError(`a line longer than ${MAX_LINE_BYTES} bytes`);
    }
  }

  private protocolError(what: string): void {
    this.lineBuf = [];
    this.lineLen = 0;
    this.failAll(new TtsError('E_WORKER_PROTOCOL', `The worker sent ${what} on its protocol stream.`, { detail: this.stderrText() }));
    this.kill();
  }

  private onLine(line: string): void {
    if (!line.trim()) return;
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.protocolError(`non-JSON output ${JSON.stringify(line.slice(0, 200))}`);
      return;
    }
    if (this.helloWaiter) {
      const hello = helloSchema.safeParse(msg);
      if (!hello.success) {
        this.protocolError(`an unexpected first message ${JSON.stringify(line.slice(0, 200))}`);
        return;
      }
      this.hello = hello.data;
      const waiter = this.helloWaiter;
      this.helloWaiter = undefined;
      waiter.resolve(hello.data);
      return;
    }
    const parsed = replySchema.safeParse(msg);
    if (!parsed.success) {
      this.protocolError(`a malformed reply ${JSON.stringify(line.slice(0, 200))}`);
      return;
    }
    const reply = parsed.data;
    const p = reply.id === null ? undefined : this.pending.get(reply.id);
    if (!p) {
      this.protocolError(`a reply to an unknown request ${JSON.stringify(line.slice(0, 200))}`);
      return;
    }
    this.pending.delete(reply.id!);
    if (p.timer) clearTimeout(p.timer);
    if (reply.ok) p.resolve(reply.result);
    else {
      const code = mapWorkerCode(reply.error.code, p.op);
      // A repaired model's message already says what happened and what comes next.
      const hint = code === 'E_MODEL_LOAD' && reply.error.message.includes('has been removed') ? undefined : WORKER_HINTS[code];
      // One line, whatever the engine put in its message (onnxruntime's span several).
      const message = reply.error.message.replace(/\s*\n\s*/g, ' ').trim();
      p.reject(new TtsError(code, message, { detail: `worker code ${reply.error.code}`, hint }));
    }
  }

  private onExit(exitCode: number | undefined, signal: string | undefined): void {
    this.exited = true;
    live.delete(this);
    const how = signal ? `was killed by ${signal}` : `exited with status ${exitCode}`;
    // Native code that cannot allocate under the worker's address-space limit aborts the process (glibc, OpenBLAS)
    // instead of raising MemoryError: its last words say so.
    const oom = /cannot allocate memory|memory allocation (still )?failed|failed to allocate memory|out of memory|std::bad_alloc|thread creation failed/i.test(this.stderrText());
    const err =
      this.exitError ??
      (oom
        ? new TtsError('E_MEMORY_LIMIT', `The Python worker ran out of memory under its limit and ${how}.`, { detail: this.stderrText(), hint: WORKER_HINTS.E_MEMORY_LIMIT })
        : undefined) ??
      new TtsError('E_WORKER_CRASH', `The Python worker ${how}.`, {
        detail: this.stderrText(),
        hint: 'Run again with --debug to see its output.',
      });
    this.failAll(err);
    fs.rmSync(this.workdir, { recursive: true, force: true });
  }

  private failAll(err: Error): void {
    if (this.helloWaiter) {
      this.helloWaiter.reject(err);
      this.helloWaiter = undefined;
    }
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err);
    }
  }

  request(op: string, payload: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
    if (this.exited) return Promise.reject(this.exitError ?? new TtsError('E_WORKER_CRASH', 'The Python worker is not running.'));
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject, op };
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        p.timer = setTimeout(() => {
          this.exitError = new TtsError('E_WORKER_TIMEOUT', `The worker did not answer '${op}' within ${seconds(timeoutMs)} s and was stopped.`, {
            hint: op === 'load' ? 'Pass a larger --load-timeout.' : 'Pass a larger --timeout.',
            detail: this.stderrText(),
          });
          this.pending.delete(id);
          reject(this.exitError);
          this.kill();
        }, timeoutMs);
      }
      this.pending.set(id, p);
      this.child.stdin!.write(`${JSON.stringify({ v: 1, id, op, ...payload })}\n`);
    });
  }

  async load(req: LoadRequest, timeoutMs: number): Promise<Ready> {
    const result = await this.request('load', { ...req }, timeoutMs);
    return readySchema.parse(result);
  }

  /** Encode PCM spooled in the private directory into MP3/Ogg/FLAC/M4A there (the CLI places the result). */
  async encode(payload: { in: string; out: string; format: string; sample_rate: number }, timeoutMs: number): Promise<{ path: string; bytes: number }> {
    const result = encodeResultSchema.parse(await this.request('encode', payload, timeoutMs));
    this.checkPrivate(result.path);
    return result;
  }

  private checkPrivate(file: string): void {
    const rel = path.relative(this.workdir, file);
    if (rel.startsWith('..') || path.isAbsolute(rel) || rel.includes(path.sep)) {
      throw new TtsError('E_WORKER_PROTOCOL', 'The worker wrote audio outside its private directory.');
    }
  }

  async synthesize(payload: { text: string; out: string; speaker?: string; language?: string }, timeoutMs: number): Promise<SynthResult> {
    const result = synthResultSchema.parse(await this.request('synthesize', payload, timeoutMs));
    this.checkPrivate(result.path);
    return result;
  }

  /** Close stdin (the worker exits on EOF) and wait briefly; kill if it lingers. */
  async close(graceMs = 3000): Promise<void> {
    if (this.exited) return;
    this.exitError = new TtsError('E_WORKER_CRASH', 'The worker was shut down.');
    this.child.stdin!.end();
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.child;
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.exited) this.child.kill();
  }
}
