// The lab's OpenStack, run the way production runs it: real Keystone and a real Octavia
// (provider `amphora` with every driver a no-op) on MariaDB and RabbitMQ, Octavia's API served
// by uWSGI with several processes, all on 127.0.0.1 with ports picked at run time so that
// several labs run side by side. Every process is started and tracked by the lab (MariaDB with
// its own data directory, socket and port; RabbitMQ's epmd included); nothing is left to
// systemd. The databases are made by the projects' own migrations (`keystone-manage db_sync`,
// `octavia-db-manage upgrade head`). The facts this rests on are in
// /work/shared/reference/openstack.md (Debian bookworm: Keystone 22, Octavia 11, RabbitMQ 3.10,
// MariaDB 10.11, uWSGI 2.0).
//
// Start-up graph (each line runs concurrently with the others until it joins):
//   MariaDB:   mariadb-install-db -> mariadbd (its init file makes the databases and users) ─┐
//   RabbitMQ:  epmd -> rabbitmq-server -> AMQP login works ──────────────────────────────────┤
//   Keystone:  (MariaDB) keystone_setup.py -> keystone-wsgi-public -> register users ────────┤
//   Octavia:   certs + (MariaDB) octavia-db-manage upgrade head -> uWSGI octavia-api         │
//                                   └> octavia-worker (once RabbitMQ is up) -> it consumes its queue
//   then: a project-scoped token lists load balancers through Octavia (proves the whole chain).
import amqp from 'amqplib';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { PartContext, PartHealth } from '../part.js';
import { LabError } from '../errors.js';
import { freePort } from '../ports.js';
import { waitUntil } from '../proc.js';
import { get, ok } from '../http.js';
import { labRoot } from '../paths.js';

async function expectOk(url: string): Promise<void> {
  const res = await get(url, {}, 5000);
  if (res.status !== 200) throw new Error(`GET ${url} -> ${res.status}`);
}

const PART = 'openstack';
/** Debian's python: the pyenv python3 on PATH does not see the python3-keystone/-octavia packages. */
const PYTHON = '/usr/bin/python3';
const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server'; // not /usr/sbin's wrapper: it su's to rabbitmq
const MARIADBD = '/usr/sbin/mariadbd';
const MARIADB_INSTALL_DB = '/usr/bin/mariadb-install-db';
const UWSGI = '/usr/bin/uwsgi-core';
/**
 * Octavia API processes. Two cores: four processes keep both busy while some wait on MariaDB,
 * Keystone or RabbitMQ, without the memory of more.
 */
const OCTAVIA_API_PROCESSES = 4;
const REGION = 'RegionOne';
const START_TIMEOUT_MS = 120_000;
/** octavia.common.constants.TOPIC_AMPHORA_V2: the queue octavia-worker consumes. */
const WORKER_QUEUE = 'octavia_provisioning_v2';
/** The roles Octavia's default policy knows; `load-balancer_member` is what a tenant needs. */
const OCTAVIA_ROLES = [
  'load-balancer_observer',
  'load-balancer_global_observer',
  'load-balancer_member',
  'load-balancer_admin',
  'load-balancer_quota_admin',
];

export interface OpenStackState {
  /** Keystone's v3 API, e.g. http://127.0.0.1:PORT/v3 */
  keystoneUrl: string;
  /** Octavia's endpoint as in the catalog (no version), e.g. http://127.0.0.1:PORT */
  octaviaUrl: string;
  region: string;
  /** Absolute path of a clouds.yaml inside the state dir. */
  cloudsYaml: string;
  /** Password auth, project-scoped, a user with `load-balancer_member`. */
  cloud: string;
  /** v3applicationcredential auth for the same user and project. */
  appCredentialCloud: string;
  project: { id: string; name: string; domain: string };
  user: { name: string; password: string; domain: string };
  applicationCredential: { id: string; secret: string };
  admin: { name: string; password: string; project: string; domain: string };
  /** The broker Octavia uses, amqp://USER:PASSWORD@127.0.0.1:PORT/ (for health checks and debugging). */
  rabbitmqUrl: string;
  /** The database server of Keystone and Octavia (databases `keystone` and `octavia`). */
  mariadb: { port: number; socket: string; dataDir: string };
}

interface Ports {
  mariadb: number;
  epmd: number;
  amqp: number;
  dist: number;
  keystone: number;
  octavia: number;
}

interface Secrets {
  adminPassword: string;
  userPassword: string;
  servicePassword: string;
  rabbitPassword: string;
  keystoneDbPassword: string;
  octaviaDbPassword: string;
}

const RABBIT_USER = 'kachiku';
const SERVICE_USER = 'octavia';
const PROJECT = 'kachiku';
const USER = 'kachiku';
const DOMAIN = 'Default';

export async function startOpenStack(lab: PartContext): Promise<OpenStackState> {
  const t0 = Date.now();
  const step = (msg: string) =>
    lab.log(`openstack: ${msg} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  // Every start is from scratch: ports change from one start to the next and they are baked
  // into the databases (the catalog) and the config files.
  const root = join(lab.dir, 'openstack');
  rmSync(root, { recursive: true, force: true });
  const mariadbData = mariadbDataDir(lab.dir);
  rmSync(mariadbData, { recursive: true, force: true });
  const ports: Ports = {
    mariadb: await freePort(),
    epmd: await freePort(),
    amqp: await freePort(),
    dist: await freePort(),
    keystone: await freePort(),
    octavia: await freePort(),
  };
  const secrets: Secrets = {
    adminPassword: secret(),
    userPassword: secret(),
    servicePassword: secret(),
    rabbitPassword: secret(),
    keystoneDbPassword: secret(),
    octaviaDbPassword: secret(),
  };
  const keystoneUrl = `http://127.0.0.1:${ports.keystone}/v3`;
  const octaviaUrl = `http://127.0.0.1:${ports.octavia}`;
  const rabbitmqUrl = `amqp://${RABBIT_USER}:${secrets.rabbitPassword}@127.0.0.1:${ports.amqp}/`;
  const socket = lab.path('openstack', 'mariadb', 'mariadbd.sock');
  // A Unix socket's path has room for 107 bytes.
  if (Buffer.byteLength(socket) > 107) {
    throw new LabError(
      PART,
      `MariaDB's socket path is too long for a Unix socket (${Buffer.byteLength(socket)} bytes, at most 107): ${socket}; use a shorter --dir`,
    );
  }
  writeConfigs(lab, ports, secrets, keystoneUrl, socket, mariadbData);

  const mariadb = startMariaDB(lab, ports.mariadb).then(() => step('MariaDB is up'));
  const rabbit = startRabbitMQ(lab, ports, rabbitmqUrl).then(() => step('RabbitMQ is up'));
  const keystone = mariadb
    .then(() => startKeystone(lab, ports, secrets, keystoneUrl, octaviaUrl))
    .then((r) => {
      step('Keystone is up');
      return r;
    });
  const octaviaFiles = prepareOctavia(lab, mariadb).then(() => step('Octavia files are ready'));
  // Failures surface through Promise.all below; these keep Node from calling them unhandled meanwhile.
  for (const p of [mariadb, rabbit, keystone, octaviaFiles]) p.catch(() => {});

  const api = octaviaFiles.then(async () => {
    const rec = lab.start({
      name: 'octavia-api',
      part: PART,
      command: UWSGI,
      args: ['--ini', lab.path('openstack', 'octavia', 'octavia-api.ini')],
      cwd: join(lab.dir, 'openstack', 'octavia'),
    });
    // Requests wait in the listen queue until a process has loaded the app.
    await waitUntil(
      PART,
      `octavia-api to answer on ${octaviaUrl}/healthcheck`,
      () => ok(`${octaviaUrl}/healthcheck`),
      { timeoutMs: START_TIMEOUT_MS, proc: rec },
    );
    step(`octavia-api is up (uWSGI, ${OCTAVIA_API_PROCESSES} processes)`);
  });
  const worker = Promise.all([octaviaFiles, rabbit]).then(async () => {
    const rec = lab.start(octaviaProc(lab, 'octavia-worker', '/usr/bin/octavia-worker'));
    // A cast sent before the worker has declared its queue is dropped (the object would stay
    // PENDING_* forever), so the worker is up once its queue has a consumer.
    await waitUntil(
      PART,
      `octavia-worker to consume queue ${WORKER_QUEUE}`,
      () => workerConsumes(rabbitmqUrl),
      {
        timeoutMs: START_TIMEOUT_MS,
        proc: rec,
        intervalMs: 300,
      },
    );
    step('octavia-worker is up');
  });
  const [, , registered] = await Promise.all([
    mariadb,
    rabbit,
    keystone,
    octaviaFiles,
    api,
    worker,
  ]);

  const state: OpenStackState = {
    keystoneUrl,
    octaviaUrl,
    region: REGION,
    cloudsYaml: lab.path('openstack', 'clouds.yaml'),
    cloud: 'kachiku-lab',
    appCredentialCloud: 'kachiku-lab-appcred',
    project: { id: registered.projectId, name: PROJECT, domain: DOMAIN },
    user: { name: USER, password: secrets.userPassword, domain: DOMAIN },
    applicationCredential: registered.applicationCredential,
    admin: { name: 'admin', password: secrets.adminPassword, project: 'admin', domain: DOMAIN },
    rabbitmqUrl,
    mariadb: { port: ports.mariadb, socket, dataDir: mariadbData },
  };
  writeCloudsYaml(state);

  // The whole chain: a tenant token, Octavia's keystonemiddleware validating it, the policy
  // letting load-balancer_member list, the database answering.
  const token = await keystoneToken(keystoneUrl, passwordAuth(state));
  const res = await fetch(`${octaviaUrl}/v2/lbaas/loadbalancers`, {
    headers: { 'X-Auth-Token': token },
    signal: AbortSignal.timeout(30_000),
  });
  if (res.status !== 200) {
    throw new LabError(
      PART,
      `octavia-api refused a project token: GET /v2/lbaas/loadbalancers -> ${res.status} ${await res.text()}`,
      undefined,
      lab.logPath('octavia-api'),
    );
  }
  step('OpenStack is up');
  return state;
}

export async function openstackHealth(s: OpenStackState): Promise<PartHealth[]> {
  const check = async (part: string, probe: () => Promise<string>): Promise<PartHealth> => {
    try {
      return { part, ok: true, detail: await probe() };
    } catch (err) {
      return { part, ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  };
  const rabbit = new URL(s.rabbitmqUrl);
  return Promise.all([
    check('mariadb', async () => {
      if (!s.mariadb) throw new Error("no MariaDB in this lab's record");
      return `MariaDB ${await mariadbGreeting(s.mariadb.port)} on 127.0.0.1:${s.mariadb.port}`;
    }),
    check('keystone', async () => {
      await expectOk(s.keystoneUrl);
      return s.keystoneUrl;
    }),
    check('octavia-api', async () => {
      await expectOk(`${s.octaviaUrl}/healthcheck`);
      return s.octaviaUrl;
    }),
    check('octavia-worker', async () => {
      const q = await amqpProbe(s.rabbitmqUrl, WORKER_QUEUE);
      if (!q) throw new Error(`queue ${WORKER_QUEUE} does not exist`);
      if (q.consumers < 1) throw new Error(`no consumer on queue ${WORKER_QUEUE}`);
      return `consumes ${WORKER_QUEUE} (${q.messages} waiting)`;
    }),
    check('rabbitmq', async () => {
      await amqpProbe(s.rabbitmqUrl);
      return `amqp://${rabbit.host}`;
    }),
  ]);
}

export function openstackEnv(s: OpenStackState): Record<string, string> {
  return { OS_CLIENT_CONFIG_FILE: s.cloudsYaml, OS_CLOUD: s.cloud };
}

// ---------------------------------------------------------------------------------------------
// Configuration

/** Fills a lab/openstack/*.in template; every @NAME@ must have a value. */
function render(template: string, values: Record<string, string | number>): string {
  const text = readFileSync(join(labRoot, 'openstack', template), 'utf8');
  return text.replace(/@([A-Z_]+)@/g, (whole, name: string) => {
    const v = values[name];
    if (v === undefined) throw new LabError(PART, `template ${template} has no value for ${whole}`);
    return String(v);
  });
}

function secret(): string {
  return randomBytes(18).toString('base64url');
}

function writeConfigs(
  lab: PartContext,
  ports: Ports,
  secrets: Secrets,
  keystoneUrl: string,
  socket: string,
  mariadbData: string,
): void {
  const state = join(lab.dir, 'openstack');
  for (const d of ['data', 'tmp'])
    mkdirSync(join(mariadbData, d), { recursive: true, mode: 0o700 });
  for (const d of [
    'keystone/fernet-keys',
    'keystone/credential-keys',
    'octavia/certs',
    'octavia/certificates',
  ]) {
    mkdirSync(join(state, d), { recursive: true, mode: 0o700 });
  }
  for (const d of ['rabbitmq/home', 'rabbitmq/mnesia', 'rabbitmq/log'])
    mkdirSync(join(state, d), { recursive: true });

  writeFileSync(
    lab.path('openstack', 'mariadb', 'mariadb.cnf'),
    render('mariadb.cnf.in', {
      STATE: state,
      DATA: mariadbData,
      USER: userInfo().username,
      SOCKET: socket,
      PORT: ports.mariadb,
    }),
    { mode: 0o600 },
  );
  // Run by mariadbd at every start, before it takes connections: idempotent.
  writeFileSync(
    lab.path('openstack', 'mariadb', 'init.sql'),
    [
      ['keystone', secrets.keystoneDbPassword],
      ['octavia', secrets.octaviaDbPassword],
    ]
      .map(
        ([db, password]) =>
          `CREATE DATABASE IF NOT EXISTS ${db} CHARACTER SET utf8mb4;\n` +
          `CREATE OR REPLACE USER '${db}'@'%' IDENTIFIED BY '${password}';\n` +
          `GRANT ALL PRIVILEGES ON ${db}.* TO '${db}'@'%';\n`,
      )
      .join(''),
    { mode: 0o600 },
  );
  writeFileSync(
    lab.path('openstack', 'keystone', 'keystone.conf'),
    render('keystone.conf.in', {
      STATE: state,
      DB_PASSWORD: secrets.keystoneDbPassword,
      DB_SOCKET: socket,
    }),
    { mode: 0o600 },
  );
  writeFileSync(
    lab.path('openstack', 'rabbitmq', 'rabbitmq.conf'),
    render('rabbitmq.conf.in', {
      AMQP_PORT: ports.amqp,
      USER: RABBIT_USER,
      PASSWORD: secrets.rabbitPassword,
    }),
    { mode: 0o600 },
  );
  writeFileSync(lab.path('openstack', 'rabbitmq', 'enabled_plugins'), '[].\n');
  // Replaces /etc/rabbitmq/rabbitmq-env.conf, which the start script would otherwise read.
  writeFileSync(lab.path('openstack', 'rabbitmq', 'rabbitmq-env.conf'), '');
  writeFileSync(
    lab.path('openstack', 'octavia', 'octavia.conf'),
    render('octavia.conf.in', {
      STATE: state,
      RABBIT_USER,
      RABBIT_PASSWORD: secrets.rabbitPassword,
      AMQP_PORT: ports.amqp,
      OCTAVIA_PORT: ports.octavia,
      KEYSTONE_URL: keystoneUrl,
      SERVICE_USER,
      SERVICE_PASSWORD: secrets.servicePassword,
      REGION,
      DB_PASSWORD: secrets.octaviaDbPassword,
      DB_SOCKET: socket,
    }),
    { mode: 0o600 },
  );
  writeFileSync(
    lab.path('openstack', 'octavia', 'octavia-api.ini'),
    render('octavia-api.ini.in', {
      STATE: state,
      OCTAVIA_PORT: ports.octavia,
      PROCESSES: OCTAVIA_API_PROCESSES,
    }),
  );
}

function writeCloudsYaml(s: OpenStackState): void {
  const common = { region_name: s.region, interface: 'public', identity_api_version: 3 };
  const clouds = {
    clouds: {
      [s.cloud]: {
        auth: {
          auth_url: s.keystoneUrl,
          username: s.user.name,
          password: s.user.password,
          project_name: s.project.name,
          user_domain_name: s.user.domain,
          project_domain_name: s.project.domain,
        },
        ...common,
      },
      [s.appCredentialCloud]: {
        auth_type: 'v3applicationcredential',
        auth: {
          auth_url: s.keystoneUrl,
          application_credential_id: s.applicationCredential.id,
          application_credential_secret: s.applicationCredential.secret,
        },
        ...common,
      },
      'kachiku-lab-admin': {
        auth: {
          auth_url: s.keystoneUrl,
          username: s.admin.name,
          password: s.admin.password,
          project_name: s.admin.project,
          user_domain_name: s.admin.domain,
          project_domain_name: s.admin.domain,
        },
        ...common,
      },
    },
  };
  writeFileSync(
    s.cloudsYaml,
    `# Written by the kachiku lab (lab/src/parts/openstack.ts).\n${toYaml(clouds)}`,
    { mode: 0o600 },
  );
}

// ---------------------------------------------------------------------------------------------
// MariaDB

/**
 * MariaDB's data directory: on tmpfs like etcd's (Octavia's migrations take 0.9 s there, 2.2 s
 * on this machine's disk), one per lab (about 75 MB); `lab down` removes it.
 */
export function mariadbDataDir(labDir: string): string {
  return `/dev/shm/kachiku-mariadb-${createHash('sha256').update(labDir).digest('hex').slice(0, 10)}`;
}

/** A fresh data directory, then the server, up once it greets on its port. */
async function startMariaDB(lab: PartContext, port: number): Promise<void> {
  const dir = join(lab.dir, 'openstack', 'mariadb');
  const cnf = `--defaults-file=${join(dir, 'mariadb.cnf')}`;
  await lab.run(
    {
      name: 'mariadb-install-db',
      part: PART,
      command: MARIADB_INSTALL_DB,
      // No root login is used: the init file makes the services' users.
      args: [cnf, '--skip-test-db', '--auth-root-authentication-method=socket'],
      cwd: dir,
    },
    START_TIMEOUT_MS,
  );
  const rec = lab.start({
    name: 'mariadb',
    part: PART,
    command: MARIADBD,
    args: [cnf, `--init-file=${join(dir, 'init.sql')}`],
    cwd: dir,
  });
  // The greeting comes once the init file has run (the databases and users exist).
  await waitUntil(
    PART,
    `MariaDB to greet on 127.0.0.1:${port}`,
    async () => !!(await mariadbGreeting(port)),
    { timeoutMs: START_TIMEOUT_MS, proc: rec, intervalMs: 100 },
  );
}

// ---------------------------------------------------------------------------------------------
// RabbitMQ

async function startRabbitMQ(lab: PartContext, ports: Ports, rabbitmqUrl: string): Promise<void> {
  const dir = join(lab.dir, 'openstack', 'rabbitmq');
  // Our own epmd, in the foreground so that the lab tracks (and stops) it; rabbitmq-server
  // must never start one itself (it would daemonize, outside the lab's process groups).
  const epmd = lab.start({
    name: 'epmd',
    part: PART,
    command: 'epmd',
    args: ['-port', String(ports.epmd), '-address', '127.0.0.1'],
  });
  await waitUntil(PART, `epmd to listen on 127.0.0.1:${ports.epmd}`, () => tcpOpen(ports.epmd), {
    timeoutMs: 10_000,
    proc: epmd,
    intervalMs: 50,
  });

  // A node name per state directory: unique across labs, stable across restarts of one lab.
  const node = `kachiku-${createHash('sha256').update(lab.dir).digest('hex').slice(0, 10)}@localhost`;
  const rec = lab.start({
    name: 'rabbitmq',
    part: PART,
    command: RABBITMQ_SERVER,
    args: [],
    cwd: dir,
    env: {
      HOME: join(dir, 'home'), // the Erlang cookie
      ERL_EPMD_PORT: String(ports.epmd),
      ERL_EPMD_ADDRESS: '127.0.0.1',
      RABBITMQ_NODENAME: node,
      RABBITMQ_USE_LONGNAME: 'false',
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(ports.amqp),
      RABBITMQ_DIST_PORT: String(ports.dist),
      RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_PLUGINS_EXPAND_DIR: join(dir, 'plugins-expand'),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
      // No Erlang VM of this node (the server, nor the helper its prelaunch starts to check
      // epmd) may start an epmd of its own: it would daemonize, out of the lab's reach.
      ERL_FLAGS: '-start_epmd false',
      // Erlang distribution on loopback only.
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      NOTIFY_SOCKET: '', // not under systemd, whatever the environment says
    },
  });
  await waitUntil(
    PART,
    `RabbitMQ to accept AMQP logins on 127.0.0.1:${ports.amqp}`,
    async () => {
      // The AMQP listener opens at the end of the boot; a login proves the configured user too.
      await amqpProbe(rabbitmqUrl);
      return true;
    },
    { timeoutMs: START_TIMEOUT_MS, proc: rec, intervalMs: 200 },
  );
}

// ---------------------------------------------------------------------------------------------
// Keystone

interface Registered {
  projectId: string;
  applicationCredential: { id: string; secret: string };
}

async function startKeystone(
  lab: PartContext,
  ports: Ports,
  secrets: Secrets,
  keystoneUrl: string,
  octaviaUrl: string,
): Promise<Registered> {
  const conf = join(lab.dir, 'openstack', 'keystone', 'keystone.conf');
  await lab.run(
    {
      name: 'keystone-setup',
      part: PART,
      command: PYTHON,
      args: [join(labRoot, 'openstack', 'keystone_setup.py'), conf, keystoneUrl, REGION],
      env: { KEYSTONE_ADMIN_PASSWORD: secrets.adminPassword },
      cwd: dirname(conf),
    },
    START_TIMEOUT_MS,
  );
  const rec = lab.start({
    name: 'keystone',
    part: PART,
    command: PYTHON,
    args: [
      '/usr/bin/keystone-wsgi-public',
      '--host',
      '127.0.0.1',
      '--port',
      String(ports.keystone),
    ],
    cwd: dirname(conf),
    env: { OS_KEYSTONE_CONFIG_DIR: dirname(conf), OS_KEYSTONE_CONFIG_FILES: 'keystone.conf' },
  });
  await waitUntil(PART, `Keystone to answer on ${keystoneUrl}`, () => ok(keystoneUrl), {
    timeoutMs: START_TIMEOUT_MS,
    proc: rec,
  });
  try {
    return await registerOctavia(keystoneUrl, octaviaUrl, secrets);
  } catch (err) {
    if (err instanceof LabError) throw err;
    throw new LabError(
      PART,
      `registering Octavia in Keystone failed: ${(err as Error).message}`,
      undefined,
      rec.log,
    );
  }
}

/**
 * What devstack's Octavia plugin registers: the load-balancer service and its endpoints, a
 * service user for keystone_authtoken, Octavia's policy roles; then the tenant project and user
 * the lab hands out, and an application credential for that user.
 */
async function registerOctavia(
  keystoneUrl: string,
  octaviaUrl: string,
  secrets: Secrets,
): Promise<Registered> {
  const admin = await keystoneToken(keystoneUrl, {
    user: 'admin',
    password: secrets.adminPassword,
    scope: { project: { name: 'admin', domain: { name: DOMAIN } } },
  });
  const ks = keystoneClient(keystoneUrl, admin);

  const service = await ks('POST', '/services', {
    service: {
      type: 'load-balancer',
      name: 'octavia',
      description: 'Octavia Load Balancing Service',
    },
  });
  for (const iface of ['public', 'internal', 'admin']) {
    await ks('POST', '/endpoints', {
      endpoint: {
        service_id: service.service.id,
        interface: iface,
        url: octaviaUrl,
        region_id: REGION,
      },
    });
  }
  const roles: Record<string, string> = {};
  for (const r of (await ks('GET', '/roles')).roles as { id: string; name: string }[])
    roles[r.name] = r.id;
  for (const name of ['service', ...OCTAVIA_ROLES]) {
    if (!roles[name]) roles[name] = (await ks('POST', '/roles', { role: { name } })).role.id;
  }
  const project = async (name: string, description: string): Promise<string> =>
    (await ks('POST', '/projects', { project: { name, description, domain_id: 'default' } }))
      .project.id;
  const user = async (name: string, password: string, projectId: string): Promise<string> =>
    (
      await ks('POST', '/users', {
        user: { name, password, domain_id: 'default', default_project_id: projectId },
      })
    ).user.id;
  const grant = (projectId: string, userId: string, role: string) =>
    ks('PUT', `/projects/${projectId}/users/${userId}/roles/${roles[role]}`);

  const serviceProject = await project('service', 'Service users');
  const serviceUser = await user(SERVICE_USER, secrets.servicePassword, serviceProject);
  await grant(serviceProject, serviceUser, 'admin');
  await grant(serviceProject, serviceUser, 'service');

  const projectId = await project(PROJECT, 'The kachiku lab tenant');
  const userId = await user(USER, secrets.userPassword, projectId);
  await grant(projectId, userId, 'load-balancer_member');

  // An application credential is created by its owner, with a token scoped to its project.
  const own = await keystoneToken(keystoneUrl, {
    user: USER,
    password: secrets.userPassword,
    scope: { project: { id: projectId } },
  });
  const appCred = await keystoneClient(keystoneUrl, own)(
    'POST',
    `/users/${userId}/application_credentials`,
    {
      application_credential: { name: 'kachiku-lab', description: 'kachiku lab controller' },
    },
  );
  return {
    projectId,
    applicationCredential: {
      id: appCred.application_credential.id,
      secret: appCred.application_credential.secret,
    },
  };
}

function keystoneClient(keystoneUrl: string, token: string) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${keystoneUrl}${path}`, {
      method,
      headers: { 'X-Auth-Token': token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${text}`);
    return text ? JSON.parse(text) : {};
  };
}

interface PasswordAuth {
  user: string;
  password: string;
  scope: { project: { id: string } | { name: string; domain: { name: string } } };
}

function passwordAuth(s: OpenStackState): PasswordAuth {
  return {
    user: s.user.name,
    password: s.user.password,
    scope: { project: { name: s.project.name, domain: { name: DOMAIN } } },
  };
}

/** A project-scoped token for a user of the Default domain (without the catalog: not needed here). */
async function keystoneToken(keystoneUrl: string, a: PasswordAuth): Promise<string> {
  const res = await fetch(`${keystoneUrl}/auth/tokens?nocatalog`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: a.user, domain: { name: DOMAIN }, password: a.password } },
        },
        scope: a.scope,
      },
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const token = res.headers.get('x-subject-token');
  if (res.status !== 201 || !token)
    throw new Error(`POST /auth/tokens as ${a.user} -> ${res.status} ${await res.text()}`);
  return token;
}

// ---------------------------------------------------------------------------------------------
// Octavia

async function prepareOctavia(lab: PartContext, mariadb: Promise<void>): Promise<void> {
  const certs = join(lab.dir, 'openstack', 'octavia', 'certs');
  const openssl = (name: string, args: string[]) =>
    lab
      .run({ name: 'octavia-certs', part: PART, command: 'openssl', args, cwd: certs }, 60_000)
      .catch((err) => {
        throw err instanceof LabError ? err : new LabError(PART, `openssl ${name}: ${err}`);
      });
  // Octavia's own migrations; they also fill the lookup tables and add the DELETED-PLACEHOLDER
  // flavor and availability zone.
  const db = mariadb.then(() =>
    lab.run(
      {
        name: 'octavia-db-manage',
        part: PART,
        command: PYTHON,
        args: [
          '/usr/bin/octavia-db-manage',
          '--config-file',
          join(lab.dir, 'openstack', 'octavia', 'octavia.conf'),
          'upgrade',
          'head',
        ],
      },
      START_TIMEOUT_MS,
    ),
  );
  db.catch(() => {});
  // The CA that signs the (no-op) amphorae's certificates, and the controller's client
  // certificate: Octavia reads both files while building an amphora, even a no-op one.
  const subj = (cn: string) => ['-subj', `/O=kachiku lab/CN=${cn}`];
  await openssl('ca', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-days',
    '3650',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    ...subj('kachiku lab Octavia CA'),
  ]);
  await openssl('client key', [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-keyout',
    'client.key',
    '-out',
    'client.csr',
    ...subj('octavia-controller'),
  ]);
  await openssl('client cert', [
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-sha256',
    '-days',
    '3650',
    '-out',
    'client.crt',
  ]);
  writeFileSync(
    join(certs, 'client.pem'),
    readFileSync(join(certs, 'client.crt'), 'utf8') +
      readFileSync(join(certs, 'client.key'), 'utf8'),
    { mode: 0o600 },
  );
  for (const f of ['ca.key', 'client.key']) chmodSync(join(certs, f), 0o600);
  await db;
}

function octaviaProc(lab: PartContext, name: string, script: string) {
  return {
    name,
    part: PART,
    command: PYTHON,
    args: [script, '--config-file', join(lab.dir, 'openstack', 'octavia', 'octavia.conf')],
    cwd: join(lab.dir, 'openstack', 'octavia'),
  };
}

async function workerConsumes(rabbitmqUrl: string): Promise<boolean> {
  const q = await amqpProbe(rabbitmqUrl, WORKER_QUEUE);
  return !!q && q.consumers > 0;
}

// ---------------------------------------------------------------------------------------------
// Probes

/**
 * Reads the greeting a MariaDB server sends on connecting to 127.0.0.1:`port` and resolves its
 * version; rejects on an error packet (e.g. too many connections), a refused connection or
 * silence.
 */
export function mariadbGreeting(port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const done = (err: Error | undefined, version = '') => {
      sock.destroy();
      if (err) reject(err);
      else resolve(version);
    };
    sock.setTimeout(timeoutMs, () => done(new Error(`no greeting within ${timeoutMs} ms`)));
    sock.once('error', (err) => done(err));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      // A packet: 3-byte length, 1-byte sequence number, payload.
      if (buf.length < 4 || buf.length < 4 + buf.readUIntLE(0, 3)) return;
      const payload = buf.subarray(4, 4 + buf.readUIntLE(0, 3));
      if (payload[0] === 10) {
        // Protocol 10: the server's version, NUL-terminated ("5.5.5-" is a compatibility prefix).
        const version = payload.subarray(1, payload.indexOf(0, 1)).toString();
        done(undefined, version.replace(/^5\.5\.5-/, ''));
      } else if (payload[0] === 0xff) {
        done(new Error(`MariaDB refused: ${payload.subarray(3).toString()}`));
      } else {
        done(new Error(`not a MariaDB greeting (first byte ${payload[0]})`));
      }
    });
  });
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.setTimeout(1000);
    sock.once('connect', () => (sock.destroy(), resolve(true)));
    sock.once('error', () => resolve(false));
    sock.once('timeout', () => (sock.destroy(), resolve(false)));
  });
}

/**
 * Logs in to RabbitMQ and, given a `queue`, declares it passively (amqplib's checkQueue).
 * Resolves the queue's message and consumer counts, or undefined when the queue does not exist
 * (or none was asked for); rejects when the broker is unreachable or refuses the login.
 */
export async function amqpProbe(
  url: string,
  queue?: string,
  timeoutMs = 3000,
): Promise<{ messages: number; consumers: number } | undefined> {
  const conn = await amqp.connect(url, { timeout: timeoutMs });
  // A passive declare of a missing queue closes the channel with an error event: expected here.
  conn.on('error', () => {});
  try {
    if (queue === undefined) return undefined;
    const channel = await conn.createChannel();
    channel.on('error', () => {});
    try {
      const q = await channel.checkQueue(queue);
      return { messages: q.messageCount, consumers: q.consumerCount };
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  } finally {
    await conn.close().catch(() => {});
  }
}
