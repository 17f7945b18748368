// The lab's state directory and the record of what it started. Everything the lab knows is in
// `<dir>/lab.json`, written after every process start so that a crash half-way through `up`
// still leaves `down` able to stop exactly what was started.
import { mkdirSync, readFileSync, writeFileSync, renameSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { startProcess, runToCompletion, type ProcRecord, type ProcSpec } from './proc.js';
import type { LabState } from './state.js';
import type { PartContext } from './part.js';

export function defaultLabDir(): string {
  if (process.env.KACHIKU_LAB_DIR) return resolve(process.env.KACHIKU_LAB_DIR);
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'kachiku', 'lab');
}

export function cacheDir(): string {
  if (process.env.KACHIKU_CACHE) return resolve(process.env.KACHIKU_CACHE);
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kachiku');
}

export function stateFile(dir: string): string {
  return join(dir, 'lab.json');
}

export function readState(dir: string): LabState | undefined {
  const file = stateFile(dir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LabState;
}

export function writeState(dir: string, state: LabState): void {
  const file = stateFile(dir);
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export class LabContext implements PartContext {
  readonly state: LabState;

  constructor(
    readonly dir: string,
    readonly cache: string = cacheDir(),
    readonly log: (msg: string) => void = () => {},
  ) {
    mkdirSync(join(dir, 'logs'), { recursive: true });
    this.state = { version: 1, dir, startedAt: new Date().toISOString(), processes: [] };
  }

  /** A path inside the state directory; its parent is created. */
  path(...parts: string[]): string {
    const p = join(this.dir, ...parts);
    mkdirSync(join(p, '..'), { recursive: true });
    return p;
  }

  logPath(name: string): string {
    return join(this.dir, 'logs', `${name}.log`);
  }

  save(): void {
    writeState(this.dir, this.state);
  }

  /** Starts a long-running process and records it before anything else can fail. */
  start(spec: ProcSpec): ProcRecord {
    const rec = startProcess(spec, this.logPath(spec.name));
    this.state.processes.push(rec);
    this.save();
    return rec;
  }

  /** Runs a set-up command to completion, its output in the part's log. */
  run(spec: ProcSpec, timeoutMs?: number): Promise<void> {
    return runToCompletion(spec, this.logPath(spec.name), timeoutMs);
  }
}
