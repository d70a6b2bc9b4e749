// zod schemas for numeric option values, shared by `tts` and `tts batch`. Values arrive as strings from the
// command line and are read as plain decimal numbers: `0x10`, `1e3`, `Infinity` or an empty string are refused
// rather than quietly meaning something else.
import { z } from 'zod';

const DECIMAL = /^\s*\d+(\.\d+)?\s*$/;
const INTEGER = /^\s*\d+\s*$/;

/** A string that is not a plain decimal becomes NaN, which z.number() refuses with the option's own message. */
const plain = (pattern: RegExp) => (v: unknown) => (typeof v === 'string' ? (pattern.test(v) ? Number(v) : Number.NaN) : v);

/** A number of seconds, > 0 (or >= 0 with `allowZero`), at most `max`. */
export function seconds(what: string, max: number, allowZero = false) {
  const n = z.number({ error: `${what} must be a number of seconds` }).max(max, { error: `${what} must be at most ${max}` });
  return z.preprocess(plain(DECIMAL), allowZero ? n.min(0, { error: `${what} must be 0 or more` }) : n.positive({ error: `${what} must be greater than 0` }));
}

/** A whole number between `min` and `max`; `unit` names it in messages ("MiB"). */
export function whole(what: string, min: number, max: number, unit = '') {
  const kind = unit ? `a whole number of ${unit}` : 'a whole number';
  const u = unit ? ` (${unit})` : '';
  return z.preprocess(
    plain(INTEGER),
    z
      .number({ error: `${what} must be ${kind}` })
      .int({ error: `${what} must be ${kind}` })
      .min(min, { error: `${what} must be at least ${min}${u}` })
      .max(max, { error: `${what} must be at most ${max}${u}` }),
  );
}
