// Output the kubectl way: colour only on a terminal and never with NO_COLOR, tables aligned on
// what is visible, durations as kubectl prints ages, errors as "Error from server (Reason): …".
import { stringify } from 'yaml';
import { ApiError } from '../../runtime/rest.js';

export interface Colours {
  green: (s: string) => string;
  yellow: (s: string) => string;
  red: (s: string) => string;
  blue: (s: string) => string;
  dim: (s: string) => string;
  bold: (s: string) => string;
}

const sgr = (code: number) => (s: string) => (s ? `\x1b[${code}m${s}\x1b[0m` : s);
const plain = (s: string) => s;

export const COLOURS: Colours = {
  green: sgr(32),
  yellow: sgr(33),
  red: sgr(31),
  blue: sgr(34),
  dim: sgr(2),
  bold: sgr(1),
};
export const NO_COLOURS: Colours = {
  green: plain,
  yellow: plain,
  red: plain,
  blue: plain,
  dim: plain,
  bold: plain,
};

/** Colour on a terminal, unless NO_COLOR is set to anything but the empty string (no-color.org). */
export function useColour(isTTY: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  return Boolean(isTTY) && !env.NO_COLOR;
}

export const coloursFor = (on: boolean): Colours => (on ? COLOURS : NO_COLOURS);

// 'both': a mirror serving from both sides.
const GOOD = new Set([
  'Ready',
  'InService',
  'Passed',
  'Passing',
  'Succeeded',
  'True',
  'Healthy',
  'both',
]);
const BAD = new Set([
  'Failed',
  'Error',
  'Aborted',
  'RolledBack',
  'RollingBack',
  'False',
  'Unhealthy',
  'down',
  'none',
]);
const IDLE = new Set(['Retired', 'Superseded', 'Pending', 'Unknown']);

/** A status word in its colour: green good, red bad, dim idle, yellow on the way. */
export function status(c: Colours, word: string | undefined): string {
  if (!word) return '';
  if (GOOD.has(word)) return c.green(word);
  if (BAD.has(word)) return c.red(word);
  if (IDLE.has(word)) return c.dim(word);
  return c.yellow(word);
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
export const visible = (s: string) => s.replace(ANSI, '');

/** Rows as columns three spaces apart (kubectl's tab writer), padded on the visible width. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...visible(cell)].length)));
  return rows.map((r) =>
    r
      .map((cell, i) =>
        i === r.length - 1 ? cell : cell + ' '.repeat(widths[i]! - [...visible(cell)].length),
      )
      .join('   ')
      .trimEnd(),
  );
}

/** A duration as kubectl prints an age: 45s, 3m12s, 2h5m, 3d4h. */
export function age(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0s';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
}

/** Time since an RFC 3339 timestamp, or '' without one. */
export function since(t: string | undefined, now: number): string {
  const at = t ? Date.parse(t) : NaN;
  return Number.isNaN(at) ? '' : age(now - at);
}

/** One object (or a list of them) as -o json or -o yaml print it. */
export function serialize(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}

/** A list of objects the way kubectl prints several: a v1 List. */
export const asList = (items: unknown[]) => ({
  apiVersion: 'v1',
  kind: 'List',
  items,
  metadata: { resourceVersion: '' },
});

/** An error as kubectl words it: the server's reason for API errors, else "error: …". */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return `Error from server (${err.reason}): ${err.message}`;
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}
