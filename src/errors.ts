// Every failure the CLI reports is a TtsError with a stable code and a documented exit status.
// The table below is the single source of truth; README.md lists the same codes.

export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  ENVIRONMENT: 3,
  SYNTHESIS: 4,
  WORKER: 5,
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const ERROR_CODES = {
  E_INTERNAL: { exit: EXIT.INTERNAL, meaning: 'unexpected internal error (a bug: run again with --debug and report it)' },
  E_USAGE: { exit: EXIT.USAGE, meaning: 'bad command line: unknown option, missing or invalid value' },
  E_TEXT_EMPTY: { exit: EXIT.USAGE, meaning: 'the text has nothing to speak (empty, whitespace or punctuation only)' },
  E_TEXT_TOO_LONG: { exit: EXIT.USAGE, meaning: 'the text exceeds the per-request limit' },
  E_TEXT_ENCODING: { exit: EXIT.USAGE, meaning: 'the text is not valid UTF-8 or contains NUL' },
  E_TEXT_SOURCE: { exit: EXIT.USAGE, meaning: 'conflicting or unusable text sources (argument, --file, stdin)' },
  E_INPUT_FILE: { exit: EXIT.USAGE, meaning: 'the --file path is missing, not a regular file, or unreadable' },
  E_STDIN_TTY: { exit: EXIT.USAGE, meaning: 'no text given and stdin is a terminal' },
  E_PATH_TRAVERSAL: { exit: EXIT.USAGE, meaning: 'the output path lies outside the allowed base directory' },
  E_PATH_INVALID_CHAR: { exit: EXIT.USAGE, meaning: 'the output path contains a forbidden character' },
  E_PATH_INVALID_NAME: { exit: EXIT.USAGE, meaning: 'a component of the output path is not an acceptable name' },
  E_PATH_RESERVED: { exit: EXIT.USAGE, meaning: 'the output name is a reserved device name' },
  E_PATH_TOO_LONG: { exit: EXIT.USAGE, meaning: 'the output path or one of its components is too long' },
  E_PATH_EXT: { exit: EXIT.USAGE, meaning: 'the output extension is not one of .wav .mp3 .ogg .flac .m4a' },
  E_PATH_EXISTS: { exit: EXIT.USAGE, meaning: 'the output file exists and --force was not given' },
  E_PATH_NOT_FILE: { exit: EXIT.USAGE, meaning: 'the output path names a directory, symlink or special file' },
  E_PATH_SYMLINK: { exit: EXIT.USAGE, meaning: 'the output file or a directory on its path is a symbolic link' },
  E_BATCH_COLLISION: { exit: EXIT.USAGE, meaning: 'two batch items would write the same file (also case or Unicode twins)' },
  E_BATCH_TOO_LARGE: { exit: EXIT.USAGE, meaning: 'a batch has more items than --max-items allows (default 10,000)' },
  E_MANIFEST: { exit: EXIT.USAGE, meaning: 'a manifest line is not valid JSON or not a valid item' },
  E_STDOUT_TTY: { exit: EXIT.USAGE, meaning: 'audio would be written to a terminal' },
  E_BASE_INSECURE: { exit: EXIT.USAGE, meaning: 'an allowed directory is missing, not yours, or writable by others' },
  E_BASE_CHANGED: { exit: EXIT.USAGE, meaning: 'the base directory was replaced while tts was running' },
  E_CONFIG: { exit: EXIT.USAGE, meaning: 'the config file is unreadable or invalid' },
  E_MODEL_NOT_ALLOWED: { exit: EXIT.USAGE, meaning: 'the model folder is outside the allowed models directories' },
  E_MODEL_INVALID: { exit: EXIT.USAGE, meaning: 'the model name is neither a voice, a catalog id nor a model folder' },
  E_MODEL_UNKNOWN: { exit: EXIT.USAGE, meaning: 'the model name is not in the installed catalog' },
  E_MODEL_FOLDER: { exit: EXIT.USAGE, meaning: 'the model folder lacks config.json or a checkpoint' },
  E_SPEAKER: { exit: EXIT.USAGE, meaning: 'the speaker or language is not supported by the model' },
  E_TEXT_UNSUPPORTED: { exit: EXIT.USAGE, meaning: 'the model has no characters for the text (e.g. a script it was not trained on)' },
  E_MODEL_LICENSE: { exit: EXIT.ENVIRONMENT, meaning: 'the model needs its licence accepted (--accept-model-license)' },
  E_MODEL_DOWNLOAD: { exit: EXIT.ENVIRONMENT, meaning: 'the model is not downloaded and cannot be downloaded now' },
  E_MODEL_LOAD: { exit: EXIT.ENVIRONMENT, meaning: 'the model files could not be loaded' },
  E_MEMORY_LIMIT: { exit: EXIT.ENVIRONMENT, meaning: "the engine needed more memory than the worker's limit (--max-memory)" },
  E_ENGINE_MISSING: { exit: EXIT.ENVIRONMENT, meaning: 'the Python environment or an engine is not installed (run `tts setup`)' },
  E_PLAYER_MISSING: { exit: EXIT.ENVIRONMENT, meaning: 'no audio player for --play (paplay, aplay, ffplay or play) on PATH' },
  E_PYTHON: { exit: EXIT.ENVIRONMENT, meaning: 'the Python interpreter is missing or not trusted' },
  E_SETUP: { exit: EXIT.ENVIRONMENT, meaning: '`tts setup` could not create the Python environment' },
  E_SYNTHESIS: { exit: EXIT.SYNTHESIS, meaning: 'the engine failed to synthesize the text' },
  E_OUTPUT_TOO_LARGE: { exit: EXIT.SYNTHESIS, meaning: 'the audio would exceed the 4 GiB a WAV file can hold' },
  E_BATCH_FAILED: { exit: EXIT.SYNTHESIS, meaning: 'some batch items failed (the report lists them)' },
  E_PLAYER: { exit: EXIT.SYNTHESIS, meaning: 'the audio player (--play) failed' },
  E_OUTPUT_WRITE: { exit: EXIT.SYNTHESIS, meaning: 'the audio could not be written' },
  E_WORKER_TIMEOUT: { exit: EXIT.WORKER, meaning: 'the worker did not answer in time and was killed' },
  E_WORKER_CRASH: { exit: EXIT.WORKER, meaning: 'the worker exited unexpectedly' },
  E_WORKER_PROTOCOL: { exit: EXIT.WORKER, meaning: 'the worker sent something that is not protocol' },
  E_INTERRUPTED: { exit: EXIT.INTERRUPTED, meaning: 'interrupted (Ctrl-C / SIGINT)' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface TtsErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Extra lines shown only with --debug (worker stderr tail, command line, ...). */
  detail?: string;
}

export class TtsError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;
  readonly hint?: string;
  readonly detail?: string;

  constructor(code: ErrorCode, message: string, options: TtsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TtsError';
    this.code = code;
    this.exitCode = ERROR_CODES[code].exit;
    this.hint = options.hint;
    this.detail = options.detail;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string; exit: number } {
    return { code: this.code, message: this.message, hint: this.hint, exit: this.exitCode };
  }
}

/** Quote a user-supplied value for an error message: JSON escaping keeps control and bidi characters visible. */
export function show(value: string, max = 120): string {
  const clipped = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(clipped).replace(/[\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g, (c) =>
    `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
