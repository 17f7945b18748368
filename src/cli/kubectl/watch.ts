// --watch: redraw a view whenever a watched object changes. The trigger is a watch on the objects
// the view is made of (never polling); the view is then read again and printed whole: in place on
// a terminal, as a new block otherwise (a log, a pipe).
import type { Gvr, Rest } from '../../runtime/rest.js';
import { errorMessage } from './output.js';

export interface WatchTarget {
  gvr: Gvr;
  namespace?: string;
  /** One object (a field selector on its name), or all in the namespace. */
  name?: string;
}

/** One frame: on a terminal the screen is cleared and the view drawn from the top. */
export function frame(lines: readonly string[], tty: boolean): string {
  const body = lines.join('\n');
  return tty ? `\x1b[H\x1b[2J${body}\n` : `${body}\n\n`;
}

/** Coalesces bursts of events (a status write touches several objects) into one redraw. */
const SETTLE_MS = 100;
/** A watch that failed (the apiserver restarting) is opened again after this long. */
const RETRY_MS = 1000;

export async function watchView(
  rest: Rest,
  targets: readonly WatchTarget[],
  render: () => Promise<string[]>,
  out: { write: (s: string) => unknown },
  tty: boolean,
  signal: AbortSignal,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let drawing = Promise.resolve();
  const redraw = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      drawing = drawing.then(async () => {
        if (signal.aborted) return;
        // An object deleted while watched: say so in the frame, keep watching.
        const lines = await render().catch((err: unknown) => [errorMessage(err)]);
        out.write(frame(lines, tty));
      });
    }, SETTLE_MS);
  };
  const follow = async (t: WatchTarget) => {
    while (!signal.aborted) {
      try {
        const query = t.name ? { fieldSelector: `metadata.name=${t.name}` } : {};
        // No resourceVersion: the watch first sends the objects as they are, then each change.
        for await (const ev of rest.watch(t.gvr, t.namespace, query, signal))
          if (ev.type !== 'BOOKMARK') redraw();
      } catch (err) {
        if (signal.aborted) return;
        process.stderr.write(`watch ${t.gvr.resource}: ${(err as Error).message}; again in 1 s\n`);
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  };
  try {
    await Promise.all(targets.map(follow));
  } finally {
    clearTimeout(timer);
    await drawing;
  }
}
