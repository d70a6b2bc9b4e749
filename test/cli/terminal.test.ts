// Terminal and signal behaviour: no hangs on a TTY, no audio to a terminal, Ctrl-C and kill -9 leave nothing behind.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, listFiles, sandbox } from '../support/cli.js';
import { BIN, ROOT } from '../support/paths.js';

let sb: ReturnType<typeof sandbox>;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

async function onPty(args: string[], timeoutS = 20): Promise<{ exit: number; output: string; seconds: number }> {
  const r = await execa('python3', [path.join(ROOT, 'test', 'support', 'pty_run.py'), String(timeoutS), sb.work, '--', 'node', BIN, ...args], {
    env: baseEnv(path.join(sb.root, 'home')),
    extendEnv: false,
  });
  return JSON.parse(r.stdout) as { exit: number; output: string; seconds: number };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return false;
  }
}

async function waitFor(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return pred();
}

const LONG_TEXT = Array.from({ length: 40 }, (_, i) => `This is sentence number ${i + 1} of a long text that takes a while to speak.`).join(' ');

describe('terminals', () => {
  it('with no text and stdin a terminal: usage error at once, no wait', async () => {
    const r = await onPty(['-o', 'x.wav']);
    expect(r.exit).toBe(2);
    expect(r.output).toContain('E_STDIN_TTY');
    expect(r.seconds).toBeLessThan(10); // it answered instead of waiting for the 20 s limit
    expect(listFiles(sb.work)).toEqual([]);
  });

  it('refuses to write audio to a terminal, with a hint', async () => {
    const r = await onPty(['Hello']);
    expect(r.exit).toBe(2);
    expect(r.output).toContain('E_STDOUT_TTY');
    expect(r.output).toContain('-o');
    expect(r.output).not.toContain('RIFF');
    const r2 = await onPty(['Hello', '-o', '-']);
    expect(r2.exit).toBe(2);
    expect(r2.output).toContain('E_STDOUT_TTY');
  });
});

describe('signals', () => {
  it('Ctrl-C during synthesis: exit 130, no output, no temp files, worker gone', async () => {
    const child = execa('node', [BIN, LONG_TEXT, '-o', 'long.wav', '--verbose'], {
      cwd: sb.work,
      env: baseEnv(path.join(sb.root, 'home')),
      extendEnv: false,
      reject: false,
      detached: true, // its own process group, like a shell job
    });
    let stderr = '';
    let workerPid = 0;
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /worker (\d+): .* loaded in/.exec(stderr);
      if (m) workerPid = Number(m[1]);
    });
    expect(await waitFor(() => workerPid > 0, 60_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 300)); // synthesis under way
    process.kill(-child.pid!, 'SIGINT'); // what the terminal does on ^C: the whole group
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(stderr).toContain('E_INTERRUPTED');
    expect(stderr).not.toContain('Traceback');
    expect(listFiles(sb.work)).toEqual([]);
    expect(await waitFor(() => !alive(workerPid), 5000)).toBe(true);
  });

  it('kill -9 of the CLI: the worker notices stdin closing and exits', async () => {
    const child = execa('node', [BIN, LONG_TEXT, '-o', 'long.wav', '--verbose'], {
      cwd: sb.work,
      env: baseEnv(path.join(sb.root, 'home')),
      extendEnv: false,
      reject: false,
    });
    let stderr = '';
    let workerPid = 0;
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /worker (\d+): .* loaded in/.exec(stderr);
      if (m) workerPid = Number(m[1]);
    });
    expect(await waitFor(() => workerPid > 0, 60_000)).toBe(true);
    child.kill('SIGKILL');
    await child;
    // The worker finishes the request in hand, finds its stdin closed and exits: no orphan.
    expect(await waitFor(() => !alive(workerPid), 30_000)).toBe(true);
    expect(listFiles(sb.work)).toEqual([]);
  });
});
