// What a part of the lab (parts/*, pki.ts) is given and what it answers: the context it starts
// its processes in, and one line of `lab status`. A leaf, so that types flow one way: the parts
// import this and export their state types; state.ts imports those; context.ts implements this.
import type { ProcRecord, ProcSpec } from './proc.js';

/** The lab's state directory and process starter, as a part sees it (LabContext implements it). */
export interface PartContext {
  readonly dir: string;
  readonly cache: string;
  readonly log: (msg: string) => void;
  /** A path inside the state directory; its parent is created. */
  path(...parts: string[]): string;
  logPath(name: string): string;
  /** Starts a long-running process and records it before anything else can fail. */
  start(spec: ProcSpec): ProcRecord;
  /** Runs a set-up command to completion, its output in the part's log. */
  run(spec: ProcSpec, timeoutMs?: number): Promise<void>;
}

/** One line of `lab status`. */
export interface PartHealth {
  part: string;
  ok: boolean;
  detail: string;
}
