// Terminal and signal behaviour: no hangs on a TTY, no audio to a terminal, Ctrl-C and kill -9 leave nothing behind.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, listFiles, runCli, sandbox } from '../support/cli.js';
import { BIN, ROOT } from '../support/paths.js';
import { alive, eventually } from '../support/process.js';

let sb: ReturnType<typeof sandbox>;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

async function onPty(args: string[], timeoutS = 20, columns = 0, env: Record<string, string | undefined> = {}): Promise<{ exit: number; output: string; seconds: number }> {
  const fullEnv: Record<string, string> = baseEnv(path.join(sb.root, 'home'));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete fullEnv[k];
    else fullEnv[k] = v;
  }
  const r = await execa('python3', [path.join(ROOT, 'test', 'support', 'pty_run.py'), String(timeoutS), sb.work, String(columns), '--', 'node', BIN, ...args], {
    env: fullEnv,
    extendEnv: false,
  });
  return JSON.parse(r.stdout) as { exit: number; output: string; seconds: number };
}

const LONG_TEXT = Array.from({ length: 40 }, (_, i) => `This is sentence number ${i + 1} of a long text that takes a while to speak.`).join(' ');

/** Start a long synthesis with --verbose and resolve the worker's pid once the model is loaded. */
function startLong(detached: boolean, out = 'long.wav') {
  const child = execa('node', [BIN, LONG_TEXT, '-o', out, '--verbose'], {
    cwd: sb.work,
    env: baseEnv(path.join(sb.root, 'home')),
    extendEnv: false,
    reject: false,
    detached, // detached: its own process group, like a shell job
  });
  let stderr = '';
  const workerPid = new Promise<number>((resolve) => {
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /worker (\d+): .* loaded in/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
  });
  return { child, workerPid, stderr: () => stderr };
}

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

describe('spinner', () => {
  it('on an 80-column terminal: a spinner on stderr, then one summary line; no colour with NO_COLOR', async () => {
    const r = await onPty(['Hello there', '-o', 'tty.wav'], 60, 80, { CI: undefined, NO_COLOR: '1' });
    expect(r.exit).toBe(0);
    expect(r.output).toContain('Loading en_US-joe-medium');
    // The last thing printed is the summary (ora may re-show the cursor after it: ESC[?25h is not text).
    expect(r.output.replace(/\x1b\[\?25h/g, '')).toMatch(/Wrote tty\.wav \(\d+\.\d+ s, 22050 Hz, en_US-joe-medium\)\r\n$/);
    expect(r.output).not.toMatch(/\x1b\[[0-9;]*m/);
    expect(listFiles(sb.work)).toEqual(['tty.wav']);
  });

  it('on a terminal that reports 0 columns: no spinner, and no endless redraw (a bug seen under `script`)', async () => {
    const r = await onPty(['Hello there', '-o', 'tty.wav'], 60, 0, { CI: undefined });
    expect(r.exit).toBe(0);
    expect(r.output).not.toContain('\x1b[1A');
    expect(r.output.length).toBeLessThan(500);
  });

  it('an error while the spinner runs ends the run at once (the spinner must not keep the process alive)', async () => {
    const r = await onPty(['Hello there', '-o', 'tty.wav', '--max-memory', '256'], 60, 80, { CI: undefined });
    expect(r.exit).toBe(3);
    expect(r.output).toContain('E_MEMORY_LIMIT');
    expect(r.seconds).toBeLessThan(30);
    expect(listFiles(sb.work)).toEqual([]);
  });

  it('batch and long text on a terminal: a progress line with count, bar, percentage; none when not a terminal', async () => {
    fs.writeFileSync(path.join(sb.work, 'items.txt'), Array.from({ length: 6 }, (_, i) => `This is batch item number ${i + 1}, spoken on its own.`).join('\n'));
    const r = await onPty(['batch', 'items.txt', '-d', 'out'], 120, 80, { CI: undefined, NO_COLOR: '1' });
    expect(r.exit).toBe(0);
    expect(r.output).toMatch(/Batch [1-5]\/6 \[#+\.*\] \d+%/);
    expect(r.output).toMatch(/batch: 6 written; .* s of audio in .* s\./);
    expect(r.output).not.toMatch(/\x1b\[[0-9;]*m/); // NO_COLOR
    fs.writeFileSync(path.join(sb.work, 'long.txt'), LONG_TEXT);
    const long = await onPty(['-f', 'long.txt', '-o', 'long.wav'], 120, 80, { CI: undefined });
    expect(long.exit).toBe(0);
    expect(long.output).toMatch(/Synthesizing \d+ sentences \[#*\.*\] \d+%/);
    const piped = await runCli(['batch', 'items.txt', '-d', 'out2'], { cwd: sb.work });
    expect(piped.exitCode).toBe(0);
    expect(piped.stderr).toMatch(/^batch: 6 written; [\d.]+ s of audio in [\d.]+ s\.$/); // one line, no progress
  });

  it('with --quiet: nothing at all', async () => {
    const r = await onPty(['Hello there', '-o', 'tty.wav', '-q'], 60, 80, { CI: undefined });
    expect(r.exit).toBe(0);
    expect(r.output).toBe('');
  });
});

describe('signals', () => {
  it('Ctrl-C during synthesis: exit 130, no output, no temp files, worker gone', async () => {
    const run = startLong(true);
    const workerPid = await run.workerPid;
    await new Promise((r) => setTimeout(r, 300)); // synthesis under way
    process.kill(-run.child.pid!, 'SIGINT'); // what the terminal does on ^C: the whole group
    const r = await run.child;
    expect(r.exitCode).toBe(130);
    expect(run.stderr()).toContain('E_INTERRUPTED');
    expect(run.stderr()).not.toContain('Traceback');
    expect(listFiles(sb.work)).toEqual([]);
    expect(await eventually(() => !alive(workerPid), 5000)).toBe(true);
  });

  it('Ctrl-C during a batch: exit 130, finished items kept, no partial or temp files, workers gone, one message', async () => {
    fs.writeFileSync(path.join(sb.work, 'items.txt'), Array.from({ length: 30 }, (_, i) => `Batch item ${i + 1}: ${LONG_TEXT.slice(0, 160)}`).join('\n'));
    const child = execa('node', [BIN, 'batch', 'items.txt', '-d', 'out', '--jobs', '2', '--verbose'], {
      cwd: sb.work,
      env: baseEnv(path.join(sb.root, 'home')),
      extendEnv: false,
      reject: false,
      detached: true,
    });
    let stderr = '';
    const pids: number[] = [];
    const written = new Promise<void>((resolve) => {
      child.stderr!.on('data', (c: Buffer) => {
        stderr += c.toString();
        for (const m of c.toString().matchAll(/worker (\d+): .* loaded in/g)) pids.push(Number(m[1]));
        if (/items\.txt:1: wrote/.test(stderr)) resolve();
      });
    });
    await written;
    process.kill(-child.pid!, 'SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    const lines = stderr.split('\n').filter((l) => l.startsWith('tts: '));
    expect(lines).toEqual([expect.stringMatching(/^tts: E_INTERRUPTED: /)]);
    const files = listFiles(path.join(sb.work, 'out'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      expect(f).toMatch(/^\d{4}\.wav$/); // no hidden temporary files
      const buf = fs.readFileSync(path.join(sb.work, 'out', f));
      expect(buf.readUInt32LE(4)).toBe(buf.length - 8); // complete files only
    }
    for (const pid of pids) expect(await eventually(() => !alive(pid), 5000)).toBe(true);
  });

  it('kill -9 of the CLI: the worker notices and exits (no orphan)', async () => {
    const run = startLong(false);
    const workerPid = await run.workerPid;
    // The worker sees it was re-parented, abandons the request at the next sentence, and exits,
    // removing its private directory (nobody else will).
    const workdir = fs.readlinkSync(`/proc/${workerPid}/cwd`);
    expect(path.basename(workdir)).toMatch(/^tts-worker-/);
    run.child.kill('SIGKILL');
    await run.child;
    expect(await eventually(() => !alive(workerPid), 5000)).toBe(true);
    expect(fs.existsSync(workdir)).toBe(false);
    // Audio streams into a hidden temporary file: nothing at the final name, and the next run here sweeps the
    // orphan at once (its writer's PID is in its name and no longer runs).
    expect(fs.existsSync(path.join(sb.work, 'long.wav'))).toBe(false);
    for (const f of listFiles(sb.work)) expect(f).toMatch(/^\.tts-\d+-[0-9a-f]{16}\.tmp$/);
    const next = await runCli(['Next run.', '-o', 'next.wav'], { cwd: sb.work });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(listFiles(sb.work)).toEqual(['next.wav']);
  });

  it('kill -9 of the CLI while it spools audio for a compressed output: the spool goes with the worker', async () => {
    const run = startLong(false, 'long.flac');
    const workerPid = await run.workerPid;
    const workdir = fs.readlinkSync(`/proc/${workerPid}/cwd`);
    // The CLI spools PCM into the worker's private directory as sentences arrive; kill it once that has begun.
    expect(await eventually(() => fs.readdirSync(workdir).some((f) => /^encode-.*\.pcm$/.test(f)), 20_000)).toBe(true);
    run.child.kill('SIGKILL');
    await run.child;
    expect(await eventually(() => !alive(workerPid), 5000)).toBe(true);
    expect(fs.existsSync(workdir)).toBe(false);
    expect(fs.existsSync(path.join(sb.work, 'long.flac'))).toBe(false);
  });
});
