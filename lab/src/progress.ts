// What `lab up` shows while it works: each part starting and ready with its elapsed time, and the
// last line of what it is doing (the install scripts' stderr: the Kubernetes build). On a
// terminal a compact view redrawn in place; otherwise (a pipe, a file, CI=true) plain lines.
// The formatting is pure (progress.test.ts); the reporter only keeps state and writes.

export type ProgressEvent =
  | { kind: 'start'; part: string }
  | { kind: 'ready'; part: string }
  | { kind: 'failed'; part: string; error: string }
  /** A line of what the part is doing: a script's stderr line, a step it reached. */
  | { kind: 'line'; part: string; text: string };

export interface PartProgress {
  part: string;
  startedAt: number;
  endedAt?: number;
  failed?: string;
  last?: string;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One plain line for an event, or none (a part's lines are shown, its blank ones not). */
export function formatEvent(e: ProgressEvent, p: PartProgress | undefined, now: number): string {
  const elapsed = p ? ` (${seconds(now - p.startedAt)})` : '';
  switch (e.kind) {
    case 'start':
      return `${e.part}: starting`;
    case 'ready':
      return `${e.part}: ready${elapsed}`;
    case 'failed':
      return `${e.part}: FAILED${elapsed}: ${firstLine(e.error)}`;
    case 'line':
      return `${e.part}: ${e.text}`;
  }
}

const firstLine = (s: string) => s.split('\n', 1)[0]!;

/** Applies an event to the parts' state (a pure step: returns the new list). */
export function applyEvent(parts: PartProgress[], e: ProgressEvent, now: number): PartProgress[] {
  const i = parts.findIndex((p) => p.part === e.part);
  const p: PartProgress = i >= 0 ? parts[i]! : { part: e.part, startedAt: now };
  const next: PartProgress =
    e.kind === 'start'
      ? { part: e.part, startedAt: now }
      : e.kind === 'ready'
        ? { ...p, endedAt: now }
        : e.kind === 'failed'
          ? { ...p, endedAt: now, failed: firstLine(e.error) }
          : { ...p, last: e.text.trim() || p.last };
  return i >= 0 ? parts.map((q, j) => (j === i ? next : q)) : [...parts, next];
}

const SPINNER = '|/-\\';

/**
 * The live view: one line per part, `✓` ready, `✗` failed, a spinner while it runs, with its
 * elapsed time and (while running or failed) its last line, each cut to `width` columns.
 */
export function formatLive(parts: PartProgress[], now: number, width: number): string[] {
  const nameWidth = Math.max(0, ...parts.map((p) => p.part.length));
  const tick = Math.floor(now / 250) % SPINNER.length;
  return parts.map((p) => {
    const mark = p.failed ? '✗' : p.endedAt !== undefined ? '✓' : SPINNER[tick]!;
    const time = seconds((p.endedAt ?? now) - p.startedAt).padStart(8);
    const what = p.failed ? `FAILED: ${p.failed}` : p.endedAt === undefined ? (p.last ?? '') : '';
    const line = `${mark} ${p.part.padEnd(nameWidth)} ${time}${what ? `  ${what}` : ''}`;
    return cut(line, width);
  });
}

const cut = (s: string, width: number) =>
  [...s].length <= width ? s : [...s].slice(0, Math.max(0, width - 1)).join('') + '…';

export interface ProgressReporter {
  event(e: ProgressEvent): void;
  /** A message not tied to a part's progress (printed above the live view). */
  log(msg: string): void;
  /** Stops redrawing; the final view stays on the screen. */
  done(): void;
}

/** Live when `stream` is a terminal and CI is not set; plain lines (prefixed) otherwise. */
export function progressReporter(
  stream: NodeJS.WriteStream,
  opts: { prefix?: string; live?: boolean } = {},
): ProgressReporter {
  const prefix = opts.prefix ?? '';
  const live = opts.live ?? (stream.isTTY === true && !process.env.CI);
  let parts: PartProgress[] = [];
  if (!live) {
    return {
      event(e) {
        const now = Date.now();
        const p = parts.find((q) => q.part === e.part);
        parts = applyEvent(parts, e, now);
        stream.write(`${prefix}${formatEvent(e, p, now)}\n`);
      },
      log: (msg) => stream.write(`${prefix}${msg}\n`),
      done() {},
    };
  }
  let drawn = 0;
  const draw = () => {
    const lines = formatLive(parts, Date.now(), (stream.columns || 80) - 1);
    // Up to the view's first line, clear to the end of the screen, draw again.
    stream.write((drawn ? `\x1b[${drawn}F` : '') + '\x1b[J' + lines.map((l) => l + '\n').join(''));
    drawn = lines.length;
  };
  const timer = setInterval(draw, 250);
  timer.unref();
  return {
    event(e) {
      parts = applyEvent(parts, e, Date.now());
      draw();
    },
    log(msg) {
      // A running part's own step ("openstack: MariaDB is up") becomes its last line.
      const step = /^([\w-]+): (.*)$/.exec(msg);
      if (step && parts.some((p) => p.part === step[1] && p.endedAt === undefined)) {
        parts = applyEvent(parts, { kind: 'line', part: step[1]!, text: step[2]! }, Date.now());
        return draw();
      }
      stream.write((drawn ? `\x1b[${drawn}F` : '') + '\x1b[J' + `${prefix}${msg}\n`);
      drawn = 0;
      draw();
    },
    done() {
      clearInterval(timer);
      draw();
    },
  };
}
