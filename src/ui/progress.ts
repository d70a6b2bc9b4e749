// Progress text for the spinner line: count, a bar, percentage and ETA. Shown only where the spinner is
// (an interactive stderr, not --quiet); plain ASCII, so NO_COLOR and dumb terminals read it the same.

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * `label 12/50 [#####.....] 24% ETA 0:42`. `fraction` is the share of the work done (by items, or by characters
 * for long text, which predicts time better than a count of sentences of different lengths).
 */
export function progressLine(label: string, count: string, fraction: number, startedMs: number, width = 20): string {
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(f * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const elapsed = (performance.now() - startedMs) / 1000;
  const eta = f > 0.001 && elapsed > 1 ? ` ETA ${clock((elapsed / f) * (1 - f))}` : '';
  return `${label} ${count} ${bar} ${Math.floor(f * 100)}%${eta}`;
}
