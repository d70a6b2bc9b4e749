// Starting a worker with a model loaded: shared by `tts [text]` and `tts batch`.
import fs from 'node:fs';
import { TtsError, show } from '../errors.js';
import { catalogModelDir, type ModelSpec } from '../models.js';
import { modelsHome } from '../paths.js';
import { logState, verbose } from '../ui/log.js';
import type { WorkerClient } from '../worker/client.js';
import type { Ready } from '../worker/protocol.js';

export interface EngineOptions {
  offline: boolean;
  acceptModelLicense: boolean;
  timeout: number;
  loadTimeout: number;
  maxMemory: number;
  threads?: number;
  /** Requests this worker will serve (sentences, batch items); Infinity for --lines. Scales the CPU-time limit. */
  requests?: number;
}

export function modelNeedsNetwork(spec: ModelSpec): boolean {
  if (spec.kind !== 'catalog') return false;
  if ('repo_id' in spec.item) return true;
  return !fs.existsSync(`${catalogModelDir(modelsHome(), spec.model)}/config.json`);
}

/** Everything about a model that can be refused without starting Python. */
export function checkModelUsable(spec: ModelSpec, opts: EngineOptions): { needsNetwork: boolean } {
  const needsNetwork = modelNeedsNetwork(spec);
  if (needsNetwork && opts.offline) {
    throw new TtsError('E_MODEL_DOWNLOAD', `Model ${show(spec.model)} is not downloaded, and --offline forbids downloading it.`, {
      hint: 'Run once without --offline on a machine with network access, or pass a local model folder with -m ./folder.',
    });
  }
  if (spec.kind === 'catalog' && spec.item.tos_required && !opts.acceptModelLicense) {
    throw new TtsError('E_MODEL_LICENSE', `Model ${show(spec.model)} requires accepting its licence (${String(spec.item.license ?? 'see the model card')}).`, {
      hint: 'Pass --accept-model-license if you agree to it.',
    });
  }
  return { needsNetwork };
}

export interface Session {
  worker: WorkerClient;
  ready: Ready;
}

/** Spawn a worker (interpreter and environment checked) and load `spec` into it. */
export async function openSession(spec: ModelSpec, opts: EngineOptions): Promise<Session> {
  const { needsNetwork } = checkModelUsable(spec, opts);
  const { resolveInterpreter, workerEnv, ensureDataDirs } = await import('../worker/python.js');
  const { WorkerClient } = await import('../worker/client.js');
  const interpreter = resolveInterpreter();
  ensureDataDirs();
  verbose(`worker: starting ${interpreter.path} -I -m tts_worker`);
  const worker = await WorkerClient.start({
    interpreter,
    env: workerEnv({
      allowNetwork: needsNetwork,
      acceptLicense: opts.acceptModelLicense,
      threads: opts.threads,
      verbose: logState.verbose || logState.debug,
      memoryMb: opts.maxMemory,
      cpuSeconds: Math.min(2 ** 31 - 1, Math.ceil((opts.loadTimeout + opts.timeout * Math.max(1, opts.requests ?? 1)) * (opts.threads ?? 4)) + 60),
    }),
    onStderr: logState.verbose || logState.debug ? (c) => process.stderr.write(c) : undefined,
  });
  try {
    const ready = await worker.load(
      { engine: spec.engine, kind: spec.kind, model: spec.model, allow_download: needsNetwork, accept_license: opts.acceptModelLicense },
      opts.loadTimeout * 1000,
    );
    verbose(`worker ${worker.pid}: ${ready.engine} ${ready.model} loaded in ${ready.load_ms} ms, ${ready.sample_rate} Hz`);
    return { worker, ready };
  } catch (err) {
    await worker.close();
    throw err;
  }
}
