// `tts batch <file>... --out-dir <dir>`: one output per line, per paragraph, or per manifest entry.
// Everything that can be refused is refused before the first worker starts: a bad --name template, an --out-dir
// that is outside the allowed directories, a symlink or not a directory, unreadable or too long inputs, too many
// items, and two items writing the same file. After that, one failed item does not stop the others, unless
// --fail-fast: then the first failure, found while planning or while synthesizing, ends the batch.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { seconds, whole } from './option-schemas.js';
import { EXIT, TtsError, show } from '../errors.js';
import { DEFAULT_MAX_CHARS, DEFAULT_MAX_LONG_CHARS, HARD_MAX_CHARS, checkText, codePoints, normalizeText, readStdin, readTextFile } from '../text.js';
import { checkOutputName, resolveOutput, type ResolvedOutput } from '../audio/output-path.js';
import { preflightOutput } from '../audio/publish.js';
import { fileSink } from '../audio/sink.js';
import { allowedDirs, type AllowedDir } from '../audio/base-dirs.js';
import { loadConfig, envList } from '../config.js';
import { checkVoiceOptions, foreignScripts, resolveModel, type ModelSpec } from '../models.js';
import { modelsHome } from '../paths.js';
import { lineItems, paragraphItems, sentences } from '../sentences.js';
import { openSession, checkModelUsable, type Session } from '../synth/session.js';
import { synthesizeTo } from '../synth/pipeline.js';
import { errorLine, info, logState, paint, verbose, warn } from '../ui/log.js';
import { startSpinner } from '../ui/spinner.js';
import { progressLine } from '../ui/progress.js';
import { isShuttingDown as interrupted } from '../worker/client.js';

/**
 * Items in one batch, by default. The design notes suggested 1,000; lists of several thousand prompts are an
 * ordinary use, so the default is 10,000 (`--max-items` raises it, up to MAX_ITEMS_LIMIT).
 */
export const DEFAULT_MAX_ITEMS = 10_000;
export const MAX_ITEMS_LIMIT = 1_000_000;
/** Characters per batch input file (README, Limitations): the same limit as `-f` has by default. */
export const MAX_INPUT_CHARS = DEFAULT_MAX_LONG_CHARS;

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
  sentenceSilence: seconds('--sentence-silence', 10, true).default(0.2),
  timeout: seconds('--timeout', 3600).default(120),
  loadTimeout: seconds('--load-timeout', 7200).default(300),
  maxMemory: whole('--max-memory', 256, 1_048_576, 'MiB').default(8192),
  threads: whole('--threads', 1, 64).optional(),
  dryRun: z.boolean().default(false),
  maxItems: whole('--max-items', 1, MAX_ITEMS_LIMIT).default(DEFAULT_MAX_ITEMS),
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
  /** The output name came from the --name template (not from a manifest "output"). */
  fromTemplate?: boolean;
}

const where = (it: { input: string; line: number }) => `${it.input}:${it.line}`;

const PLACEHOLDERS = ['n', 'i', 'line', 'stem', 'slug'];
/** Placeholders whose value differs between two items of one input file. */
const VARYING = new Set(['n', 'i', 'line', 'slug']);
/** Exactly one valid placeholder: a name, then optionally ':' and a width of 1 to 99, with a leading 0 to zero-pad. */
const PLACEHOLDER = /^\{(n|i|line|stem|slug)(?::(0?)([1-9]\d?))?\}$/;
const VALID_PLACEHOLDERS = 'valid placeholders: {n}, {i}, {line}, {stem}, {slug}, each with an optional width: {n:4} pads with spaces, {n:04} with zeros (1 to 99)';

const badTemplate = (what: string) => new TtsError('E_USAGE', `--name: ${what}; ${VALID_PLACEHOLDERS}.`);

/**
 * Check a --name template: every `{` ... `}` must be exactly one valid placeholder, and there are no other braces.
 * Returns whether the names it gives can differ between the items of one file ({n}, {i}, {line} or {slug}).
 */
export function checkTemplate(template: string): { varying: boolean } {
  let varying = false;
  for (let k = 0; k < template.length; k++) {
    const c = template[k];
    if (c === '}') throw badTemplate(`a "}" without a matching "{" at character ${k + 1} of ${show(template)}`);
    if (c !== '{') continue;
    const close = template.indexOf('}', k + 1);
    const reopen = template.indexOf('{', k + 1);
    if (close < 0 || (reopen >= 0 && reopen < close)) throw badTemplate(`a "{" without a matching "}" at character ${k + 1} of ${show(template)}`);
    const token = template.slice(k, close + 1);
    const m = PLACEHOLDER.exec(token);
    if (!m) {
      const key = /^\{([A-Za-z]+)(?::0?[1-9]\d?)?\}$/.exec(token)?.[1];
      if (key !== undefined) {
        // Letters only, so safe to show as typed: "unknown placeholder {nope}".
        const lower = key.toLowerCase();
        const mean = PLACEHOLDERS.includes(lower) ? ` (did you mean ${token.replace(key, lower)}?)` : '';
        throw badTemplate(`unknown placeholder ${token} in ${show(template)}${mean}`);
      }
      const why = /^\{(n|i|line|stem|slug):/.test(token)
        ? ": the width after ':' must be a number from 1 to 99, with a leading 0 to zero-pad, e.g. {n:04}"
        : /\s/.test(token)
          ? ' (no spaces inside the braces)'
          : token === '{}'
            ? ' (empty braces)'
            : '';
      throw badTemplate(`${show(token)} in ${show(template)} is not a valid placeholder${why}`);
    }
    if (VARYING.has(m[1]!)) varying = true;
    k = close;
  }
  return { varying };
}

const checkedTemplates = new Set<string>();

/** `{n:04}` -> 0007. Placeholders: n (item number in its file), i (in the whole batch), line, stem, slug. */
export function expandTemplate(template: string, vals: { n: number; i: number; line: number; stem: string; text: string }): string {
  if (!checkedTemplates.has(template)) {
    checkTemplate(template);
    checkedTemplates.add(template);
  }
  return template.replace(/\{([a-z]+)(?::(0?)(\d{1,2}))?\}/g, (_m, key: string, zero: string, width: string) => {
    let v: string;
    if (key === 'n' || key === 'i' || key === 'line') v = String(vals[key as 'n' | 'i' | 'line']);
    else if (key === 'stem') v = vals.stem;
    else v = slug(vals.text);
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

// What the output-name rules (src/audio/output-path.ts) refuse inside a name: control and invisible characters,
// \ : * ? " < > | (and /), and the 8.3 short-name pattern ~<digit>.
const STEM_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ufffd\\/:*?"<>|]|~(?=\d)/gu;
const RESERVED_STEM = /^(?:con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])$/i;
const MAX_STEM_BYTES = 100;

/**
 * `{stem}`: the input file's name without its directory, leading dots and last extension (`.notes.txt` -> `notes`),
 * made acceptable to the output-name rules: NFC; characters they refuse become '-'; no leading '.', '-' or space,
 * no trailing '.', '-' or space; a device name (`con`) gets a '_'; at most 100 bytes. Nothing left: `input`.
 */
export function stemOf(input: string): string {
  if (input === '-') return 'stdin';
  let s = path.basename(input).normalize('NFC').replace(/^\.+/, '').replace(/\.[^.]*$/, '');
  s = s.replace(new RegExp(`\\s*(?:${STEM_UNSAFE.source})+\\s*`, 'gu'), '-').replace(/-{2,}/g, '-');
  s = s.replace(/^[-.\s]+|[-.\s]+$/gu, '');
  if (Buffer.byteLength(s) > MAX_STEM_BYTES) {
    let cut = '';
    for (const ch of s) {
      if (Buffer.byteLength(cut + ch) > MAX_STEM_BYTES) break;
      cut += ch;
    }
    s = cut.replace(/[-.\s]+$/u, '');
  }
  const dot = s.indexOf('.');
  const first = dot < 0 ? s : s.slice(0, dot);
  if (RESERVED_STEM.test(first.trimEnd())) s = `${first}_${s.slice(first.length)}`;
  return s || 'input';
}

/** Characters that make a value unreadable in a plan line (tabs separate its columns): shown escaped then. */
const NEEDS_QUOTING = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"]/u;
const plain = (s: string) => (NEEDS_QUOTING.test(s) ? show(s, 1000) : s);

const isManifest = (input: string, forced: boolean) => forced || /\.(jsonl|ndjson)$/i.test(input);

const INPUT_TOO_LONG_HINT = 'Split it into several input files: the limit is per file.';

/**
 * Read one input, decoded and normalized, with at most MAX_INPUT_CHARS characters: the read itself stops at the
 * byte cap (4 bytes per character), and the characters are counted once it is decoded, as for `-f`.
 */
async function readInput(input: string, stdinUsed: { used: boolean }): Promise<string> {
  let raw: string;
  const source = input === '-' ? 'stdin' : show(input);
  try {
    if (input === '-') {
      if (stdinUsed.used) throw new TtsError('E_TEXT_SOURCE', "stdin ('-') is given more than once.");
      stdinUsed.used = true;
      if (process.stdin.isTTY) throw new TtsError('E_STDIN_TTY', "Batch input '-' is stdin, and stdin is a terminal.");
      raw = await readStdin(MAX_INPUT_CHARS);
    } else raw = readTextFile(input, MAX_INPUT_CHARS);
  } catch (err) {
    // The reader's hint speaks of --max-chars, which in a batch limits an item, not a file.
    if (err instanceof TtsError && err.code === 'E_TEXT_TOO_LONG') throw new TtsError(err.code, err.message, { hint: INPUT_TOO_LONG_HINT });
    throw err;
  }
  const text = normalizeText(raw);
  if (text.length > MAX_INPUT_CHARS && codePoints(text) > MAX_INPUT_CHARS) {
    throw new TtsError('E_TEXT_TOO_LONG', `The text from ${source} is longer than ${MAX_INPUT_CHARS} characters.`, { hint: INPUT_TOO_LONG_HINT });
  }
  return text;
}

/** Rewrite an output-path error about `${outDir}/x.wav` so that it names the --out-dir value as given. */
function outDirError(err: TtsError, probe: string, given: string): TtsError {
  const shownProbe = show(probe);
  let message = err.message;
  if (message.startsWith(`Output path ${shownProbe}`)) message = `--out-dir ${show(given)}${message.slice(`Output path ${shownProbe}`.length)}`;
  else message = `--out-dir ${show(given)}: ${message.split(shownProbe).join(show(given))}`;
  return new TtsError(err.code, message, { hint: err.hint });
}

/**
 * The --out-dir itself, once and before anything is read: its name (the output-path rules), its place (inside an
 * allowed directory), and the part of it that exists (each component a real directory, not a symlink). Returns the
 * value to join names to. Publication checks again, with O_NOFOLLOW, when it writes.
 */
export function checkOutDir(given: string, bases: readonly AllowedDir[]): string {
  const outDir = given.replace(/\/+$/, '') || '/';
  const probe = `${outDir}/x.wav`;
  let resolved: ResolvedOutput;
  try {
    resolved = resolveOutput(probe, bases);
  } catch (err) {
    if (err instanceof TtsError) throw outDirError(err, probe, given);
    throw err;
  }
  const dirs = resolved.components.slice(0, -1);
  let real = resolved.base.real;
  for (let k = 0; k < dirs.length; k++) {
    real = path.join(real, dirs[k]!);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(real);
    } catch {
      return outDir; // missing from here on: created after synthesis (anything else, publication reports)
    }
    if (st.isDirectory()) continue;
    const last = k === dirs.length - 1;
    const part = path.isAbsolute(given) ? real : dirs.slice(0, k + 1).join('/');
    const subject = last ? `--out-dir ${show(given)}` : `--out-dir ${show(given)}: ${show(part)}`;
    if (st.isSymbolicLink()) {
      throw new TtsError('E_PATH_SYMLINK', `${subject}${last ? '' : ' on its path'} is a symbolic link; output directories may not be links.`, {
        hint: 'Give the directory it points to (with --base-dir if that lies outside the allowed directories).',
      });
    }
    throw new TtsError('E_PATH_NOT_FILE', `${subject} is not a directory.`);
  }
  return outDir;
}

/** Read every input and build the items; nothing is synthesized and no worker is started. */
export async function planBatch(opts: BatchOptions): Promise<{ items: BatchItem[]; bases: AllowedDir[] }> {
  // The template first: a usage error, before any file is read.
  const template = opts.name ?? (opts.inputs.length > 1 ? '{stem}-{n:04}.wav' : '{n:04}.wav');
  const { varying } = checkTemplate(template);
  if (opts.name !== undefined) {
    // The extension and characters of the template itself, with each placeholder standing for a plain name.
    try {
      checkOutputName(template.replace(/\{[^}]*\}/g, 'x'));
    } catch (err) {
      if (!(err instanceof TtsError)) throw err;
      throw new TtsError(err.code, `--name ${show(template)}: ${err.message.replace(/^Output (path|file) "[^"]*"/, 'the name')}`, { hint: err.hint });
    }
  }
  const config = loadConfig();
  const bases = allowedDirs([...opts.baseDir, ...envList(process.env.TTS_BASE_DIRS), ...(config.baseDirs ?? [])], 'base directory');
  const modelsDirs = () => allowedDirs([...opts.modelsDir, ...envList(process.env.TTS_MODELS_DIRS), ...(config.modelsDirs ?? [])], 'models directory', [modelsHome()]);
  const defaultModel = resolveModel(opts.model, modelsDirs);
  checkModelUsable(defaultModel, opts);
  // --speaker/--language for the whole batch are checked once, not reported again for every item.
  checkVoiceOptions(defaultModel, opts.speaker, opts.language);
  const foreign = { items: 0, first: '' };
  const outDir = checkOutDir(opts.outDir, bases);

  const items: BatchItem[] = [];
  const stdinUsed = { used: false };
  const models = new Map<string, ModelSpec>();
  let i = 0;
  let total = 0; // items in all inputs; past opts.maxItems they are only counted
  for (const input of opts.inputs) {
    const display = input === '-' ? 'stdin' : input;
    const raw = await readInput(input, stdinUsed);
    const manifest = isManifest(input, opts.manifest);
    const units = manifest || opts.split === 'line' ? lineItems(raw, { comments: opts.comments }) : paragraphItems(raw, { comments: opts.comments });
    total += units.length;
    if (total > opts.maxItems) continue; // too many: read the rest only to say how many (each input is capped)
    let n = 0;
    for (const unit of units) {
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
        // The embedded voice's speaker and language are known here: a wrong one fails the item before any worker.
        item.language = checkVoiceOptions(item.model ?? defaultModel, item.speaker ?? opts.speaker, item.language ?? opts.language);
        const scripts = foreignScripts(item.model ?? defaultModel, item.text);
        if (scripts && foreign.items++ === 0) foreign.first = `${where(item)}: ${scripts}`;
        if (name !== undefined && path.isAbsolute(name)) {
          throw new TtsError('E_PATH_TRAVERSAL', `${where(item)}: output ${show(name)} is absolute; manifest outputs are relative to --out-dir.`);
        }
        if (name === undefined) {
          name = expandTemplate(template, { n: item.n, i, line: item.line, stem: stemOf(input), text: item.text });
          item.fromTemplate = true;
        }
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

  if (total > opts.maxItems) {
    throw new TtsError('E_BATCH_TOO_LARGE', `The batch has ${total} items; the limit is ${opts.maxItems} (--max-items); nothing was synthesized.`, {
      hint: opts.maxItems < MAX_ITEMS_LIMIT ? `Split it into several batches, or raise --max-items (at most ${MAX_ITEMS_LIMIT}).` : 'Split it into several batches.',
    });
  }

  // Collisions (including case and Unicode-normalisation twins) fail the whole batch before any synthesis.
  const seen = new Map<string, BatchItem>();
  for (const it of items) {
    if (!it.output) continue;
    const key = collisionKey(it.output.absolute);
    const other = seen.get(key);
    if (other && other.fromTemplate && it.fromTemplate && !varying) {
      // Every item gets the same name: say that the template is the cause, and how to fix it.
      const suggestion = /\.[^./{}]*$/.test(template) ? template.replace(/(\.[^./{}]*)$/, '-{n:04}$1') : `${template}-{n:04}.wav`;
      throw new TtsError(
        'E_BATCH_COLLISION',
        `${where(other)} and ${where(it)} would both write ${show(other.output!.display)}: the --name template ${show(template)} has no placeholder that changes from item to item ({n}, {i}, {line} or {slug}); nothing was synthesized.`,
        { hint: `Add one, e.g. --name ${show(suggestion)}.` },
      );
    }
    if (other) {
      throw new TtsError('E_BATCH_COLLISION', `${where(other)} and ${where(it)} would both write ${show(other.output!.display)}${other.output!.display !== it.output.display ? ` (and ${show(it.output.display)}, the same name on a case-insensitive disk)` : ''}; nothing was synthesized.`, {
        hint: 'Use a --name template with {n} or {line}, or give each manifest entry its own "output".',
      });
    }
    seen.set(key, it);
  }
  if (foreign.items > 0) {
    warn(`voice ${defaultModel.model} reads Latin script; ${foreign.items} item${foreign.items === 1 ? ' has' : 's have'} letters in other scripts (first: ${foreign.first}) that will be spelled out one by one. For other languages use a Coqui model (-m).`);
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
  // --fail-fast and a failure found while planning (a bad manifest line, model or path): the batch stops there,
  // before any synthesis, as it would at a failed synthesis: the first failure is reported, the rest are not run.
  const firstFailed = opts.failFast ? items.find((it) => it.status === 'failed') : undefined;
  if (firstFailed) {
    for (const it of items) {
      if (it === firstFailed || (it.status && it.status !== 'failed')) continue;
      it.status = 'cancelled';
      it.error = undefined;
    }
  }
  for (const it of items) if (it.status === 'failed' && it.error) reportFailure(it);
  const todo = items.filter((it) => !it.status);
  if (opts.dryRun) {
    for (const it of todo) it.status = 'planned';
    if (!opts.json) printPlan(items, opts.force);
    const cancelled = count(items, 'cancelled');
    info(`dry run: ${todo.length} to synthesize, ${count(items, 'exists')} already written, ${count(items, 'empty')} with nothing to speak, ${count(items, 'failed')} failed${cancelled ? `, ${cancelled} not run (--fail-fast)` : ''}; nothing synthesized.`);
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
              const sink = fileSink(it.output!, opts.force, session.worker, opts.timeout * 1000);
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

const PLAN_STATUS: Record<ItemStatus, string> = {
  planned: 'would write',
  exists: 'exists, skipped',
  empty: 'nothing to speak, skipped',
  failed: 'failed',
  cancelled: 'not run (--fail-fast)',
  written: 'written',
};

/** --dry-run: one line per item on stdout, `<input>:<line>\t<output or ->\t<what would happen>`. */
function printPlan(items: BatchItem[], force: boolean): void {
  const lines: string[] = [];
  for (const it of items) {
    let status = PLAN_STATUS[it.status ?? 'cancelled'];
    if (it.status === 'failed' && it.error) status = `failed (${it.error.code})`;
    else if (it.status === 'planned' && force && fs.existsSync(it.output!.absolute)) status = 'would replace (--force)';
    lines.push(`${plain(it.input)}:${it.line}\t${it.output ? plain(it.output.display) : '-'}\t${status}\n`);
    if (lines.length >= 512) process.stdout.write(lines.splice(0).join(''));
  }
  if (lines.length) process.stdout.write(lines.join(''));
}

function reportFailure(it: BatchItem): void {
  if (!it.error) return;
  errorLine(`tts: ${paint('red', it.error.code)}: ${it.error.message}${it.error.hint ? ` ${it.error.hint}` : ''}`);
  if (logState.debug && it.error.detail) errorLine(it.error.detail.trimEnd());
}

const count = (items: BatchItem[], s: ItemStatus) => items.filter((it) => it.status === s).length;

/** Print the summary (stderr) or the JSON report (stdout); return the exit status. */
export function finishBatch(report: BatchReport, opts: { json: boolean; dryRun?: boolean }): number {
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
  } else if (!opts.dryRun) {
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
