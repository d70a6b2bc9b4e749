// Reliability figures (SECURITY.md): printed by the test that measures them, and collected in
// test/.cache/figures.txt so that CI can show them together at the end of the run.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './paths.js';

export const FIGURES_FILE = path.join(ROOT, 'test', '.cache', 'figures.txt');

export function figure(line: string): void {
  console.log(line);
  fs.mkdirSync(path.dirname(FIGURES_FILE), { recursive: true });
  fs.appendFileSync(FIGURES_FILE, `${line}\n`);
}
