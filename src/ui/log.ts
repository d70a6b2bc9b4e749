// All human-facing output goes to stderr; stdout is reserved for results and audio.
import { styleText } from 'node:util';

export interface LogOptions {
  quiet: boolean;
  debug: boolean;
  verbose: boolean;
}

export const logState: LogOptions = { quiet: false, debug: false, verbose: false };

function colorOn(): boolean {
  const env = process.env;
  if ('NO_COLOR' in env && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return Boolean(process.stderr.isTTY);
}

export function paint(format: Parameters<typeof styleText>[0], text: string): string {
  return colorOn() ? styleText(format, text, { validateStream: false }) : text;
}

export function info(line: string): void {
  if (!logState.quiet) process.stderr.write(`${line}\n`);
}

/** A warning: the run goes on, but the user should know (`tts: warning: ...`). Silenced by --quiet. */
export function warn(message: string): void {
  if (!logState.quiet) process.stderr.write(`tts: ${paint('yellow', 'warning')}: ${message}\n`);
}

export function verbose(line: string): void {
  if (logState.verbose || logState.debug) process.stderr.write(`${paint('dim', line)}\n`);
}

export function errorLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

export { colorOn };
