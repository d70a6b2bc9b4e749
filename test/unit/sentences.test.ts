import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_MAX_SENTENCE, lineItems, paragraphItems, sentences, splitSentences, type Sentence } from '../../src/sentences.js';

const texts = (text: string, maxLen?: number): string[] => [...sentences(text, maxLen)].map((s) => s.text);
const cps = (s: string): number => [...s].length;
const nonSpace = (s: string): string => s.replace(/\s/g, '');

/** Greedy word wrap at `width` columns, as an editor's hard wrap would do it. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}

describe('sentence boundaries (rule 3)', () => {
  const cases: [string, string[]][] = [
    ['Dr. Smith went to Washington. He arrived at 3.30 p.m. on Monday.', ['Dr. Smith went to Washington.', 'He arrived at 3.30 p.m. on Monday.']],
    ["It costs $4.99. That's cheap!", ['It costs $4.99.', "That's cheap!"]],
    ['"Stop!" she said. Then she left.', ['"Stop!" she said.', 'Then she left.']],
    ['I saw them. They saw me.', ['I saw them.', 'They saw me.']],
    ['See https://example.com/a.b for details. Next.', ['See https://example.com/a.b for details.', 'Next.']],
    ['J. R. R. Tolkien wrote it.', ['J. R. R. Tolkien wrote it.']],
    // Chosen: an ellipsis before a lowercase word is a pause inside the sentence, like any terminator before lowercase.
    ['Wait... what? Yes.', ['Wait... what?', 'Yes.']],
    ['Wait… What? Yes.', ['Wait…', 'What?', 'Yes.']],
    ['Wait... What? Yes.', ['Wait...', 'What?', 'Yes.']],
    ['你好。世界！', ['你好。', '世界！']],
    ['他说：“好。”然后走了。', ['他说：“好。”', '然后走了。']],
    ['本当？はい！', ['本当？', 'はい！']],
    ['Pi is 3.14, and 1,000.5 is more. Version v2.0.1 is out.', ['Pi is 3.14, and 1,000.5 is more.', 'Version v2.0.1 is out.']],
    ['Mail a.b@c.org or read notes.txt now. Done.', ['Mail a.b@c.org or read notes.txt now.', 'Done.']],
    ['See example.com. It works.', ['See example.com.', 'It works.']],
    ['He met Mr. Jones and Mrs. Smith. They talked.', ['He met Mr. Jones and Mrs. Smith.', 'They talked.']],
    ['Ms. Lee met Prof. Chen and Sr. Ruiz, Jr. Lopez too. Fine.', ['Ms. Lee met Prof. Chen and Sr. Ruiz, Jr. Lopez too.', 'Fine.']],
    ["They met at St. Mary's near Mt. Fuji. Then rain.", ["They met at St. Mary's near Mt. Fuji.", 'Then rain.']],
    ['Ali vs. Frazier was cf. Table one. Over.', ['Ali vs. Frazier was cf. Table one.', 'Over.']],
    ['Fruit, e.g. Apples, i.e. Things. Yes.', ['Fruit, e.g. Apples, i.e. Things.', 'Yes.']],
    ['It was approx. 5 km, see Fig. 3, Vol. 2, Ch. 4. Done.', ['It was approx. 5 km, see Fig. 3, Vol. 2, Ch. 4.', 'Done.']],
    ['Ask for no. 5 please. No. I will not.', ['Ask for no. 5 please.', 'No.', 'I will not.']],
    ['From Jan. To Feb. Mar. Apr. Jun. Jul. Aug. Sep. Sept. Oct. Nov. Dec. End. Yes.', ['From Jan. To Feb. Mar. Apr. Jun. Jul. Aug. Sep. Sept. Oct. Nov. Dec. End.', 'Yes.']],
    ['Acme Inc. Makes tools with Foo Ltd. And Bar Co. And Baz Corp. Really.', ['Acme Inc. Makes tools with Foo Ltd. And Bar Co. And Baz Corp. Really.']],
    ['DR. WHO and mr. Bean. Ok.', ['DR. WHO and mr. Bean.', 'Ok.']],
    ['He served in the U.S. Army. Then he left.', ['He served in the U.S. Army.', 'Then he left.']],
    // Chosen: `etc.` is an ordinary word, so it ends a sentence before a capital and not before lowercase.
    ['We bought apples, pears, etc. Then we left.', ['We bought apples, pears, etc.', 'Then we left.']],
    ['We bought apples, pears, etc. and went home.', ['We bought apples, pears, etc. and went home.']],
    // A lone `I` is the pronoun, not an initial; lowercase dotted abbreviations like p.m. are not initials.
    ['So did I. Then we left.', ['So did I.', 'Then we left.']],
    ['At 3 p.m. The bus came.', ['At 3 p.m.', 'The bus came.']],
    ['He said "Go." Then he went.', ['He said "Go."', 'Then he went.']],
    ["She said 'no.' Then she went.", ["She said 'no.'", 'Then she went.']],
    ['He said “Go.” Then he went.', ['He said “Go.”', 'Then he went.']],
    ['(It was late.) We left. [Really!] Yes.', ['(It was late.)', 'We left.', '[Really!]', 'Yes.']],
    ['«Non!» Il est parti.', ['«Non!»', 'Il est parti.']],
    ['Really?! Yes!! No.', ['Really?!', 'Yes!!', 'No.']],
    ['"Hi!" she said. "Bye!" He left.', ['"Hi!" she said.', '"Bye!"', 'He left.']],
    ['It ends here.Next one', ['It ends here.Next one']],
    ['Chapter 12. 13 more to go.', ['Chapter 12.', '13 more to go.']],
    ['Spaces   and\ttabs \t collapse.   Fine.  ', ['Spaces and tabs collapse.', 'Fine.']],
    ['  ...  ', ['...']],
    ['No terminator at all', ['No terminator at all']],
  ];
  it.each(cases)('%j', (input, expected) => {
    expect(texts(input)).toEqual(expected);
    expect(splitSentences(input)).toEqual(expected);
  });

  it('drops empty and whitespace-only input', () => {
    expect(texts('')).toEqual([]);
    expect(texts('   \n\n  \t\n\n')).toEqual([]);
    expect(texts('\ufeff')).toEqual([]);
    expect(splitSentences('')).toEqual([]);
  });
});

describe('line ends, BOM and paragraphs (rules 0 and 1)', () => {
  const lf = 'First one. Second one.\nThird line\n\nNew paragraph here.\n  \t \n\n\nLast.\n';
  it.each([
    ['CRLF', lf.replace(/\n/g, '\r\n')],
    ['lone CR', lf.replace(/\n/g, '\r')],
    ['BOM + LF', `\ufeff${lf}`],
    ['BOM + CRLF', `\ufeff${lf.replace(/\n/g, '\r\n')}`],
  ])('%s gives the same result as LF', (_name, variant) => {
    expect([...sentences(variant)]).toEqual([...sentences(lf)]);
    expect(lineItems(variant)).toEqual(lineItems(lf));
    expect(paragraphItems(variant)).toEqual(paragraphItems(lf));
    expect(splitSentences(variant)).toEqual(splitSentences(lf));
  });

  it('marks the last sentence of each blank-line separated paragraph', () => {
    const expected: Sentence[] = [
      { text: 'First one.', paragraphEnd: false },
      { text: 'Second one.', paragraphEnd: false },
      { text: 'Third line', paragraphEnd: true },
      { text: 'New paragraph here.', paragraphEnd: true },
      { text: 'Last.', paragraphEnd: true },
    ];
    expect([...sentences(lf)]).toEqual(expected);
  });

  it('keeps a BOM only when it is leading, and treats it as whitespace', () => {
    expect(texts('\ufeffHello. World.')).toEqual(['Hello.', 'World.']);
  });
});

describe('re-flow inside a paragraph (rule 2)', () => {
  const prose = [
    'The committee met on a grey morning to discuss the budget for the coming year.',
    'Everyone agreed that the old plan had failed, and that a new approach was needed before the spring.',
    'The chairman, Mr. Holmes, proposed a compromise that nobody liked but everyone accepted in the end.',
    'It was, as one member put it, "the least bad of several bad ideas."',
    'They adjourned at noon and went to lunch at the small cafe on the corner of Elm Street',
  ];

  it('re-flows 70-column hard-wrapped prose into its sentences', () => {
    const wrapped = wrap(prose.join(' '), 70);
    expect(wrapped.split('\n').length).toBeGreaterThan(5);
    expect(Math.max(...wrapped.split('\n').map((l) => l.length))).toBeLessThanOrEqual(70);
    expect(texts(wrapped)).toEqual(prose);
    expect(texts(wrapped + '\n\n' + wrapped)).toEqual([...prose, ...prose]);
    expect(paragraphItems(wrapped)).toEqual([{ line: 1, text: prose.join(' ') }]);
  });

  it('joins a wrapped line that ends in an abbreviation, initials or p.m. (rule 3 decides)', () => {
    const wrapped = [
      'The committee met on a grey morning; the chairman, a certain Mr.',
      'Holmes, proposed a compromise that J. R. R. Tolkien would have liked, at 3',
      'p.m. on the dot. Nobody objected to it at all, not even the treasurer',
      'who objected to everything.',
    ].join('\n');
    expect(texts(wrapped)).toEqual([
      'The committee met on a grey morning; the chairman, a certain Mr. Holmes, proposed a compromise that J. R. R. Tolkien would have liked, at 3 p.m. on the dot.',
      'Nobody objected to it at all, not even the treasurer who objected to everything.',
    ]);
  });

  it('joins when the next line starts lowercase, even for short lines', () => {
    expect(texts('roses are red\nviolets are blue')).toEqual(['roses are red violets are blue']);
    expect(texts('Roses are red\nViolets are blue')).toEqual(['Roses are red', 'Violets are blue']);
  });

  const shortLines: [string, string, string[]][] = [
    ['shopping list', 'Shopping list:\nApples\nPears\nBread\n', ['Shopping list:', 'Apples', 'Pears', 'Bread']],
    ['heading over prose', 'Introduction\nThis paragraph explains what the document is about. It is short.', ['Introduction', 'This paragraph explains what the document is about.', 'It is short.']],
    ['colon before lowercase', 'Note:\nthis line is lowercase', ['Note:', 'this line is lowercase']],
    ['semicolon line end', 'This first line is long enough to count as wrapped prose;\nAnd this one follows', ['This first line is long enough to count as wrapped prose;', 'And this one follows']],
    ['CJK lines', '第一行\n第二行', ['第一行', '第二行']],
  ];
  it.each(shortLines)('keeps line breaks as sentence ends: %s', (_name, input, expected) => {
    const got = [...sentences(input)];
    expect(got.map((s) => s.text)).toEqual(expected);
    expect(got.map((s) => s.paragraphEnd)).toEqual(expected.map((_, i) => i === expected.length - 1));
  });

  it('starts a new sentence at every list marker, even after a long unpunctuated line', () => {
    const list = [
      'We need to buy a few things for the trip to the mountains this weekend',
      '- warm socks and a woolly hat',
      '* a torch',
      '• maps of the area',
      '1. tent',
      '2) stove',
    ].join('\n');
    expect(texts(list)).toEqual(list.split('\n'));
  });

  it('re-flows a wrapped list item, and keeps the marker', () => {
    const list = 'Packing:\n- a long list item that wraps onto\n  the next line of the file\n- short one\n- Another';
    expect(texts(list)).toEqual(['Packing:', '- a long list item that wraps onto the next line of the file', '- short one', '- Another']);
  });
});

describe('long sentences (rule 4)', () => {
  it.each([
    [249, 1],
    [250, 1],
    [251, 2],
    [1000, 4],
  ])('a %i-character token with no break at maxLen 250 is cut into %i pieces', (n, count) => {
    const input = 'x'.repeat(n);
    const pieces = texts(input, 250);
    expect(pieces).toHaveLength(count);
    for (const p of pieces) expect(cps(p)).toBeLessThanOrEqual(250);
    expect(pieces.join('')).toBe(input);
  });

  it.each([249, 250, 251, 1000])('%i characters of words split at spaces, never inside a word, at maxLen 250', (n) => {
    const input = 'abcd '.repeat(n).slice(0, n).trim().replace(/ [a-z]{1,3}$/, '');
    const pieces = texts(input, 250);
    for (const p of pieces) {
      expect(cps(p)).toBeLessThanOrEqual(250);
      expect(p).toMatch(/^abcd( abcd)*$/);
    }
    expect(pieces.join(' ')).toBe(input);
  });

  it('counts code points, not UTF-16 units', () => {
    const pieces = texts('😀'.repeat(251), 250);
    expect(pieces.map(cps)).toEqual([250, 1]);
    expect(pieces[0]).toHaveLength(500);
    expect(texts('😀'.repeat(250), 250)).toEqual(['😀'.repeat(250)]);
  });

  it('splits a 45-word comma chain at maxLen 100 at commas, as late as possible', () => {
    const words = Array.from({ length: 45 }, (_, i) => `word${i + 1}`);
    const input = words.join(', ') + '.';
    const pieces = texts(input, 100);
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.join(' ')).toBe(input);
    pieces.forEach((p, i) => {
      expect(cps(p)).toBeLessThanOrEqual(100);
      if (i < pieces.length - 1) {
        expect(p.endsWith(',')).toBe(true);
        const nextWord = pieces[i + 1]!.split(' ')[0]!;
        expect(cps(`${p} ${nextWord}`)).toBeGreaterThan(100); // the next clause would not have fit
      }
    });
  });

  it('prefers ; over : over , over dashes', () => {
    const s = 'alpha beta gamma delta, epsilon zeta: eta theta; iota kappa, lambda mu, nu xi omicron pi rho sigma tau';
    expect(texts(s, 60)[0]).toBe('alpha beta gamma delta, epsilon zeta: eta theta;');
    const c = 'alpha beta gamma delta, epsilon zeta: eta theta iota kappa, lambda mu nu xi omicron pi rho sigma tau';
    expect(texts(c, 60)[0]).toBe('alpha beta gamma delta, epsilon zeta:');
    const d = 'alpha beta gamma delta epsilon zeta — eta theta iota kappa lambda mu nu xi omicron pi rho';
    expect(texts(d, 60)).toEqual(['alpha beta gamma delta epsilon zeta —', 'eta theta iota kappa lambda mu nu xi omicron pi rho']);
    const e = 'alpha beta gamma delta epsilon zeta – eta theta iota kappa lambda mu nu xi omicron pi rho';
    expect(texts(e, 60)[0]).toBe('alpha beta gamma delta epsilon zeta –');
  });

  it('ignores a clause boundary in the first third, and commas inside numbers', () => {
    const s = 'Yes; the committee agreed to spend 1,000,000 dollars on the new bridge over the river, then left';
    const pieces = texts(s, 90);
    expect(pieces[0]).toBe('Yes; the committee agreed to spend 1,000,000 dollars on the new bridge over the river,');
    const n = 'We counted 1,000,000,000,000,000,000 grains of sand on the beach and then we counted more';
    expect(texts(n, 40).every((p) => !/,$/.test(p))).toBe(true);
  });

  it('splits CJK text at CJK commas', () => {
    const s = '这是一个非常非常很长的句子，' + '很'.repeat(20) + '长的句子，' + '非常'.repeat(10) + '长。';
    const pieces = texts(s, 30);
    for (const p of pieces) expect(cps(p)).toBeLessThanOrEqual(30);
    expect(pieces[0]!.endsWith('，')).toBe(true);
    expect(pieces.join('')).toBe(s);
  });

  it('uses DEFAULT_MAX_SENTENCE = 400 by default', () => {
    expect(DEFAULT_MAX_SENTENCE).toBe(400);
    const long = 'word '.repeat(300).trim();
    const pieces = texts(long);
    expect(pieces.length).toBe(4);
    for (const p of pieces) expect(cps(p)).toBeLessThanOrEqual(400);
    expect(splitSentences(long, 2000)).toEqual([long]);
  });

  it('rejects a maxLen that is not a positive integer', () => {
    expect(() => splitSentences('Hi.', 0)).toThrow(RangeError);
    expect(() => [...sentences('Hi.', 2.5)]).toThrow(RangeError);
  });

  const token = fc.oneof(
    fc.constantFrom('the', 'Cat', 'sat', 'Mr.', 'e.g.', 'U.S.', '3.14', 'etc.', 'notes.txt', 'https://a.b/c.d', 'I'),
    fc.constantFrom('.', '!', '?', '…', '...', ',', ';', ':', ' — ', ' – ', '"', '”', ')', '。', '！', '，', '- ', '1. '),
    fc.constantFrom(' ', '  ', '\t', '\n', '\n\n', '\r\n', '\r', ' \n \n'),
    fc.constantFrom('😀', '𝒳', '👩\u200d💻', '你好', 'é'),
    fc.string({ minLength: 1, maxLength: 12 }),
    fc.stringMatching(/^[a-zA-Z]{20,300}$/),
  );
  const text = fc.array(token, { maxLength: 80 }).map((parts) => parts.join(''));

  it('property: every piece is within maxLen, trimmed and single-line, and no non-space character is lost', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 120 }), (input, maxLen) => {
        const got = [...sentences(input, maxLen)];
        for (const s of got) {
          expect(s.text.length).toBeGreaterThan(0);
          expect(cps(s.text)).toBeLessThanOrEqual(maxLen);
          expect(s.text).toBe(s.text.trim());
          expect(s.text).not.toMatch(/[\n\r]|[ \t]{2}/);
        }
        expect(nonSpace(got.map((s) => s.text).join(''))).toBe(nonSpace(input));
        expect(got.filter((s) => s.paragraphEnd)).toHaveLength(paragraphItems(input).length);
        if (got.length > 0) expect(got[got.length - 1]!.paragraphEnd).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('property: CRLF and lone CR inputs give the same sentences as LF', () => {
    fc.assert(
      fc.property(text, (input) => {
        const lf = input.replace(/\r\n?/g, '\n');
        const want = [...sentences(lf, 50)];
        expect([...sentences(lf.replace(/\n/g, '\r\n'), 50)]).toEqual(want);
        expect([...sentences(lf.replace(/\n/g, '\r'), 50)]).toEqual(want);
        expect(lineItems(lf.replace(/\n/g, '\r'))).toEqual(lineItems(lf));
      }),
      { numRuns: 300 },
    );
  });
});

describe('batch items (rule 5)', () => {
  it('lineItems: one trimmed item per non-blank line, numbered by physical line', () => {
    const input = 'first\n\n  second  \n\t \n# not a comment here\n\nlast';
    const want = [
      { line: 1, text: 'first' },
      { line: 3, text: 'second' },
      { line: 5, text: '# not a comment here' },
      { line: 7, text: 'last' },
    ];
    expect(lineItems(input)).toEqual(want);
    expect(lineItems(input + '\n')).toEqual(want);
    expect(lineItems(input.replace(/\n/g, '\r\n'))).toEqual(want);
    expect(lineItems(input.replace(/\n/g, '\r'))).toEqual(want);
    expect(lineItems('\ufeff' + input.replace(/\n/g, '\r\n'))).toEqual(want);
    expect(lineItems('')).toEqual([]);
    expect(lineItems('\n\n \n')).toEqual([]);
  });

  it('lineItems: a line with several sentences stays one item', () => {
    expect(lineItems('One. Two. Three.')).toEqual([{ line: 1, text: 'One. Two. Three.' }]);
  });

  it('paragraphItems: one item per paragraph, numbered by its first line, wrapped lines re-flowed', () => {
    const input = [
      '',
      'Title',
      '',
      'The first paragraph is hard wrapped at a narrow width so that',
      'it spans two lines.',
      '',
      ' \t',
      '',
      'Shopping list:',
      'Apples',
      'Pears  and   plums',
      '',
    ].join('\n');
    const want = [
      { line: 2, text: 'Title' },
      { line: 4, text: 'The first paragraph is hard wrapped at a narrow width so that it spans two lines.' },
      { line: 9, text: 'Shopping list:\nApples\nPears and plums' },
    ];
    expect(paragraphItems(input)).toEqual(want);
    expect(paragraphItems(input.replace(/\n/g, '\r\n'))).toEqual(want);
    expect(paragraphItems(input.replace(/\n/g, '\r'))).toEqual(want);
    expect(paragraphItems('   \n\n')).toEqual([]);
  });

  it('lineItems with comments: lines starting with # (after blanks) are skipped; numbering is unchanged', () => {
    const input = '# heading\nOne.\n  # indented comment\nTwo # not a comment.\n#\n';
    expect(lineItems(input, { comments: true })).toEqual([
      { line: 2, text: 'One.' },
      { line: 4, text: 'Two # not a comment.' },
    ]);
    expect(lineItems(input)).toHaveLength(5);
  });

  it('paragraphItems with comments: comment lines are dropped inside paragraphs, comment-only paragraphs skipped', () => {
    const input = [
      '# Title comment', // 1
      'Para one is here.',
      '',
      '# only a comment', // 4
      '  # and another',
      '',
      'Para two is wrapped,', // 7
      '# an aside between wrapped lines',
      'so it re-flows around the comment.',
      '#',
      '',
      'Heading', // 12
      '# note',
      'Body line.',
    ].join('\n');
    const want = [
      { line: 2, text: 'Para one is here.' },
      { line: 7, text: 'Para two is wrapped, so it re-flows around the comment.' },
      { line: 12, text: 'Heading\nBody line.' },
    ];
    expect(paragraphItems(input, { comments: true })).toEqual(want);
    expect(paragraphItems(input.replace(/\n/g, '\r\n'), { comments: true })).toEqual(want);
    // Without comments (--no-comments), the # lines are text like any other.
    expect(paragraphItems(input).map((p) => p.line)).toEqual([1, 4, 7, 12]);
    expect(paragraphItems(input)[0]!.text).toBe('# Title comment\nPara one is here.');
    expect(paragraphItems('# a\n# b\n\n#c', { comments: true })).toEqual([]);
  });
});

describe('streaming (rule 6)', () => {
  const sentence = (i: number) =>
    `Sentence number ${i} is here, and it talks at some length about the weather on the rocky coast in May.`;

  function bigText(): { text: string; count: number; paragraphs: number } {
    const paras: string[] = [];
    const perPara = 10;
    const count = 20_000;
    for (let p = 0; p < count / perPara; p++) {
      const body = Array.from({ length: perPara }, (_, k) => sentence(p * perPara + k)).join(' ');
      paras.push(wrap(body, 70));
    }
    return { text: paras.join('\n\n'), count, paragraphs: count / perPara };
  }

  it('yields the right number of sentences from 2 MB of wrapped prose', () => {
    const { text, count, paragraphs } = bigText();
    expect(text.length).toBeGreaterThan(2_000_000);
    let n = 0;
    let ends = 0;
    let last: Sentence | undefined;
    for (const s of sentences(text)) {
      n++;
      if (s.paragraphEnd) ends++;
      last = s;
    }
    expect(n).toBe(count);
    expect(ends).toBe(paragraphs);
    expect(last).toEqual({ text: sentence(count - 1), paragraphEnd: true });
  });

  it('yields the right number of sentences from 2 MB in one paragraph, one sentence per line', () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => sentence(i));
    const text = lines.join('\n');
    expect(text.length).toBeGreaterThan(2_000_000);
    let n = 0;
    for (const s of sentences(text)) {
      expect(s.paragraphEnd).toBe(n === 19_999);
      n++;
    }
    expect(n).toBe(20_000);
  });

  it('is a lazy generator: the first sentence comes without consuming the rest', () => {
    const { text } = bigText();
    const gen = sentences(text);
    expect(typeof gen.next).toBe('function');
    expect(gen.next()).toEqual({ done: false, value: { text: sentence(0), paragraphEnd: false } });
    expect(gen.next().value).toEqual({ text: sentence(1), paragraphEnd: false });
    gen.return(undefined);
  });
});
