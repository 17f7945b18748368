// `kachiku demo`: kachiku on its embedded default. It brings the lab up, prints how to reach
// every part, shows each pillar working on it, and keeps running until Ctrl-C, then tears
// everything down.
import { Command, Option } from 'commander';
import { defaultLabDir } from '../../lab/src/context.js';
import { describeLab, labDown, labUp } from '../../lab/src/lab.js';
import { positiveInt } from './lab.js';
import { mirrorDemo } from './demo/mirror.js';
import { prodsDemo } from './demo/prods.js';

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'run kachiku on its embedded default (the local lab) until Ctrl-C, then tear it all down',
    )
    .addOption(new Option('--dir <path>', 'state directory of the lab').default(defaultLabDir()))
    .addOption(
      new Option('--members <n>', 'number of member clusters (the Fleet spreads over them)')
        .default(3)
        .argParser(positiveInt),
    )
    .action(async (o: { dir: string; members: number }) => {
      const log = (msg: string) => console.error(`demo: ${msg}`);
      // Ctrl-C, a kill, or the terminal closing (SIGHUP): each tears the lab down.
      const stopped = new Promise<NodeJS.Signals>((resolve) => {
        for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, resolve);
      });
      let stopController: (() => Promise<void>) | undefined;
      let keepAlive: NodeJS.Timeout | undefined;
      try {
        const state = await labUp({ dir: o.dir, members: o.members, log });
        console.log(describeLab(state));
        // Signal handlers do not keep Node's event loop alive: without this the demo would
        // return at once and leave the lab running.
        keepAlive = setInterval(() => {}, 60_000);
        const say = (line: string) => console.log(line);
        const defend = await mirrorDemo(state, say);
        stopController = defend.stop;
        const stopProds = await prodsDemo(state, say, defend.mgr);
        stopController = async () => (await stopProds(), await defend.stop());
        console.log('\nkachiku demo is running. Press Ctrl-C to stop and tear everything down.');
        log(`received ${await stopped}`);
      } finally {
        // Also on an error: the demo then exits (non-zero) instead of idling with no lab.
        clearInterval(keepAlive);
        await stopController?.();
        await labDown(o.dir, log);
      }
    });
}
