import { describe, expect, it } from 'vitest';
import { protectText } from '../../src/cli.js';

const M = '\u0000';

describe('protectText: which arguments starting with - are text', () => {
  it('marks text with spaces and negative numbers, not options', () => {
    expect(protectText(['-5 degrees', '-o', 'x.wav'])).toEqual([`${M}-5 degrees`, '-o', 'x.wav']);
    expect(protectText(['-5', '-o', 'x.wav'])).toEqual([`${M}-5`, '-o', 'x.wav']);
    expect(protectText(['--help me'])).toEqual([`${M}--help me`]);
    expect(protectText(['--force', '-q', 'hi'])).toEqual(['--force', '-q', 'hi']);
  });
  it('does not take option-like words for numbers', () => {
    expect(protectText(['-5x', '-o', 'x.wav'])).toEqual(['-5x', '-o', 'x.wav']);
    expect(protectText(['-2.5', '-10%'])).toEqual([`${M}-2.5`, `${M}-10%`]);
  });
  it('refuses an option given twice instead of letting the last one win', () => {
    expect(() => protectText(['hi', '-o', 'a.wav', '--output', 'b.wav'])).toThrow(/--output is given more than once/);
    expect(() => protectText(['hi', '--output=a.wav', '-o', 'b.wav'])).toThrow(/--output is given more than once/);
  });
  it('keeps option values as they are', () => {
    expect(protectText(['-o', '-5 x.wav', 'hi'])).toEqual(['-o', '-5 x.wav', 'hi']);
  });
  it('after --, everything is text except this command\'s own options', () => {
    expect(protectText(['--', '-5 degrees outside', '-o', 'neg.wav'])).toEqual([`${M}-5 degrees outside`, '-o', 'neg.wav']);
    expect(protectText(['--', '-x', '--foo', 'doctor'])).toEqual([`${M}-x`, `${M}--foo`, `${M}doctor`]);
    expect(protectText(['-o', 'a.wav', '--', '--help'])).toEqual(['-o', 'a.wav', `${M}--help`]);
  });
  it('leaves subcommand arguments alone', () => {
    expect(protectText(['setup', '--force'])).toEqual(['setup', '--force']);
  });
});

describe('options given twice', () => {
  it('are refused for flags and for subcommand options too', () => {
    expect(() => protectText(['--force', 'x', '--force', '-o', 'a.wav'])).toThrow(/--force is given more than once/);
    expect(() => protectText(['-q', 'x', '--quiet'])).toThrow(/--quiet is given more than once/);
    expect(() => protectText(['batch', 'f.txt', '-d', 'a', '--out-dir', 'b'])).toThrow(/--out-dir is given more than once/);
    expect(() => protectText(['batch', 'f.txt', '--name', '{n}.wav', '--name={n}.mp3'])).toThrow(/--name is given more than once/);
    // Repeatable options, values that look like options, and text after -- are not repeats.
    expect(protectText(['batch', 'f.txt', '--base-dir', 'a', '--base-dir', 'b'])).toHaveLength(6);
    expect(protectText(['batch', 'f.txt', '--name', '-{n}.wav', '-d', 'x'])).toHaveLength(6);
    expect(protectText(['batch', '--', '-d', '-d'])).toHaveLength(4);
  });
});
