// The adversarial input corpus of the design notes (SECURITY.md, section b), one row per case.
// "Rejected" means: the exit status and code below, no worker started, nothing created or changed in the
// sandbox outside the work directory (the sentinel tree), and nothing new inside it.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, sandbox, treeHash } from '../support/cli.js';
import { figure } from '../support/figures.js';

const WORKER_STARTED = 'worker: starting';

interface Row {
  n: string;
  args: (b: string, o: string, e: string) => string[];
  setup?: (b: string, o: string, e: string) => void;
  input?: string | Buffer;
  code: string;
  exit?: number;
}

let sb: ReturnType<typeof sandbox>;
let E: string;
beforeEach(() => {
  sb = sandbox();
  E = path.join(sb.root, 'attacker');
  fs.mkdirSync(E);
});
afterEach(() => sb.cleanup());

const longPath = Array.from({ length: 60 }, (_, i) => `d${String(i).padStart(2, '0')}${'x'.repeat(80)}`).join('/') + '/x.wav';

const REJECTED: Row[] = [
  { n: '1 classic traversal', args: () => ['-o', '../x.wav'], code: 'E_PATH_TRAVERSAL' },
  { n: '2 traversal after a real component', args: () => ['-o', 'a/../../x.wav'], code: 'E_PATH_TRAVERSAL' },
  { n: '3 absolute path outside', args: () => ['-o', '/etc/cron.d/x.wav'], code: 'E_PATH_TRAVERSAL' },
  { n: '3b absolute path into the sentinel tree', args: (_b, o) => ['-o', path.join(o, 'x.wav')], code: 'E_PATH_TRAVERSAL' },
  { n: '7 wrong final extension', args: () => ['-o', 'ok.wav.sh'], code: 'E_PATH_EXT' },
  { n: '9 trailing dot', args: () => ['-o', 'ok.wav.'], code: 'E_PATH_INVALID_NAME' },
  { n: '9b trailing space', args: () => ['-o', 'ok.wav '], code: 'E_PATH_INVALID_NAME' },
  { n: '10 NTFS stream', args: () => ['-o', 'ok.wav:evil'], code: 'E_PATH_INVALID_CHAR' },
  { n: '10b NTFS $DATA', args: () => ['-o', 'ok.wav::$DATA'], code: 'E_PATH_INVALID_CHAR' },
  { n: '11 CON.wav', args: () => ['-o', 'CON.wav'], code: 'E_PATH_RESERVED' },
  { n: '11b nul.mp3', args: () => ['-o', 'nul.mp3'], code: 'E_PATH_RESERVED' },
  { n: '11c "COM1 .wav"', args: () => ['-o', 'COM1 .wav'], code: 'E_PATH_RESERVED' },
  { n: '11d COM¹.wav', args: () => ['-o', 'COM¹.wav'], code: 'E_PATH_RESERVED' },
  { n: '11e CONOUT$.wav', args: () => ['-o', 'CONOUT$.wav'], code: 'E_PATH_RESERVED' },
  { n: '12 backslash separators', args: () => ['-o', '..\\..\\x.wav'], code: 'E_PATH_INVALID_CHAR' },
  { n: '13 drive-relative', args: () => ['-o', 'C:x.wav'], code: 'E_PATH_INVALID_CHAR' },
  { n: '13b drive-absolute', args: () => ['-o', 'C:\\Windows\\x.wav'], code: 'E_PATH_INVALID_CHAR' },
  { n: '13c UNC', args: () => ['-o', '\\\\srv\\s\\x.wav'], code: 'E_PATH_INVALID_CHAR' },
  { n: '13d verbatim', args: () => ['-o', '\\\\?\\C:\\x.wav'], code: 'E_PATH_INVALID_CHAR' },
  { n: '14 hidden file', args: () => ['-o', '.bashrc.wav'], code: 'E_PATH_INVALID_NAME' },
  { n: '14b hidden directory', args: () => ['-o', '.hidden/x.wav'], code: 'E_PATH_INVALID_NAME' },
  { n: '15 leading dash', args: () => ['-o', '-rf.wav'], code: 'E_PATH_INVALID_NAME' },
  { n: '15b leading dashes in a directory', args: () => ['-o', 'sub/--help.wav'], code: 'E_PATH_INVALID_NAME' },
  { n: '18 dot-collapse', args: () => ['-o', '.../x.wav'], code: 'E_PATH_INVALID_NAME' },
  { n: '18b dot-collapse with //', args: () => ['-o', '....//x.wav'], code: 'E_PATH_INVALID_NAME' },
  { n: '19 256-byte component', args: () => ['-o', `${'a'.repeat(252)}.wav`], code: 'E_PATH_TOO_LONG' },
  { n: '20 5,000-byte path of 60 directories', args: () => ['-o', longPath], code: 'E_PATH_TOO_LONG' },
  { n: '21 bidi override', args: () => ['-o', 'a\u202Egnp.wav'], code: 'E_PATH_INVALID_CHAR' },
  { n: '22 newline in name', args: () => ['-o', 'x\n.wav'], code: 'E_PATH_INVALID_CHAR' },
  { n: '22b terminal escape in name', args: () => ['-o', 'x\u001b[2J.wav'], code: 'E_PATH_INVALID_CHAR' },
  { n: '23 empty output', args: () => ['-o', ''], code: 'E_PATH_INVALID_NAME' },
  { n: '23b "." as output', args: () => ['-o', '.'], code: 'E_PATH_NOT_FILE' },
  { n: '23c directory-style output', args: () => ['-o', 'sub/'], code: 'E_PATH_NOT_FILE' },
  {
    n: '24 leaf symlink to a file outside, with --force',
    setup: (b, o) => fs.symlinkSync(path.join(o, 'sentinel.txt'), path.join(b, 'out.wav')),
    args: () => ['-o', 'out.wav', '--force'],
    code: 'E_PATH_SYMLINK',
  },
  {
    n: '25 dangling leaf symlink into the sentinel tree',
    setup: (b, o) => fs.symlinkSync(path.join(o, 'new.wav'), path.join(b, 'new.wav')),
    args: () => ['-o', 'new.wav'],
    code: 'E_PATH_SYMLINK',
  },
  {
    n: '26 symlinked ancestor pointing at /',
    setup: (b) => {
      fs.mkdirSync(path.join(b, 'a'));
      fs.symlinkSync('/', path.join(b, 'a', 'b'));
    },
    args: () => ['-o', 'a/b/var/x.wav'],
    code: 'E_PATH_SYMLINK',
  },
  {
    n: '28 existing file without --force',
    setup: (b) => fs.writeFileSync(path.join(b, 'out.wav'), 'precious'),
    args: () => ['-o', 'out.wav'],
    code: 'E_PATH_EXISTS',
  },
  { n: '30 directory as target', setup: (b) => fs.mkdirSync(path.join(b, 'd.wav')), args: () => ['-o', 'd.wav'], code: 'E_PATH_NOT_FILE' },
  {
    n: '30b FIFO as target (no hang)',
    setup: (b) => execFileSync('mkfifo', [path.join(b, 'f.wav')]),
    args: () => ['-o', 'f.wav', '--force'],
    code: 'E_PATH_NOT_FILE',
  },
  {
    n: '34 world-writable base',
    setup: (_b, _o, e) => {
      fs.mkdirSync(path.join(e, 'shared'));
      fs.chmodSync(path.join(e, 'shared'), 0o777);
    },
    args: (_b, _o, e) => ['-o', path.join(e, 'shared', 'x.wav'), '--base-dir', path.join(e, 'shared')],
    code: 'E_BASE_INSECURE',
  },
  { n: '36 model path traversal', args: () => ['-m', '../../../../home/x/evil', '-o', 'x.wav'], code: 'E_MODEL_NOT_ALLOWED' },
  {
    n: '36b model folder outside the models directories',
    setup: (_b, _o, e) => {
      fs.mkdirSync(path.join(e, 'evil'));
      fs.writeFileSync(path.join(e, 'evil', 'config.json'), '{}');
      fs.writeFileSync(path.join(e, 'evil', 'model.pth'), 'x');
    },
    args: (_b, _o, e) => ['-m', path.join(e, 'evil'), '-o', 'x.wav'],
    code: 'E_MODEL_NOT_ALLOWED',
  },
  { n: '37 model URL', args: () => ['-m', 'https://evil.example/m.zip', '-o', 'x.wav'], code: 'E_MODEL_NOT_ALLOWED' },
  { n: '37b metadata URL', args: () => ['-m', 'http://169.254.169.254/latest/meta-data/', '-o', 'x.wav'], code: 'E_MODEL_NOT_ALLOWED' },
  { n: '38 option-like model name', args: () => ['-m', '-h', '-o', 'x.wav'], code: 'E_MODEL_UNKNOWN' },
  { n: '38b trailing space', args: () => ['-m', 'en_US-joe-medium ', '-o', 'x.wav'], code: 'E_MODEL_UNKNOWN' },
  { n: '38c other case', args: () => ['-m', 'en_us-joe-medium', '-o', 'x.wav'], code: 'E_MODEL_UNKNOWN' },
  { n: '38d unknown catalog id', args: () => ['-m', 'tts_models/multilingual/multi-dataset/xtts_v3', '-o', 'x.wav'], code: 'E_MODEL_UNKNOWN' },
  { n: '41 10,001 code points', args: () => ['-o', 'x.wav', '--', 'a'.repeat(10_001)], code: 'E_TEXT_TOO_LONG' },
  { n: '44 NUL in text (stdin)', args: () => ['-o', 'x.wav'], input: 'hello\u0000world', code: 'E_TEXT_ENCODING' },
  { n: '44b invalid UTF-8 (stdin)', args: () => ['-o', 'x.wav'], input: Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6f]), code: 'E_TEXT_ENCODING' },
  { n: '44c a lone surrogate, CESU-encoded (stdin)', args: () => ['-o', 'x.wav'], input: Buffer.from([0x61, 0xed, 0xa0, 0x80]), code: 'E_TEXT_ENCODING' },
  {
    n: '45 --file naming a FIFO',
    setup: (b) => execFileSync('mkfifo', [path.join(b, 'in.fifo')]),
    args: () => ['-f', 'in.fifo', '-o', 'x.wav'],
    code: 'E_INPUT_FILE',
  },
  { n: '45b --file /dev/zero', args: () => ['-f', '/dev/zero', '-o', 'x.wav'], code: 'E_INPUT_FILE' },
  { n: '45c --file a directory', args: () => ['-f', '/', '-o', 'x.wav'], code: 'E_INPUT_FILE' },
];

describe('corpus: rejected before any worker starts', () => {
  for (const row of REJECTED) {
    it(`#${row.n} -> ${row.code}`, async () => {
      const b = sb.work;
      row.setup?.(b, sb.outside, E);
      const beforeOutside = treeHash(sb.outside);
      const beforeWork = treeHash(b);
      const beforeE = treeHash(E);
      const args = row.args(b, sb.outside, E);
      const hasText = args.includes('--') || args.includes('-f') || row.input !== undefined;
      const r = await runCli([...(hasText ? [] : ['Hello']), ...args, '--verbose'].filter((a, i, all) => !(a === '--verbose' && all.indexOf('--') !== -1 && i > all.indexOf('--'))), {
        cwd: b,
        input: row.input,
        timeoutMs: 30_000,
      });
      expect(r.exitCode, r.stderr).toBe(row.exit ?? 2);
      expect(r.stderr).toContain(`tts: ${row.code}: `);
      expect(r.stderr).not.toContain(WORKER_STARTED);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u001b]/); // rejected values are printed escaped
      expect(r.stdout.length).toBe(0);
      expect(treeHash(sb.outside)).toBe(beforeOutside);
      expect(treeHash(b)).toBe(beforeWork);
      expect(treeHash(E)).toBe(beforeE);
    });
  }
});

describe('corpus: accepted', () => {
  const ACCEPTED: Array<{ n: string; args: (b: string) => string[]; file: string }> = [
    { n: '4 absolute path inside the base', args: (b) => ['-o', path.join(b, 'ok.wav')], file: 'ok.wav' },
    { n: '6 upper-case extension', args: () => ['-o', 'ok.WAV'], file: 'ok.WAV' },
    { n: '8 double extension', args: () => ['-o', 'ok.sh.wav'], file: 'ok.sh.wav' },
  ];
  for (const row of ACCEPTED) {
    it(`#${row.n}`, async () => {
      const r = await runCli(['Hello', ...row.args(sb.work), '--dry-run'], { cwd: sb.work });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toContain('dry run');
    });
  }

  it('#4/#6/#8 really write, atomically, with the right name', async () => {
    const r = await runCli(['Hello', '-o', 'ok.sh.WAV'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(fs.readdirSync(sb.work)).toEqual(['ok.sh.WAV']);
  });

  it('#35 a catalog id in the catalog passes validation (it then needs a download)', async () => {
    const r = await runCli(['Hello', '-m', 'tts_models/en/ljspeech/tacotron2-DDC', '-o', 'x.wav', '--dry-run'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it('#42/#43/#47 option-looking, shell and markup text is spoken literally', async () => {
    for (const text of ['--model_path ../x', '$(rm -rf ~) `id` "; calc & "', '<speak><audio src="file:///etc/passwd"/></speak>']) {
      const r = await runCli(['-o', 'x.wav', '--dry-run', '--', text], { cwd: sb.work });
      expect(r.exitCode, `${text}: ${r.stderr}`).toBe(0);
    }
  });

  it('#40 exactly 10,000 code points including astral characters passes the limit', async () => {
    const text = '𐐀😀'.repeat(5000);
    expect([...text].length).toBe(10_000);
    const r = await runCli(['-o', 'x.wav', '--dry-run'], { cwd: sb.work, input: text });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('10000 characters');
  });

  it('#33 a base given through a symlink is resolved once, and the file lands in the real directory', async () => {
    const real = path.join(sb.root, 'realbase');
    fs.mkdirSync(real, { mode: 0o700 });
    fs.symlinkSync(real, path.join(sb.root, 'linkbase'));
    const r = await runCli(['Hello', '-o', path.join(sb.root, 'linkbase', 'x.wav'), '--base-dir', path.join(sb.root, 'linkbase')], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(fs.readdirSync(real)).toEqual(['x.wav']);
  });

  it('a sticky world-writable base (like /tmp) is allowed: our placement is safe there', async () => {
    const shared = path.join(sb.root, 'sticky');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o1777);
    const r = await runCli(['Hello', '-o', path.join(shared, 'x.wav'), '--base-dir', shared, '--dry-run'], { cwd: sb.work });
    expect(r.exitCode, r.stderr).toBe(0);
  });
});

describe('corpus: stdin is read with a cap', () => {
  it('#45 an endless stdin with --max-chars 10000: the CLI reads at most 40,003 bytes (the writer also fills one pipe buffer)', async () => {
    const { execa } = await import('execa');
    const { baseEnv } = await import('../support/cli.js');
    const { BIN } = await import('../support/paths.js');
    // A writer that counts how much the CLI accepted before closing the pipe.
    const script = `import sys,os\nn=0\nchunk=b'a'*4096\ntry:\n    while n < 2_000_000_000:\n        os.write(1, chunk); n += 4096\nexcept BrokenPipeError:\n    pass\nsys.stderr.write(str(n))\n`;
    const r = await execa('bash', ['-c', `python3 -c "$SCRIPT" 2>count | node "${BIN}" --max-chars 10000 -o x.wav; echo "status=$?"; cat count`], {
      cwd: sb.work,
      env: { ...baseEnv(`${sb.root}/home`), SCRIPT: script },
      extendEnv: false,
      reject: false,
      timeout: 30_000,
    });
    const status = Number(/status=(\d+)/.exec(r.stdout)![1]);
    const written = Number(r.stdout.split('\n').pop());
    figure(`stdin cap: the writer got ${written} bytes into the pipe before the CLI closed it`);
    expect(status).toBe(2);
    expect(written).toBeLessThanOrEqual(40_003 + 65_536 + 4096);
    expect(fs.readdirSync(sb.work)).toEqual(['count']);
  });
});
