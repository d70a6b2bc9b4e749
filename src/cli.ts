// The commander program. It only wires options to the run* functions; one handler renders every error.
// Heavy modules (zod, execa, ora, the worker client) are imported lazily so --help and usage errors stay fast.
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { EXIT, ERROR_CODES, TtsError, show } from './errors.js';
import { PACKAGE_ROOT } from './paths.js';
import { errorLine, logState, paint } from './ui/log.js';

const VERSION = (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Marks an argument that must be read as text even though it starts with '-'. NUL cannot occur in argv. */
const TEXT_MARK = '\u0000';
const VALUE_OPTIONS = new Set(['-o', '--output', '-m', '--model', '-f', '--file', '--speaker', '--language', '--max-chars', '--timeout', '--load-timeout', '--threads', '--max-memory', '--sentence-silence']);
/** Options that may be repeated (each adds a directory). */
const REPEATABLE = new Set(['--base-dir', '--models-dir']);
const SUBCOMMANDS = new Set(['setup', 'doctor', 'batch', 'help']);
const SHORT_TO_LONG: Record<string, string> = { '-o': '--output', '-m': '--model', '-f': '--file', '-q': '--quiet', '-d': '--out-dir', '-j': '--jobs' };
/** Options of the subcommands that take a value (for the "given more than once" check). */
const SUB_VALUE_OPTIONS = new Set([...VALUE_OPTIONS, '-d', '--out-dir', '--split', '--name', '-j', '--jobs', '--max-items', '--python']);

/** Returns a function that notes an option's (long) name and refuses it the second time: no "last one wins". */
function onceEach(): (name: string) => void {
  const seen = new Set<string>();
  return (name) => {
    if (seen.has(name)) throw new TtsError('E_USAGE', `${name} is given more than once.`);
    seen.add(name);
  };
}

/** A subcommand's arguments: an option given twice is an error there too ("last one wins" hides typos). */
function checkRepeats(args: readonly string[]): void {
  const once = onceEach();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return;
    if (!a.startsWith('-') || a === '-' || /\s/.test(a) || /^-\d/.test(a)) continue;
    const flag = a.startsWith('--') && a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    const name = SHORT_TO_LONG[flag] ?? flag;
    if (REPEATABLE.has(flag)) {
      if (!a.includes('=')) i++;
      continue;
    }
    once(name);
    if (SUB_VALUE_OPTIONS.has(flag) && !a.includes('=')) i++;
  }
}

const FLAG_OPTIONS = new Set(['--force', '--offline', '--accept-model-license', '--dry-run', '-q', '--quiet', '--verbose', '--debug', '--raw', '--lines', '--json', '--play']);

/**
 * Text that starts with '-' is spoken when it cannot be an option: when it contains whitespace ("-5 degrees",
 * "--help me"), is a negative number ("-5"), or comes after `--`. After `--` every argument is text except this
 * command's own options, so `tts -- "-5 degrees" -o neg.wav` does what it says; a word that names a subcommand
 * (`tts -- doctor`) is text too.
 */
export function protectText(args: readonly string[]): string[] {
  if (args.length > 0 && SUBCOMMANDS.has(args[0]!)) {
    checkRepeats(args.slice(1));
    return [...args];
  }
  const out: string[] = [];
  const once = onceEach();
  let afterDashDash = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--' && !afterDashDash) {
      afterDashDash = true;
      continue;
    }
    if (REPEATABLE.has(a) && i + 1 < args.length) {
      out.push(a, args[i + 1]!);
      i++;
      continue;
    }
    if (VALUE_OPTIONS.has(a) && i + 1 < args.length) {
      once(SHORT_TO_LONG[a] ?? a);
      out.push(a, args[i + 1]!);
      i++;
      continue;
    }
    const eqName = a.startsWith('--') && a.includes('=') ? a.slice(0, a.indexOf('=')) : '';
    if (VALUE_OPTIONS.has(eqName)) {
      once(eqName);
      out.push(a);
    } else if (FLAG_OPTIONS.has(a)) {
      once(SHORT_TO_LONG[a] ?? a);
      out.push(a);
    } else if (REPEATABLE.has(eqName)) out.push(a);
    else if (afterDashDash || (a.length > 1 && a.startsWith('-') && (/\s/.test(a) || /^-\d+([.,]\d+)?%?$/.test(a)))) out.push(TEXT_MARK + a);
    else out.push(a);
  }
  return out;
}

const unmark = (s: string) => (s.startsWith(TEXT_MARK) ? s.slice(1) : s);

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const EXAMPLES = `
Examples:
  $ tts "Hello world" -o hello.wav                    the embedded voice (en_US-joe-medium)
  $ echo "Testing from a pipe." | tts -o pipe.wav       text from stdin
  $ tts -f chapter.txt -o chapter.wav                   text from a file
  $ tts -- "-5 degrees outside" -o neg.wav              text that starts with '-'
  $ tts "Hello" -o - | aplay                            WAV to stdout, for a player or a program
  $ tts -m ./my-coqui-model "Hello" -o c.wav            a local Coqui model (config.json + checkpoint)
  $ tts -m tts_models/en/ljspeech/vits "Hi" -o v.wav    a Coqui catalog model (downloaded on first use)
  $ tts -f book.txt -o book.mp3                         long text, sentence by sentence, encoded to MP3
  $ tts -f book.txt -o - | ffmpeg -i - book.opus        or streamed as WAV into another program
  $ tts "Hello" --raw | aplay -f S16_LE -r 22050        headerless PCM (format stated on stderr)
  $ tail -f log.txt | tts --lines --raw | aplay ...     speak each line as it arrives
  $ tts batch prompts.txt --out-dir out                 one file per line (see tts batch --help)

Text: arguments are joined with spaces; '-' or no text reads stdin (to EOF). Text that starts with '-' needs '--'
unless it contains a space or is a number (-5, -2.5, -10%); after '--' only this command's own options (-o FILE, --force, ...) are
still options. A word that names a command (setup, doctor, batch) also needs '--'.

Exit status: 0 ok, 1 internal error, 2 usage or validation, 3 environment (setup, model download, licence),
4 synthesis failed, 5 worker crashed or timed out, 130 interrupted (143 for SIGTERM). Errors print one line: tts: CODE: message.

First run: tts setup   Troubleshooting: tts doctor   Docs: README.md in the package`;

/** The subcommand named on the command line (for "see tts batch --help"), set when it is dispatched. */
let activeSubcommand = '';

/** The command being run, for the interruption message. */
let activeCommand: 'speak' | 'batch' | 'setup' | 'doctor' = 'speak';

function buildProgram(onResult: (code: number) => void): Command {
  const program = new Command('tts');
  program
    .description('Text to speech from the shell: an embedded offline voice (Piper) and Coqui TTS models.')
    .usage('[options] [text...]')
    .argument('[text...]', "text to speak; '-' or none reads stdin")
    .option('-o, --output <path>', "output file (.wav .mp3 .ogg .flac .m4a), inside an allowed directory; '-' writes WAV to stdout")
    .option('-m, --model <name>', 'voice name, Coqui catalog id, or local Coqui model folder', 'en_US-joe-medium')
    .option('-f, --file <path>', "read the text from a UTF-8 file ('-' for stdin)")
    .option('--speaker <name>', 'speaker of a multi-speaker model')
    .option('--language <code>', 'language of a multilingual model')
    .option('--force', 'replace an existing output file (atomically)')
    .option('--base-dir <dir>', 'also allow output under this directory (repeatable)', collect, [])
    .option('--models-dir <dir>', 'also allow local model folders under this directory (repeatable)', collect, [])
    .option('--offline', 'never download a model')
    .option('--accept-model-license', 'accept the licence of a model that requires it (e.g. CPML)')
    .option('--sentence-silence <seconds>', 'silence between sentences; twice that between paragraphs (default 0.2)')
    .option('--raw', 'write headerless PCM (s16le, mono, the model\'s rate) to stdout; the format is stated on stderr')
    .option('--play', 'play the audio as it is synthesized (paplay, aplay, ffplay or play from PATH; no shell)')
    .option('--lines', 'read stdin line by line and speak each line as it arrives (for tail -f and other producers)')
    .option('--json', 'print a JSON report (to stdout, or to stderr when the audio goes to stdout)')
    .option('--max-chars <n>', 'longest text accepted, in characters (default 10000 for arguments and each --lines line, 2000000 from a file or stdin; max 10000000)')
    .option('--timeout <seconds>', 'time limit per sentence (default 120)')
    .option('--load-timeout <seconds>', 'time limit for starting the worker and loading the model (default 300)')
    .option('--threads <n>', 'CPU threads for the engine (default: cores, at most 4)')
    .option('--max-memory <MiB>', "the worker's memory (address space) limit (default 8192)")
    .option('--dry-run', 'check the text, model and output, then stop without synthesizing')
    .option('-q, --quiet', 'print nothing on success')
    .option('--verbose', "show the engine's own messages on stderr")
    .option('--debug', 'show stack traces and worker output on errors')
    .version(VERSION, '--version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .addHelpText('after', EXAMPLES)
    .showSuggestionAfterError(true)
    // Options after a subcommand belong to it: `tts setup -o x.wav` is an error, not silently ignored.
    .enablePositionalOptions()
    .helpCommand('help [command]', 'show help for a command')
    .action(async (text: string[], opts: Record<string, unknown>) => {
      const { speakOptionsSchema, runSpeak, summarize } = await import('./commands/speak.js');
      const parsed = await parseOptions(speakOptionsSchema, {
        ...opts,
        text: text.map(unmark),
        output: typeof opts.output === 'string' ? unmark(opts.output) : undefined,
        file: typeof opts.file === 'string' ? unmark(opts.file) : undefined,
        model: typeof opts.model === 'string' ? unmark(opts.model) : undefined,
        baseDir: (opts.baseDir as string[]).map(unmark),
        modelsDir: (opts.modelsDir as string[]).map(unmark),
      });
      summarize(await runSpeak(parsed));
      onResult(EXIT.OK);
    });

  program
    .command('batch')
    .description('one output per line, paragraph or manifest entry of text files')
    .usage('<file...> [options]')
    .argument('<file...>', "UTF-8 text files, or JSON-lines manifests (.jsonl); '-' reads stdin")
    .option('-d, --out-dir <dir>', 'directory for the outputs, inside an allowed directory (default: .)')
    .option('--split <mode>', "'line': one output per non-blank line; 'paragraph': per blank-line-separated paragraph", 'line')
    .option('--manifest', 'read the inputs as JSON lines even without a .jsonl extension')
    .option('--name <template>', 'output names: {n} item number in its file, {i} in the batch, {line}, {stem}, {slug}; {n:04} pads (default {n:04}.wav, or {stem}-{n:04}.wav for several files)')
    .option('--no-comments', "speak lines that start with '#' instead of skipping them")
    .option('-m, --model <name>', 'voice name, Coqui catalog id, or local Coqui model folder', 'en_US-joe-medium')
    .option('--speaker <name>', 'speaker of a multi-speaker model')
    .option('--language <code>', 'language of a multilingual model')
    .option('--force', 'replace existing outputs (by default they are skipped, so a rerun resumes)')
    .option('--fail-fast', 'stop at the first failed item')
    .option('--max-items <n>', 'most items in one batch (default 10000, at most 1000000)')
    .option('--json', 'print a JSON report on stdout: one object per item and a summary')
    .option('-j, --jobs <n>', 'workers synthesizing in parallel (default 1; each gets cores/jobs threads)')
    .option('--sentence-silence <seconds>', 'silence between sentences of an item (default 0.2)')
    .option('--base-dir <dir>', 'also allow output under this directory (repeatable)', collect, [])
    .option('--models-dir <dir>', 'also allow local model folders under this directory (repeatable)', collect, [])
    .option('--offline', 'never download a model')
    .option('--accept-model-license', 'accept the licence of a model that requires it')
    .option('--max-chars <n>', 'longest item, in characters (default 10000)')
    .option('--timeout <seconds>', 'time limit per sentence (default 120)')
    .option('--load-timeout <seconds>', 'time limit for loading a model (default 300)')
    .option('--threads <n>', 'CPU threads per worker')
    .option('--max-memory <MiB>', "each worker's memory limit (default 8192)")
    .option('--dry-run', 'read and check everything, print the plan (one line per item on stdout), synthesize nothing')
    .option('-q, --quiet', 'print nothing but errors')
    .option('--verbose', 'show each item and the engine messages')
    .option('--debug', 'show stack traces and worker output on errors')
    .addHelpText(
      'after',
      `
Examples:
  $ tts batch prompts.txt --out-dir out                 out/0001.wav, out/0002.wav, ... one per line
  $ tts batch book.txt --split paragraph -d chapters    one file per paragraph
  $ tts batch items.jsonl -d out --json > report.json   {"text": "...", "output": "a.wav", "speaker": "..."} per line
  $ tts batch prompts.txt -d out --name '{n:03}-{slug}.wav'

Inputs are UTF-8 (a BOM is dropped; CRLF and CR line ends work). Blank lines and lines starting with '#' are
skipped (with --split paragraph, '#' lines inside a paragraph are dropped too). All output names are checked before anything is synthesized: two items writing the same file (also
differing only in case or Unicode normalisation) stop the batch. Existing outputs are skipped unless --force,
so rerunning a batch resumes it. A failed item does not stop the others (unless --fail-fast); the exit status
is 4 (E_BATCH_FAILED) when any item failed.`,
    )
    .action(async (inputs: string[], opts: Record<string, unknown>) => {
      activeCommand = 'batch';
      const { batchOptionsSchema, runBatch, finishBatch } = await import('./commands/batch.js');
      const parsed = await parseOptions(batchOptionsSchema, { ...opts, inputs });
      onResult(finishBatch(await runBatch(parsed), parsed));
    });

  program
    .command('setup')
    .description('create the Python environment and install the engines and the embedded voice (idempotent)')
    .option('--python <path>', 'absolute path of the Python 3.10-3.12 used to create the environment')
    .option('--force', 'rebuild the environment from scratch')
    .option('--verbose', "show pip's output")
    .option('--debug', 'show stack traces on errors')
    .action(async (opts: Record<string, unknown>) => {
      const { setupOptionsSchema, runSetup } = await import('./commands/setup.js');
      await runSetup(await parseOptions(setupOptionsSchema, opts));
      onResult(EXIT.OK);
    });

  program
    .command('doctor')
    .description('report the interpreter, engines, voices and what is missing')
    .option('--json', 'print the report as JSON')
    .option('--debug', 'show stack traces on errors')
    .action(async (opts: { json?: boolean }) => {
      const { runDoctor, printDoctor } = await import('./commands/doctor.js');
      const report = await runDoctor();
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else printDoctor(report);
      onResult(report.ok ? EXIT.OK : EXIT.ENVIRONMENT);
    });

  // Options given before a subcommand (`tts --dry-run batch ...`) belong to that subcommand when it has them
  // (UX: global flags work before or after); an option it does not have is an error, never silently dropped.
  program.hook('preSubcommand', (root, sub) => {
    activeSubcommand = sub.name();
    for (const opt of root.options) {
      const key = opt.attributeName();
      if (key === 'color' || root.getOptionValueSource(key) !== 'cli') continue;
      const target = sub.options.find((o) => o.attributeName() === key);
      if (!target) {
        throw new TtsError('E_USAGE', `${opt.long} is not an option of \`tts ${sub.name()}\`.`, { hint: `See tts ${sub.name()} --help.` });
      }
      sub.setOptionValueWithSource(key, root.getOptionValue(key), 'cli');
    }
  });

  program.exitOverride();
  program.configureOutput({
    writeErr: () => {},
    outputError: () => {},
  });
  for (const c of program.commands) {
    c.exitOverride();
    c.configureOutput({ writeErr: () => {}, outputError: () => {} });
  }
  program.addOption(new Option('--no-color', 'disable colour').hideHelp());
  return program;
}

async function parseOptions<T>(schema: import('zod').ZodType<T>, input: unknown): Promise<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = issue.path[0];
  const flag = typeof key === 'string' ? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : '';
  const value = typeof key === 'string' ? (input as Record<string, unknown>)[key] : undefined;
  const message = !flag || issue.message.startsWith(flag) ? issue.message : `${flag}: ${issue.message}`;
  throw new TtsError('E_USAGE', value === undefined ? `${message}.` : `${message}, got ${show(String(value))}.`);
}

function render(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.OK;
    const msg = err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim();
    const sub = activeSubcommand ? `tts ${activeSubcommand} --help` : 'tts --help';
    errorLine(`tts: ${paint('red', 'E_USAGE')}: ${msg} (see ${sub})`);
    return EXIT.USAGE;
  }
  if (err instanceof TtsError) {
    const message = /[.!?)]$/.test(err.message) ? err.message : `${err.message}.`;
    errorLine(`tts: ${paint('red', err.code)}: ${message}${err.hint ? ` ${err.hint}` : ''}`);
    if (logState.debug) {
      if (err.detail) errorLine(err.detail.trimEnd());
      if (err.stack) errorLine(err.stack);
    }
    return err.exitCode;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  errorLine(`tts: ${paint('red', 'E_INTERNAL')}: ${e.message.split('\n')[0]} (${ERROR_CODES.E_INTERNAL.meaning})`);
  if (logState.debug && e.stack) errorLine(e.stack);
  return EXIT.INTERNAL;
}

/** Run the CLI with process.argv-style arguments; returns the exit status instead of exiting. */
export async function run(argv: readonly string[]): Promise<number> {
  const args = argv.slice(2);
  if (args.includes('--no-color')) process.env.NO_COLOR = '1';
  // A reader of stdout that goes away (`tts --help | head -1`, `tts doctor --json | true`) ends nothing badly:
  // what is left to print is dropped, quietly. Any other write error on stdout fails the run (below).
  let stdoutError: NodeJS.ErrnoException | undefined;
  const onStdoutError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') stdoutError ??= err;
  };
  process.stdout.on('error', onStdoutError);
  logState.debug = args.includes('--debug');
  logState.quiet = args.includes('-q') || args.includes('--quiet');
  logState.verbose = args.includes('--verbose');
  let code: number = EXIT.OK;
  let interrupted = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = signal === 'SIGINT' ? EXIT.INTERRUPTED : 143;
    void import('./worker/client.js').then((m) => m.killAllWorkers());
    // Leave time for the worker to be reaped and temp files removed, then go.
    setTimeout(() => process.exit(interrupted), 1500).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const program = buildProgram((c) => {
      code = c;
    });
    if (args[0] === 'help' && args.length > 1 && args[1] !== 'help' && !SUBCOMMANDS.has(args[1]!)) {
      throw new TtsError('E_USAGE', `Unknown command ${show(args[1]!)}; the commands are ${[...SUBCOMMANDS].filter((c) => c !== 'help').join(', ')}.`, {
        hint: 'See tts --help.',
      });
    }
    await program.parseAsync(protectText(args[0] === 'help' && args[1] === 'help' ? ['--help'] : args), { from: 'user' });
  } catch (err) {
    code = interrupted ? interrupted : render(err);
    if (interrupted) {
      const kept = activeCommand === 'batch' ? ' (finished batch items are kept)' : '';
      errorLine(`tts: E_INTERRUPTED: interrupted by ${interrupted === EXIT.INTERRUPTED ? 'SIGINT' : 'SIGTERM'}; no partial file was left${kept}.`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  await new Promise((resolve) => setImmediate(resolve)); // a failed stdout write reports on the next tick
  if (stdoutError && !interrupted && code === EXIT.OK) {
    code = render(new TtsError('E_OUTPUT_WRITE', `Could not write to stdout: ${stdoutError.code ?? stdoutError.message}.`));
  }
  return interrupted || code;
}
