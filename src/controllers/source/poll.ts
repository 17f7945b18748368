// One poll of a Fleet's source: its credentials from the Secret spec.source names (read at each
// poll, so a rotated password is used at once), then `git ls-remote` or the registry's
// tags/list. Every failure comes back as a reason and a message for SourceReady, never thrown,
// except the leadership ending under it. Messages name Secrets and URLs, never what they hold.
import type { Fleet } from '../../api/fleet.js';
import { Reason } from '../../api/conditions.js';
import { secretGvr } from '../../runtime/core.js';
import { isForbidden, isNotFound, type KubeObject, type Rest } from '../../runtime/rest.js';
import { lsRemote, type GitAuth } from '../../clouds/git/index.js';
import {
  credentialsFromDockerConfig,
  listTags,
  manifestDigest,
  parseRepository,
  type RegistryCredentials,
} from '../../clouds/registry/index.js';
import { isSourceError, type SourceErrorKind } from '../../clouds/source-error.js';
import { reasonOfError, type PollOutcome, type Source } from './plan.js';

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

/** A failure that becomes SourceReady=False with this reason. */
class PollFailure extends Error {
  constructor(
    readonly reason: Reason,
    message: string,
  ) {
    super(message);
  }
}

export interface PollOptions {
  signal: AbortSignal;
  /** Bound of the whole ls-remote, or of each registry request. */
  timeoutMs?: number;
}

export async function pollSource(
  rest: Rest,
  fleet: Fleet,
  source: Source,
  opts: PollOptions,
): Promise<PollOutcome> {
  const namespace = fleet.metadata.namespace ?? '';
  const timeoutMs = opts.timeoutMs ?? 30_000;
  try {
    if (source.git) {
      const auth = source.git.secretRef
        ? gitAuth(await readSecret(rest, namespace, source.git.secretRef))
        : undefined;
      const refs = await lsRemote(source.git.url, { auth, signal: opts.signal, timeoutMs });
      return { kind: 'refs', refs };
    }
    if (source.image) {
      const { repository, insecure } = source.image;
      const registry = parseRepository(repository, { insecure }).registry;
      const credentials = source.image.secretRef
        ? registryCredentials(await readSecret(rest, namespace, source.image.secretRef), registry)
        : undefined;
      const tags = await listTags(repository, {
        credentials,
        insecure,
        signal: opts.signal,
        timeoutMs,
      });
      return { kind: 'tags', tags };
    }
    return {
      kind: 'error',
      reason: Reason.InvalidSpec,
      message: 'spec.source has no git or image',
    };
  } catch (err) {
    if (opts.signal.aborted) throw err;
    if (err instanceof PollFailure)
      return { kind: 'error', reason: err.reason, message: err.message };
    if (isSourceError(err))
      return { kind: 'error', reason: reasonOf(err.kind), message: err.message };
    throw err;
  }
}

/** What a registry says of one version of an image source, before a Release touches a Prod. */
export type VersionLookup =
  { kind: 'found'; digest: string } | { kind: 'error'; reason: Reason; message: string };

/**
 * Does `<repository>:<version>` exist? A HEAD of its manifest (not a pull), with the source's
 * credentials; NotFound → VersionNotFound, any other failure as for a poll.
 */
export async function lookUpVersion(
  rest: Rest,
  fleet: Fleet,
  image: NonNullable<Source['image']>,
  version: string,
  opts: PollOptions,
): Promise<VersionLookup> {
  const namespace = fleet.metadata.namespace ?? '';
  const { repository, insecure } = image;
  try {
    const registry = parseRepository(repository, { insecure }).registry;
    const credentials = image.secretRef
      ? registryCredentials(await readSecret(rest, namespace, image.secretRef), registry)
      : undefined;
    const digest = await manifestDigest(repository, version, {
      credentials,
      insecure,
      signal: opts.signal,
      timeoutMs: opts.timeoutMs ?? 30_000,
    });
    return { kind: 'found', digest };
  } catch (err) {
    if (opts.signal.aborted) throw err;
    if (err instanceof PollFailure)
      return { kind: 'error', reason: err.reason, message: err.message };
    if (isSourceError(err))
      return {
        kind: 'error',
        reason: err.kind === 'NotFound' ? Reason.VersionNotFound : reasonOf(err.kind),
        message:
          err.kind === 'NotFound'
            ? `${repository}:${version} is not in the registry (${err.message})`
            : err.message,
      };
    throw err;
  }
}

/** A malformed URL or repository is a spec to fix, not a policy. */
const reasonOf = (kind: SourceErrorKind) =>
  kind === 'Invalid' ? Reason.InvalidSpec : reasonOfError(kind);

async function readSecret(rest: Rest, namespace: string, name: string): Promise<Secret> {
  try {
    return await rest.get<Secret>(secretGvr, namespace, name);
  } catch (err) {
    if (isNotFound(err))
      throw new PollFailure(Reason.SecretNotFound, `Secret ${namespace}/${name} not found`);
    if (isForbidden(err))
      throw new PollFailure(
        Reason.SecretNotReadable,
        `kachiku may not read Secret ${namespace}/${name} (403): bind ClusterRole kachiku-secret-reader to its ServiceAccount in namespace ${namespace}`,
      );
    throw err;
  }
}

const field = (s: Secret, key: string) =>
  s.data?.[key] === undefined ? undefined : Buffer.from(s.data[key], 'base64').toString('utf8');

function gitAuth(s: Secret): GitAuth {
  const username = field(s, 'username');
  const password = field(s, 'password');
  const bearerToken = field(s, 'bearerToken');
  if (bearerToken) return { bearerToken };
  if (username !== undefined && password !== undefined) return { username, password };
  throw new PollFailure(
    Reason.SourceAuthFailed,
    `Secret ${s.metadata.namespace}/${s.metadata.name} has neither keys username and password nor bearerToken`,
  );
}

function registryCredentials(s: Secret, registry: string): RegistryCredentials | undefined {
  const where = `Secret ${s.metadata.namespace}/${s.metadata.name}`;
  const json = field(s, '.dockerconfigjson');
  if (s.type !== 'kubernetes.io/dockerconfigjson' || json === undefined)
    throw new PollFailure(
      Reason.SourceAuthFailed,
      `${where} is not of type kubernetes.io/dockerconfigjson with key .dockerconfigjson`,
    );
  try {
    return credentialsFromDockerConfig(json, registry);
  } catch (err) {
    // Its messages say what is wrong with the config, never what it holds.
    throw new PollFailure(
      Reason.SourceAuthFailed,
      `${where}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}
