// A spinner on stderr, only when stderr is an interactive terminal and output is not quiet.
import { colorOn, logState } from './log.js';

export interface Spinner {
  text(t: string): void;
  stop(): void;
}

const NONE: Spinner = { text: () => {}, stop: () => {} };

export function startSpinner(text: string): Spinner {
  // A terminal that reports 0 columns (e.g. under `script` without a real terminal) sends ora into an endless
  // line-clearing loop: no spinner there.
  if (logState.quiet || !process.stderr.isTTY || !(process.stderr.columns > 0) || process.env.TERM === 'dumb' || 'CI' in process.env) return NONE;
  let ora: typeof import('ora').default | undefined;
  let instance: ReturnType<typeof import('ora').default> | undefined;
  let stopped = false;
  let pending = text;
  // ora is loaded lazily so that --help and errors never pay for it.
  void import('ora').then((m) => {
    ora = m.default;
    if (stopped) return;
    // discardStdin: false keeps the terminal out of raw mode, so Ctrl-C behaves the same with or without a spinner.
    instance = ora({ text: pending, stream: process.stderr, discardStdin: false, color: colorOn() ? 'cyan' : false as never }).start();
  });
  return {
    text(t) {
      pending = t;
      if (instance) instance.text = t;
    },
    stop() {
      stopped = true;
      instance?.stop();
      void ora;
    },
  };
}
