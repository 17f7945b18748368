// The running lab the integration tests use. The test command (scripts/test.sh) starts one lab
// per test run, or reuses a running one, and points KACHIKU_LAB_DIR at it.
import { defaultLabDir, readState } from '../../lab/src/context.js';
import type { LabState } from '../../lab/src/state.js';

export function labState(): LabState {
  const dir = process.env.KACHIKU_LAB_DIR ?? defaultLabDir();
  const state = readState(dir);
  if (!state?.readyAt)
    throw new Error(`no running lab at ${dir}: run \`kachiku lab up --dir ${dir}\``);
  return state;
}
