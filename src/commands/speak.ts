// `tts [text...]`: validate everything, start the worker, synthesize, publish the audio.
import { z } from 'zod';
import { seconds, whole } from './option-schemas.js';
import { TtsError, show } from '../errors.js';
import { DEFAULT_MAX_CHARS, DEFAULT_MAX_LONG_CHARS, HARD_MAX_CHARS, checkText, codePoints, readStdin, readStdinLines, readTextFile } from '../text.js';
import { resolveOutput, type ResolvedOutput } from '../audio/output-path.js';
import { preflightOutput } from '../audio/publish.js';
import { EncodedFileSink, PlayerSink, StdoutSink, containerOf, fileSink, findPlayer, type AudioSink, type CompressedFormat } from '../audio/sink.js';
import { checkVoiceOptions, foreignScripts, resolveModel, type ModelSpec } from '../models.js';
import { modelsHome } from '../paths.js';
import { loadConfig, envList, type Config } from '../config.js';
import { allowedDirs } from '../audio/base-dirs.js';
import { sentences, type Sentence } from '../sentences.js';
import { checkModelUsable, openSession } from '../synth/session.js';
import { synthesizeTo } from '../synth/pipeline.js';
import { info, logState, verbose, warn } from '../ui/log.js';
import { startSpinner } from '../ui/spinner.js';
import { progressLine } from '../ui/progress.js';

export const speakOptionsSchema = z.object({
  text: z.array(z.string()),
  file: z.string().min(1, { error: '--file needs a path' }).optional(),
  output: z.string().optional(),
  model: z.string().optional(),
  speaker: z.string().min(1, { error: '--speaker must not be empty' }).max(200, { error: '--speaker is too long' }).optional(),
  language: z.string().min(1, { error: '--language must not be empty' }).max(50, { error: '--language is too long' }).optional(),
  force: z.boolean().default(false),
  baseDir: z.array(z.string().min(1, { error: '--base-dir must not be empty' })).default([]),
  modelsDir: z.array(z.string().min(1, { error: '--models-dir must not be empty' })).default([]),
  offline: z.boolean().default(false),
  acceptModelLicense: z.boolean().default(false),
  maxChars: whole('--max-chars', 1, HARD_MAX_CHARS).optional(),
  sentenceSilence: seconds('--sentence-silence', 10, true).default(0.2),
  raw: z.boolean().default(false),
  play: z.boolean().default(false),
  lines: z.boolean().default(false),
  json: z.boolean().default(false),
  timeout: seconds('--timeout', 3600).default(120),
  loadTimeout: seconds('--load-timeout', 7200).default(300),
  dryRun: z.boolean().default(false),
  maxMemory: whole('--max-memory', 256, 1_048_576, 'MiB').default(8192),
  threads: whole('--threads', 1, 64).optional(),
});
export type SpeakOptions = z.infer<typeof speakOptionsSchema>;

type Target = { kind: 'file'; out: ResolvedOutput } | { kind: 'stdout' } | { kind: 'player'; player: NonNullable<ReturnType<typeof findPlayer>> };

type Source =
  | { kind: 'text'; text: string; source: string }
  | { kind: 'lines'; maxChars: number };

async function resolveText(opts: SpeakOptions): Promise<Source> {
  const args = opts.text;
  const fromStdinArg = args.length === 1 && args[0] === '-';
  const long = opts.maxChars ?? DEFAULT_MAX_LONG_CHARS;
  const short = opts.maxChars ?? DEFAULT_MAX_CHARS;
  if (opts.file !== undefined && args.length > 0) {
    throw new TtsError('E_TEXT_SOURCE', 'Give the text either as arguments or with --file, not both.');
  }
  if (opts.lines && ((opts.file !== undefined && opts.file !== '-') || (args.length > 0 && !fromStdinArg))) {
    throw new TtsError('E_USAGE', '--lines speaks stdin line by line as lines arrive; it takes no text arguments and no --file.', {
      hint: 'For a file, one output per line: tts batch file.txt --out-dir out',
    });
  }
  if (opts.file !== undefined && opts.file !== '-') {
    const text = checkText(readTextFile(opts.file, long), long, show(opts.file));
    return { kind: 'text', text, source: show(opts.file) };
  }
  if (args.length > 0 && !fromStdinArg) {
    const text = args.join(' ');
    // Node decodes argv leniently: bytes that are not UTF-8 arrive as U+FFFD. Refuse rather than speak garbage.
    if (text.includes('\ufffd')) {
      throw new TtsError('E_TEXT_ENCODING', 'The text from the command line is not valid UTF-8.', {
        hint: "Check the terminal's locale (e.g. LANG=C.UTF-8), or pass the text in a UTF-8 file with -f.",
      });
    }
    return { kind: 'text', text: checkText(text, short, 'the command line'), source: 'the command line' };
  }
  if (opts.lines) return { kind: 'lines', maxChars: short };
  if (process.stdin.isTTY) {
    throw new TtsError('E_STDIN_TTY', 'No text given, and stdin is a terminal.', {
      hint: 'Usage: tts "Hello world" -o hello.wav, or pipe text in: echo Hello | tts -o hello.wav. See tts --help.',
    });
  }
  return { kind: 'text', text: checkText(await readStdin(long), long, 'stdin'), source: 'stdin' };
}

function resolveTarget(opts: SpeakOptions, config: Config): Target {
  const o = opts.output;
  if (opts.play) {
    if (o !== undefined || opts.raw) {
      throw new TtsError('E_USAGE', `--play sends the audio to a player; it cannot be combined with ${o !== undefined ? '-o' : '--raw'}.`, {
        hint: 'To play and keep a file: tts "Hello" -o hello.wav && aplay hello.wav',
      });
    }
    const player = findPlayer();
    if (!player) {
      throw new TtsError('E_PLAYER_MISSING', 'No audio player found for --play (looked for paplay, aplay, ffplay and play on PATH).', {
        hint: "Install one (Debian: pulseaudio-utils or alsa-utils), or pipe the audio to yours: tts \"Hello\" -o - | your-player",
      });
    }
    return { kind: 'player', player };
  }
  if (opts.raw && o !== undefined && o !== '-') {
    throw new TtsError('E_USAGE', `--raw writes headerless PCM to stdout; it cannot go to ${show(o)}.`, {
      hint: 'Drop -o (or use -o -) with --raw, or drop --raw to write the file.',
    });
  }
  if (o === '-' || o === undefined) {
    if (process.stdout.isTTY) {
      const why = opts.raw ? 'Refusing to write raw audio (--raw) to a terminal.' : o === undefined ? 'No output file given (-o), and stdout is a terminal.' : 'Refusing to write audio to a terminal (-o -).';
      throw new TtsError('E_STDOUT_TTY', why, {
        hint: opts.raw ? 'Pipe it to a player: tts "Hello" --raw | aplay -f S16_LE -r 22050 -c 1' : 'Write a file with -o out.wav, or pipe the audio: tts "Hello" -o - | aplay',
      });
    }
    return { kind: 'stdout' };
  }
  const bases = allowedDirs([...opts.baseDir, ...envList(process.env.TTS_BASE_DIRS), ...(config.baseDirs ?? [])], 'base directory');
  const out = resolveOutput(o, bases);
  preflightOutput(out, opts.force);
  return { kind: 'file', out };
}

export interface SpeakResult {
  target: string;
  seconds: number;
  sampleRate: number;
  model: string;
  engine: string;
  bytes: number;
  sentences: number;
  format: 'wav' | 's16le' | CompressedFormat;
  dryRun: boolean;
  firstAudioMs: number;
  truncated: boolean;
  json: boolean;
  /** Characters the model had no tokens for, with counts (Coqui); empty for the embedded voice. */
  dropped: Record<string, number>;
}

/** Lines from stdin as units: each line's sentences, a line end is a paragraph end. Unspeakable lines are skipped. */
async function* lineUnits(maxChars: number): AsyncGenerator<Sentence> {
  for await (const { line, text } of readStdinLines(maxChars)) {
    let clean: string;
    try {
      clean = checkText(text, maxChars, `stdin line ${line}`);
    } catch (err) {
      if (err instanceof TtsError && err.code === 'E_TEXT_EMPTY') {
        if (text.trim()) verbose(`stdin line ${line}: nothing to speak, skipped`);
        continue;
      }
      throw err;
    }
    let last: Sentence | undefined;
    for (const s of sentences(clean)) {
      if (last) yield last;
      last = s;
    }
    if (last) yield { ...last, paragraphEnd: true };
  }
}

/** Sentence ends and line breaks, plus one: never fewer than the sentences the splitter will produce. */
function sentenceBound(text: string): number {
  let n = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // . ! ? ; : , \n and the CJK/ellipsis terminators: long sentences are also cut at clauses.
    if (c === 0x2e || c === 0x21 || c === 0x3f || c === 0x3b || c === 0x3a || c === 0x2c || c === 0x0a || c === 0x2026 || c === 0x3002 || c === 0xff01 || c === 0xff1f) n++;
  }
  return n + Math.ceil(text.length / 200);
}

export async function runSpeak(opts: SpeakOptions): Promise<SpeakResult> {
  // Everything that can be decided without Python is decided first: no worker for bad input.
  const src = await resolveText(opts);
  const config = loadConfig();
  const spec = resolveModel(opts.model, () =>
    allowedDirs([...opts.modelsDir, ...envList(process.env.TTS_MODELS_DIRS), ...(config.modelsDirs ?? [])], 'models directory', [modelsHome()]),
  );
  const target = resolveTarget(opts, config);
  const { needsNetwork } = checkModelUsable(spec, opts);
  const language = checkVoiceOptions(spec, opts.speaker, opts.language);
  const foreign = src.kind === 'text' ? foreignScripts(spec, src.text) : '';
  if (foreign) {
    warn(`voice ${spec.model} reads Latin script; letters in other scripts (${foreign}) will be spelled out one by one. For other languages use a Coqui model (-m).`);
  }
  // An upper bound on the number of sentences, without walking the splitter over the text (that would allocate
  // as much again as the text): it scales the worker's CPU-time limit.
  const bound = src.kind === 'text' ? sentenceBound(src.text) : Infinity;
  const format = opts.raw ? 's16le' : target.kind === 'file' ? containerOf(target.out) : 'wav';
  const display = target.kind === 'stdout' ? '-' : target.kind === 'player' ? `player:${target.player.name}` : target.out.display;
  if (opts.dryRun) {
    const where = target.kind === 'stdout' ? 'stdout' : target.kind === 'player' ? target.player.path : target.out.absolute;
    let total = 0;
    if (src.kind === 'text') for (const _ of sentences(src.text)) total++;
    const what = src.kind === 'text' ? `${codePoints(src.text)} character${codePoints(src.text) === 1 ? '' : 's'} (${total} sentence${total === 1 ? '' : 's'})` : 'stdin line by line';
    info(`dry run: ${what} with ${spec.display} (${spec.engine}) to ${where}; everything checked, nothing synthesized.`);
    return { target: display, seconds: 0, sampleRate: 0, model: spec.model, engine: spec.engine, bytes: 0, sentences: total, format, firstAudioMs: 0, truncated: false, json: opts.json, dropped: {}, dryRun: true };
  }

  const spinner = startSpinner(needsNetwork ? `Downloading and loading ${spec.display}` : `Loading ${spec.display}`);
  let session: Awaited<ReturnType<typeof openSession>> | undefined;
  let sink: AudioSink | undefined;
  try {
    session = await openSession(spec, { ...opts, requests: bound });
    const { worker, ready } = session;
    if (opts.raw) info(`tts: raw audio on stdout: s16le (signed 16-bit little-endian), ${ready.sample_rate} Hz, 1 channel`);
    sink = target.kind === 'stdout' ? new StdoutSink(opts.raw) : target.kind === 'player' ? new PlayerSink(target.player) : fileSink(target.out, opts.force, worker, opts.timeout * 1000);
    const totalChars = src.kind === 'text' ? codePoints(src.text) : 0;
    let doneChars = 0;
    const started = performance.now();
    spinner.text(`Synthesizing with ${spec.display}`);
    const units = src.kind === 'text' ? sentences(src.text) : lineUnits(src.maxChars);
    const result = await synthesizeTo(worker, units, sink, {
      speaker: opts.speaker,
      language,
      timeoutMs: opts.timeout * 1000,
      sentenceSilence: opts.sentenceSilence,
      tag: 'speak',
      onSentence: ({ index, chars }) => {
        doneChars += chars;
        if (src.kind === 'lines') spinner.text(`Synthesizing: ${index} sentences`);
        else if (totalChars > 0) spinner.text(progressLine('Synthesizing', `${index} sentence${index === 1 ? '' : 's'}`, doneChars / totalChars, started));
      },
    });
    if (result.sentences === 0) {
      throw new TtsError('E_TEXT_EMPTY', `The text from ${src.kind === 'text' ? src.source : 'stdin'} has nothing to speak.`);
    }
    spinner.stop();
    // A player that went away still has its exit status to tell (finish() waits for it); stdout has nothing.
    if (!result.truncated || target.kind === 'player') await sink.finish();
    const secondsOut = result.samples / result.sampleRate;
    verbose(`synthesized ${result.sentences} sentence(s), ${result.samples} samples; first audio after ${Math.round(result.firstAudioMs)} ms`);
    return {
      target: display,
      seconds: secondsOut,
      sampleRate: result.sampleRate,
      model: ready.model,
      engine: ready.engine,
      bytes: sink instanceof EncodedFileSink ? sink.encodedBytes : sink.dataBytes + (opts.raw ? 0 : 44),
      sentences: result.sentences,
      format,
      dryRun: false,
      firstAudioMs: Math.round(result.firstAudioMs),
      truncated: result.truncated,
      json: opts.json,
      dropped: Object.fromEntries(session.dropped),
    };
  } catch (err) {
    sink?.abort();
    throw err;
  } finally {
    // Also when the worker failed to start: a running spinner would keep the process alive.
    spinner.stop();
    await session?.worker.close();
  }
}

export function summarize(r: SpeakResult): void {
  if (r.json) {
    const report = {
      output: r.target,
      format: r.format,
      sample_rate: r.sampleRate,
      channels: 1,
      sample_width: 2,
      seconds: Number(r.seconds.toFixed(3)),
      sentences: r.sentences,
      bytes: r.bytes,
      model: r.model,
      engine: r.engine,
      first_audio_ms: r.firstAudioMs,
      truncated: r.truncated,
      dropped_characters: r.dropped,
      ...(r.dryRun ? { dry_run: true } : {}),
    };
    // stdout carries audio when the output is '-': the report goes to stderr then.
    (r.target === '-' ? process.stderr : process.stdout).write(`${JSON.stringify(report)}\n`);
    return;
  }
  if (r.target === '-' || r.dryRun) return;
  if (r.target.startsWith('player:')) {
    info(`Played ${r.seconds.toFixed(2)} s with ${r.target.slice(7)}`);
    return;
  }
  info(`Wrote ${r.target} (${r.seconds.toFixed(2)} s, ${r.sampleRate} Hz, ${r.model.includes('/') && !r.model.startsWith('tts_models/') ? 'local Coqui model' : r.model})`);
}
