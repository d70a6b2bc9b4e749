// Text -> the units the CLI synthesizes: sentences (streamed), lines or paragraphs (batch items).
//
// Rules:
//  0. A leading BOM is dropped; CRLF and lone CR count as LF.
//  1. Paragraphs are separated by one or more blank lines (empty or only whitespace). The last sentence of each
//     paragraph has paragraphEnd: true.
//  2. Re-flow inside a paragraph: a line break between two lines becomes a space when the first line is hard-wrapped
//     prose, i.e. the next line starts with a lowercase letter, or the paragraph's longest line is at least 40
//     characters and this line is at least 60% as long as that longest line. Otherwise (short lines, headings,
//     list items) the line break is an implied sentence end (no punctuation is added). A line ending in : or ;
//     (or their CJK forms), and a line followed by a list-marker line (`- `, `* `, `• `, `1. `, `2) `), always ends
//     a sentence. A wrapped line ending in . ! ? … 。！？ is joined too, and rule 3 then decides (so `Mr.` or `p.m.`
//     at the end of a wrapped line does not end the sentence, while `He left.` does).
//  3. A sentence ends after . ! ? … (or ...), optionally followed by closing quotes/brackets (" ' ” ’ » ) ] 」 』 ）),
//     then whitespace; after CJK 。！？ no whitespace is needed. Not an end: a terminator followed by a lowercase
//     letter (`e.g. apples`, `"Hi!" she said`, `Wait... what?`); a dot with no whitespace after it (3.14, v2.0.1,
//     example.com, a.b@c.org, notes.txt); a single dot after a known abbreviation (Mr Mrs Ms Dr Prof Sr Jr St Mt vs
//     e.g i.e cf approx fig vol ch Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Inc Ltd Co Corp, any case;
//     `no.` only before a digit) or after initials (J. R. R. Tolkien, U.S. Army: an uppercase letter, optionally
//     followed by .letter parts; a lone `I` is the pronoun, not an initial). `etc.` is an ordinary word: it ends
//     a sentence before a capitalised word, not before a lowercase one. Punctuation and quotes stay with their
//     sentence; sentences are trimmed, runs of spaces/tabs become one space, empty sentences are dropped.
//  4. A sentence longer than maxLen code points (default 400) is split at the latest clause boundary that keeps
//     the piece within maxLen and not in its first third: ; then : then , then ` — ` / ` – ` (a separator must be
//     followed by whitespace, except the CJK ；：，、), else at the latest space, else (one token longer than maxLen)
//     into maxLen pieces. Every piece is at most maxLen code points; only whitespace is ever dropped.
//  5. lineItems: one item per non-blank line, trimmed; line numbers count every physical line.
//     paragraphItems: one item per paragraph, numbered by its first line; wrapped lines are re-flowed as in rule 2,
//     the remaining line breaks (implied sentence ends) are kept as \n.
//     With { comments: true }, a line whose first non-blank character is `#` is a comment: lineItems skips it;
//     paragraphItems drops it from its paragraph before re-flowing (the lines around it are re-flowed as if it
//     were not there), numbers the paragraph by its first line that is not a comment, and skips a paragraph
//     made only of comments. Comment lines do not separate paragraphs (only blank lines do).
//  6. sentences() is a generator that walks the text paragraph by paragraph; it never holds the whole text's
//     sentences at once.

export interface Sentence {
  text: string;
  paragraphEnd: boolean;
}

export const DEFAULT_MAX_SENTENCE = 400;

const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'vs', 'e.g', 'i.e', 'cf', 'approx', 'fig', 'vol', 'ch',
  'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec', 'inc', 'ltd', 'co', 'corp',
]);

/** Terminator run, then closing quotes/brackets. Group 1 is the terminators. */
const TERMINATOR = /([.!?…。！？]+)["'”’»)\]」』）]*/g;
const CJK_TERMINATOR = /[。！？]$/;
const CLOSERS = `"'”’»)]」』）`;
const LINE_STOPS = ':;：；';
const LIST_MARKER = /^(?:[-*•]|\d+[.)])\s/;
const LOWER = /\p{Ll}/uy;
const LOWER_START = /^\p{Ll}/u;
const DIGIT = /\p{Nd}/uy;
const WHITESPACE = /\s/;
const NON_WHITESPACE = /\S/;
const LEADING_OPENERS = /^[^\p{L}\p{N}]+/u;
const INITIALS = /^\p{Lu}(?:\.\p{L})*$/u;
const SPACES = /[ \t]+/g;

function normalize(text: string): string {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return t.includes('\r') ? t.replace(/\r\n?/g, '\n') : t;
}

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && WHITESPACE.test(ch);
}

/** Length in code points. */
function cpLen(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const p = s.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) n--;
    }
  }
  return n;
}

/** UTF-16 index just after the first `n` code points of `s` (s.length if it has fewer). */
function cpIndex(s: string, n: number): number {
  let i = 0;
  for (let k = 0; k < n && i < s.length; k++) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
  }
  return i;
}

function checkMaxLen(maxLen: number): void {
  if (!Number.isInteger(maxLen) || maxLen < 1) throw new RangeError(`maxLen must be a positive integer, not ${maxLen}`);
}

interface Range {
  start: number;
  end: number;
  line: number;
}

/** Paragraphs of normalized text as [start, end) ranges (no surrounding blank lines), with their first line number. */
function* paragraphRanges(t: string): Generator<Range> {
  let pos = 0;
  let lineNo = 1;
  let start = -1;
  let end = 0;
  let first = 0;
  while (pos <= t.length) {
    let nl = t.indexOf('\n', pos);
    if (nl < 0) nl = t.length;
    if (NON_WHITESPACE.test(t.slice(pos, nl))) {
      if (start < 0) {
        start = pos;
        first = lineNo;
      }
      end = nl;
    } else if (start >= 0) {
      yield { start, end, line: first };
      start = -1;
    }
    lineNo++;
    pos = nl + 1;
  }
  if (start >= 0) yield { start, end, line: first };
}

/** Trimmed lines of t[start, end), without those `skip` rejects. */
function* linesOf(t: string, start: number, end: number, skip?: (line: string) => boolean): Generator<string> {
  let pos = start;
  while (pos <= end) {
    let nl = t.indexOf('\n', pos);
    if (nl < 0 || nl > end) nl = end;
    const line = t.slice(pos, nl).trim();
    if (!skip?.(line)) yield line;
    pos = nl + 1;
  }
}

/** Rule 5: a batch comment line (already trimmed). */
const isComment = (line: string) => line.startsWith('#');

export interface ItemOptions {
  /** Lines starting with `#` are comments and are not spoken (batch default; `--no-comments` turns it off). */
  comments?: boolean;
}

/** Rule 2: does the line break between `line` and `next` become a space? */
function joins(line: string, next: string, longest: number): boolean {
  if (LIST_MARKER.test(next)) return false;
  let k = line.length - 1;
  while (k >= 0 && CLOSERS.includes(line[k]!)) k--;
  if (k >= 0 && LINE_STOPS.includes(line[k]!)) return false;
  return LOWER_START.test(next) || (longest >= 40 && cpLen(line) >= 0.6 * longest);
}

/** Re-flowed blocks of a paragraph: wrapped lines joined with spaces; each block break is an implied sentence end. */
function* blocksOf(t: string, start: number, end: number, skip?: (line: string) => boolean): Generator<string> {
  let longest = 0;
  for (const line of linesOf(t, start, end, skip)) longest = Math.max(longest, cpLen(line));
  let block: string | null = null;
  let prev = '';
  for (const line of linesOf(t, start, end, skip)) {
    if (block === null) block = line;
    else if (prev !== '' && line !== '' && joins(prev, line, longest)) block += ' ' + line;
    else {
      if (block !== '') yield block;
      block = line;
    }
    prev = line;
  }
  if (block) yield block;
}

/** Rule 3: is the terminator match at [i, e) in `s` a sentence end? `j` is the index of the next non-space. */
function isBoundary(s: string, i: number, e: number, j: number, run: string): boolean {
  if (j >= s.length) return true;
  LOWER.lastIndex = j;
  if (LOWER.test(s)) return false;
  if (run !== '.') return true;
  let k = i;
  while (k > 0 && !isSpace(s[k - 1])) k--;
  const token = s.slice(k, i).replace(LEADING_OPENERS, '');
  const lower = token.toLowerCase();
  if (ABBREVIATIONS.has(lower)) return false;
  if (lower === 'no') {
    DIGIT.lastIndex = j;
    return !DIGIT.test(s);
  }
  return token === 'I' || !INITIALS.test(token);
}

/** Rule 3 over one re-flowed block: the raw sentence strings, lazily. */
function* splitBlock(s: string): Generator<string> {
  const re = new RegExp(TERMINATOR.source, 'g');
  let start = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    const i = m.index;
    const e = i + m[0].length;
    const run = m[1]!;
    let j = e;
    while (j < s.length && isSpace(s[j])) j++;
    if (j === e && j < s.length && !CJK_TERMINATOR.test(run)) continue; // no whitespace after: 3.14, a.b, notes.txt
    if (!isBoundary(s, i, e, j, run)) continue;
    yield s.slice(start, e);
    start = j;
    re.lastIndex = j;
  }
  if (start < s.length) yield s.slice(start);
}

interface Separator {
  chars: string;
  /** The separator is ` X ` (space, dash, space): the character before must be whitespace too. */
  spaced: boolean;
}

// Rule 4, in order of preference. ASCII separators must be followed by whitespace; CJK ones need not be.
const SEPARATORS: Separator[] = [
  { chars: ';；', spaced: false },
  { chars: ':：', spaced: false },
  { chars: ',，、', spaced: false },
  { chars: '—–', spaced: true },
];

/** End index (exclusive) of the piece to cut from `s`, whose first maxLen code points end at `w`. */
function cutPoint(s: string, w: number, maxLen: number): number {
  const min = cpIndex(s, Math.floor(maxLen / 3));
  for (const sep of SEPARATORS) {
    for (let k = w - 1; k >= min && k > 0; k--) {
      const c = s[k]!;
      if (!sep.chars.includes(c)) continue;
      const cjk = c.charCodeAt(0) >= 0x3000;
      if (!cjk && k + 1 < s.length && !isSpace(s[k + 1])) continue;
      if (sep.spaced && !isSpace(s[k - 1])) continue;
      return k + 1;
    }
  }
  for (let k = Math.min(w, s.length - 1); k > 0; k--) if (isSpace(s[k])) return k;
  return w;
}

/** Rule 4: a cleaned sentence -> pieces of at most maxLen code points. */
function* splitLong(sentence: string, maxLen: number): Generator<string> {
  let rest = sentence;
  for (;;) {
    const w = rest.length > maxLen ? cpIndex(rest, maxLen) : rest.length; // O(maxLen), not O(rest)
    if (w >= rest.length) break;
    const cut = cutPoint(rest, w, maxLen);
    const piece = rest.slice(0, cut).trimEnd();
    if (piece) yield piece;
    rest = rest.slice(cut).trimStart();
  }
  if (rest) yield rest;
}

/** The sentences of t[start, end) (one paragraph), lazily. */
function* paragraphSentences(t: string, start: number, end: number, maxLen: number): Generator<string> {
  for (const block of blocksOf(t, start, end)) {
    for (const raw of splitBlock(block)) {
      const text = raw.trim().replace(SPACES, ' ');
      if (text) yield* splitLong(text, maxLen);
    }
  }
}

/** Long text -> sentences, lazily (a generator over the string; never builds an array of the whole text's sentences). */
export function* sentences(text: string, maxLen: number = DEFAULT_MAX_SENTENCE): Generator<Sentence> {
  checkMaxLen(maxLen);
  const t = normalize(text);
  for (const p of paragraphRanges(t)) {
    let pending: string | undefined;
    for (const s of paragraphSentences(t, p.start, p.end, maxLen)) {
      if (pending !== undefined) yield { text: pending, paragraphEnd: false };
      pending = s;
    }
    if (pending !== undefined) yield { text: pending, paragraphEnd: true };
  }
}

/** Batch: one item per non-blank line (comment lines skipped with `comments`). `line` is the 1-based line number in the input. */
export function lineItems(text: string, opts: ItemOptions = {}): { line: number; text: string }[] {
  const t = normalize(text);
  const items: { line: number; text: string }[] = [];
  let pos = 0;
  let lineNo = 1;
  while (pos <= t.length) {
    let nl = t.indexOf('\n', pos);
    if (nl < 0) nl = t.length;
    const line = t.slice(pos, nl).trim();
    if (line && !(opts.comments && isComment(line))) items.push({ line: lineNo, text: line });
    lineNo++;
    pos = nl + 1;
  }
  return items;
}

/**
 * Batch: one item per paragraph (blank-line separated); `line` is the paragraph's first line (its first line that
 * is not a comment, with `comments`); hard-wrapped lines re-flowed as in sentences(). With `comments`, comment
 * lines are dropped from the paragraph and a paragraph of comments only is no item.
 */
export function paragraphItems(text: string, opts: ItemOptions = {}): { line: number; text: string }[] {
  const t = normalize(text);
  const skip = opts.comments ? isComment : undefined;
  const items: { line: number; text: string }[] = [];
  for (const p of paragraphRanges(t)) {
    let line = p.line;
    if (skip) {
      // The first line that is not a comment; none: the paragraph is only comments.
      let pos = p.start;
      while (pos <= p.end) {
        let nl = t.indexOf('\n', pos);
        if (nl < 0 || nl > p.end) nl = p.end;
        if (!skip(t.slice(pos, nl).trim())) break;
        line++;
        pos = nl + 1;
      }
      if (pos > p.end) continue;
    }
    const blocks: string[] = [];
    for (const block of blocksOf(t, p.start, p.end, skip)) blocks.push(block.replace(SPACES, ' '));
    items.push({ line, text: blocks.join('\n') });
  }
  return items;
}

/** Split one paragraph (no blank lines) into sentences; used by sentences(). */
export function splitSentences(paragraph: string, maxLen: number = DEFAULT_MAX_SENTENCE): string[] {
  checkMaxLen(maxLen);
  const t = normalize(paragraph);
  return [...paragraphSentences(t, 0, t.length, maxLen)];
}
