// User configuration: a JSON file plus environment variables, merged with command-line flags by the caller.
import fs from 'node:fs';
import path from 'node:path';
import { homedir } from 'node:os';
import { z } from 'zod';
import { TtsError, show } from './errors.js';

export const configSchema = z
  .object({
    baseDirs: z.array(z.string().min(1)).max(64).optional(),
    modelsDirs: z.array(z.string().min(1)).max(64).optional(),
  })
  .strict();
export type Config = z.infer<typeof configSchema>;

export function configFile(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME && path.isAbsolute(env.HOME) ? env.HOME : homedir(), '.config');
  return path.join(base, 'tts-cli', 'config.json');
}

/** Read the config file if there is one. A broken file is an error, never silently ignored. */
export function loadConfig(file = configFile()): Config {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new TtsError('E_CONFIG', `Cannot read the config file ${show(file)}: ${(err as NodeJS.ErrnoException).code}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new TtsError('E_CONFIG', `The config file ${show(file)} is not valid JSON.`);
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TtsError('E_CONFIG', `The config file ${show(file)} is invalid at ${issue.path.join('.') || '(top)'}: ${issue.message}.`, {
      hint: 'Expected {"baseDirs": ["/abs/dir", ...], "modelsDirs": ["/abs/dir", ...]}.',
    });
  }
  return parsed.data;
}

/** Split a PATH-style list variable, dropping empty entries. */
export function envList(value: string | undefined): string[] {
  return (value ?? '').split(path.delimiter).filter((s) => s.length > 0);
}
