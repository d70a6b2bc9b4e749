// What a model name means, decided in Node before any Python starts.
import fs from 'node:fs';
import path from 'node:path';
import { TtsError, show } from './errors.js';
import { VENV_DIR } from './paths.js';
import { isInside, type AllowedDir } from './audio/base-dirs.js';

export const DEFAULT_VOICE = 'en_US-joe-medium';
/** Voices shipped with the worker's Python environment (PyPI packages installed by `tts setup`). */
export const EMBEDDED_VOICES: readonly string[] = [DEFAULT_VOICE];

export type ModelSpec =
  | { engine: 'piper'; kind: 'voice'; model: string; display: string }
  | { engine: 'coqui'; kind: 'catalog'; model: string; display: string; item: Record<string, unknown> }
  | { engine: 'coqui'; kind: 'folder'; model: string; display: string };

const CATALOG_ID = /^tts_models\/[A-Za-z0-9_-]+\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const CHECKPOINTS = ['model.pth', 'model_file.pth', 'best_model.pth', 'checkpoint.pth', 'model.pt'];

/** The catalog shipped inside the installed coqui-tts (TTS/.models.json), or null when Coqui is not installed. */
export function catalogFile(): string | null {
  const lib = path.join(VENV_DIR, 'lib');
  let entries: string[];
  try {
    entries = fs.readdirSync(lib);
  } catch {
    return null;
  }
  for (const e of entries) {
    const f = path.join(lib, e, 'site-packages', 'TTS', '.models.json');
    if (e.startsWith('python') && fs.existsSync(f)) return f;
  }
  return null;
}

export function catalogIds(): string[] {
  const file = catalogFile();
  if (!file) return [];
  const tree = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, Record<string, Record<string, unknown>>>>;
  const ids: string[] = [];
  for (const [lang, datasets] of Object.entries(tree.tts_models ?? {})) {
    for (const [dataset, models] of Object.entries(datasets)) {
      for (const model of Object.keys(models)) ids.push(`tts_models/${lang}/${dataset}/${model}`);
    }
  }
  return ids;
}

function catalogItem(id: string): Record<string, unknown> | undefined {
  const file = catalogFile();
  if (!file) return undefined;
  let node: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const part of id.split('/')) {
    if (!node || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node as Record<string, unknown>;
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

export function nearest(name: string, candidates: readonly string[], n = 3): string[] {
  const lower = name.toLowerCase();
  return candidates
    .map((c) => ({ c, d: distance(lower, c.toLowerCase()) }))
    .filter(({ c, d }) => d <= Math.max(3, Math.floor(c.length / 3)))
    .sort((x, y) => x.d - y.d)
    .slice(0, n)
    .map(({ c }) => c);
}

function looksLikePath(name: string): boolean {
  return name.startsWith('/') || name.startsWith('./') || name.startsWith('../') || name === '.' || name === '..' || (name.includes('/') && !name.startsWith('tts_models/'));
}

/** Classify and check a model name. Throws a TtsError with suggestions for anything unusable. */
export function resolveModel(name: string | undefined, modelsDirs: () => AllowedDir[]): ModelSpec {
  const raw = name ?? DEFAULT_VOICE;
  if (raw.length === 0 || raw.length > 4096 || /[\u0000-\u001f\u007f]/.test(raw)) {
    throw new TtsError('E_MODEL_INVALID', `Model name ${show(raw)} is empty, too long or contains control characters.`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    throw new TtsError('E_MODEL_NOT_ALLOWED', `Model ${show(raw)} is a URL; models are voice names, catalog ids or local folders, never fetched from an address.`, {
      hint: 'Download the model yourself and pass its folder with -m ./folder.',
    });
  }
  if (EMBEDDED_VOICES.includes(raw)) return { engine: 'piper', kind: 'voice', model: raw, display: raw };
  if (CATALOG_ID.test(raw)) {
    const file = catalogFile();
    if (!file) {
      throw new TtsError('E_ENGINE_MISSING', `Coqui TTS is not installed, so ${show(raw)} cannot be used.`, { hint: 'Run `tts setup`.' });
    }
    const item = catalogItem(raw);
    if (!item) {
      const near = nearest(raw, catalogIds());
      throw new TtsError('E_MODEL_UNKNOWN', `Model ${show(raw)} is not in the installed Coqui catalog.`, {
        hint: near.length ? `Did you mean ${near.join(', ')}?` : 'List the catalog with `tts doctor --json`.',
      });
    }
    return { engine: 'coqui', kind: 'catalog', model: raw, display: raw, item };
  }
  if (looksLikePath(raw)) {
    // Containment first, on the real path where it exists: a folder outside the allowed directories is refused
    // whether or not it exists, so probing paths tells nothing.
    const abs = path.resolve(raw);
    let real = abs;
    try {
      real = fs.realpathSync(abs);
    } catch {
      /* checked below */
    }
    const allowed = modelsDirs();
    if (!allowed.some((d) => isInside(d.real, real))) {
      throw new TtsError('E_MODEL_NOT_ALLOWED', `Model folder ${show(raw)} is outside the allowed models directories (${allowed.map((d) => show(d.real)).join(', ')}).`, {
        hint: 'Allow its parent with --models-dir DIR (or TTS_MODELS_DIRS, or "modelsDirs" in the config file).',
      });
    }
    if (!fs.existsSync(real)) throw new TtsError('E_MODEL_FOLDER', `Model folder ${show(raw)} does not exist.`);
    if (!fs.statSync(real).isDirectory()) throw new TtsError('E_MODEL_FOLDER', `Model path ${show(raw)} is not a folder.`);
    if (!fs.existsSync(path.join(real, 'config.json'))) {
      throw new TtsError('E_MODEL_FOLDER', `Model folder ${show(raw)} has no config.json.`);
    }
    const hasCheckpoint = CHECKPOINTS.some((c) => fs.existsSync(path.join(real, c))) || fs.readdirSync(real).some((f) => f.endsWith('.pth'));
    if (!hasCheckpoint) {
      throw new TtsError('E_MODEL_FOLDER', `Model folder ${show(raw)} has no checkpoint (expected one of ${CHECKPOINTS.join(', ')}).`);
    }
    return { engine: 'coqui', kind: 'folder', model: real, display: raw };
  }
  const near = nearest(raw, [...EMBEDDED_VOICES, ...catalogIds()]);
  throw new TtsError('E_MODEL_UNKNOWN', `Unknown model ${show(raw)}.`, {
    hint: near.length
      ? `Did you mean ${near.join(', ')}?`
      : `Use a voice (${EMBEDDED_VOICES.join(', ')}), a catalog id like tts_models/en/ljspeech/vits, or a folder like ./my-model.`,
  });
}

/** Where Coqui keeps a downloaded catalog model (TTS_HOME/tts/<type>--<lang>--<dataset>--<model>). */
export function catalogModelDir(modelsHome: string, id: string): string {
  return path.join(modelsHome, 'tts', id.replace(/\//g, '--'));
}
