import { describe, expect, it } from 'vitest';
import { checkOutputName, resolveOutput } from '../../src/audio/output-path.js';
import { TtsError } from '../../src/errors.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (err) {
    if (err instanceof TtsError) return err.code;
    throw err;
  }
}

describe('checkOutputName (no file-system access)', () => {
  const table: Array<[string, string]> = [
    ['ok.wav', 'OK'],
    ['ok.WAV', 'OK'],
    ['ok.sh.wav', 'OK'],
    ['ok.mp3', 'OK'],
    ['ok.OGG', 'OK'],
    ['ok.flac', 'OK'],
    ['ok.M4a', 'OK'],
    ['./out.wav', 'OK'],
    ['My Files/out.wav', 'OK'],
    ["it's.wav", 'OK'],
    ['out put/ü.wav', 'OK'],
    ['a//b.wav', 'OK'],
    ['../x.wav', 'E_PATH_TRAVERSAL'],
    ['a/../../x.wav', 'E_PATH_TRAVERSAL'],
    ['ok.wav\u0000.txt', 'E_PATH_INVALID_CHAR'],
    ['ok.wav.sh', 'E_PATH_EXT'],
    ['noext', 'E_PATH_EXT'],
    ['ok.wav.', 'E_PATH_INVALID_NAME'],
    ['ok.wav ', 'E_PATH_INVALID_NAME'],
    ['ok.wav:evil', 'E_PATH_INVALID_CHAR'],
    ['ok.wav::$DATA', 'E_PATH_INVALID_CHAR'],
    ['CON.wav', 'E_PATH_RESERVED'],
    ['nul.wav', 'E_PATH_RESERVED'],
    ['COM1 .wav', 'E_PATH_RESERVED'],
    ['COM¹.wav', 'E_PATH_RESERVED'],
    ['CONOUT$.wav', 'E_PATH_RESERVED'],
    ['..\\..\\x.wav', 'E_PATH_INVALID_CHAR'],
    ['C:x.wav', 'E_PATH_INVALID_CHAR'],
    ['\\\\srv\\s\\x.wav', 'E_PATH_INVALID_CHAR'],
    ['.bashrc.wav', 'E_PATH_INVALID_NAME'],
    ['.hidden/x.wav', 'E_PATH_INVALID_NAME'],
    ['-rf.wav', 'E_PATH_INVALID_NAME'],
    ['sub/--help.wav', 'E_PATH_INVALID_NAME'],
    ['.../x.wav', 'E_PATH_INVALID_NAME'],
    ['....//x.wav', 'E_PATH_INVALID_NAME'],
    [`${'a'.repeat(252)}.wav`, 'E_PATH_TOO_LONG'],
    [`${'a'.repeat(251)}.wav`, 'OK'],
    [Array.from({ length: 60 }, () => 'd'.repeat(80)).join('/') + '/x.wav', 'E_PATH_TOO_LONG'],
    ['a\u202Egnp.wav', 'E_PATH_INVALID_CHAR'],
    ['x\n.wav', 'E_PATH_INVALID_CHAR'],
    ['x\u001b[2J.wav', 'E_PATH_INVALID_CHAR'],
    ['zero\u200bwidth.wav', 'E_PATH_INVALID_CHAR'],
    ['cafe\u0301.wav', 'E_PATH_INVALID_CHAR'],
    ['PROGRA~1.wav', 'E_PATH_INVALID_NAME'],
    ['a"b.wav', 'E_PATH_INVALID_CHAR'],
    ['dir/', 'E_PATH_NOT_FILE'],
  ];
  for (const [input, code] of table) {
    it(`${JSON.stringify(input).slice(0, 60)} -> ${code}`, () => {
      expect(codeOf(() => checkOutputName(input))).toBe(code);
    });
  }

  it('shows rejected names escaped, so terminal escapes cannot ride along', () => {
    try {
      checkOutputName('x\u001b[2J.wav');
    } catch (err) {
      expect((err as Error).message).toContain('\\u001b[2J');
      expect((err as Error).message).not.toContain('\u001b');
    }
  });
});

describe('resolveOutput', () => {
  const base = { real: '/base', dev: 1, ino: 2, display: '.' };
  it('keeps relative paths under the first base (the current directory)', () => {
    const r = resolveOutput('sub/x.wav', [base]);
    expect(r.components).toEqual(['sub', 'x.wav']);
    expect(r.absolute).toBe('/base/sub/x.wav');
  });
  it('accepts an absolute path inside a base and rejects a sibling with a common prefix', () => {
    expect(resolveOutput('/base/in.wav', [base]).components).toEqual(['in.wav']);
    expect(codeOf(() => resolveOutput('/base-other/x.wav', [base]))).toBe('E_PATH_TRAVERSAL');
    expect(codeOf(() => resolveOutput('/etc/cron.d/x.wav', [base]))).toBe('E_PATH_TRAVERSAL');
  });
  it('finds the right one of several bases for an absolute path', () => {
    const other = { real: '/data/out', dev: 1, ino: 3, display: '/data/out' };
    const r = resolveOutput('/data/out/a/b.wav', [base, other]);
    expect(r.base).toBe(other);
    expect(r.components).toEqual(['a', 'b.wav']);
  });
});
