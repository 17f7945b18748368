#!/usr/bin/env node
// The `kachiku` command: one binary, a subcommand per job.
import { Command } from 'commander';
import { labCommand } from './lab.js';
import { demoCommand } from './demo.js';
import { controllerCommand } from './controller.js';
import { crdsCommand } from './crds.js';
import { planCommand } from './plan.js';
import { dashboardCommand } from './dashboard/command.js';
import { kubectlCommands, programName } from './kubectl/index.js';

// Also installed as kubectl-kachiku, the kubectl plugin: the same commands either way.
const program = new Command(programName(process.argv[1]))
  .description(
    'Kubernetes-native hybrid-cloud control plane: load balancers and production environments as cattle',
  )
  .version('0.1.0')
  .showHelpAfterError()
  .addCommand(demoCommand())
  .addCommand(controllerCommand())
  .addCommand(crdsCommand())
  .addCommand(planCommand())
  .addCommand(dashboardCommand())
  .addCommand(labCommand());
for (const c of kubectlCommands()) program.addCommand(c);

await program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
