// clouds.yaml as openstacksdk reads it: the same search path, the same choice of cloud, the
// same keys, for password and v3applicationcredential auth. The controller also gets the file's
// text from a Kubernetes Secret, hence parseCloudsYaml().
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { OpenStackError } from './errors.js';

export type Interface = 'public' | 'internal' | 'admin';

export interface PasswordAuth {
  type: 'password';
  authUrl: string;
  username?: string;
  userId?: string;
  password: string;
  userDomainName?: string;
  userDomainId?: string;
  projectName?: string;
  projectId?: string;
  projectDomainName?: string;
  projectDomainId?: string;
}

export interface ApplicationCredentialAuth {
  type: 'v3applicationcredential';
  authUrl: string;
  /** Either the id, or the name with the owning user (username + domain, or userId). */
  applicationCredentialId?: string;
  applicationCredentialName?: string;
  applicationCredentialSecret: string;
  username?: string;
  userId?: string;
  userDomainName?: string;
  userDomainId?: string;
}

export interface CloudConfig {
  /** The cloud's name in clouds.yaml. */
  name: string;
  /** Where it came from: a file path, or what the caller named the text (e.g. a Secret). */
  source: string;
  auth: PasswordAuth | ApplicationCredentialAuth;
  regionName?: string;
  interface: Interface;
  /** false turns TLS verification off (openstacksdk's `verify: false`). */
  verify: boolean;
  /** Path of a PEM CA bundle to trust instead of the system's. */
  cacert?: string;
  /** `<service_type>_endpoint_override`, keyed by service type (e.g. 'load-balancer'). */
  endpointOverrides: Record<string, string>;
}

type Env = Record<string, string | undefined>;

export interface LoadOptions {
  /** The cloud's name; else OS_CLOUD; else the file's only cloud. */
  cloud?: string;
  env?: Env;
  cwd?: string;
  home?: string;
}

/** openstacksdk's search order; OS_CLIENT_CONFIG_FILE first when set. */
export function cloudsYamlCandidates(
  env: Env = process.env,
  cwd = process.cwd(),
  home = homedir(),
): string[] {
  return [
    ...(env.OS_CLIENT_CONFIG_FILE ? [resolve(cwd, env.OS_CLIENT_CONFIG_FILE)] : []),
    join(cwd, 'clouds.yaml'),
    join(home, '.config', 'openstack', 'clouds.yaml'),
    '/etc/openstack/clouds.yaml',
  ];
}

/** Finds clouds.yaml on the search path and reads the chosen cloud from it. */
export function loadCloud(opts: LoadOptions = {}): CloudConfig {
  const env = opts.env ?? process.env;
  const candidates = cloudsYamlCandidates(env, opts.cwd, opts.home);
  for (const path of candidates) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw configError(`cannot read ${path}: ${(err as Error).message}`);
    }
    return parseCloudsYaml(text, { cloud: opts.cloud, env, source: path });
  }
  throw configError(`no clouds.yaml found; looked at ${candidates.join(', ')}`);
}

/**
 * Reads the chosen cloud from clouds.yaml text: `cloud`, else `env.OS_CLOUD`, else the only
 * cloud. The process environment is read only when passed as `env` (loadCloud does): text from
 * a Secret must not be mixed with the controller's own OS_CLOUD.
 */
export function parseCloudsYaml(
  text: string,
  opts: { cloud?: string; env?: Env; source?: string } = {},
): CloudConfig {
  const source = opts.source ?? 'clouds.yaml';
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw configError(`${source} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const clouds = (isObject(doc) ? doc.clouds : undefined) as unknown;
  if (!isObject(clouds) || Object.keys(clouds).length === 0) {
    throw configError(`${source} has no clouds`);
  }
  const names = Object.keys(clouds);
  const name = opts.cloud || opts.env?.OS_CLOUD || (names.length === 1 ? names[0] : undefined);
  if (!name) {
    throw configError(
      `${source} has several clouds (${names.join(', ')}): name one, or set OS_CLOUD`,
    );
  }
  const raw = clouds[name];
  if (raw === undefined) {
    throw configError(`${source} has no cloud "${name}"; it has ${names.join(', ')}`);
  }
  if (!isObject(raw)) throw configError(`cloud "${name}" in ${source} is not a mapping`);
  return toCloud(name, source, normalizeKeys(raw));
}

function toCloud(name: string, source: string, c: Record<string, unknown>): CloudConfig {
  const where = `cloud "${name}" in ${source}`;
  const str = (obj: Record<string, unknown>, key: string): string | undefined => {
    const v = obj[key];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw configError(`${where}: ${key} must be a string`);
    }
    return String(v);
  };

  const version = str(c, 'identity_api_version');
  if (version !== undefined && !/^3(\.\d+)?$/.test(version)) {
    throw configError(`${where}: identity_api_version ${version} is not supported; only 3`);
  }

  const a = isObject(c.auth) ? c.auth : {};
  const missing: string[] = [];
  const need = (key: string, ...alternatives: (string | undefined)[]) => {
    if (!alternatives.some((v) => v !== undefined)) missing.push(key);
  };
  const authUrl = str(a, 'auth_url');
  need('auth.auth_url', authUrl);
  // keystoneauth's default_domain_* stands in for both user and project domains.
  const defaultDomainName = str(a, 'default_domain_name');
  const defaultDomainId = str(a, 'default_domain_id');
  const user = {
    username: str(a, 'username') ?? str(a, 'user_name'),
    userId: str(a, 'user_id'),
    userDomainName: str(a, 'user_domain_name') ?? defaultDomainName,
    userDomainId: str(a, 'user_domain_id') ?? defaultDomainId,
  };
  // Keystone finds a user by name only within a domain.
  const needUserDomain = () => {
    if (user.username && !user.userId) {
      need('auth.user_domain_name or auth.user_domain_id', user.userDomainName, user.userDomainId);
    }
  };

  const authType = (str(c, 'auth_type') ?? 'password').replace(/-/g, '_');
  let auth: PasswordAuth | ApplicationCredentialAuth;
  if (authType === 'password' || authType === 'v3password') {
    const password = str(a, 'password');
    need('auth.password', password);
    need('auth.username or auth.user_id', user.username, user.userId);
    needUserDomain();
    const project = {
      projectName: str(a, 'project_name') ?? str(a, 'tenant_name'),
      projectId: str(a, 'project_id') ?? str(a, 'tenant_id'),
      projectDomainName: str(a, 'project_domain_name') ?? defaultDomainName,
      projectDomainId: str(a, 'project_domain_id') ?? defaultDomainId,
    };
    // Octavia needs a project-scoped token: an unscoped one would only fail later, with 401.
    need('auth.project_name or auth.project_id', project.projectName, project.projectId);
    if (project.projectName && !project.projectId) {
      need(
        'auth.project_domain_name or auth.project_domain_id',
        project.projectDomainName,
        project.projectDomainId,
      );
    }
    auth = {
      type: 'password',
      authUrl: authUrl ?? '',
      password: password ?? '',
      ...user,
      ...project,
    };
  } else if (authType === 'v3applicationcredential') {
    const id = str(a, 'application_credential_id');
    const credName = str(a, 'application_credential_name');
    const secret = str(a, 'application_credential_secret');
    need('auth.application_credential_secret', secret);
    need('auth.application_credential_id or auth.application_credential_name', id, credName);
    if (!id && credName) {
      need(
        'auth.username or auth.user_id (with application_credential_name)',
        user.username,
        user.userId,
      );
      needUserDomain();
    }
    auth = {
      type: 'v3applicationcredential',
      authUrl: authUrl ?? '',
      applicationCredentialId: id,
      applicationCredentialName: id ? undefined : credName,
      applicationCredentialSecret: secret ?? '',
      ...(id ? {} : user),
    };
  } else {
    throw configError(
      `${where}: auth_type ${authType} is not supported; use password or v3applicationcredential`,
    );
  }
  if (missing.length) throw configError(`${where} lacks ${missing.join(', ')}`);

  const iface = (str(c, 'interface') ?? str(c, 'endpoint_type') ?? 'public').replace(/URL$/, '');
  if (iface !== 'public' && iface !== 'internal' && iface !== 'admin') {
    throw configError(`${where}: interface ${iface} is not public, internal or admin`);
  }
  let verify = true;
  if (c.verify !== undefined && c.verify !== null) {
    if (typeof c.verify !== 'boolean') throw configError(`${where}: verify must be true or false`);
    verify = c.verify;
  }
  const endpointOverrides: Record<string, string> = {};
  for (const key of Object.keys(c)) {
    const m = /^(.+)_endpoint_override$/.exec(key);
    const url = m && str(c, key);
    if (m && url) endpointOverrides[(m[1] as string).replace(/_/g, '-')] = url;
  }

  return {
    name,
    source,
    auth: { ...auth, authUrl: keystoneV3(authUrl as string) },
    regionName: str(c, 'region_name'),
    interface: iface,
    verify,
    cacert: str(c, 'cacert'),
    endpointOverrides,
  };
}

/**
 * auth_url is often given without a version (openstacksdk discovers it); kachiku speaks only
 * v3, so it appends /v3 unless the URL already names a version.
 */
export function keystoneV3(authUrl: string): string {
  const url = authUrl.replace(/\/+$/, '');
  return /\/v3(\.\d+)?$/.test(url) ? url : `${url}/v3`;
}

// openstacksdk accepts dashes for underscores in keys (auth-url); so does kachiku.
function normalizeKeys(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    out[k.replace(/-/g, '_')] = k === 'auth' && isObject(v) ? normalizeKeys(v) : v;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function configError(message: string): OpenStackError {
  return new OpenStackError('Config', 'clouds.yaml', 'load', message);
}
