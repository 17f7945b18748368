// `kachiku controller`: every registered controller under one manager.
import { Command, Option } from 'commander';
import { KubeConfig } from '@kubernetes/client-node';
import { CacheSyncTimeoutError, LeadershipLostError, Manager } from '../runtime/manager.js';
import { newLogger } from '../runtime/log.js';
import { parseDuration } from '../runtime/duration.js';
import { controllers } from '../controllers/index.js';
import { CONTROLLER_NAME } from '../api/kind.js';

interface Options {
  kubeconfig?: string;
  namespace?: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  cacheSyncTimeout: number;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  webhookBindAddress: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  identity?: string;
  secretNamespaces?: string;
  clusterProbeInterval: number;
  clusterProbeTimeout: number;
  clusterUnreachableAfter: number;
  clusterReachableAfter: number;
  alertmanagerUrl?: string;
  releaseHoldTimeout: number;
}

const count = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`"${v}" is not a whole number ≥ 1`);
  return n;
};

const disabled = (address: string) => (address === '0' ? undefined : address);

export function controllerCommand(): Command {
  return new Command('controller')
    .description(
      'run every kachiku controller under one manager (leader election, metrics, health)',
    )
    .addOption(
      new Option(
        '--kubeconfig <path>',
        'kubeconfig of the control-plane cluster (default: KUBECONFIG, then in-cluster)',
      ),
    )
    .addOption(
      new Option(
        '--namespace <ns>',
        'watch namespaced kinds in this namespace only (default: all)',
      ).env('KACHIKU_NAMESPACE'),
    )
    .addOption(new Option('--no-leader-elect', 'run without leader election (a single replica)'))
    .addOption(
      new Option('--leader-election-namespace <ns>', 'namespace of the leader election Lease')
        .env('POD_NAMESPACE')
        .default('kachiku-system'),
    )
    .addOption(
      new Option('--leader-election-id <name>', 'name of the leader election Lease').default(
        'kachiku-controller',
      ),
    )
    .addOption(
      new Option('--lease-duration <d>', 'how long a lease lasts without renewal')
        .default(15_000, '15s')
        .argParser(parseDuration),
    )
    .addOption(
      new Option('--renew-deadline <d>', 'the leader steps down if it cannot renew within this')
        .default(10_000, '10s')
        .argParser(parseDuration),
    )
    .addOption(
      new Option('--retry-period <d>', 'how often to try to acquire or renew the lease')
        .default(2_000, '2s')
        .argParser(parseDuration),
    )
    .addOption(
      new Option(
        '--cache-sync-timeout <d>',
        'exit with an error naming the informers when the caches have not synced this long after leading',
      )
        .env('KACHIKU_CACHE_SYNC_TIMEOUT')
        .default(120_000, '2m')
        .argParser(parseDuration),
    )
    .addOption(
      new Option('--metrics-bind-address <addr>', 'host:port for /metrics, 0 to disable')
        .env('KACHIKU_METRICS_ADDRESS')
        .default(':8080'),
    )
    .addOption(
      new Option(
        '--health-probe-bind-address <addr>',
        'host:port for /healthz and /readyz, 0 to disable',
      )
        .env('KACHIKU_HEALTH_ADDRESS')
        .default(':8081'),
    )
    .addOption(
      new Option(
        '--webhook-bind-address <addr>',
        'host:port for the webhook receivers (POST /hooks/<namespace>/<fleet>), e.g. :9292; 0 (the default) serves none',
      )
        .env('KACHIKU_WEBHOOK_ADDRESS')
        .default('0'),
    )
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['debug', 'info', 'warn', 'error'])
        .env('KACHIKU_LOG_LEVEL')
        .default('info'),
    )
    .addOption(
      new Option(
        '--secret-namespaces <list>',
        "comma-separated namespaces whose Secrets may hold MemberCluster kubeconfigs (RBAC: bind ClusterRole kachiku-secret-reader in each; default: the controller's own namespace)",
      ).env('KACHIKU_SECRET_NAMESPACES'),
    )
    .addOption(
      new Option(
        '--cluster-probe-interval <d>',
        'how often each MemberCluster is probed (a down cluster is judged unreachable after interval × --cluster-unreachable-after)',
      )
        .env('KACHIKU_CLUSTER_PROBE_INTERVAL')
        .default(10_000, '10s')
        .argParser(parseDuration),
    )
    .addOption(
      new Option('--cluster-probe-timeout <d>', 'bound of one MemberCluster probe')
        .env('KACHIKU_CLUSTER_PROBE_TIMEOUT')
        .default(5_000, '5s')
        .argParser(parseDuration),
    )
    .addOption(
      new Option(
        '--cluster-unreachable-after <n>',
        'failed probes in a row that turn a MemberCluster Reachable=False',
      )
        .default(3)
        .argParser(count),
    )
    .addOption(
      new Option(
        '--cluster-reachable-after <n>',
        'good probes in a row that turn it Reachable=True again',
      )
        .default(2)
        .argParser(count),
    )
    .addOption(
      new Option(
        '--alertmanager-url <url>',
        "Alertmanager's base URL for release gates when a Release's spec.strategy.alertmanager is not set",
      ).env('KACHIKU_ALERTMANAGER_URL'),
    )
    .addOption(
      new Option(
        '--release-hold-timeout <d>',
        "how long a Release waits for the Router to route a held Prod's Dual tenants away before it updates the Prod anyway",
      )
        .default(30_000, '30s')
        .argParser(parseDuration),
    )
    .addOption(
      new Option(
        '--identity <id>',
        "this replica's identity in the Lease (default: hostname and a random suffix)",
      ).env('POD_NAME'),
    )
    .action(async (o: Options) => {
      const log = newLogger(o.logLevel);
      const config = new KubeConfig();
      if (o.kubeconfig) config.loadFromFile(o.kubeconfig);
      else config.loadFromDefault();
      const mgr = new Manager({
        name: CONTROLLER_NAME,
        config,
        log,
        namespace: o.namespace,
        identity: o.identity,
        metricsAddress: disabled(o.metricsBindAddress),
        healthAddress: disabled(o.healthProbeBindAddress),
        hooksAddress: disabled(o.webhookBindAddress),
        cacheSyncTimeoutMs: o.cacheSyncTimeout,
        leaderElection: o.leaderElect
          ? {
              namespace: o.leaderElectionNamespace,
              name: o.leaderElectionId,
              leaseDurationMs: o.leaseDuration,
              renewDeadlineMs: o.renewDeadline,
              retryPeriodMs: o.retryPeriod,
            }
          : undefined,
      });
      const secretNamespaces = (o.secretNamespaces ?? o.leaderElectionNamespace)
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean);
      const probes = {
        probeIntervalMs: o.clusterProbeInterval,
        probeTimeoutMs: o.clusterProbeTimeout,
        failuresToUnreachable: o.clusterUnreachableAfter,
        successesToReachable: o.clusterReachableAfter,
      };
      if (o.alertmanagerUrl !== undefined && !/^https?:\/\/\S+$/.test(o.alertmanagerUrl))
        throw new Error(`--alertmanager-url "${o.alertmanagerUrl}" is not an http(s) URL`);
      const alertmanagerUrl = o.alertmanagerUrl;
      for (const c of controllers)
        c.register(mgr, {
          secretNamespaces,
          probes,
          alertmanagerUrl,
          releaseHoldTimeoutMs: o.releaseHoldTimeout,
        });
      const stop = new AbortController();
      for (const sig of ['SIGTERM', 'SIGINT'] as const) {
        process.once(sig, () => {
          log.info({ signal: sig }, 'shutting down');
          stop.abort();
        });
      }
      log.info(
        {
          identity: mgr.identity,
          controllers: controllers.map((c) => c.name),
          metrics: o.metricsBindAddress,
          health: o.healthProbeBindAddress,
          webhooks: o.webhookBindAddress,
        },
        'kachiku controller starting',
      );
      try {
        await mgr.run(stop.signal);
      } catch (err) {
        if (err instanceof LeadershipLostError) {
          log.error('leader election lost: exiting so a fresh process can compete again');
          process.exit(1);
        }
        if (err instanceof CacheSyncTimeoutError) {
          // Each informer and its last list error are in the manager's log line before this one.
          log.error(
            { unsynced: err.unsynced.map((u) => u.resource) },
            'caches did not sync: exiting (are the CRDs installed, and may this account list them?)',
          );
          process.exit(1);
        }
        throw err;
      }
    });
}
