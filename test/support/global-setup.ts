// Build the CLI's prerequisites for whole-process tests: the compiled dist/ and the local Coqui model.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { COQUI_FIXTURE, COQUI_FIXTURE_RATE, ROOT, VENV_PYTHON } from './paths.js';
import { FIGURES_FILE } from './figures.js';

export default async function setup(): Promise<void> {
  fs.rmSync(FIGURES_FILE, { force: true }); // this run's figures only
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it for you).');
  }
  if (!fs.existsSync(VENV_PYTHON)) {
    throw new Error('The Python environment is missing: run `npm run setup` first.');
  }
  await execa(VENV_PYTHON, [path.join(ROOT, 'test', 'fixtures', 'make_coqui_model.py'), COQUI_FIXTURE, '--sample-rate', String(COQUI_FIXTURE_RATE)], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { OMP_NUM_THREADS: '1' },
  });
}
