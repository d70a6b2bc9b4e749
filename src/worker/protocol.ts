// Messages between the CLI and the Python worker (protocol 1). Every line from the worker is validated.
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;

export const helloSchema = z.object({
  type: z.literal('hello'),
  protocol: z.number().int(),
  version: z.string(),
  pid: z.number().int(),
  executable: z.string(),
  isolated: z.boolean(),
});
export type Hello = z.infer<typeof helloSchema>;

export const readySchema = z.object({
  protocol: z.number().int(),
  engine: z.string(),
  model: z.string(),
  sample_rate: z.number().int().positive(),
  speakers: z.array(z.string()),
  languages: z.array(z.string()),
  load_ms: z.number(),
});
export type Ready = z.infer<typeof readySchema>;

export const synthResultSchema = z.object({
  path: z.string(),
  sample_rate: z.number().int().positive(),
  channels: z.literal(1),
  sample_width: z.literal(2),
  samples: z.number().int().nonnegative(),
  engine_ms: z.number(),
  /**
   * Characters of the text the model has no tokens for, so they are not spoken (Coqui drops them), with their
   * counts, after the model's own text cleaning. Empty when nothing is dropped or the engine cannot tell (Piper,
   * Coqui phoneme models). Text the model can say next to nothing of is refused by the worker instead
   * (E_TEXT_UNSUPPORTED).
   */
  dropped: z.record(z.string().min(1).max(8), z.number().int().positive()).default({}),
});
export type SynthResult = z.infer<typeof synthResultSchema>;

export const replySchema = z.union([
  z.object({ id: z.string().nullable(), ok: z.literal(true), type: z.string().optional(), result: z.record(z.string(), z.unknown()) }),
  z.object({
    id: z.string().nullable(),
    ok: z.literal(false),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);
export type Reply = z.infer<typeof replySchema>;
