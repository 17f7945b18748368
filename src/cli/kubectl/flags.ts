// kubectl's flags, which kubectl hands to a plugin verbatim (after the plugin's name) for the plugin
// to honour: --kubeconfig, --context, -n/--namespace, -A/--all-namespaces, -o/--output.
import { Command, Option } from 'commander';
import type { KubeConfig } from '@kubernetes/client-node';
import { Rest } from '../../runtime/rest.js';
import { loadKubeconfig } from '../world.js';

export interface Globals {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces?: boolean;
}

export type Format = 'text' | 'wide' | 'json' | 'yaml';

/** The connection flags, on every command that talks to the cluster. */
export function withConnection(c: Command, opts: { allNamespaces?: boolean } = {}): Command {
  c.addOption(
    new Option(
      '--kubeconfig <path>',
      'path to the kubeconfig file (default: KUBECONFIG, then ~/.kube/config)',
    ),
  )
    .addOption(new Option('--context <name>', 'the kubeconfig context to use'))
    .addOption(
      new Option('-n, --namespace <ns>', "the namespace (default: the context's, else default)"),
    );
  if (opts.allNamespaces)
    c.addOption(new Option('-A, --all-namespaces', 'list across all namespaces'));
  return c;
}

export function withOutput(c: Command, formats: readonly Format[]): Command {
  return c.addOption(
    new Option(
      '-o, --output <format>',
      `output format: ${formats.filter((f) => f !== 'text').join(', ')}`,
    ).choices(formats.filter((f) => f !== 'text')),
  );
}

/** The namespace a command works in: -n, else the context's, else default (as kubectl). */
export function namespaceOf(kc: KubeConfig, flag: string | undefined): string {
  return flag || kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
}

export interface Connection {
  kc: KubeConfig;
  rest: Rest;
  namespace: string;
}

export function connect(g: Globals): Connection {
  const kc = loadKubeconfig(g.kubeconfig, g.context);
  return { kc, rest: new Rest(kc), namespace: namespaceOf(kc, g.namespace) };
}

/** Runs `fn` with a connection, closed after. */
export async function withRest<T>(g: Globals, fn: (c: Connection) => Promise<T>): Promise<T> {
  const c = connect(g);
  try {
    return await fn(c);
  } finally {
    await c.rest.close();
  }
}
