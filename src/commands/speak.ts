// `tts [text...]`: validate everything, start the worker, synthesize, publish the audio.
import fs from 'node:fs';
import { z } from 'zod';
import { TtsError, show } from '../errors.js';
import { DEFAULT_MAX_CHARS, HARD_MAX_CHARS, checkText, readStdin, readTextFile } from '../text.js';
import { resolveOutput, type ResolvedOutput } from '../audio/output-path.js';
import { preflightOutput, publishFile } from '../audio/publish.js';
import { wavHeader } from '../audio/wav.js';
import { resolveModel, catalogModelDir, type ModelSpec } from '../models.js';
import { modelsHome } from '../paths.js';
import { loadConfig, envList, type Config } from '../config.js';
import { allowedDirs } from '../audio/base-dirs.js';
import { info, logState, verbose } from '../ui/log.js';
import { startSpinner } from '../ui/spinner.js';

const seconds = (what: string, max: number) =>
  z.coerce
    .number({ error: `${what} must be a number of seconds` })
    .positive({ error: `${what} must be greater than 0` })
    .max(max, { error: `${what} must be at most ${max}` });

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
  maxChars: z.coerce
    .number({ error: '--max-chars must be a whole number' })
    .int({ error: '--max-chars must be a whole number' })
    .min(1, { error: '--max-chars must be at least 1' })
    .max(HARD_MAX_CHARS, { error: `--max-chars must be at most ${HARD_MAX_CHARS}` })
    .default(DEFAULT_MAX_CHARS),
  timeout: seconds('--timeout', 3600).default(120),
  loadTimeout: seconds('--load-timeout', 7200).default(300),
  dryRun: z.boolean().default(false),
  maxMemory: z.coerce
    .number({ error: '--max-memory must be a whole number of MiB' })
    .int({ error: '--max-memory must be a whole number of MiB' })
    .min(256, { error: '--max-memory must be at least 256 (MiB)' })
    .max(1_048_576, { error: '--max-memory must be at most 1048576 (MiB)' })
    .default(8192),
  threads: z.coerce
    .number({ error: '--threads must be a whole number' })
    .int({ error: '--threads must be a whole number' })
    .min(1, { error: '--threads must be between 1 and 64' })
    .max(64, { error: '--threads must be between 1 and 64' })
    .optional(),
});
export type SpeakOptions = z.infer<typeof speakOptionsSchema>;

type Target = { kind: 'file'; out: ResolvedOutput } | { kind: 'stdout' };

async function resolveText(opts: SpeakOptions): Promise<{ text: string; source: string }> {
  const args = opts.text;
  const fromStdinArg = args.length === 1 && args[0] === '-';
  if (opts.file !== undefined && args.length > 0) {
    throw new TtsError('E_TEXT_SOURCE', 'Give the text either as arguments or with --file, not both.');
  }
  if (opts.file !== undefined && opts.file !== '-') {
    return { text: readTextFile(opts.file, opts.maxChars), source: show(opts.file) };
  }
  if (args.length > 0 && !fromStdinArg) {
    const text = args.join(' ');
    // Node decodes argv leniently: bytes that are not UTF-8 arrive as U+FFFD. Refuse rather than speak garbage.
    if (text.includes('\ufffd')) {
      throw new TtsError('E_TEXT_ENCODING', 'The text from the command line is not valid UTF-8.', {
        hint: "Check the terminal's locale (e.g. LANG=C.UTF-8), or pass the text in a UTF-8 file with -f.",
      });
    }
    return { text, source: 'the command line' };
  }
  if (process.stdin.isTTY) {
    throw new TtsError('E_STDIN_TTY', 'No text given, and stdin is a terminal.', {
      hint: 'Usage: tts "Hello world" -o hello.wav, or pipe text in: echo Hello | tts -o hello.wav. See tts --help.',
    });
  }
  return { text: await readStdin(opts.maxChars), source: 'stdin' };
}

function resolveTarget(opts: SpeakOptions, config: Config): Target {
  const o = opts.output;
  if (o === '-' || o === undefined) {
    if (process.stdout.isTTY) {
      throw new TtsError('E_STDOUT_TTY', o === undefined ? 'No output file given (-o), and stdout is a terminal.' : 'Refusing to write audio to a terminal (-o -).', {
        hint: 'Write a file with -o out.wav, or pipe the audio: tts "Hello" -o - | aplay',
      });
    }
    return { kind: 'stdout' };
  }
  const bases = allowedDirs([...opts.baseDir, ...envList(process.env.TTS_BASE_DIRS), ...(config.baseDirs ?? [])], 'base directory');
  const out = resolveOutput(o, bases);
  preflightOutput(out, opts.force);
  return { kind: 'file', out };
}

function modelNeedsNetwork(spec: ModelSpec): boolean {
  if (spec.kind !== 'catalog') return false;
  if ('repo_id' in spec.item) return true;
  return !fs.existsSync(`${catalogModelDir(modelsHome(), spec.model)}/config.json`);
}

export interface SpeakResult {
  target: string;
  seconds: number;
  sampleRate: number;
  model: string;
  engine: string;
  bytes: number;
}

export async function runSpeak(opts: SpeakOptions): Promise<SpeakResult> {
  // Everything that can be decided without Python is decided first: no worker for bad input.
  const { text: raw, source } = await resolveText(opts);
  const text = checkText(raw, opts.maxChars, source);
  const config = loadConfig();
  const spec = resolveModel(opts.model, () =>
    allowedDirs([...opts.modelsDir, ...envList(process.env.TTS_MODELS_DIRS), ...(config.modelsDirs ?? [])], 'models directory', [modelsHome()]),
  );
  const target = resolveTarget(opts, config);
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

  if (opts.dryRun) {
    const where = target.kind === 'stdout' ? 'stdout' : target.out.absolute;
    info(`dry run: ${[...text].length} characters with ${spec.display} (${spec.engine}) to ${where}; everything checked, nothing synthesized.`);
    return { target: '', seconds: 0, sampleRate: 0, model: spec.model, engine: spec.engine, bytes: 0 };
  }
  const { resolveInterpreter, workerEnv, ensureDataDirs } = await import('../worker/python.js');
  const { WorkerClient } = await import('../worker/client.js');
  const interpreter = resolveInterpreter();
  ensureDataDirs();
  verbose(`worker: starting ${interpreter.path} -I -m tts_worker`);
  const spinner = startSpinner(needsNetwork ? `Downloading and loading ${spec.display}` : `Loading ${spec.display}`);
  let worker: Awaited<ReturnType<typeof WorkerClient.start>> | undefined;
  try {
    worker = await WorkerClient.start({
      interpreter,
      env: workerEnv({
        allowNetwork: needsNetwork,
        acceptLicense: opts.acceptModelLicense,
        threads: opts.threads,
        verbose: logState.verbose || logState.debug,
        memoryMb: opts.maxMemory,
        cpuSeconds: Math.ceil((opts.loadTimeout + opts.timeout) * (opts.threads ?? 4)) + 60,
      }),
      onStderr: logState.verbose || logState.debug ? (c) => process.stderr.write(c) : undefined,
    });
    const ready = await worker.load({ engine: spec.engine, kind: spec.kind, model: spec.model, allow_download: needsNetwork, accept_license: opts.acceptModelLicense }, opts.loadTimeout * 1000);
    verbose(`worker ${worker.pid}: ${ready.engine} ${ready.model} loaded in ${ready.load_ms} ms, ${ready.sample_rate} Hz`);
    spinner.text(`Synthesizing with ${spec.display}`);
    const res = await worker.synthesize({ text, out: 'audio-1.pcm', speaker: opts.speaker, language: opts.language }, opts.timeout * 1000);
    verbose(`synthesized ${res.samples} samples in ${res.engine_ms} ms`);
    const pcm = fs.readFileSync(res.path);
    fs.rmSync(res.path, { force: true });
    const header = wavHeader({ sampleRate: res.sample_rate, channels: 1, bitsPerSample: 16 }, pcm.length);
    const secondsOut = res.samples / res.sample_rate;
    spinner.stop();
    if (target.kind === 'stdout') {
      await writeStdout([header, pcm]);
    } else {
      publishFile(target.out, [header, pcm], opts.force);
    }
    return {
      target: target.kind === 'stdout' ? '-' : target.out.display,
      seconds: secondsOut,
      sampleRate: res.sample_rate,
      model: ready.model,
      engine: ready.engine,
      bytes: header.length + pcm.length,
    };
  } finally {
    // Also when the worker failed to start: a running spinner would keep the process alive.
    spinner.stop();
    await worker?.close();
  }
}

function writeStdout(chunks: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    // A reader that exits early (`| head -c 100`) is not our failure: finish quietly. The listener stays for
    // the life of the process, because the EPIPE 'error' event can arrive after the write callback.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') resolve();
      else reject(new TtsError('E_OUTPUT_WRITE', `Could not write audio to stdout: ${err.code ?? err.message}.`));
    });
    process.stdout.write(Buffer.concat(chunks), (err) => {
      if (!err) resolve();
    });
  });
}

export function summarize(r: SpeakResult): void {
  if (r.target === '-' || r.target === '') return;
  info(`Wrote ${r.target} (${r.seconds.toFixed(2)} s, ${r.sampleRate} Hz, ${r.model.includes('/') && !r.model.startsWith('tts_models/') ? 'local Coqui model' : r.model})`);
}
