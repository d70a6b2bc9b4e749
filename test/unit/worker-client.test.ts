// The worker client against fake workers: every failure becomes the right TtsError, and nothing is left running.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkerClient } from '../../src/worker/client.js';
import { TtsError } from '../../src/errors.js';
import { useFakeWorker } from '../support/fake-worker.js';
import { alive, eventually } from '../support/process.js';

const start = useFakeWorker();

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    if (err instanceof TtsError) return err.code;
    throw err;
  }
}

describe('WorkerClient', () => {
  it('round-trips load and synthesize, writes only in its private directory, and cleans it up', async () => {
    const w = await start('ok');
    const ready = await w.load({ engine: 'piper', kind: 'voice', model: 'm' }, 5000);
    expect(ready.sample_rate).toBe(16000);
    const res = await w.synthesize({ text: 'hi', out: 'a.pcm' }, 5000);
    expect(path.dirname(res.path)).toBe(w.workdir);
    expect((fs.statSync(w.workdir).mode & 0o777).toString(8)).toBe('700');
    await w.close();
    expect(fs.existsSync(w.workdir)).toBe(false);
  });

  it('a worker that crashes mid-request gives E_WORKER_CRASH with its stderr kept for --debug', async () => {
    const w = await start('crash-load');
    try {
      await w.load({ engine: 'piper', kind: 'voice', model: 'm' }, 5000);
      expect.unreachable();
    } catch (err) {
      expect((err as TtsError).code).toBe('E_WORKER_CRASH');
      expect((err as TtsError).message).toContain('exited with status 1');
      expect((err as TtsError).detail).toContain('crashing as asked');
    }
  });

  it('a hung request times out with E_WORKER_TIMEOUT and the worker is killed', async () => {
    const w = await start('hang');
    const t0 = Date.now();
    expect(await codeOf(w.load({ engine: 'piper', kind: 'voice', model: 'm' }, 500))).toBe('E_WORKER_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await eventually(() => !alive(w.pid), 3000)).toBe(true);
  });

  it('a worker that ignores SIGTERM is killed with SIGKILL', async () => {
    const w = await start('hang-term');
    expect(await codeOf(w.load({ engine: 'piper', kind: 'voice', model: 'm' }, 300))).toBe('E_WORKER_TIMEOUT');
    // SIGTERM is ignored; forceKillAfterDelay (2 s) must follow with SIGKILL.
    expect(await eventually(() => !alive(w.pid), 4500)).toBe(true);
  });

  it('a non-protocol line on stdout is E_WORKER_PROTOCOL and kills the worker', async () => {
    const w = await start('garbage');
    expect(await codeOf(w.load({ engine: 'piper', kind: 'voice', model: 'm' }, 5000))).toBe('E_WORKER_PROTOCOL');
    expect(await eventually(() => !alive(w.pid), 4000)).toBe(true);
  });

  it('a worker that never says hello times out', async () => {
    expect(await codeOf(start('no-hello', 500))).toBe('E_WORKER_TIMEOUT');
  });

  it('a worker reporting another executable (a shim) is refused', async () => {
    expect(await codeOf(start('shim'))).toBe('E_PYTHON');
  });

  it('keeps only a bounded tail of a stderr flood', async () => {
    const w = await start('flood-stderr');
    expect(await codeOf(w.load({ engine: 'piper', kind: 'voice', model: 'm' }, 1000))).toBe('E_WORKER_TIMEOUT');
    expect(w.stderrText().length).toBeLessThanOrEqual(8192);
    expect(await eventually(() => !alive(w.pid), 4000)).toBe(true);
  });
});
