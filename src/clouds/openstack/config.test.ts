import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloudsYamlCandidates, keystoneV3, loadCloud, parseCloudsYaml } from './config.js';
import { OpenStackError } from './errors.js';

const PASSWORD_CLOUD = `
clouds:
  prod:
    auth:
      auth_url: https://keystone.example:5000
      username: kachiku
      password: s3cret-pw
      project_name: lb
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionTwo
    interface: internal
    cacert: /etc/ssl/ca.pem
    load_balancer_endpoint_override: https://octavia.example:9876/
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example:5000/v3/
      application_credential_id: ac-1
      application_credential_secret: ac-s3cret
    verify: false
`;

function configError(fn: () => unknown, pattern: RegExp): OpenStackError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof OpenStackError, String(err));
    assert.equal(err.kind, 'Config');
    assert.match(err.message, pattern);
    return err;
  }
  assert.fail('expected a Config error');
}

test('password cloud: every field, /v3 appended, overrides keyed by service type', () => {
  const c = parseCloudsYaml(PASSWORD_CLOUD, { cloud: 'prod', env: {} });
  assert.deepEqual(c, {
    name: 'prod',
    source: 'clouds.yaml',
    auth: {
      type: 'password',
      authUrl: 'https://keystone.example:5000/v3',
      password: 's3cret-pw',
      username: 'kachiku',
      userId: undefined,
      userDomainName: 'Default',
      userDomainId: undefined,
      projectName: 'lb',
      projectId: undefined,
      projectDomainName: 'Default',
      projectDomainId: undefined,
    },
    regionName: 'RegionTwo',
    interface: 'internal',
    verify: true,
    cacert: '/etc/ssl/ca.pem',
    endpointOverrides: { 'load-balancer': 'https://octavia.example:9876/' },
  });
});

test('application credential cloud by OS_CLOUD; interface defaults to public', () => {
  const c = parseCloudsYaml(PASSWORD_CLOUD, { env: { OS_CLOUD: 'appcred' } });
  assert.deepEqual(c.auth, {
    type: 'v3applicationcredential',
    authUrl: 'https://keystone.example:5000/v3',
    applicationCredentialId: 'ac-1',
    applicationCredentialName: undefined,
    applicationCredentialSecret: 'ac-s3cret',
  });
  assert.equal(c.interface, 'public');
  assert.equal(c.verify, false);
  assert.equal(c.regionName, undefined);
});

test('the argument wins over OS_CLOUD; a lone cloud needs no name', () => {
  assert.equal(
    parseCloudsYaml(PASSWORD_CLOUD, { cloud: 'prod', env: { OS_CLOUD: 'appcred' } }).name,
    'prod',
  );
  const lone = `clouds:\n  only:\n    auth_type: v3applicationcredential\n    auth: {auth_url: http://k/v3, application_credential_id: x, application_credential_secret: y}\n`;
  assert.equal(parseCloudsYaml(lone, { env: {} }).name, 'only');
});

test('application credential by name needs its user; dashes in keys are accepted', () => {
  const text = `clouds:
  c:
    auth-type: v3applicationcredential
    auth:
      auth-url: http://k:5000
      application_credential_name: kachiku
      application_credential_secret: x
      username: u
      user_domain_id: default
`;
  const c = parseCloudsYaml(text, { env: {} });
  assert.equal(c.auth.type, 'v3applicationcredential');
  assert.equal(c.auth.applicationCredentialName, 'kachiku');
  assert.equal(c.auth.username, 'u');
  assert.equal(c.auth.userDomainId, 'default');
  configError(
    () => parseCloudsYaml(text.replace(/ +username: u\n/, ''), { env: {} }),
    /lacks auth\.username or auth\.user_id/,
  );
});

test('clear errors: several clouds unnamed, unknown cloud, missing fields, bad values', () => {
  configError(
    () => parseCloudsYaml(PASSWORD_CLOUD, { env: {} }),
    /several clouds \(prod, appcred\)/,
  );
  configError(
    () => parseCloudsYaml(PASSWORD_CLOUD, { cloud: 'nope', env: {} }),
    /no cloud "nope"; it has prod, appcred/,
  );
  configError(() => parseCloudsYaml('clouds: {}', { env: {} }), /has no clouds/);
  configError(() => parseCloudsYaml('clouds: [', { env: {} }), /not valid YAML/);
  const err = configError(
    () =>
      parseCloudsYaml('clouds:\n  c:\n    auth:\n      username: u\n      password: hunter22\n', {
        env: {},
      }),
    /cloud "c" in clouds.yaml lacks auth\.auth_url, auth\.user_domain_name or auth\.user_domain_id, auth\.project_name or auth\.project_id/,
  );
  assert.ok(!err.message.includes('hunter22'));
  configError(
    () =>
      parseCloudsYaml(
        'clouds:\n  c:\n    auth_type: v3applicationcredential\n    auth: {auth_url: http://k}\n',
        { env: {} },
      ),
    /lacks auth\.application_credential_secret, auth\.application_credential_id or auth\.application_credential_name/,
  );
  configError(
    () => parseCloudsYaml('clouds:\n  c:\n    auth_type: token\n', { env: {} }),
    /auth_type token is not supported/,
  );
  configError(
    () => parseCloudsYaml(PASSWORD_CLOUD.replace('internal', 'private'), { cloud: 'prod' }),
    /interface private/,
  );
  configError(
    () => parseCloudsYaml('clouds:\n  c:\n    identity_api_version: 2\n', { env: {} }),
    /identity_api_version 2 is not supported/,
  );
});

test('keystoneV3 appends /v3 unless a v3 is there', () => {
  assert.equal(keystoneV3('http://k:5000'), 'http://k:5000/v3');
  assert.equal(keystoneV3('http://k:5000/identity/'), 'http://k:5000/identity/v3');
  assert.equal(keystoneV3('http://k:5000/v3/'), 'http://k:5000/v3');
});

test('search order: OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack, /etc/openstack', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kachiku-clouds-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cwd = join(dir, 'work');
  const home = join(dir, 'home');
  mkdirSync(cwd);
  mkdirSync(join(home, '.config', 'openstack'), { recursive: true });
  const file = (name: string) =>
    `clouds:\n  ${name}:\n    auth_type: v3applicationcredential\n    auth: {auth_url: http://k, application_credential_id: i, application_credential_secret: s}\n`;

  assert.deepEqual(cloudsYamlCandidates({ OS_CLIENT_CONFIG_FILE: 'x.yaml' }, cwd, home), [
    join(cwd, 'x.yaml'),
    join(cwd, 'clouds.yaml'),
    join(home, '.config', 'openstack', 'clouds.yaml'),
    '/etc/openstack/clouds.yaml',
  ]);

  const pick = (env: Record<string, string> = {}) => {
    const c = loadCloud({ env, cwd, home });
    return `${c.name} from ${c.source}`;
  };
  writeFileSync(join(home, '.config', 'openstack', 'clouds.yaml'), file('home'));
  assert.equal(pick(), `home from ${join(home, '.config', 'openstack', 'clouds.yaml')}`);
  writeFileSync(join(cwd, 'clouds.yaml'), file('cwd'));
  assert.equal(pick(), `cwd from ${join(cwd, 'clouds.yaml')}`);
  writeFileSync(join(dir, 'explicit.yaml'), file('explicit'));
  assert.equal(
    pick({ OS_CLIENT_CONFIG_FILE: join(dir, 'explicit.yaml') }),
    `explicit from ${join(dir, 'explicit.yaml')}`,
  );
  // A named file that does not exist falls through to the rest of the path, as in openstacksdk.
  assert.equal(
    pick({ OS_CLIENT_CONFIG_FILE: join(dir, 'missing.yaml') }),
    `cwd from ${join(cwd, 'clouds.yaml')}`,
  );
});

test('no clouds.yaml anywhere: the error lists where it looked', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kachiku-clouds-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // /etc/openstack/clouds.yaml is on the path too; skip when this machine has one.
  const err = (() => {
    try {
      loadCloud({ env: {}, cwd: dir, home: dir });
    } catch (e) {
      return e as OpenStackError;
    }
  })();
  if (!err) return t.skip('/etc/openstack/clouds.yaml exists here');
  assert.equal(err.kind, 'Config');
  assert.match(err.message, /no clouds\.yaml found; looked at .*\/etc\/openstack\/clouds\.yaml/);
  assert.ok(err.message.includes(join(dir, 'clouds.yaml')));
});
