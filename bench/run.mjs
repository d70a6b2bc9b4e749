// Benchmark: CLI costs as ratios against baselines measured in the same run, interleaved (ABAB).
// Usage: npm run bench [-- --runs 10] [--only streaming]
//   --only streaming: just the streaming rows (first audio byte, peak RSS), about a minute; no rebuild: node bench/run.mjs --only streaming
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonReport, prose, runPiped } from './streaming.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'tts.js');
const python = path.join(root, '.venv', 'bin', 'python');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;
const onlyArg = process.argv.indexOf('--only');
const ONLY = onlyArg > 0 ? process.argv[onlyArg + 1] : undefined;
if (ONLY !== undefined && ONLY !== 'streaming') throw new Error(`--only: unknown section '${ONLY}' (known: streaming)`);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tts-bench-'));
const empty = path.join(work, 'empty.mjs');
fs.writeFileSync(empty, '');
const SHORT = 'Hello world, this is a short sentence.';

function time(cmd, args, opts = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (opts.expect !== undefined && r.status !== opts.expect) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const median = (xs) => q(xs, 0.5);

/** Interleave A and B runs; return both sample sets. */
function pair(a, b, n) {
  const A = [];
  const B = [];
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      A.push(a());
      B.push(b());
    } else {
      B.push(b());
      A.push(a());
    }
  }
  return [A, B];
}

const rows = [];
function row(metric, base, tool, baseName) {
  rows.push({ metric, baseline: baseName, base_p50_ms: median(base), tool_p50_ms: median(tool), tool_p95_ms: q(tool, 0.95), ratio: median(tool) / median(base) });
}

const env = { ...process.env, NO_COLOR: '1' };
const load = os.loadavg()[0];
console.error(`bench: ${os.cpus().length} cores, ${os.cpus()[0]?.model}, load ${load.toFixed(2)}, node ${process.version}, runs ${RUNS}${ONLY ? `, only ${ONLY}` : ''}`);

// P2: --help, --version and a usage error against bare node.
if (!ONLY) {
  const [base, help] = pair(() => time('node', [empty]), () => time('node', [bin, '--help'], { env, expect: 0 }), RUNS * 2);
  row('--help', base, help, 'node empty.mjs');
  const [base2, rej] = pair(() => time('node', [empty]), () => time('node', [bin, '', '-o', 'x.wav'], { env, expect: 2 }), RUNS * 2);
  row('rejected input (exit 2, no Python)', base2, rej, 'node empty.mjs');
}

// Cold one-shot synthesis against the engine in-process (same text, same machine, same run).
if (!ONLY) {
  const inproc = JSON.parse(execFileSync(python, ['-I', path.join(root, 'bench', 'inproc.py'), 'piper', String(RUNS), SHORT], { encoding: 'utf8' }));
  const cold = [];
  for (let i = 0; i < RUNS; i++) cold.push(time('node', [bin, SHORT, '-o', 'short.wav', '--force'], { env, expect: 0 }));
  const inprocTotal = inproc.synth_s.map((s) => (s + inproc.load_s) * 1000);
  row('cold CLI synth, short (piper)', inprocTotal, cold, 'in-process load + synth');
  rows.push({ metric: 'in-process piper synth only, short', baseline: '-', base_p50_ms: NaN, tool_p50_ms: median(inproc.synth_s) * 1000, tool_p95_ms: q(inproc.synth_s, 0.95) * 1000, ratio: NaN });
  rows.push({ metric: 'cold CLI overhead over in-process load+synth', baseline: '-', base_p50_ms: NaN, tool_p50_ms: median(cold) - median(inprocTotal), tool_p95_ms: NaN, ratio: NaN });
}

// Streaming (-o - on a pipe): time to the first audio byte against the total, and memory on a long text.
const streaming = {};
if (!ONLY || ONLY === 'streaming') {
  const SAMPLE_BYTES = 22050 * 2; // piper voice: 22.05 kHz, 16-bit mono
  const ten = path.join(work, 'ten.txt');
  fs.writeFileSync(ten, prose({ seed: 10, sentences: 10 }));

  // 1. Ten sentences piped into this process: spawn -> first byte after the WAV header, spawn -> exit.
  const first = [];
  const piped = [];
  for (let i = 0; i < 3; i++) {
    const r = await runPiped([bin, '-f', ten, '-o', '-', '--json'], { cwd: work, env });
    if (r.status !== 0) throw new Error(`-f ten.txt -o - exited ${r.status ?? r.signal}: ${r.stderr}`);
    first.push(r.firstAudioMs);
    piped.push(r.totalMs);
    console.error(`bench: 10 sentences piped: first audio ${r.firstAudioMs.toFixed(0)} ms (CLI says ${jsonReport(r.stderr)?.first_audio_ms} ms), exit ${r.totalMs.toFixed(0)} ms, ${r.audioBytes} audio bytes`);
  }
  row('streaming: first audio byte / total, 10 sentences', piped, first, 'total, same runs (-o -)');
  // Sanity figure: the same text to a file, total against the piped total.
  const file = [];
  for (let i = 0; i < 3; i++) file.push(time('node', [bin, '-f', ten, '-o', 'ten.wav', '--force'], { env, expect: 0 }));
  row('10 sentences: -o file.wav total vs piped total', piped, file, 'piped total (-o -)');
  streaming.ten = { first_ms: first, piped_ms: piped, file_ms: file };

  // 2. Memory: the same amount of audio from a 10 kB text and from a 1 MiB text (1,048,576 bytes).
  //    N = all the audio of the 10 kB text; if that takes over 3 minutes, both stop at 60 s of audio.
  const small = path.join(work, 'prose-10k.txt');
  const large = path.join(work, 'prose-1m.txt');
  fs.writeFileSync(small, prose({ seed: 11, bytes: 10 * 1024 }));
  fs.writeFileSync(large, prose({ seed: 11, bytes: 1024 * 1024 }));
  const CAP = 60 * SAMPLE_BYTES;
  const a = await runPiped([bin, '-f', small, '-o', '-'], { cwd: work, env, sample: true, maxMs: 180_000, markBytes: CAP });
  let n = a.audioBytes;
  let smallPeaks = a;
  if (a.stoppedBy === 'time') {
    n = CAP;
    smallPeaks = a.peaksAtMark; // peaks up to the first 60 s of audio, the same work as the capped 1 MB run
  }
  const b = await runPiped([bin, '-f', large, '-o', '-'], { cwd: work, env, sample: true, maxBytes: n });
  const mb = (kb) => kb / 1024;
  console.error(`bench: memory, 10 kB text: ${a.audioBytes} audio bytes${a.stoppedBy ? ` (stopped by ${a.stoppedBy}; compared up to ${n})` : ' (complete)'} in ${a.totalMs.toFixed(0)} ms, exit status ${a.status ?? a.signal}, peak RSS CLI ${mb(smallPeaks.peakCliKb).toFixed(1)} MB, worker ${mb(smallPeaks.peakWorkerKb).toFixed(1)} MB`);
  console.error(`bench: memory, 1 MB text: ${b.audioBytes} audio bytes (stop after ${n}, stopped by ${b.stoppedBy ?? 'nothing: it finished'}) in ${b.totalMs.toFixed(0)} ms, exit status ${b.status ?? b.signal}, peak RSS CLI ${mb(b.peakCliKb).toFixed(1)} MB, worker ${mb(b.peakWorkerKb).toFixed(1)} MB`);
  for (const [name, r] of [['10 kB', a], ['1 MB', b]]) {
    if (!r.workerPid) console.error(`bench: memory, ${name} text: no tts_worker process found under the CLI; its worker row is meaningless`);
    if (r.workerLeft) console.error(`bench: memory, ${name} text: the worker outlived the CLI`);
  }
  // Figures in MB (1024 kB) go in the ms columns; the metric name says so.
  row('peak RSS CLI (MB), 1 MB text vs 10 kB text', [mb(smallPeaks.peakCliKb)], [mb(b.peakCliKb)], '10 kB text');
  row('peak RSS worker (MB), 1 MB text vs 10 kB text', [mb(smallPeaks.peakWorkerKb)], [mb(b.peakWorkerKb)], '10 kB text');
  streaming.memory = {
    audio_bytes_compared: n,
    small: { audio_bytes: a.audioBytes, stopped_by: a.stoppedBy, total_ms: a.totalMs, status: a.status, signal: a.signal, peak_cli_kb: smallPeaks.peakCliKb, peak_worker_kb: smallPeaks.peakWorkerKb },
    large: { audio_bytes: b.audioBytes, stopped_by: b.stoppedBy, total_ms: b.totalMs, status: b.status, signal: b.signal, peak_cli_kb: b.peakCliKb, peak_worker_kb: b.peakWorkerKb },
  };
}

const fmt = (x) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 0) : '-');
console.log('| metric | baseline | baseline p50 ms | tool p50 ms | tool p95 ms | ratio |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.metric} | ${r.baseline} | ${fmt(r.base_p50_ms)} | ${fmt(r.tool_p50_ms)} | ${fmt(r.tool_p95_ms)} | ${fmt(r.ratio)} |`);
const out = path.join(root, 'bench', 'results', `${new Date().toISOString().slice(0, 10)}-${os.hostname()}-piper${ONLY ? `-${ONLY}` : ''}.json`);
fs.writeFileSync(out, JSON.stringify({ runs: RUNS, only: ONLY ?? null, load, node: process.version, rows, streaming }, null, 2));
console.error(`bench: raw results in ${path.relative(root, out)}`);
fs.rmSync(work, { recursive: true, force: true });
