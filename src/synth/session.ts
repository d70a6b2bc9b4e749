// Starting a worker with a model loaded: shared by `tts [text]` and `tts batch`.
import fs from 'node:fs';
import { TtsError, show } from '../errors.js';
import { catalogModelDir, type ModelSpec } from '../models.js';
import { modelsHome } from '../paths.js';
import { logState, verbose, warn } from '../ui/log.js';
import type { WorkerClient } from '../worker/client.js';
import type { Ready, SynthResult } from '../worker/protocol.js';

export interface EngineOptions {
  offline: boolean;
  acceptModelLicense: boolean;
  timeout: number;
  loadTimeout: number;
  maxMemory: number;
  threads?: number;
  /** Requests this worker will serve (sentences, batch items); Infinity for --lines. Scales the CPU-time limit. */
  requests?: number;
}

export function modelNeedsNetwork(spec: ModelSpec): boolean {
  if (spec.kind !== 'catalog') return false;
  if ('repo_id' in spec.item) return true;
  return !fs.existsSync(`${catalogModelDir(modelsHome(), spec.model)}/config.json`);
}

const CHECKPOINT_EXT = /\.(pth|pth\.tar|pt)$/;

/**
 * What is visibly wrong with a downloaded catalog model folder, cheaply (no torch): config.json missing or not
 * JSON, no checkpoint, an empty checkpoint, or a zip checkpoint (torch's format since 1.6) without its end of
 * central directory record (a truncated download). Null when it looks whole. The worker does the same check, and
 * removes and downloads again a copy that fails to load; `tts doctor` uses this to not list a broken copy.
 */
export function catalogCopyProblem(dir: string): string | null {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 'the folder cannot be read';
  }
  try {
    // Coqui writes configs with Python's json module: bare Infinity / NaN are allowed there.
    JSON.parse(fs.readFileSync(`${dir}/config.json`, 'utf8').replace(/-?\b(?:NaN|Infinity)\b/g, 'null'));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'config.json is missing' : 'config.json is damaged';
  }
  const checkpoints = names.filter((n) => CHECKPOINT_EXT.test(n)).sort();
  if (checkpoints.length === 0) return 'it has no checkpoint';
  for (const name of checkpoints) {
    const problem = checkpointProblem(`${dir}/${name}`);
    if (problem) return `${name} ${problem}`;
  }
  return null;
}

function checkpointProblem(file: string): string | null {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    const size = fs.fstatSync(fd).size;
    if (size === 0) return 'is empty';
    const head = Buffer.alloc(4);
    fs.readSync(fd, head, 0, 4, 0);
    if (head.readUInt32LE(0) !== 0x04034b50) return null; // not a zip: an old-style pickle, not checkable cheaply
    // The end of central directory record (22 bytes + a comment of up to 65,535) closes every complete zip.
    const tail = Buffer.alloc(Math.min(size, 22 + 65_535));
    fs.readSync(fd, tail, 0, tail.length, size - tail.length);
    for (let i = tail.length - 22; i >= 0; i--) if (tail.readUInt32LE(i) === 0x06054b50) return null;
    return `is truncated: an incomplete zip archive of ${size.toLocaleString('en-US')} bytes`;
  } catch (err) {
    return `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Everything about a model that can be refused without starting Python. */
export function checkModelUsable(spec: ModelSpec, opts: EngineOptions): { needsNetwork: boolean } {
  const needsNetwork = modelNeedsNetwork(spec);
  if (needsNetwork && opts.offline) {
    throw new TtsError('E_MODEL_DOWNLOAD', `Model ${show(spec.model)} is not downloaded, and --offline forbids downloading it.`, {
      hint: 'Run once without --offline on a machine with network access, or pass a local model folder with -m ./folder.',
    });
  }
  if (spec.kind === 'catalog' && spec.item.tos_required && !opts.acceptModelLicense) {
    throw new TtsError('E_MODEL_LICENSE', `Model ${show(spec.model)} requires accepting its licence (${String(spec.item.license ?? 'see the model card')}).`, {
      hint: 'Pass --accept-model-license if you agree to it.',
    });
  }
  return { needsNetwork };
}

export interface Session {
  worker: WorkerClient;
  ready: Ready;
  /**
   * Characters the model had no tokens for (not spoken), with counts, over every sentence this session has
   * synthesized so far (for the --json report). The warning on stderr is printed once, when the last session of
   * the run for this model closes (see trackDropped).
   */
  dropped: Map<string, number>;
}

/** A character for a message: quoted, or as U+XXXX when it would not show on its own (a combining mark, a control). */
function showChar(ch: string): string {
  return /^[\p{L}\p{N}\p{S}\p{P}]$/u.test(ch) ? JSON.stringify(ch) : [...ch].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(' ');
}

/** `"ə" ×3, "ş" ×2, …`: most frequent first (ties in order of appearance), at most `limit` of them. */
export function formatDropped(dropped: ReadonlyMap<string, number>, limit = 12): string {
  const entries = [...dropped].sort((a, b) => b[1] - a[1]);
  const shown = entries.slice(0, limit).map(([ch, n]) => `${showChar(ch)} ×${n}`);
  if (entries.length > limit) shown.push(`and ${entries.length - limit} more`);
  return shown.join(', ');
}

/** The one warning of a run whose text had characters the model cannot say. */
export function droppedWarning(model: string, dropped: ReadonlyMap<string, number>): string {
  return `model ${model} has no characters for ${formatDropped(dropped)}; they are not spoken`;
}

/**
 * Dropped characters of all sessions of one model that are open or opening, so a batch with --jobs N (N workers)
 * still warns once. The warning goes out when the last of them closes: after the spinner stopped, before
 * "Wrote ..." and before an error line; a run that ends before a worker was closed (Ctrl-C) does not warn.
 */
interface DroppedEntry {
  display: string;
  open: number;
  counts: Map<string, number>;
}
const runDropped = new Map<string, DroppedEntry>();

function acquireDropped(display: string): DroppedEntry {
  const entry = runDropped.get(display) ?? { display, open: 0, counts: new Map<string, number>() };
  runDropped.set(display, entry);
  entry.open++;
  return entry;
}

function releaseDropped(entry: DroppedEntry): void {
  entry.open--;
  if (entry.open > 0) return;
  runDropped.delete(entry.display);
  if (entry.counts.size > 0) warn(droppedWarning(entry.display, entry.counts));
}

function addCounts(into: Map<string, number>, from: Record<string, number>): void {
  for (const [ch, n] of Object.entries(from)) into.set(ch, (into.get(ch) ?? 0) + n);
}

/** Wrap a session's worker so that every result's `dropped` is counted, and the entry released on close. */
function trackDropped(worker: WorkerClient, entry: DroppedEntry, dropped: Map<string, number>): void {
  const synthesize = worker.synthesize.bind(worker);
  worker.synthesize = async (payload, timeoutMs): Promise<SynthResult> => {
    const res = await synthesize(payload, timeoutMs);
    addCounts(dropped, res.dropped);
    addCounts(entry.counts, res.dropped);
    return res;
  };
  const close = worker.close.bind(worker);
  let closed = false;
  worker.close = async (graceMs?: number): Promise<void> => {
    if (!closed) {
      closed = true;
      releaseDropped(entry);
    }
    await close(graceMs);
  };
}

/** Spawn a worker (interpreter and environment checked) and load `spec` into it. */
export async function openSession(spec: ModelSpec, opts: EngineOptions): Promise<Session> {
  const { needsNetwork } = checkModelUsable(spec, opts);
  // Counted before the first await: sessions of one run that open concurrently (batch --jobs) share one warning.
  const entry = acquireDropped(spec.display);
  try {
    return await startSession(spec, opts, needsNetwork, entry);
  } catch (err) {
    releaseDropped(entry);
    throw err;
  }
}

async function startSession(spec: ModelSpec, opts: EngineOptions, needsNetwork: boolean, entry: DroppedEntry): Promise<Session> {
  const { resolveInterpreter, workerEnv, ensureDataDirs } = await import('../worker/python.js');
  const { WorkerClient } = await import('../worker/client.js');
  const interpreter = resolveInterpreter();
  ensureDataDirs();
  verbose(`worker: starting ${interpreter.path} -I -m tts_worker`);
  const worker = await WorkerClient.start({
    interpreter,
    env: workerEnv({
      allowNetwork: needsNetwork,
      acceptLicense: opts.acceptModelLicense,
      threads: opts.threads,
      verbose: logState.verbose || logState.debug,
      memoryMb: opts.maxMemory,
      cpuSeconds: Math.min(2 ** 31 - 1, Math.ceil((opts.loadTimeout + opts.timeout * Math.max(1, opts.requests ?? 1)) * (opts.threads ?? 4)) + 60),
    }),
    onStderr: logState.verbose || logState.debug ? (c) => process.stderr.write(c) : undefined,
  });
  try {
    // allow_download: whether the worker may download at all (not --offline). It downloads a model that is not
    // on disk, and again one whose downloaded copy turned out to be broken (it removes that copy first).
    const ready = await worker.load(
      { engine: spec.engine, kind: spec.kind, model: spec.model, allow_download: !opts.offline, accept_license: opts.acceptModelLicense },
      opts.loadTimeout * 1000,
    );
    verbose(`worker ${worker.pid}: ${ready.engine} ${ready.model} loaded in ${ready.load_ms} ms, ${ready.sample_rate} Hz`);
    const dropped = new Map<string, number>();
    trackDropped(worker, entry, dropped);
    return { worker, ready, dropped };
  } catch (err) {
    await worker.close();
    throw err;
  }
}
