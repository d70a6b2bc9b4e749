// Run the worker's pytest suite with the project's venv interpreter, installing pytest there if it is missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const python = path.join(root, '.venv', 'bin', 'python');
if (!existsSync(python)) {
  console.error('tests: the Python environment is missing; run `npm run setup` first.');
  process.exit(3);
}
const has = spawnSync(python, ['-c', 'import pytest'], { stdio: 'ignore' });
if (has.status !== 0) {
  const pip = spawnSync(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-r', path.join(root, 'python', 'requirements-dev.txt')], { stdio: ['ignore', 2, 2] });
  if (pip.status !== 0) process.exit(pip.status ?? 1);
}
const r = spawnSync(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', ...process.argv.slice(2)], { cwd: path.join(root, 'python'), stdio: 'inherit' });
process.exit(r.status ?? 1);
