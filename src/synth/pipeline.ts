// Sentences in, audio out: requests go to the worker one sentence at a time, with the next one already queued
// while the current one is written, so the first sentence reaches the output before the later ones are
// synthesized and memory is bounded by a sentence, not by the text.
import fs from 'node:fs';
import type { AudioSink } from '../audio/sink.js';
import { codePoints } from '../text.js';
import type { Sentence } from '../sentences.js';
import type { SynthResult } from '../worker/protocol.js';

/** What the pipeline needs from a worker (the real WorkerClient, or a pool member). */
export interface Synthesizer {
  synthesize(payload: { text: string; out: string; speaker?: string; language?: string }, timeoutMs: number): Promise<SynthResult>;
}

export interface PipelineOptions {
  speaker?: string;
  language?: string;
  timeoutMs: number;
  /** Silence between sentences, in seconds; twice as long between paragraphs. */
  sentenceSilence: number;
  /** Requests queued in the worker ahead of the one being written (1 = the next sentence). */
  lookahead?: number;
  /** Called after each sentence is written. */
  onSentence?: (done: { index: number; chars: number; seconds: number }) => void;
  /** A unique prefix for the worker's result files. */
  tag: string;
}

export interface PipelineResult {
  sentences: number;
  /** Samples written: speech and the silence between sentences. */
  samples: number;
  sampleRate: number;
  /** Milliseconds from the start to the first audio written. */
  firstAudioMs: number;
  /** True when the reader of stdout went away before the end. */
  truncated: boolean;
}

const speakable = (s: string) => /[\p{L}\p{N}]/u.test(s);

function readResult(res: SynthResult): Buffer {
  try {
    return fs.readFileSync(res.path);
  } finally {
    fs.rmSync(res.path, { force: true });
  }
}

export async function synthesizeTo(
  worker: Synthesizer,
  units: Iterable<Sentence> | AsyncIterable<Sentence>,
  sink: AudioSink,
  opts: PipelineOptions,
): Promise<PipelineResult> {
  const started = performance.now();
  const lookahead = opts.lookahead ?? 1;
  const queue: { promise: Promise<SynthResult>; unit: Sentence }[] = [];
  let counter = 0;
  let written = 0;
  let samples = 0;
  let sampleRate = 0;
  let firstAudioMs = -1;
  let pendingSilence = 0; // seconds owed before the next sentence
  let failed = false;

  const send = (unit: Sentence) => {
    const promise = worker.synthesize({ text: unit.text, out: `${opts.tag}-${++counter}.pcm`, speaker: opts.speaker, language: opts.language }, opts.timeoutMs);
    // A failure is handled when this entry reaches the head of the queue; until then, do not let it go unhandled.
    promise.catch(() => {
      failed = true;
    });
    queue.push({ promise, unit });
  };

  const drainOne = async () => {
    const head = queue.shift()!;
    const res = await head.promise;
    const pcm = readResult(res);
    if (sampleRate === 0) {
      sampleRate = res.sample_rate;
      await sink.start({ sampleRate, channels: 1, bitsPerSample: 16 });
    }
    if (pendingSilence > 0) {
      const silent = Math.round(pendingSilence * sampleRate);
      await sink.write(Buffer.alloc(silent * 2));
      samples += silent; // what was written, so reported durations match the file
    }
    await sink.write(pcm);
    if (firstAudioMs < 0) firstAudioMs = performance.now() - started;
    samples += res.samples;
    written++;
    pendingSilence = opts.sentenceSilence * (head.unit.paragraphEnd ? 2 : 1);
    opts.onSentence?.({ index: written, chars: codePoints(head.unit.text), seconds: res.samples / res.sample_rate });
  };

  const source: AsyncIterator<Sentence> | Iterator<Sentence> =
    Symbol.asyncIterator in units ? units[Symbol.asyncIterator]() : (units as Iterable<Sentence>)[Symbol.iterator]();
  try {
    let next = Promise.resolve(source.next());
    for (;;) {
      // While the source is slow (--lines: the next line has not been typed yet), write what is ready, so audio
      // never waits for text that has not arrived.
      while (queue.length > 0 && !sink.gone) {
        const first = await Promise.race([next.then(() => 'unit' as const), queue[0]!.promise.then(() => 'audio' as const, () => 'audio' as const)]);
        if (first === 'unit') break;
        await drainOne();
      }
      if (sink.gone) break;
      const r = await next;
      if (r.done) break;
      next = Promise.resolve(source.next());
      if (!speakable(r.value.text)) continue; // "...", "—": nothing an engine can say
      send(r.value);
      while (queue.length > lookahead || (failed && queue.length > 0)) {
        await drainOne();
        if (sink.gone) break;
      }
      if (sink.gone) break;
    }
    while (queue.length > 0 && !sink.gone) await drainOne();
  } catch (err) {
    // Results already produced for queued requests are removed by the worker's own cleanup (its private dir).
    for (const q of queue) q.promise.then(readResult, () => undefined).catch(() => undefined);
    throw err;
  }
  return { sentences: written, samples, sampleRate, firstAudioMs, truncated: sink.gone };
}
