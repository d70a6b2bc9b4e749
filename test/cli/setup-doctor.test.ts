// `tts setup` is idempotent, and `tts doctor` reports what is installed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, sandbox } from '../support/cli.js';

let sb: ReturnType<typeof sandbox>;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

describe('setup and doctor', () => {
  it('setup on a ready environment changes nothing and says so on stderr', async () => {
    const r = await runCli(['setup'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('already set up');
    expect(r.stdout.length).toBe(0);
  });

  it('doctor --json reports both engines, the embedded voice and the catalog', async () => {
    const r = await runCli(['doctor', '--json'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.toString()) as {
      ok: boolean;
      engines: { piper: boolean; coqui: boolean };
      voices: string[];
      catalog_models: number;
      python: { isolated: boolean; packages: Record<string, string | null> };
      problems: string[];
    };
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([]);
    expect(report.engines).toEqual({ piper: true, coqui: true });
    expect(report.voices).toContain('en_US-joe-medium');
    expect(report.catalog_models).toBeGreaterThan(10);
    expect(report.python.isolated).toBe(true);
    expect(report.python.packages.torch).toMatch(/^2\.13\.0/);
    expect(report.python.packages['coqui-tts']).toBe('0.28.0');
  });

  it('doctor prints a readable report on stdout', async () => {
    const r = await runCli(['doctor'], { cwd: sb.work });
    expect(r.exitCode).toBe(0);
    const out = r.stdout.toString();
    expect(out).toMatch(/ok\s+piper engine, voices: en_US-joe-medium/);
    expect(out).toMatch(/ok\s+coqui engine/);
  });
});
