// Registry credentials from a Docker config (`~/.docker/config.json`, and the
// `kubernetes.io/dockerconfigjson` Secrets that image pull secrets and Flux's
// ImageRepository.secretRef are): `{"auths":{"<registry>":{"auth":"base64(user:pass)"}}}`, or
// `username`/`password` fields. Keys may carry a scheme and path (`https://index.docker.io/v1/`).
import { SourceError } from '../source-error.js';
import type { RegistryCredentials } from './client.js';

const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

const hostOf = (key: string) => {
  const host = key
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return DOCKER_HUB.has(host) ? 'docker.io' : host;
};

/** The credentials for `registry` (as parseRepository names it), or undefined if none. */
export function credentialsFromDockerConfig(
  json: string,
  registry: string,
): RegistryCredentials | undefined {
  const invalid = (why: string) =>
    new SourceError('Invalid', 'registry', 'dockerConfig', `the Docker config ${why}`);
  let config: {
    auths?: Record<string, { auth?: unknown; username?: unknown; password?: unknown }>;
  };
  try {
    config = JSON.parse(json) as typeof config;
  } catch {
    throw invalid('is not JSON');
  }
  const want = hostOf(registry);
  const entry = Object.entries(config?.auths ?? {}).find(([k]) => hostOf(k) === want)?.[1];
  if (!entry) return undefined;
  if (typeof entry.username === 'string' && typeof entry.password === 'string')
    return { username: entry.username, password: entry.password };
  if (typeof entry.auth !== 'string') throw invalid(`has no auth for ${want}`);
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalid(`auth for ${want} is not base64 of user:password`);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
