// Where an image repository lives: `ghcr.io/team/app`, `127.0.0.1:5000/app`, `nginx` — Docker's
// reference rules (distribution/reference): the first path component is a registry host when it
// has a dot or a port or is `localhost`; otherwise the image is on Docker Hub, whose API host is
// registry-1.docker.io and whose one-component names live under `library/`.
import { SourceError } from '../source-error.js';

export interface Repository {
  /** The registry as image references name it, e.g. `ghcr.io`, `docker.io`, `127.0.0.1:5000`. */
  registry: string;
  /** The repository path in the API, e.g. `team/app`, `library/nginx`. */
  name: string;
  /** Where the API is: `https://<host>`, or `http://` when insecure. */
  baseUrl: string;
}

const DOMAIN =
  /^(?:localhost|\[[0-9a-fA-F:.]+\]|(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]+)?$/;
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/**
 * Splits an image repository reference (no tag, no digest) into registry and name. `insecure`
 * speaks plain HTTP to the registry (Flux ImageRepository's `insecure`), for labs and mirrors.
 */
export function parseRepository(ref: string, opts: { insecure?: boolean } = {}): Repository {
  const invalid = (why: string) =>
    new SourceError('Invalid', 'registry', 'parseRepository', `${JSON.stringify(ref)}: ${why}`);
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  const hasHost =
    slash >= 0 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase());
  let registry = hasHost ? first : 'docker.io';
  let name = hasHost ? ref.slice(slash + 1) : ref;
  if (hasHost && !DOMAIN.test(registry)) throw invalid(`"${registry}" is not a registry host`);
  if (name.includes('@') || /:/.test(name))
    throw invalid('give the repository without a tag or digest');
  const components = name.split('/');
  if (!name || !components.every((c) => COMPONENT.test(c)))
    throw invalid('a repository is lower-case path components ([a-z0-9] with . _ __ - between)');
  if (name.length > 255) throw invalid('longer than 255 characters');
  if (registry === 'index.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && components.length === 1) name = `library/${name}`;
  const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
  return { registry, name, baseUrl: `${opts.insecure ? 'http' : 'https'}://${host}` };
}
