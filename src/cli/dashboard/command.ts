// `kachiku dashboard` (and `kubectl kachiku dashboard`): the live web UI, served on 127.0.0.1
// with the user's kubeconfig, like `kubectl argo rollouts dashboard`.
import { Command, Option } from 'commander';
import { KubeConfig } from '@kubernetes/client-node';
import { startDashboard } from './server.js';

interface Options {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces?: boolean;
  address: string;
  port: string;
}

export function dashboardCommand(): Command {
  return new Command('dashboard')
    .description(
      'serve a live web UI of the fleets, releases, tenants and mirrors (pause/resume/abort releases, drain/uncordon clusters after their plan)',
    )
    .addOption(
      new Option(
        '--kubeconfig <path>',
        'kubeconfig of the control-plane cluster (default: KUBECONFIG, then ~/.kube/config)',
      ),
    )
    .addOption(new Option('--context <name>', 'the kubeconfig context to use'))
    .addOption(
      new Option(
        '-n, --namespace <ns>',
        "the namespace to show (default: the context's, else default)",
      ),
    )
    .addOption(new Option('-A, --all-namespaces', 'show every namespace'))
    .addOption(
      new Option(
        '--address <ip>',
        'address to listen on (anything but loopback exposes your cluster credentials to that network)',
      ).default('127.0.0.1'),
    )
    .addOption(new Option('--port <n>', 'port to listen on (0: any free port)').default('3100'))
    .action(async (o: Options) => {
      const config = new KubeConfig();
      if (o.kubeconfig) config.loadFromFile(o.kubeconfig);
      else config.loadFromDefault();
      if (o.context) config.setCurrentContext(o.context);
      const namespace = o.allNamespaces
        ? undefined
        : (o.namespace ??
          (config.getContextObject(config.getCurrentContext())?.namespace || 'default'));
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new Error(`--port ${o.port}: not a port`);
      const dashboard = await startDashboard({ config, namespace, address: o.address, port });
      process.stdout.write(
        `kachiku dashboard: ${dashboard.url} (${namespace ? `namespace ${namespace}` : 'all namespaces'}; Ctrl-C stops it)\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await dashboard.close();
    });
}
