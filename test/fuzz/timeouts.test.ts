// Repeated-timeout figures: fake workers that hang, ignore SIGTERM, flood stderr or flood their protocol stream,
// TIMEOUT_N of each (10 in `npm test`, 100 in `npm run test:fuzz`), ten at a time. Every one must fail with the
// right code, be gone within the request limit + the SIGKILL grace (2 s) + 1 s, leave no process and no private
// directory behind, and the CLI's memory must stay bounded while they flood it.
// Prints: timeouts: <mode> N/N killed in time (slowest X s after the request) ... / 0 orphans / RSS growth M MB
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TtsError } from '../../src/errors.js';
import { useFakeWorker } from '../support/fake-worker.js';
import { alive, eventually } from '../support/process.js';
import { figure } from '../support/figures.js';

const N = Number(process.env.TIMEOUT_N ?? 10);
const AT_ONCE = 10;
const LIMIT_MS = 300;
const GRACE_MS = 2000; // forceKillAfterDelay in src/worker/client.ts
const MODES: Record<string, string> = {
  hang: 'E_WORKER_TIMEOUT',
  'hang-term': 'E_WORKER_TIMEOUT',
  'flood-stderr': 'E_WORKER_TIMEOUT',
  'flood-stdout': 'E_WORKER_PROTOCOL',
};

const start = useFakeWorker();

interface Run {
  code: string;
  ms: number;
  pid?: number;
  workdir: string;
}

async function one(mode: string): Promise<Run> {
  const w = await start(mode);
  const t0 = Date.now();
  let code = 'OK';
  try {
    await w.load({ engine: 'piper', kind: 'voice', model: 'm' }, LIMIT_MS);
  } catch (err) {
    code = err instanceof TtsError ? err.code : String(err);
  }
  await eventually(() => !alive(w.pid), LIMIT_MS + GRACE_MS + 5000);
  return { code, ms: Date.now() - t0, pid: w.pid, workdir: w.workdir };
}

describe('worker timeouts', () => {
  it(`${N} hung, SIGTERM-ignoring and flooding workers of each kind are all killed in time, with no orphans`, { timeout: 600_000 }, async () => {
    const rss0 = process.memoryUsage().rss;
    let rssMax = rss0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 20);
    const parts: string[] = [];
    const all: (Run & { want: string })[] = [];
    try {
      for (const [mode, want] of Object.entries(MODES)) {
        const runs: Run[] = [];
        for (let done = 0; done < N; done += AT_ONCE) {
          runs.push(...(await Promise.all(Array.from({ length: Math.min(AT_ONCE, N - done) }, () => one(mode)))));
        }
        const inTime = runs.filter((r) => r.code === want && r.ms <= LIMIT_MS + GRACE_MS + 1000).length;
        const slowest = Math.max(...runs.map((r) => r.ms));
        parts.push(`${mode} ${inTime}/${runs.length} killed in time (${want}, slowest ${(slowest / 1000).toFixed(2)} s after the request)`);
        all.push(...runs.map((r) => ({ ...r, want })));
      }
    } finally {
      clearInterval(sampler);
    }
    await new Promise((r) => setTimeout(r, 200)); // let the exit handlers remove the private directories
    const orphans = all.filter((r) => alive(r.pid)).length;
    const dirsLeft = all.filter((r) => fs.existsSync(r.workdir)).length;
    const growthMb = (rssMax - rss0) / 1e6;
    figure(`timeouts: ${parts.join(' / ')} / ${orphans} orphans / ${dirsLeft} private directories left / CLI RSS growth ${growthMb.toFixed(1)} MB (limit ${LIMIT_MS} ms + ${GRACE_MS} ms SIGKILL grace + 1 s)`);
    const bad = all.filter((r) => r.code !== r.want || r.ms > LIMIT_MS + GRACE_MS + 1000);
    if (bad.length) console.log(`timeouts: not killed in time or wrong code: ${JSON.stringify(bad.slice(0, 5))}`);
    expect(bad).toEqual([]);
    expect(orphans).toBe(0);
    expect(dirsLeft).toBe(0);
    // A flood is read in 64 KiB chunks and dropped: the stderr tail is 8 KiB and a protocol line is cut at 1 MiB,
    // so 40 flooding workers at once cost a few tens of MB at most, not the gigabytes they write.
    expect(growthMb).toBeLessThan(200);
  });
});
