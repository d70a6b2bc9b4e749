// What a model name means, decided in Node before any Python starts.
import fs from 'node:fs';
import path from 'node:path';
import { TtsError, show } from './errors.js';
import { VENV_DIR } from './paths.js';
import { containing, type AllowedDir } from './audio/base-dirs.js';

export const DEFAULT_VOICE = 'en_US-joe-medium';
/** Voices shipped with the worker's Python environment (PyPI packages installed by `tts setup`). */
export const EMBEDDED_VOICES: readonly string[] = [DEFAULT_VOICE];

/** What the embedded voices speak (their configs' espeak voice) and their speakers, known without Python. */
const EMBEDDED_VOICE_INFO: Readonly<Record<string, { languages: readonly string[]; speakers: readonly string[] }>> = {
  [DEFAULT_VOICE]: { languages: ['en-us'], speakers: [] },
};

const SCRIPTS = ['Latin', 'Greek', 'Cyrillic', 'Armenian', 'Hebrew', 'Arabic', 'Devanagari', 'Bengali', 'Tamil', 'Thai', 'Georgian', 'Hangul', 'Hiragana', 'Katakana', 'Han', 'Ethiopic'] as const;
const SCRIPT_RE = Object.fromEntries(SCRIPTS.map((name) => [name, new RegExp(`\\p{Script=${name}}`, 'u')])) as Record<(typeof SCRIPTS)[number], RegExp>;

/**
 * Letters an embedded voice cannot pronounce: every voice we ship reads Latin script, and espeak-ng spells other
 * scripts out letter by letter ("Chinese letter ..."). Returns e.g. "Han ×4, Hebrew ×2", or '' when all is Latin.
 */
export function foreignScripts(spec: ModelSpec, text: string): string {
  if (spec.kind !== 'voice') return '';
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/[^\p{Script=Latin}\P{L}]/gu)) {
    const ch = m[0];
    const name = SCRIPTS.find((s) => SCRIPT_RE[s].test(ch)) ?? 'other';
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([s, n]) => `${s} ×${n}`).join(', ');
}

/**
 * Check --speaker and --language against an embedded voice before any Python starts, and return the language tag
 * the engine expects: tags are compared case-insensitively with `_` as `-`, and a bare primary tag (`en`) means
 * the voice's one variant of it (`en-us`). Coqui models are checked by the worker, which reads their lists.
 */
export function checkVoiceOptions(spec: ModelSpec, speaker: string | undefined, language: string | undefined): string | undefined {
  if (spec.kind !== 'voice') return language;
  const voice = EMBEDDED_VOICE_INFO[spec.model];
  if (!voice) return language;
  if (speaker !== undefined && !voice.speakers.includes(speaker)) {
    throw new TtsError(
      'E_SPEAKER',
      voice.speakers.length === 0
        ? `Voice ${spec.model} has a single speaker; --speaker ${show(speaker)} does not apply.`
        : `Voice ${spec.model} has no speaker ${show(speaker)}; choose one of ${voice.speakers.join(', ')}.`,
    );
  }
  if (language === undefined) return undefined;
  const tag = language.toLowerCase().replace(/_/g, '-');
  const match = voice.languages.find((l) => l === tag) ?? (voice.languages.filter((l) => l.split('-')[0] === tag).length === 1 ? voice.languages.find((l) => l.split('-')[0] === tag) : undefined);
  if (!match) {
    throw new TtsError('E_SPEAKER', `Voice ${spec.model} speaks only ${voice.languages.join(', ')}; --language ${show(language)} is not available.`, {
      hint: 'For other languages use a Coqui model: tts -m tts_models/<lang>/<dataset>/<model>.',
    });
  }
  return match;
}

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
    if (!containing(allowed, real)) {
      throw new TtsError('E_MODEL_NOT_ALLOWED', `Model folder ${show(raw)} is outside the allowed models directories (${allowed.filter((d) => !d.refused).map((d) => show(d.real)).join(', ')}).`, {
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
  // A bare name that is a model folder here: folders are written as paths, so that a folder can never shadow a
  // voice or catalog name; say how.
  if (fs.existsSync(path.join(raw, 'config.json'))) {
    throw new TtsError('E_MODEL_UNKNOWN', `Unknown model ${show(raw)}; there is a model folder of that name here.`, {
      hint: `Model folders are given as paths: -m ${show(`./${raw}`)}.`,
    });
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
