// Whole-process tests for batch edge cases: planning failures with --fail-fast, input and item-count limits,
// comments inside paragraphs, --name validation, the --dry-run plan, dot-file stems and the --out-dir checks.
// Almost all of them are decided before any worker starts, so they are fast.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listFiles, runCli, sandbox, treeHash } from '../support/cli.js';
import { readWav } from '../support/wav.js';
import { ROOT } from '../support/paths.js';

const WORKER_STARTED = 'worker: starting';
const VALID_LIST = /\{n\}, \{i\}, \{line\}, \{stem\}, \{slug\}/;
let sb: ReturnType<typeof sandbox>;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

const at = (...p: string[]) => path.join(sb.work, ...p);

interface ItemReport {
  input: string;
  line: number;
  n: number;
  output: string | null;
  status: string;
  error: { code: string; message: string } | null;
}
const report = (stdout: Buffer) => JSON.parse(stdout.toString('utf8')) as { items: ItemReport[]; summary: Record<string, number> };
/** The tts: CODE: lines of stderr. */
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('tts: '));
/** Whether the built CLI knows --max-items (registered in src/cli.ts). */
// Until it is, the test of the option itself is skipped (the default limit is tested either way).
const cliHasMaxItems = /--max-items\b/.test(fs.readFileSync(path.join(ROOT, 'dist', 'cli.js'), 'utf8'));

describe('--fail-fast and failures found while planning', () => {
  it.each([
    ['bad JSON', '{bad', 'E_MANIFEST'],
    ['an unknown model', '{"text": "Two.", "output": "2.wav", "model": "nope"}', 'E_MODEL_INVALID'],
    ['an output outside --out-dir', '{"text": "Two.", "output": "../x.wav"}', 'E_PATH_TRAVERSAL'],
  ])('%s on line 2 stops the batch before any synthesis: nothing written, the rest cancelled, exit 4', async (_what, bad, code) => {
    fs.writeFileSync(at('m.jsonl'), ['{"text": "One.", "output": "1.wav"}', bad, '{"text": "Three.", "output": "3.wav"}', '{"text": "Four {bad", "output": "../4.wav"}', ''].join('\n'));
    const before = treeHash(sb.root);
    const r = await runCli(['batch', 'm.jsonl', '-d', 'out', '--fail-fast', '--json', '--verbose'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(4);
    const rep = report(r.stdout);
    expect(rep.items.map((i) => [i.line, i.status, i.error?.code ?? null])).toEqual([
      [1, 'cancelled', null],
      [2, 'failed', rep.items[1]!.error?.code ?? null],
      [3, 'cancelled', null],
      [4, 'cancelled', null], // a later bad line is not run either: the batch stopped at line 2
    ]);
    if (code === 'E_MODEL_INVALID') expect(['E_MODEL_INVALID', 'E_MODEL_UNKNOWN']).toContain(rep.items[1]!.error!.code);
    else expect(rep.items[1]!.error!.code).toBe(code);
    expect(rep.summary).toMatchObject({ items: 4, written: 0, failed: 1, cancelled: 3 });
    // One failure line for the item, then E_BATCH_FAILED naming it; no worker, nothing written anywhere.
    const errs = errorLines(r.stderr);
    expect(errs).toHaveLength(2);
    expect(errs[0]).toMatch(/^tts: E_[A-Z_]+: m\.jsonl:2: /);
    expect(errs[1]).toMatch(/^tts: E_BATCH_FAILED: 1 of 4 items failed \(the first: m\.jsonl:2, E_/);
    expect(r.stderr).not.toContain(WORKER_STARTED);
    expect(treeHash(sb.root)).toBe(before);
  });

  it('the summary says the rest were not run; existing outputs stay "exists"', async () => {
    fs.writeFileSync(at('m.jsonl'), '{"text": "One.", "output": "1.wav"}\n{"text": "Two.", "output": "2.wav", "speaker": ""}\n{"text": "Three.", "output": "3.wav"}\n');
    fs.mkdirSync(at('out'));
    fs.writeFileSync(at('out', '3.wav'), 'kept');
    const r = await runCli(['batch', 'm.jsonl', '-d', 'out', '--fail-fast'], { cwd: sb.work });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/^batch: 0 written, 1 skipped \(already exist; --force replaces them\), 1 failed, 1 not run \(--fail-fast\);/m);
    expect(listFiles(at('out'))).toEqual(['3.wav']);
    expect(fs.readFileSync(at('out', '3.wav'), 'utf8')).toBe('kept');
  });

  it('without --fail-fast a planning failure still lets the others run (unchanged)', async () => {
    fs.writeFileSync(at('m.jsonl'), '{bad\n{"text": "Fine.", "output": "ok.wav"}\n');
    const r = await runCli(['batch', 'm.jsonl', '-d', 'out', '--json'], { cwd: sb.work });
    expect(r.exitCode).toBe(4);
    expect(report(r.stdout).items.map((i) => i.status)).toEqual(['failed', 'written']);
    expect(readWav(fs.readFileSync(at('out', 'ok.wav'))).rms).toBeGreaterThan(100);
  });
});

describe('limits: 2,000,000 characters per input file and --max-items', () => {
  it('a 3.9M-character input file is E_TEXT_TOO_LONG (exit 2) before any worker, named like -f does', async () => {
    const line = `${'word '.repeat(77)}end.\n`; // 390 characters
    fs.writeFileSync(at('big.txt'), line.repeat(10_000)); // 3,900,000 characters, 3.9 MB (under the byte cap)
    const r = await runCli(['batch', 'big.txt', '-d', 'out', '--split', 'paragraph', '--verbose'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^tts: E_TEXT_TOO_LONG: The text from "big\.txt" is longer than 2000000 characters\. /)]);
    expect(r.stderr).not.toContain(WORKER_STARTED);
    expect(fs.existsSync(at('out'))).toBe(false);
  });

  it('the cap counts characters, not bytes: exactly 2,000,000 passes, one more fails; stdin too', async () => {
    const line = `${'x'.repeat(1998)}.\n`; // 2,000 characters
    fs.writeFileSync(at('exact.txt'), line.repeat(1000));
    const ok = await runCli(['batch', 'exact.txt', '-d', 'out', '--dry-run', '--json'], { cwd: sb.work });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(report(ok.stdout).summary.planned).toBe(1000);
    fs.appendFileSync(at('exact.txt'), 'y');
    const over = await runCli(['batch', 'exact.txt', '-d', 'out', '--dry-run'], { cwd: sb.work });
    expect(over.exitCode).toBe(2);
    expect(over.stderr).toMatch(/^tts: E_TEXT_TOO_LONG: The text from "exact\.txt" is longer than 2000000 characters/m);
    const stdin = await runCli(['batch', '-', '-d', 'out', '--dry-run'], { cwd: sb.work, input: fs.readFileSync(at('exact.txt')) });
    expect(stdin.exitCode).toBe(2);
    expect(stdin.stderr).toMatch(/^tts: E_TEXT_TOO_LONG: The text from stdin is longer than 2000000 characters/m);
  });

  it('a file over the byte cap is refused while reading (the same code)', async () => {
    fs.writeFileSync(at('huge.txt'), Buffer.alloc(8_000_010, 'a'));
    const r = await runCli(['batch', 'huge.txt', '-d', 'out'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^tts: E_TEXT_TOO_LONG: The text from "huge\.txt" is longer than 2000000 characters \(stopped reading at 8000003 bytes\)/m);
  });

  it('more than 10,000 items (the default --max-items) is E_BATCH_TOO_LARGE (exit 2), naming the count and the limit', async () => {
    fs.writeFileSync(at('a.txt'), 'Hello.\n'.repeat(6000));
    fs.writeFileSync(at('b.txt'), 'Again.\n'.repeat(4001));
    const before = treeHash(sb.root);
    const r = await runCli(['batch', 'a.txt', 'b.txt', '-d', 'out', '--verbose'], { cwd: sb.work, timeoutMs: 30_000 }); // would synthesize 10,001 items if not refused
    expect(r.exitCode).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^tts: E_BATCH_TOO_LARGE: The batch has 10001 items; the limit is 10000 \(--max-items\)/)]);
    expect(r.stderr).not.toContain(WORKER_STARTED);
    expect(treeHash(sb.root)).toBe(before);
    // 10,000 exactly is fine.
    fs.writeFileSync(at('b.txt'), 'Again.\n'.repeat(4000));
    const ok = await runCli(['batch', 'a.txt', 'b.txt', '-d', 'out', '--dry-run', '--json'], { cwd: sb.work });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(report(ok.stdout).summary.planned).toBe(10_000);
  });

  it.skipIf(!cliHasMaxItems)('--max-items lowers and raises the limit; out-of-range values are E_USAGE', async () => {
    fs.writeFileSync(at('in.txt'), 'One.\nTwo.\nThree.\n');
    const r = await runCli(['batch', 'in.txt', '-d', 'out', '--max-items', '2'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^tts: E_BATCH_TOO_LARGE: The batch has 3 items; the limit is 2 \(--max-items\)/m);
    const ok = await runCli(['batch', 'in.txt', '-d', 'out', '--max-items', '3', '--dry-run'], { cwd: sb.work });
    expect(ok.exitCode, ok.stderr).toBe(0);
    for (const bad of ['0', '1000001', 'lots']) {
      const u = await runCli(['batch', 'in.txt', '-d', 'out', '--max-items', bad], { cwd: sb.work });
      expect(u.exitCode).toBe(2);
      expect(u.stderr).toMatch(/^tts: E_USAGE: --max-items/m);
    }
  });
});

describe('--split paragraph and comments', () => {
  it('comment lines are dropped inside paragraphs; a paragraph of comments only is skipped; --no-comments speaks them', async () => {
    fs.writeFileSync(at('p.txt'), '# Title comment\nPara one is here.\n\n# only a comment\n# and another\n\nPara two,\n# an aside\nstill para two.\n');
    const args = ['batch', 'p.txt', '--split', 'paragraph', '-d', 'out', '--name', '{line}-{slug}.wav', '--dry-run', '--json'];
    const r = await runCli(args, { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(report(r.stdout).items.map((i) => [i.line, i.output])).toEqual([
      [2, 'out/2-para-one-is-here.wav'],
      [7, 'out/7-para-two-still-para-two.wav'],
    ]);
    const spoken = await runCli([...args, '--no-comments'], { cwd: sb.work });
    expect(spoken.exitCode, spoken.stderr).toBe(0);
    expect(report(spoken.stdout).items.map((i) => [i.line, i.output])).toEqual([
      [1, 'out/1-title-comment-para-one-is-here.wav'],
      [4, 'out/4-only-a-comment-and-another.wav'],
      [7, 'out/7-para-two-an-aside-still-para-two.wav'],
    ]);
  });
});

describe('--name placeholders are checked before any input is read', () => {
  it.each([
    ['{n:}.wav', '"{n:}"'],
    ['{n:abc}.wav', '"{n:abc}"'],
    ['{n:-4}.wav', '"{n:-4}"'],
    ['{n:0}.wav', '"{n:0}"'],
    ['{N}.wav', '{N}'],
    ['{ n }.wav', '"{ n }"'],
    ['{}.wav', '"{}"'],
    ['x-{n.wav', '"{"'],
    ['x-n}.wav', '"}"'],
    ['{{n}}.wav', '"{"'],
  ])('%s is E_USAGE naming %s and listing the valid placeholders', async (template, named) => {
    // missing.txt does not exist: the template is refused first.
    const r = await runCli(['batch', 'missing.txt', '-d', 'out', '--name', template], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    const errs = errorLines(r.stderr);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/^tts: E_USAGE: --name: /);
    expect(errs[0]).toContain(named);
    expect(errs[0]).toMatch(VALID_LIST);
    expect(fs.existsSync(at('out'))).toBe(false);
  });

  it('an upper-case placeholder suggests the lower-case one', async () => {
    const r = await runCli(['batch', 'missing.txt', '--name', '{N}.wav'], { cwd: sb.work });
    expect(r.stderr).toMatch(/^tts: E_USAGE: --name: unknown placeholder \{N\} in "\{N\}\.wav" \(did you mean \{n\}\?\)/m);
  });

  it('valid templates still work: {n:4}, {i:012} and {stem}', async () => {
    fs.writeFileSync(at('in.txt'), 'One.\n');
    const r = await runCli(['batch', 'in.txt', '-d', 'out', '--name', 'a{n:4}b-{i:012}-{stem}.wav', '--dry-run', '--json'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(report(r.stdout).items[0]!.output).toBe('out/a   1b-000000000001-in.wav');
  });

  it('a template without a varying placeholder and several items is a collision that says why', async () => {
    fs.writeFileSync(at('in.txt'), 'One.\nTwo.\n');
    for (const template of ['same.wav', '{stem}.wav']) {
      const r = await runCli(['batch', 'in.txt', '-d', 'out', '--name', template, '--verbose'], { cwd: sb.work });
      expect(r.exitCode).toBe(2);
      const errs = errorLines(r.stderr);
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatch(/^tts: E_BATCH_COLLISION: in\.txt:1 and in\.txt:2 would both write "out\/(same|in)\.wav": the --name template "(same|\{stem\})\.wav" has no placeholder that changes from item to item \(\{n\}, \{i\}, \{line\} or \{slug\}\)/);
      expect(errs[0]).toContain('-{n:04}.wav');
      expect(r.stderr).not.toContain(WORKER_STARTED);
    }
    // One item with a constant name is fine.
    fs.writeFileSync(at('one.txt'), 'Only.\n');
    const one = await runCli(['batch', 'one.txt', '-d', 'out', '--name', 'same.wav', '--dry-run'], { cwd: sb.work });
    expect(one.exitCode, one.stderr).toBe(0);
  });
});

describe('--dry-run prints the plan', () => {
  it('one line per item on stdout (input:line, output, status); the summary stays on stderr', async () => {
    fs.writeFileSync(at('in.txt'), 'Alpha.\nBravo.\n......\n# comment\nCharlie.\n');
    fs.mkdirSync(at('out'));
    fs.writeFileSync(at('out', '0002.wav'), 'old');
    const r = await runCli(['batch', 'in.txt', '-d', 'out', '--dry-run'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.toString('utf8')).toBe(
      ['in.txt:1\tout/0001.wav\twould write', 'in.txt:2\tout/0002.wav\texists, skipped', 'in.txt:3\t-\tnothing to speak, skipped', 'in.txt:5\tout/0004.wav\twould write'].join('\n'), // (execa drops the final newline)
    );
    expect(r.stderr).toMatch(/^dry run: 2 to synthesize, 1 already written, 1 with nothing to speak, 0 failed; nothing synthesized\.$/m);
    expect(r.stderr).not.toMatch(/^batch: /m);
    expect(fs.readFileSync(at('out', '0002.wav'), 'utf8')).toBe('old');
    const forced = await runCli(['batch', 'in.txt', '-d', 'out', '--dry-run', '--force'], { cwd: sb.work });
    expect(forced.stdout.toString('utf8')).toContain('in.txt:2\tout/0002.wav\twould replace (--force)\n');
  });

  it('failed and not-run items are listed too; with --json stdout is only the JSON report', async () => {
    fs.writeFileSync(at('m.jsonl'), '{"text": "One.", "output": "1.wav"}\n{bad\n');
    const r = await runCli(['batch', 'm.jsonl', '-d', 'out', '--dry-run'], { cwd: sb.work });
    expect(r.exitCode).toBe(4);
    expect(r.stdout.toString('utf8')).toBe('m.jsonl:1\tout/1.wav\twould write\nm.jsonl:2\t-\tfailed (E_MANIFEST)');
    const ff = await runCli(['batch', 'm.jsonl', '-d', 'out', '--dry-run', '--fail-fast'], { cwd: sb.work });
    expect(ff.stdout.toString('utf8')).toBe('m.jsonl:1\tout/1.wav\tnot run (--fail-fast)\nm.jsonl:2\t-\tfailed (E_MANIFEST)');
    const json = await runCli(['batch', 'm.jsonl', '-d', 'out', '--dry-run', '--json'], { cwd: sb.work });
    expect(report(json.stdout).items.map((i) => i.status)).toEqual(['planned', 'failed']);
  });

  it('an input name with control characters is shown escaped in the plan', async () => {
    fs.writeFileSync(at('a\tb.txt'), 'One.\n');
    const r = await runCli(['batch', 'a\tb.txt', '-d', 'out', '--dry-run'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.toString('utf8')).toBe('"a\\tb.txt":1\tout/0001.wav\twould write');
  });
});

describe('{stem} of unusual input names', () => {
  it('a dot-file input (.notes.txt) gives the stem "notes", so default names are valid', async () => {
    fs.writeFileSync(at('.notes.txt'), 'One.\nTwo.\n');
    fs.writeFileSync(at('b.txt'), 'Three.\n');
    fs.writeFileSync(at('-dash: "x".txt'), 'Four.\n');
    const r = await runCli(['batch', '.notes.txt', 'b.txt', './-dash: "x".txt', '-d', 'out', '--dry-run', '--json'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(report(r.stdout).items.map((i) => [i.status, i.output])).toEqual([
      ['planned', 'out/notes-0001.wav'],
      ['planned', 'out/notes-0002.wav'],
      ['planned', 'out/b-0001.wav'],
      ['planned', 'out/dash-x-0001.wav'],
    ]);
  });
});

describe('--out-dir is checked once, up front', () => {
  it('-d ../out names the --out-dir value as given (not a made-up file path)', async () => {
    fs.writeFileSync(at('in.txt'), 'One.\n');
    const r = await runCli(['batch', 'in.txt', '-d', '../out'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^tts: E_PATH_TRAVERSAL: --out-dir "\.\.\/out" contains '\.\.'/)]);
    expect(r.stderr).not.toContain('x.wav');
    const abs = await runCli(['batch', 'in.txt', '-d', sb.outside], { cwd: sb.work });
    expect(abs.exitCode).toBe(2);
    expect(abs.stderr).toMatch(new RegExp(`^tts: E_PATH_TRAVERSAL: --out-dir ${JSON.stringify(sb.outside).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} lies outside the allowed directories`, 'm'));
    const hidden = await runCli(['batch', 'in.txt', '-d', 'a/.hidden/'], { cwd: sb.work });
    expect(hidden.exitCode).toBe(2);
    expect(hidden.stderr).toMatch(/^tts: E_PATH_INVALID_NAME: --out-dir "a\/\.hidden\/" has the hidden name "\.hidden"/m);
    expect(hidden.stderr).not.toContain('x.wav');
  });

  it('a symlinked --out-dir is E_PATH_SYMLINK, exit 2, before any worker; nothing is written through it', async () => {
    fs.writeFileSync(at('in.txt'), 'One.\nTwo.\n');
    fs.symlinkSync(sb.outside, at('link'));
    fs.mkdirSync(at('real'));
    fs.symlinkSync(at('real'), at('real-link'));
    const before = treeHash(sb.root);
    for (const [dir, msg] of [
      ['link', /^tts: E_PATH_SYMLINK: --out-dir "link" is a symbolic link; output directories may not be links\./m],
      ['link/', /^tts: E_PATH_SYMLINK: --out-dir "link\/" is a symbolic link/m],
      ['real-link/sub', /^tts: E_PATH_SYMLINK: --out-dir "real-link\/sub": "real-link" on its path is a symbolic link/m],
    ] as const) {
      const r = await runCli(['batch', 'in.txt', '-d', dir, '--verbose', '--json'], { cwd: sb.work });
      expect(r.exitCode, `${dir}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(errorLines(r.stderr)).toHaveLength(1); // once, not per item
      expect(r.stdout.length).toBe(0);
      expect(r.stderr).not.toContain(WORKER_STARTED);
    }
    expect(treeHash(sb.root)).toBe(before);
  });

  it('an --out-dir that is a file is E_PATH_NOT_FILE, exit 2, up front', async () => {
    fs.writeFileSync(at('in.txt'), 'One.\n');
    fs.writeFileSync(at('afile'), 'x');
    const r = await runCli(['batch', 'in.txt', '-d', 'afile'], { cwd: sb.work });
    expect(r.exitCode).toBe(2);
    expect(errorLines(r.stderr)).toEqual(['tts: E_PATH_NOT_FILE: --out-dir "afile" is not a directory.']);
    const below = await runCli(['batch', 'in.txt', '-d', 'afile/sub'], { cwd: sb.work });
    expect(below.exitCode).toBe(2);
    expect(errorLines(below.stderr)).toEqual(['tts: E_PATH_NOT_FILE: --out-dir "afile/sub": "afile" is not a directory.']);
  });
});
