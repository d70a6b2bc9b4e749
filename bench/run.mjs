// Benchmark: CLI costs as ratios against baselines measured in the same run, interleaved (ABAB).
// Usage: npm run bench [-- --runs 10]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'tts.js');
const python = path.join(root, '.venv', 'bin', 'python');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;
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
console.error(`bench: ${os.cpus().length} cores, ${os.cpus()[0]?.model}, load ${load.toFixed(2)}, node ${process.version}, runs ${RUNS}`);

// P2: --help, --version and a usage error against bare node.
{
  const [base, help] = pair(() => time('node', [empty]), () => time('node', [bin, '--help'], { env, expect: 0 }), RUNS * 2);
  row('--help', base, help, 'node empty.mjs');
  const [base2, rej] = pair(() => time('node', [empty]), () => time('node', [bin, '', '-o', 'x.wav'], { env, expect: 2 }), RUNS * 2);
  row('rejected input (exit 2, no Python)', base2, rej, 'node empty.mjs');
}

// Cold one-shot synthesis against the engine in-process (same text, same machine, same run).
{
  const inproc = JSON.parse(execFileSync(python, ['-I', path.join(root, 'bench', 'inproc.py'), 'piper', String(RUNS), SHORT], { encoding: 'utf8' }));
  const cold = [];
  for (let i = 0; i < RUNS; i++) cold.push(time('node', [bin, SHORT, '-o', 'short.wav', '--force'], { env, expect: 0 }));
  const inprocTotal = inproc.synth_s.map((s) => (s + inproc.load_s) * 1000);
  row('cold CLI synth, short (piper)', inprocTotal, cold, 'in-process load + synth');
  rows.push({ metric: 'in-process piper synth only, short', baseline: '-', base_p50_ms: NaN, tool_p50_ms: median(inproc.synth_s) * 1000, tool_p95_ms: q(inproc.synth_s, 0.95) * 1000, ratio: NaN });
  rows.push({ metric: 'cold CLI overhead over in-process load+synth', baseline: '-', base_p50_ms: NaN, tool_p50_ms: median(cold) - median(inprocTotal), tool_p95_ms: NaN, ratio: NaN });
}

const fmt = (x) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 0) : '-');
console.log('| metric | baseline | baseline p50 ms | tool p50 ms | tool p95 ms | ratio |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.metric} | ${r.baseline} | ${fmt(r.base_p50_ms)} | ${fmt(r.tool_p50_ms)} | ${fmt(r.tool_p95_ms)} | ${fmt(r.ratio)} |`);
const out = path.join(root, 'bench', 'results', `${new Date().toISOString().slice(0, 10)}-${os.hostname()}-piper.json`);
fs.writeFileSync(out, JSON.stringify({ runs: RUNS, load, node: process.version, rows }, null, 2));
console.error(`bench: raw results in ${path.relative(root, out)}`);
fs.rmSync(work, { recursive: true, force: true });
