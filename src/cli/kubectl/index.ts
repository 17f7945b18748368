// The commands of `kubectl kachiku`, also those of `kachiku` (one program, two names).
import type { Command } from 'commander';
import { getCommand } from './get.js';
import {
  drainCommand,
  mirrorCommand,
  releaseCommand,
  retireCommand,
  uncordonCommand,
} from './act.js';

export function kubectlCommands(): Command[] {
  return [
    getCommand(),
    drainCommand(),
    uncordonCommand(),
    retireCommand(),
    releaseCommand(),
    mirrorCommand(),
  ];
}

/**
 * The name to show in usage lines: "kubectl kachiku" when run as kubectl-kachiku (kubectl runs
 * the plugin by that file name, with argv[1] its path), else "kachiku".
 */
export function programName(argv1: string | undefined): string {
  const base = (argv1 ?? '').split(/[\\/]/).pop() ?? '';
  return /^kubectl-kachiku(\.[a-z]+)?$/.test(base) ? 'kubectl kachiku' : 'kachiku';
}
