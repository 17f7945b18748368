// `kachiku lab up | down | status | env`: starts the local hybrid cloud, reports on it, stops it.
import { spawn } from 'node:child_process';
import { createWriteStream, rmSync, readdirSync, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { basename, join } from 'node:path';
import { LabContext, cacheDir, readState, writeState } from './context.js';
import { LabError } from './errors.js';
import { isAlive, startProcess, stopProcess, tail, type ProcRecord } from './proc.js';
import { labRoot } from './paths.js';
import type { LabState } from './state.js';
import type { PartHealth } from './part.js';
import { applyEvent, formatEvent, type PartProgress, type ProgressEvent } from './progress.js';
import { defaultClusters, kubeEnv, kubeHealth, startKube } from './parts/kube.js';
import {
  mariadbDataDir,
  openstackEnv,
  openstackHealth,
  startOpenStack,
} from './parts/openstack.js';
import { awsEnv, awsHealth, restoreAwsNetwork, startAws } from './parts/aws.js';
import { alertmanagerEnv, alertmanagerHealth, startAlertmanager } from './parts/alertmanager.js';
import { routerEnv, routerHealth, startRouter } from './parts/haproxy.js';
import { gitEnv, gitHealth, startGit } from './parts/git.js';
import { registryEnv, registryHealth, startRegistry } from './parts/registry.js';

export interface UpOptions {
  dir: string;
  members?: number;
  /** Backend slots of the tenant router (default 32). */
  routerSlots?: number;
  log?: (msg: string) => void;
  /** Each part starting, ready or failed, and the install scripts' stderr lines; without it,
   *  the starts and ends go to `log` as plain lines. */
  progress?: (e: ProgressEvent) => void;
}

/**
 * Brings the lab up, or returns the one already running healthy in `dir`. A lab that is
 * half-started or partly dead is stopped first. If any part fails, everything started is
 * stopped again and the error names the part, its command and its log.
 */
export async function labUp(opts: UpOptions): Promise<LabState> {
  const log = opts.log ?? (() => {});
  const progress = opts.progress ?? plainProgress(log);
  const existing = readState(opts.dir);
  if (existing?.readyAt) {
    const health = await labHealth(existing);
    if (health.every((h) => h.ok)) {
      log(`lab already running in ${opts.dir}`);
      return existing;
    }
    log('lab in this directory is unhealthy: stopping it and starting afresh');
  }
  if (existing) await labDown(opts.dir);
  rmSync(join(opts.dir, 'logs'), { recursive: true, force: true });

  const lab = new LabContext(opts.dir, cacheDir(), log);
  lab.save();
  const t0 = Date.now();
  const timed = async <T>(part: string, f: () => Promise<T>): Promise<T> => {
    progress({ kind: 'start', part });
    try {
      const v = await f();
      progress({ kind: 'ready', part });
      return v;
    } catch (err) {
      progress({ kind: 'failed', part, error: (err as Error).message });
      throw err;
    }
  };
  const binDir = await install(lab, timed, progress);
  const members = opts.members ?? 2;
  const results = await Promise.allSettled([
    timed('kubernetes', () =>
      startKube(lab, binDir, kubeVersion(binDir), defaultClusters(members)),
    ).then((s) => {
      lab.state.kube = s;
    }),
    timed('openstack', () => startOpenStack(lab)).then((s) => {
      lab.state.openstack = s;
    }),
    timed('aws', () => startAws(lab)).then((s) => {
      lab.state.aws = s;
    }),
    timed('alertmanager', () => startAlertmanager(lab)).then((s) => {
      lab.state.alertmanager = s;
    }),
    timed('router', () => startRouter(lab, { slots: opts.routerSlots })).then((s) => {
      lab.state.router = s;
    }),
    timed('git', () => startGit(lab)).then((s) => {
      lab.state.git = s;
    }),
    timed('registry', () => startRegistry(lab)).then((s) => {
      lab.state.registry = s;
    }),
  ]);
  lab.save();
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    log('a part failed to start: stopping everything the lab started');
    await stopAll(lab.state.processes);
    cleanup(opts.dir, lab.state);
    throw failed.reason;
  }
  lab.state.readyAt = new Date().toISOString();
  lab.save();
  log(`lab up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return lab.state;
}

/** Without a progress callback: starts, ends and failures as plain log lines. */
function plainProgress(log: (msg: string) => void): (e: ProgressEvent) => void {
  let parts: PartProgress[] = [];
  return (e) => {
    const now = Date.now();
    if (e.kind !== 'line')
      log(
        formatEvent(
          e,
          parts.find((p) => p.part === e.part),
          now,
        ),
      );
    parts = applyEvent(parts, e, now);
  };
}

/** Installs what the lab needs (idempotent, quick when done) and returns the Kubernetes bin dir. */
async function install(
  lab: LabContext,
  timed: <T>(part: string, f: () => Promise<T>) => Promise<T>,
  progress: (e: ProgressEvent) => void,
): Promise<string> {
  const logFile = lab.logPath('install');
  const run = (script: string, part: string) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn('bash', [join(labRoot, 'scripts', script)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // stderr into the install log, and line by line to the progress (the build's steps).
      const logStream = createWriteStream(logFile, { flags: 'a' });
      child.stderr.pipe(logStream);
      createInterface({ input: child.stderr }).on('line', (text) =>
        progress({ kind: 'line', part, text }),
      );
      let out = '';
      child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      child.once('error', reject);
      // 'close', not 'exit': 'exit' may come before stdout's last chunk (the printed path).
      child.once('close', (code) =>
        logStream.end(() =>
          code === 0
            ? resolve(out.trim())
            : reject(
                new LabError(
                  'install',
                  `${script} exited ${code}${tail(logFile)}`,
                  `bash lab/scripts/${script}`,
                  logFile,
                ),
              ),
        ),
      );
    });
  await timed('install', () => run('install-system.sh', 'install'));
  const built = await timed('kubernetes-build', () => run('build-kube.sh', 'kubernetes-build'));
  const binDir = built.split('\n').pop() ?? '';
  const missing = ['kube-apiserver', 'kubectl'].find((b) => !existsSync(join(binDir, b)));
  if (missing) {
    throw new LabError(
      'install',
      `no ${missing} in "${binDir}"`,
      'bash lab/scripts/build-kube.sh',
      logFile,
    );
  }
  return binDir;
}

function kubeVersion(binDir: string): string {
  return /^kube-(v[0-9.]+)-/.exec(basename(binDir))?.[1] ?? 'unknown';
}

/** Stops one recorded process of a running lab (to test how kachiku copes with a part down). */
export async function stopLabProcess(dir: string, name: string): Promise<void> {
  await stopProcess(recorded(dir, name).rec);
}

/** Starts a stopped process of a running lab again, as it was started first, and records it. */
export async function startLabProcess(dir: string, name: string): Promise<ProcRecord> {
  const { state, rec, index } = recorded(dir, name);
  if (isAlive(rec)) return rec;
  const fresh = startProcess(rec.spec, rec.log);
  state.processes[index] = fresh;
  writeState(dir, state);
  return fresh;
}

/**
 * Restarts the lab's moto with its state lost (what a restarted emulator is); the lab's VPC and
 * subnets are made again with the same ids, everything else is gone.
 */
export async function restartMoto(dir: string): Promise<void> {
  const aws = readState(dir)?.aws;
  if (!aws) throw new Error(`the lab at ${dir} has no aws part`);
  await stopLabProcess(dir, 'moto');
  await startLabProcess(dir, 'moto');
  await restoreAwsNetwork(aws);
}

function recorded(dir: string, name: string): { state: LabState; rec: ProcRecord; index: number } {
  const state = readState(dir);
  const index = state?.processes.findIndex((p) => p.name === name) ?? -1;
  const rec = state?.processes[index];
  if (!state || !rec) throw new Error(`no process "${name}" in the lab at ${dir}`);
  return { state, rec, index };
}

/** Stops exactly the processes the lab in `dir` started; harmless when nothing runs. */
export async function labDown(
  dir: string,
  log: (msg: string) => void = () => {},
): Promise<boolean> {
  const state = readState(dir);
  if (!state) {
    log(`no lab in ${dir}`);
    return false;
  }
  await stopAll(state.processes);
  cleanup(dir, state);
  log(`lab in ${dir} stopped`);
  return true;
}

async function stopAll(processes: ProcRecord[]): Promise<void> {
  // The databases (etcd, MariaDB) last, so that their clients can shut down cleanly; the rest
  // at once.
  const isDatabase = (p: ProcRecord) => p.name === 'etcd' || p.name === 'mariadb';
  await Promise.all(processes.filter((p) => !isDatabase(p)).map((p) => stopProcess(p)));
  await Promise.all(processes.filter(isDatabase).map((p) => stopProcess(p)));
}

/**
 * Removes the lab's state except its logs, which stay for a look after a failed start, with the
 * record of what was started beside them (logs/lab.json).
 */
function cleanup(dir: string, state: LabState): void {
  if (state.kube?.etcd.dataDir) rmSync(state.kube.etcd.dataDir, { recursive: true, force: true });
  // Known from the directory alone: also when OpenStack failed before it was recorded.
  rmSync(mariadbDataDir(state.dir), { recursive: true, force: true });
  if (!existsSync(dir)) return;
  writeState(join(dir, 'logs'), state);
  for (const entry of readdirSync(dir)) {
    if (entry !== 'logs') rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

export async function labHealth(state: LabState): Promise<PartHealth[]> {
  const out: PartHealth[] = [];
  if (state.kube) out.push(...(await kubeHealth(state.kube, state.processes)));
  if (state.openstack) out.push(...(await openstackHealth(state.openstack)));
  if (state.aws) out.push(...(await awsHealth(state.aws)));
  if (state.alertmanager) out.push(...(await alertmanagerHealth(state.alertmanager)));
  if (state.router) out.push(...(await routerHealth(state.router)));
  if (state.git) out.push(...(await gitHealth(state.git)));
  if (state.registry) out.push(...(await registryHealth(state.registry)));
  const dead = state.processes.filter((p) => !isAlive(p)).map((p) => p.name);
  out.push({
    part: 'processes',
    ok: dead.length === 0,
    detail: `${state.processes.length - dead.length}/${state.processes.length} running${dead.length ? `; exited: ${dead.join(', ')}` : ''}`,
  });
  return out;
}

/** Shell exports for every part, as `lab env` prints them. */
export function labEnv(state: LabState): Record<string, string> {
  return {
    KACHIKU_LAB_DIR: state.dir,
    ...(state.kube ? kubeEnv(state.kube) : {}),
    ...(state.openstack ? openstackEnv(state.openstack) : {}),
    ...(state.aws ? awsEnv(state.aws) : {}),
    ...(state.alertmanager ? alertmanagerEnv(state.alertmanager) : {}),
    ...(state.router ? routerEnv(state.router) : {}),
    ...(state.git ? gitEnv(state.git) : {}),
    ...(state.registry ? registryEnv(state.registry) : {}),
  };
}

export function shellExports(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'`)
    .join('\n');
}

/** How to reach every part: printed by `lab up` and the demo. */
export function describeLab(state: LabState): string {
  const lines: string[] = [`kachiku lab in ${state.dir}`];
  if (state.kube) {
    lines.push(
      `Kubernetes ${state.kube.version} (etcd ${state.kube.etcd.url}); kubeconfig with every context: ${state.kube.kubeconfig}`,
    );
    for (const c of state.kube.clusters) {
      lines.push(
        `  ${c.name.padEnd(10)} ${c.role.padEnd(13)} ${c.server}  nodes: ${c.nodes.length ? c.nodes.join(', ') : '-'}`,
      );
    }
  }
  if (state.openstack) {
    const o = state.openstack;
    lines.push(
      `OpenStack: Keystone ${o.keystoneUrl}, Octavia ${o.octaviaUrl} (region ${o.region})`,
    );
    lines.push(
      `  clouds.yaml ${o.cloudsYaml}: clouds "${o.cloud}" (password) and "${o.appCredentialCloud}" (application credential)`,
    );
  }
  if (state.aws) {
    const a = state.aws;
    lines.push(`AWS (moto): ${a.endpoint} region ${a.region}, VPC ${a.vpc.id} ${a.vpc.cidr}`);
    for (const s of a.subnets) lines.push(`  subnet ${s.id} ${s.cidr} ${s.availabilityZone}`);
  }
  if (state.alertmanager) lines.push(`Alertmanager: ${state.alertmanager.url}`);
  if (state.router) {
    const r = state.router;
    lines.push(
      `Tenant router: HAProxy ${r.version} ${r.url}, runtime API ${r.socket} (and ${r.adminAddress}), map ${r.mapFile}, ${r.slots} backend slots × ${r.serversPerSlot} servers`,
    );
  }
  if (state.git) lines.push(`Git (smart HTTP, basic auth): ${state.git.url}/<name>.git`);
  if (state.registry) {
    const r = state.registry;
    lines.push(`OCI registry: ${r.url} (basic auth); ${r.tokenUrl} (token auth), one storage`);
  }
  lines.push(`Logs: ${join(state.dir, 'logs')}`);
  lines.push(`Shell: eval "$(./kachiku lab env --dir ${state.dir})"`);
  return lines.join('\n');
}
