// `kachiku lab …`: the local hybrid cloud that the demo and the tests run against.
import { Command, Option } from 'commander';
import { defaultLabDir, readState } from '../../lab/src/context.js';
import { describeLab, labDown, labEnv, labHealth, labUp, shellExports } from '../../lab/src/lab.js';
import { progressReporter } from '../../lab/src/progress.js';

const dirOption = () =>
  new Option('--dir <path>', 'state directory of the lab (env KACHIKU_LAB_DIR)').default(
    defaultLabDir(),
  );

const log = (msg: string) => console.error(`lab: ${msg}`);

export function labCommand(): Command {
  const lab = new Command('lab').description(
    'the local lab: Kubernetes clusters, Keystone + Octavia, AWS (moto), Alertmanager and an HAProxy tenant router, all on loopback',
  );
  lab
    .command('up')
    .description(
      'install what is missing, start every part, print how to reach it (harmless if already up)',
    )
    .addOption(dirOption())
    .addOption(
      new Option('--members <n>', 'number of member clusters').default(2).argParser(positiveInt),
    )
    .addOption(
      new Option('--router-slots <n>', 'backend slots of the tenant router (HAProxy)')
        .default(32)
        .argParser(positiveInt),
    )
    .action(async (o: { dir: string; members: number; routerSlots: number }) => {
      // Live on a terminal (stderr), plain lines when piped or under CI=true.
      const progress = progressReporter(process.stderr, { prefix: 'lab: ' });
      try {
        const state = await labUp({
          dir: o.dir,
          members: o.members,
          routerSlots: o.routerSlots,
          log: (msg) => progress.log(msg),
          progress: (e) => progress.event(e),
        });
        progress.done();
        console.log(describeLab(state));
      } catch (err) {
        progress.done();
        throw err;
      }
    });
  lab
    .command('down')
    .description('stop exactly the processes this lab started (harmless if nothing runs)')
    .addOption(dirOption())
    .action(async (o: { dir: string }) => {
      await labDown(o.dir, log);
    });
  lab
    .command('status')
    .description("report each part's health; exits 1 if any part is unhealthy or no lab runs")
    .addOption(dirOption())
    .action(async (o: { dir: string }) => {
      const state = readState(o.dir);
      if (!state) {
        console.log(`no lab in ${o.dir}`);
        process.exitCode = 1;
        return;
      }
      const health = await labHealth(state);
      for (const h of health)
        console.log(`${h.ok ? 'ok  ' : 'FAIL'} ${h.part.padEnd(24)} ${h.detail}`);
      if (!state.readyAt) console.log('FAIL the lab did not finish starting');
      if (!state.readyAt || health.some((h) => !h.ok)) process.exitCode = 1;
    });
  lab
    .command('env')
    .description('print shell exports for every part (eval "$(kachiku lab env)")')
    .addOption(dirOption())
    .action((o: { dir: string }) => {
      const state = readState(o.dir);
      if (!state?.readyAt) throw new Error(`no running lab in ${o.dir}: run \`kachiku lab up\``);
      console.log(shellExports(labEnv(state)));
    });
  return lab;
}

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a whole number ≥ 1, got "${v}"`);
  return n;
}
