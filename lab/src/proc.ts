// Starting, watching and stopping the lab's processes. Each process runs detached in its own
// process group (so children such as forked workers die with it), logs to a file in the state
// directory, and is recorded with its kernel start time so that `lab down` stops exactly the
// processes the lab started, never a later process that reused the PID.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabError } from './errors.js';

export interface ProcSpec {
  name: string;
  part: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ProcRecord {
  name: string;
  part: string;
  pid: number;
  /** Field 22 of /proc/PID/stat: identifies this process beyond its PID. */
  startTicks: string;
  command: string;
  log: string;
  /** How it was started, so that it can be started again (`lab` tests stop and restart parts). */
  spec: ProcSpec;
}

export function commandLine(spec: Pick<ProcSpec, 'command' | 'args'>): string {
  return [spec.command, ...spec.args]
    .map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a))
    .join(' ');
}

/** The kernel start time of a live (not zombie) process, or undefined. */
export function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after it are space separated.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    if (state === 'Z' || state === 'X') return undefined;
    return rest[19];
  } catch {
    return undefined;
  }
}

export function isAlive(rec: Pick<ProcRecord, 'pid' | 'startTicks'>): boolean {
  return startTicks(rec.pid) === rec.startTicks;
}

/** Starts a long-running process detached from this one; its output goes to `log`. */
export function startProcess(spec: ProcSpec, log: string): ProcRecord {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.unref();
    const pid = child.pid;
    if (!pid) {
      child.once('error', () => {}); // ENOENT and the like: reported here, not as a crash
      throw new LabError(spec.part, `could not start ${spec.name}`, commandLine(spec), log);
    }
    return {
      name: spec.name,
      part: spec.part,
      pid,
      // A process that already ended gets no start time: it is recorded as not alive, and
      // waiting on it reports its exit with its log.
      startTicks: startTicks(pid) ?? 'exited',
      command: commandLine(spec),
      log,
      spec,
    };
  } finally {
    closeSync(fd);
  }
}

/** Runs a command to completion, output appended to `log`; throws a LabError if it fails. */
export async function runToCompletion(
  spec: ProcSpec,
  log: string,
  timeoutMs = 300_000,
): Promise<void> {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', fd, fd],
    });
    const code = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('timeout');
      }, timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        resolve(err.message);
      });
      child.once('exit', (c, sig) => {
        clearTimeout(timer);
        resolve(c ?? `signal ${sig}`);
      });
    });
    if (code !== 0) {
      throw new LabError(
        spec.part,
        `${spec.name} failed (${code})${tail(log)}`,
        commandLine(spec),
        log,
      );
    }
  } finally {
    closeSync(fd);
  }
}

/** The last lines of a log, for error messages. */
export function tail(log: string, lines = 8): string {
  if (!existsSync(log)) return '';
  const text = readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n    ');
  return text ? `; last lines of the log:\n    ${text}` : '';
}

/**
 * Polls `probe` until it returns true. Fails with a LabError when `proc` exits first (naming
 * its command and log) or when the time is up.
 */
export async function waitUntil(
  part: string,
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs?: number; proc?: ProcRecord; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (opts.proc && !isAlive(opts.proc)) {
      throw new LabError(
        part,
        `${opts.proc.name} exited while waiting for ${what}${tail(opts.proc.log)}`,
        opts.proc.command,
        opts.proc.log,
      );
    }
    if (Date.now() > deadline) {
      throw new LabError(
        part,
        `timed out waiting for ${what}${opts.proc ? tail(opts.proc.log) : ''}`,
        opts.proc?.command,
        opts.proc?.log,
      );
    }
    await sleep(opts.intervalMs ?? 250);
  }
}

/**
 * Stops a recorded process and its process group: SIGTERM, then SIGKILL after `graceMs`, and
 * waits until no member of the group is left (zombies, which this container's init may never
 * reap, count as gone). Harmless if it is already gone.
 */
export async function stopProcess(rec: ProcRecord, graceMs = 10_000): Promise<void> {
  if (!isAlive(rec)) {
    // Another process holds the PID now: neither it nor its group is ours.
    if (startTicks(rec.pid) !== undefined) return;
    // The leader is gone; forked children of its group may linger. Linux does not hand out a
    // PID still used as a process group ID, so the members of this group are ours.
    if (groupMembers(rec.pid).length > 0) signalGroup(rec.pid, 'SIGKILL');
  } else {
    signalGroup(rec.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(rec) && Date.now() < deadline) await sleep(100);
    signalGroup(rec.pid, 'SIGKILL');
  }
  const deadline = Date.now() + 5000;
  while (groupMembers(rec.pid).length > 0 && Date.now() < deadline) await sleep(20);
}

/** Live (not zombie) processes whose process group is `pgid`. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (rest[2] === String(pgid) && rest[0] !== 'Z' && rest[0] !== 'X')
        members.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return members;
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // the group is already gone
  }
}
