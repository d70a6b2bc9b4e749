// Helpers for the streaming benchmark (bench/run.mjs): deterministic prose, and a piped CLI run that
// records the first audio byte, the exit, and peak RSS of the CLI and of its Python worker (Linux /proc).
import { spawn } from 'node:child_process';
import fs from 'node:fs';

/** Bytes of the WAV header the CLI writes before the audio. */
export const WAV_HEADER = 44;

const WORDS = (
  'the a small old new red green quiet busy river town garden window morning evening letter road house ' +
  'friend teacher farmer child market bridge mountain forest station table kitchen paper story music ' +
  'walks reads finds opens carries watches builds paints visits writes keeps brings follows answers ' +
  'slowly early later often always never again together outside inside near under over across behind ' +
  'with from into along before after every each many some warm cold bright dark long short simple ' +
  'water bread light stone field door boat train cloud river lamp'
).split(' ');

/** Small deterministic PRNG (mulberry32): the same seed gives the same text on every machine. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One sentence of 8–14 plain lowercase words, capitalised, ending with a full stop. */
function sentence(rand) {
  const n = 8 + Math.floor(rand() * 7);
  const words = [];
  for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(rand() * WORDS.length)]);
  const s = words.join(' ');
  return s[0].toUpperCase() + s.slice(1) + '.';
}

/**
 * Deterministic English-like prose, paragraphs of 4–6 sentences separated by blank lines.
 * With `sentences`, stop after that many sentences; with `bytes`, stop at the last whole sentence that
 * fits and pad with newlines to exactly that many bytes (ASCII only, so bytes == characters).
 */
export function prose({ seed, sentences = Infinity, bytes = Infinity }) {
  const rand = rng(seed);
  const parts = [];
  let length = 0;
  let inPara = 0;
  let paraLen = 4 + Math.floor(rand() * 3);
  for (let i = 0; i < sentences; i++) {
    const s = sentence(rand);
    const sep = parts.length === 0 ? '' : inPara === 0 ? '\n\n' : ' ';
    if (length + sep.length + s.length + 1 > bytes) break; // keep room for the final newline
    parts.push(sep, s);
    length += sep.length + s.length;
    if (++inPara === paraLen) {
      inPara = 0;
      paraLen = 4 + Math.floor(rand() * 3);
    }
  }
  const text = parts.join('');
  return text + '\n'.repeat(Number.isFinite(bytes) ? bytes - text.length : 1);
}

/** VmRSS of a process in kB, or 0 when it is gone (or a zombie, which has no VmRSS line). */
function rssKb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Pids of all live descendants of `pid`, from the ppid field of every /proc/N/stat. */
function descendants(pid) {
  const children = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [];
  const queue = [pid];
  while (queue.length) for (const c of children.get(queue.shift()) ?? []) out.push(c), queue.push(c);
  return out;
}

function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** The worker: the descendant of the CLI whose command line contains `tts_worker` (or undefined). */
function findWorker(cliPid) {
  return descendants(cliPid).find((p) => cmdline(p).includes('tts_worker'));
}

/** Still running (exists and is not a zombie)? */
function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Run `node <args>` with stdout piped into this process and read it, discarding the bytes.
 * - firstAudioMs: from spawn to the first byte after the 44-byte WAV header; totalMs: from spawn to exit.
 * - maxBytes / maxMs: once that many audio bytes arrived (or that much time passed), destroy our read side
 *   so the CLI hits EPIPE and exits; `stoppedBy` says which ('bytes', 'time' or null for a full run).
 * - sample: every 100 ms record VmRSS of the CLI and of its worker; peaks in kB. `markBytes` also keeps
 *   a copy of the peaks as they were when that many audio bytes had arrived (`peaksAtMark`).
 */
export function runPiped(args, { cwd, env, maxBytes = Infinity, maxMs = Infinity, sample = false, markBytes = Infinity }) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const since = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const child = spawn('node', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const r = { firstAudioMs: NaN, totalMs: NaN, audioBytes: 0, status: null, signal: null, stoppedBy: null, peakCliKb: 0, peakWorkerKb: 0, peaksAtMark: null, workerPid: undefined, workerLeft: false, stderr: '' };
    let received = 0;
    let stopTimer;
    let killTimer;

    // Stop reading: the CLI should notice EPIPE on its next write and exit 0; kill it if it has not after 30 s.
    const stop = (why) => {
      if (r.stoppedBy || child.exitCode !== null) return;
      r.stoppedBy = why;
      child.stdout.destroy();
      killTimer = setTimeout(() => {
        console.error(`bench: CLI pid ${child.pid} still running 30 s after its reader closed; killing it`);
        child.kill('SIGKILL');
      }, 30_000);
    };

    const tick = () => {
      r.peakCliKb = Math.max(r.peakCliKb, rssKb(child.pid));
      // Look the worker up once, and again only if the one we knew is gone (e.g. not started yet).
      let kb = r.workerPid ? rssKb(r.workerPid) : 0;
      if (kb === 0 && child.exitCode === null) {
        r.workerPid = findWorker(child.pid) ?? r.workerPid;
        kb = r.workerPid ? rssKb(r.workerPid) : 0;
      }
      r.peakWorkerKb = Math.max(r.peakWorkerKb, kb);
    };
    const sampler = sample ? setInterval(tick, 100) : undefined;
    if (sample) tick();
    if (Number.isFinite(maxMs)) stopTimer = setTimeout(() => stop('time'), maxMs);

    child.stdout.on('data', (chunk) => {
      received += chunk.length;
      if (Number.isNaN(r.firstAudioMs) && received > WAV_HEADER) r.firstAudioMs = since();
      r.audioBytes = Math.max(0, received - WAV_HEADER);
      if (sample && !r.peaksAtMark && r.audioBytes >= markBytes) {
        tick();
        r.peaksAtMark = { peakCliKb: r.peakCliKb, peakWorkerKb: r.peakWorkerKb, audioBytes: r.audioBytes };
      }
      if (r.audioBytes >= maxBytes) stop('bytes');
    });
    child.stderr.on('data', (chunk) => {
      r.stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      r.totalMs = since();
      r.status = code;
      r.signal = signal;
      clearInterval(sampler);
      clearTimeout(stopTimer);
      clearTimeout(killTimer);
    });
    // 'close' waits for stdout/stderr to drain; then check the CLI did not leave its worker behind.
    child.on('close', () => {
      setTimeout(() => {
        if (r.workerPid && alive(r.workerPid)) {
          r.workerLeft = true;
          console.error(`bench: worker pid ${r.workerPid} still running after the CLI exited; killing it`);
          try {
            process.kill(r.workerPid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
        resolve(r);
      }, sample ? 500 : 0);
    });
  });
}

/** The JSON report the CLI prints on stderr with --json (the last line that parses), or undefined. */
export function jsonReport(stderr) {
  for (const line of stderr.trim().split('\n').reverse()) {
    try {
      return JSON.parse(line);
    } catch {
      /* not JSON */
    }
  }
  return undefined;
}
