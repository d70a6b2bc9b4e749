import { describe, expect, it } from 'vitest';
import { checkText, invalidUtf8Offset, normalizeText } from '../../src/text.js';
import { TtsError } from '../../src/errors.js';

const code = (fn: () => unknown) => {
  try {
    fn();
    return 'OK';
  } catch (e) {
    return (e as TtsError).code;
  }
};

describe('text rules', () => {
  it('finds the first invalid UTF-8 byte', () => {
    expect(invalidUtf8Offset(Buffer.from('héllo 😀', 'utf8'))).toBe(-1);
    expect(invalidUtf8Offset(Buffer.from([0x61, 0x62, 0xff]))).toBe(2);
    expect(invalidUtf8Offset(Buffer.from([0x61, 0xc3]))).toBe(1); // truncated sequence
    expect(invalidUtf8Offset(Buffer.from([0xc0, 0x80]))).toBe(0); // overlong NUL
    expect(invalidUtf8Offset(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // surrogate
    expect(invalidUtf8Offset(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // > U+10FFFF
  });

  it('normalizes: BOM, CRLF and lone CR, NFC, invisible characters, emoji; keeps ZWJ and ZWNJ in words', () => {
    expect(normalizeText('\ufeffa\r\nb\rc')).toBe('a\nb\nc');
    expect(normalizeText('cafe\u0301')).toBe('café');
    expect(normalizeText('soft\u00adhy\u200bphen')).toBe('softhyphen');
    expect(normalizeText('می\u200cخواهم')).toBe('می\u200cخواهم'); // ZWNJ in Persian spelling
    expect(normalizeText('क्\u200dष')).toBe('क्\u200dष'); // ZWJ in Devanagari
    expect(normalizeText('a👩\u200d💻b 😀 👍🏽 🇺🇸 I ❤️ NY')).toBe('a b        I   NY'); // emoji, whole sequences (a flag is two symbols)
    expect(normalizeText('1\ufe0f\u20e3 © ™ ☃')).toBe('1 © ™ ☃'); // keycap marks dropped; text symbols stay
    expect(normalizeText('x\u001b[31mred\u0007\ttab')).toBe('x [31mred \ttab');
  });

  it('counts the limit in code points, not UTF-16 units or bytes', () => {
    expect(code(() => checkText('𐐀'.repeat(10), 10, 'x'))).toBe('OK');
    expect(code(() => checkText('𐐀'.repeat(11), 10, 'x'))).toBe('E_TEXT_TOO_LONG');
    expect(code(() => checkText('a'.repeat(10_000), 10_000, 'x'))).toBe('OK');
    expect(code(() => checkText('a'.repeat(10_001), 10_000, 'x'))).toBe('E_TEXT_TOO_LONG');
  });

  it('accepts ordinary text with symbols and refuses text with nothing to speak', () => {
    for (const t of ['Tom & Jerry; $5 <b>', '-5', '10%', 'What\'s up? `rm -rf` $(id); done', '你好', 'שלום']) {
      expect(code(() => checkText(t, 10_000, 'x'))).toBe('OK');
    }
    for (const t of ['', '   ', '......', '\n\t', '?!', '\u200b']) expect(code(() => checkText(t, 10_000, 'x'))).toBe('E_TEXT_EMPTY');
    expect(code(() => checkText('a\u0000b', 10_000, 'x'))).toBe('E_TEXT_ENCODING');
  });
});
