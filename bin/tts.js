#!/usr/bin/env node
// Thin shim: all logic lives in src/ (compiled to dist/).
import { run } from '../dist/cli.js';

process.exitCode = await run(process.argv);
