// `tts batch <file>... --out-dir <dir>`: one output per line, per paragraph, or per manifest entry.
// Everything that can be refused is refused before the first worker starts: unreadable inputs, bad templates,
// and two items writing the same file. After that, one failed item does not stop the others (unless --fail-fast).
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { EXIT, TtsError, show } from '../errors.js';
import { DEFAULT_MAX_CHARS, DEFAULT_MAX_LONG_CHARS, HARD_MAX_CHARS, checkText, normalizeText, readStdin, readTextFile } from '../text.js';
import { checkOutputName, resolveOutput, type ResolvedOutput } from '../audio/output-path.js';
import { preflightOutput } from '../audio/publish.js';
import { FileSink } from '../audio/sink.js';
import { allowedDirs, type AllowedDir } from '../audio/base-dirs.js';
import { loadConfig, envList } from '../config.js';
import { resolveModel, type ModelSpec } from '../models.js';
import { modelsHome } from '../paths.js';
import { lineItems, paragraphItems, sentences } from '../sentences.js';
import { openSession, checkModelUsable, type Session } from '../synth/session.js';
import { synthesizeTo } from '../synth/pipeline.js';
import { errorLine, info, logState, paint, verbose } from '../ui/log.js';
import { startSpinner } from '../ui/spinner.js';
import { progressLine } from '../ui/progress.js';
import { isShuttingDown as interrupted } from '../worker/client.js';

const seconds = (what: string, max: number) =>
  z.coerce
    .number({ error: `${what} must be a number of seconds` })
    .positive({ error: `${what} must be greater than 0` })
    .max(max, { error: `${what} must be at most ${max}` });
const whole = (what: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${what} must be a whole number` })
    .int({ error: `${what} must be a whole number` })
    .min(min, { error: `${what} must be at least ${min}` })
    .max(max, { error: `${what} must be at most ${max}` });

export const batchOptionsSchema = z.object({
  inputs: z.array(z.string().min(1, { error: 'an input file name is empty' })).min(1, { error: 'give at least one input file' }),
  outDir: z.string().min(1, { error: '--out-dir must not be empty' }).default('.'),
  split: z.enum(['line', 'paragraph'], { error: "--split must be 'line' or 'paragraph'" }).default('line'),
  manifest: z.boolean().default(false),
  name: z.string().min(1, { error: '--name must not be empty' }).optional(),
  comments: z.boolean().default(true),
  model: z.string().optional(),
  speaker: z.string().min(1).max(200).optional(),
  language: z.string().min(1).max(50).optional(),
  force: z.boolean().default(false),
  failFast: z.boolean().default(false),
  json: z.boolean().default(false),
  jobs: whole('--jobs', 1, 16).default(1),
  baseDir: z.array(z.string().min(1)).default([]),
  modelsDir: z.array(z.string().min(1)).default([]),
  offline: z.boolean().default(false),
  acceptModelLicense: z.boolean().default(false),
  maxChars: whole('--max-chars', 1, HARD_MAX_CHARS).default(DEFAULT_MAX_CHARS),
  sentenceSilence: z.coerce.number({ error: '--sentence-silence must be a number of seconds' }).min(0).max(10).default(0.2),
  timeout: seconds('--timeout', 3600).default(120),
  loadTimeout: seconds('--load-timeout', 7200).default(300),
  maxMemory: whole('--max-memory', 256, 1_048_576).default(8192),
  threads: whole('--threads', 1, 64).optional(),
  dryRun: z.boolean().default(false),
});
export type BatchOptions = z.infer<typeof batchOptionsSchema>;

/** One manifest line (JSON lines). Unknown keys are refused, so a typo ("txt") is an error, not silence. */
export const manifestItemSchema = z
  .object({
    text: z.string({ error: '"text" must be a string' }),
    output: z.string({ error: '"output" must be a string' }).optional(),
    model: z.string({ error: '"model" must be a string' }).optional(),
    speaker: z.string({ error: '"speaker" must be a string' }).min(1).max(200).optional(),
    language: z.string({ error: '"language" must be a string' }).min(1).max(50).optional(),
  })
  .strict();

export type ItemStatus = 'written' | 'exists' | 'empty' | 'failed' | 'cancelled' | 'planned';

export interface BatchItem {
  input: string;
  line: number;
  n: number;
  text: string;
  output?: ResolvedOutput;
  model?: ModelSpec;
  speaker?: string;
  language?: string;
  status?: ItemStatus;
  error?: TtsError;
  seconds?: number;
  sampleRate?: number;
}

const where = (it: { input: string; line: number }) => `${it.input}:${it.line}`;

/** `{n:04}` -> 0007. Placeholders: n (item number in its file), i (in the whole batch), line, stem, slug. */
export function expandTemplate(template: string, vals: { n: number; i: number; line: number; stem: string; text: string }): string {
  return template.replace(/\{([a-z]+)(?::(0?)(\d{1,2}))?\}/g, (_m, key: string, zero: string, width: string) => {
    let v: string;
    if (key === 'n' || key === 'i' || key === 'line') v = String(vals[key as 'n' | 'i' | 'line']);
    else if (key === 'stem') v = vals.stem;
    else if (key === 'slug') v = slug(vals.text);
    else throw new TtsError('E_USAGE', `--name: unknown placeholder {${key}}; use {n}, {i}, {line}, {stem} or {slug}.`);
    return width ? v.padStart(Number(width), zero ? '0' : ' ') : v;
  });
}

/** A file-name-safe summary of the text: ASCII letters and digits joined by '-', at most 40 characters. */
export function slug(text: string): string {
  const s = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return s || 'item';
}

/** Two names that a case-insensitive or normalizing file system (macOS, Windows) would take as one. */
export function collisionKey(absolute: string): string {
  return absolute.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC');
}

function stemOf(input: string): string {
  if (input === '-') return 'stdin';
  return path.basename(input).replace(/\.[^.]*$/, '') || 'input';
}

const isManifest = (input: string, forced: boolean) => forced || /\.(jsonl|ndjson)$/i.test(input);

async function readInput(input: string, stdinUsed: { used: boolean }): Promise<string> {
  if (input === '-') {
    if (stdinUsed.used) throw new TtsError('E_TEXT_SOURCE', "stdin ('-') is given more than once.");
    stdinUsed.used = true;
    if (process.stdin.isTTY) throw new TtsError('E_STDIN_TTY', "Batch input '-' is stdin, and stdin is a terminal.");
    return readStdin(DEFAULT_MAX_LONG_CHARS);
  }
  return readTextFile(input, DEFAULT_MAX_LONG_CHARS);
}

/** Read every input and build the items; nothing is synthesized and no worker is started. */
export async function planBatch(opts: BatchOptions): Promise<{ items: BatchItem[]; bases: AllowedDir[] }> {
  const config = loadConfig();
  const bases = allowedDirs([...opts.baseDir, ...envList(process.env.TTS_BASE_DIRS), ...(config.baseDirs ?? [])], 'base directory');
  const modelsDirs = () => allowedDirs([...opts.modelsDir, ...envList(process.env.TTS_MODELS_DIRS), ...(config.modelsDirs ?? [])], 'models directory', [modelsHome()]);
  const defaultModel = resolveModel(opts.model, modelsDirs);
  checkModelUsable(defaultModel, opts);
  // The out-dir itself must be an acceptable place: checked like an output path (with a file name added).
  const outDir = opts.outDir.replace(/\/+$/, '') || '/';
  resolveOutput(`${outDir}/x.wav`, bases);
  const template = opts.name ?? (opts.inputs.length > 1 ? '{stem}-{n:04}.wav' : '{n:04}.wav');
  if (opts.name !== undefined) {
    expandTemplate(template, { n: 1, i: 1, line: 1, stem: 'x', text: 'x' }); // unknown placeholders: usage error now
    checkOutputName(template.replace(/\{[^}]*\}/g, 'x')); // the extension and characters of the template itself
  }

  const items: BatchItem[] = [];
  const stdinUsed = { used: false };
  const models = new Map<string, ModelSpec>();
  let i = 0;
  for (const input of opts.inputs) {
    const display = input === '-' ? 'stdin' : input;
    const raw = normalizeText(await readInput(input, stdinUsed));
    const manifest = isManifest(input, opts.manifest);
    const units = manifest || opts.split === 'line' ? lineItems(raw) : paragraphItems(raw);
    let n = 0;
    for (const unit of units) {
      const trimmed = unit.text.trim();
      if (opts.comments && trimmed.startsWith('#') && (manifest || opts.split === 'line' || trimmed.split('\n').every((l) => l.trim().startsWith('#')))) continue;
      const item: BatchItem = { input: display, line: unit.line, n: ++n, text: unit.text };
      i++;
      items.push(item);
      try {
        let name: string | undefined;
        if (manifest) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(unit.text);
          } catch (err) {
            throw new TtsError('E_MANIFEST', `${where(item)}: not valid JSON (${(err as Error).message.split('\n')[0]}).`);
          }
          const r = manifestItemSchema.safeParse(parsed);
          if (!r.success) {
            // An unknown key first: `{"txt": ...}` is a typo of "text", and saying so helps more than "missing text".
            const issue = r.error.issues.find((x) => x.code === 'unrecognized_keys') ?? r.error.issues[0]!;
            const key = issue.path.join('.');
            const missing = issue.code === 'invalid_type' && key && typeof parsed === 'object' && parsed !== null && !(key in parsed);
            const why =
              issue.code === 'unrecognized_keys'
                ? `unknown key ${issue.keys.map((k) => show(k)).join(', ')}; expected "text" and optionally "output", "model", "speaker", "language"`
                : missing
                  ? `missing ${show(key)}`
                  : key
                    ? issue.message
                    : 'each line must be a JSON object such as {"text": "Hello", "output": "hello.wav"}';
            throw new TtsError('E_MANIFEST', `${where(item)}: ${why}.`);
          }
          item.text = r.data.text;
          name = r.data.output;
          item.speaker = r.data.speaker;
          item.language = r.data.language;
          if (r.data.model !== undefined) {
            const cached = models.get(r.data.model);
            const spec = cached ?? resolveModel(r.data.model, modelsDirs);
            if (!cached) {
              checkModelUsable(spec, opts);
              models.set(r.data.model, spec);
            }
            item.model = spec;
          }
        }
        item.text = checkText(item.text, opts.maxChars, 'this item');
        if (name !== undefined && path.isAbsolute(name)) {
          throw new TtsError('E_PATH_TRAVERSAL', `${where(item)}: output ${show(name)} is absolute; manifest outputs are relative to --out-dir.`);
        }
        name ??= expandTemplate(template, { n: item.n, i, line: item.line, stem: stemOf(input), text: item.text });
        checkOutputName(name); // '..' and the other name rules, on the name itself before it is joined
        item.output = resolveOutput(`${outDir}/${name}`, bases);
      } catch (err) {
        if (!(err instanceof TtsError)) throw err;
        item.error = err;
        item.status = err.code === 'E_TEXT_EMPTY' ? 'empty' : 'failed';
        if (err.code !== 'E_MANIFEST' && !err.message.startsWith(where(item))) {
          item.error = new TtsError(err.code, `${where(item)}: ${err.message}`, { hint: err.hint });
        }
      }
      item.model ??= defaultModel;
    }
  }

  // Collisions (including case and Unicode-normalisation twins) fail the whole batch before any synthesis.
  const seen = new Map<string, BatchItem>();
  for (const it of items) {
    if (!it.output) continue;
    const key = collisionKey(it.output.absolute);
    const other = seen.get(key);
    if (other) {
      throw new TtsError('E_BATCH_COLLISION', `${where(other)} and ${where(it)} would both write ${show(other.output!.display)}${other.output!.display !== it.output.display ? ` (and ${show(it.output.display)}, the same name on a case-insensitive disk)` : ''}; nothing was synthesized.`, {
        hint: 'Use a --name template with {n} or {line}, or give each manifest entry its own "output".',
      });
    }
    seen.set(key, it);
  }
  // Resume: outputs that already exist are skipped (unless --force); symlinks and directories are errors.
  for (const it of items) {
    if (!it.output || it.status) continue;
    try {
      preflightOutput(it.output, opts.force);
    } catch (err) {
      if (!(err instanceof TtsError)) throw err;
      it.status = err.code === 'E_PATH_EXISTS' ? 'exists' : 'failed';
      it.error = err.code === 'E_PATH_EXISTS' ? undefined : new TtsError(err.code, `${where(it)}: ${err.message}`, { hint: err.hint });
    }
  }
  return { items, bases };
}

export interface BatchReport {
  items: BatchItem[];
  elapsedMs: number;
}

function modelKey(spec: ModelSpec): string {
  return `${spec.engine}\u0000${spec.kind}\u0000${spec.model}`;
}

/** Was the worker lost (crash, timeout), so that the next item needs a new one? */
const workerLost = (err: unknown) => err instanceof TtsError && (err.exitCode === EXIT.WORKER || err.code === 'E_MEMORY_LIMIT');

export async function runBatch(opts: BatchOptions): Promise<BatchReport> {
  const started = performance.now();
  const { items } = await planBatch(opts);
  for (const it of items) if (it.status === 'failed' && it.error) reportFailure(it);
  const todo = items.filter((it) => !it.status);
  if (opts.dryRun) {
    for (const it of todo) it.status = 'planned';
    info(`dry run: ${todo.length} to synthesize, ${count(items, 'exists')} already written, ${count(items, 'empty')} with nothing to speak, ${count(items, 'failed')} failed; nothing synthesized.`);
    return { items, elapsedMs: performance.now() - started };
  }

  // One group per model, in order of first use; within a group, --jobs workers take items from a shared queue.
  const groups = new Map<string, BatchItem[]>();
  for (const it of todo) {
    const key = modelKey(it.model!);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(it);
  }
  const spinner = startSpinner(`Batch: ${todo.length} item${todo.length === 1 ? '' : 's'}`);
  let done = 0;
  let stop = false;
  const tick = () => spinner.text(progressLine('Batch', `${done}/${todo.length}`, todo.length ? done / todo.length : 1, started));
  const cores = Math.max(1, os.availableParallelism());
  try {
    for (const group of groups.values()) {
      if (stop) break;
      const spec = group[0]!.model!;
      const jobs = Math.min(opts.jobs, group.length);
      const threads = opts.threads ?? Math.max(1, Math.floor(Math.min(cores, 4) / jobs));
      let next = 0;
      const lane = async (laneNo: number) => {
        let session: Session | undefined;
        let sessionError: TtsError | undefined;
        try {
          while (!stop && next < group.length) {
            const it = group[next++]!;
            try {
              if (!session) {
                if (sessionError) throw sessionError;
                spinner.text(`Loading ${spec.display}`);
                try {
                  session = await openSession(spec, { ...opts, threads, requests: group.length });
                } catch (err) {
                  // A model that cannot load fails every item of its group the same way: do not retry per item.
                  if (err instanceof TtsError) sessionError = err;
                  throw err;
                }
                tick();
              }
              const sink = new FileSink(it.output!, opts.force);
              try {
                const r = await synthesizeTo(session.worker, sentences(it.text), sink, {
                  speaker: it.speaker ?? opts.speaker,
                  language: it.language ?? opts.language,
                  timeoutMs: opts.timeout * 1000,
                  sentenceSilence: opts.sentenceSilence,
                  tag: `b${laneNo}`,
                });
                await sink.finish();
                it.status = 'written';
                it.seconds = r.samples / r.sampleRate;
                it.sampleRate = r.sampleRate;
                verbose(`${where(it)}: wrote ${it.output!.display} (${it.seconds.toFixed(2)} s)`);
              } catch (err) {
                sink.abort();
                throw err;
              }
            } catch (err) {
              const e = err instanceof TtsError ? err : new TtsError('E_INTERNAL', err instanceof Error ? err.message : String(err));
              if (e.code === 'E_INTERRUPTED' || interrupted()) {
                // Ctrl-C: the worker was killed under this item; the CLI says "interrupted" once, not per item.
                stop = true;
                throw err;
              }
              it.status = 'failed';
              it.error = new TtsError(e.code, `${where(it)}: ${e.message}`, { hint: e.hint, detail: e.detail });
              reportFailure(it);
              if (opts.failFast) stop = true;
              if (workerLost(err) && session) {
                await session.worker.close();
                session = undefined;
              }
            }
            done++;
            tick();
          }
        } finally {
          await session?.worker.close();
        }
      };
      await Promise.all(Array.from({ length: jobs }, (_, k) => lane(k + 1)));
    }
  } finally {
    spinner.stop();
  }
  for (const it of items) if (!it.status) it.status = 'cancelled';
  return { items, elapsedMs: performance.now() - started };
}

function reportFailure(it: BatchItem): void {
  if (!it.error) return;
  errorLine(`tts: ${paint('red', it.error.code)}: ${it.error.message}${it.error.hint ? ` ${it.error.hint}` : ''}`);
  if (logState.debug && it.error.detail) errorLine(it.error.detail.trimEnd());
}

const count = (items: BatchItem[], s: ItemStatus) => items.filter((it) => it.status === s).length;

/** Print the summary (stderr) or the JSON report (stdout); return the exit status. */
export function finishBatch(report: BatchReport, opts: { json: boolean }): number {
  const { items } = report;
  const failed = count(items, 'failed');
  const summary = {
    items: items.length,
    written: count(items, 'written'),
    exists: count(items, 'exists'),
    empty: count(items, 'empty'),
    failed,
    cancelled: count(items, 'cancelled'),
    planned: count(items, 'planned'),
    seconds_of_audio: Number(items.reduce((a, it) => a + (it.seconds ?? 0), 0).toFixed(3)),
    elapsed_ms: Math.round(report.elapsedMs),
  };
  if (opts.json) {
    const out = {
      items: items.map((it) => ({
        input: it.input,
        line: it.line,
        n: it.n,
        output: it.output?.display ?? null,
        status: it.status,
        seconds: it.seconds === undefined ? null : Number(it.seconds.toFixed(3)),
        sample_rate: it.sampleRate ?? null,
        error: it.error ? { code: it.error.code, message: it.error.message } : null,
      })),
      summary,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else if (summary.planned === 0) {
    const parts = [`${summary.written} written`];
    if (summary.exists) parts.push(`${summary.exists} skipped (already exist; --force replaces them)`);
    if (summary.empty) parts.push(`${summary.empty} skipped (nothing to speak)`);
    if (failed) parts.push(`${failed} failed`);
    if (summary.cancelled) parts.push(`${summary.cancelled} not run (--fail-fast)`);
    info(`batch: ${parts.join(', ')}; ${summary.seconds_of_audio.toFixed(1)} s of audio in ${(report.elapsedMs / 1000).toFixed(1)} s.`);
  }
  if (failed > 0) {
    const first = items.find((it) => it.status === 'failed')!;
    errorLine(`tts: ${paint('red', 'E_BATCH_FAILED')}: ${failed} of ${items.length} item${items.length === 1 ? '' : 's'} failed (the first: ${where(first)}, ${first.error!.code}).`);
    return EXIT.SYNTHESIS;
  }
  return EXIT.OK;
}
