// TEST-ONLY fault injection, for the fault matrix (test/controllers/mirrorfaults.test.ts):
// KACHIKU_FAULT_CRASH_AT="<Operation>#<n>[@before|@after]" kills this process with SIGKILL (exit
// status 137, as the OOM killer or a lost node would) right before or right after (the default)
// the n-th AWS call of that operation, counted from the process's start, e.g.
// "CreateTargetGroup#2@after". The variable is read once, at load: without it (production)
// nothing is installed and the clients pay nothing.
import type { MiddlewareStackLike } from './ratelimit.js';

export const CRASH_AT_ENV = 'KACHIKU_FAULT_CRASH_AT';

export interface CrashPoint {
  operation: string;
  n: number;
  when: 'before' | 'after';
}

export function parseCrashAt(value: string | undefined): CrashPoint | undefined {
  if (!value) return undefined;
  const m = /^([A-Za-z0-9]+)#([1-9][0-9]*)(?:@(before|after))?$/.exec(value);
  if (!m)
    throw new Error(`${CRASH_AT_ENV}: expected "<Operation>#<n>[@before|@after]", got "${value}"`);
  return { operation: m[1]!, n: Number(m[2]), when: (m[3] ?? 'after') as 'before' | 'after' };
}

const point = parseCrashAt(process.env[CRASH_AT_ENV]);
/** Calls so far of the operation, across every client of this process. */
let calls = 0;

function crash(): never {
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL to oneself is delivered at once; this only satisfies the type checker.
  throw new Error('unreachable');
}

/** Installs the crash point on one SDK client's stack, when the variable asks for one. */
export function installCrashPoint(stack: MiddlewareStackLike): void {
  if (!point) return;
  stack.add(
    (next, context) => async (args) => {
      if ((context.commandName ?? '').replace(/Command$/, '') !== point.operation)
        return next(args);
      const nth = ++calls === point.n;
      if (nth && point.when === 'before') crash();
      const out = await next(args);
      if (nth) crash();
      return out;
    },
    { step: 'initialize', priority: 'high', name: 'kachikuTestCrashPoint' },
  );
}
