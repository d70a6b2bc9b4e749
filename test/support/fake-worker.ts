// A stand-in interpreter that runs test/fixtures/fake_worker.py, and how to start the real client on it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { WorkerClient } from '../../src/worker/client.js';
import { ROOT } from './paths.js';

/** Registers beforeAll/afterAll hooks for a fake `python` in a temporary directory; returns a starter. */
export function useFakeWorker(): (mode: string, helloTimeoutMs?: number) => Promise<WorkerClient> {
  let dir = '';
  let exe = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tts-fake-'));
    exe = path.join(dir, 'python');
    fs.writeFileSync(exe, `#!/bin/sh\nexec /usr/bin/env python3 ${JSON.stringify(path.join(ROOT, 'test', 'fixtures', 'fake_worker.py'))}\n`, { mode: 0o755 });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return (mode, helloTimeoutMs = 10_000) =>
    WorkerClient.start({ interpreter: { path: exe, real: exe }, env: { PATH: '/usr/bin:/bin', FAKE_MODE: mode, FAKE_EXE: exe }, helloTimeoutMs });
}
