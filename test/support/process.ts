// `kachiku controller` as real processes, the way a Deployment runs it: their output lines kept
// for the test to read, killed when the test file ends.
import { CONTROLLER_NAMESPACE } from '../../src/api/rbac.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const children: ChildProcess[] = [];
// When the test process ends, not in an after() hook: hooks registered here, at import, run
// before the test file's own after() hooks, which may still need the controller (to finalize
// what it made).
process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));

export type Controller = ChildProcess & {
  /** stdout and stderr, a line each (JSON log lines). */
  lines: string[];
  exited: Promise<number | null>;
  /** When it exited (Date.now()). */
  exitedAt?: number;
};

/**
 * `kachiku controller <args>`, with `env` over this process's environment. `own`: the test file
 * stops it itself, in its own after hook (which runs after this module's: a file that cleans up
 * through its controller needs it running then); it is killed at exit all the same.
 */
export function kachikuController(
  args: string[],
  env: Record<string, string> = {},
  opts: { own?: boolean } = {},
): Controller {
  const child = spawn(process.execPath, [main, 'controller', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  if (opts.own) process.once('exit', () => child.kill('SIGKILL'));
  else children.push(child);
  const lines: string[] = [];
  const c: Controller = Object.assign(child, { lines, exited: Promise.resolve(null) });
  child.stdout.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
  child.stderr.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
  c.exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      c.exitedAt = Date.now();
      resolve(code);
    }),
  );
  return c;
}

/** The first JSON log line with this msg, parsed. */
export function logLine(c: { lines: string[] }, msg: string): Record<string, unknown> | undefined {
  for (const l of c.lines) {
    if (!l.includes(`"msg":${JSON.stringify(msg)}`)) continue;
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      continue;
    }
  }
  return undefined;
}

/** A short lease in kachiku-system (3 s, renewed every 0.5 s), so that tests see handovers fast. */
export function shortLease(lease: string): string[] {
  return [
    '--leader-election-namespace',
    CONTROLLER_NAMESPACE,
    '--leader-election-id',
    lease,
    '--lease-duration',
    '3s',
    '--renew-deadline',
    '2s',
    '--retry-period',
    '500ms',
  ];
}
