import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRepository } from './reference.js';
import { nextLink, parseChallenge } from './headers.js';
import { credentialsFromDockerConfig } from './dockerconfig.js';
import { isSourceError } from '../source-error.js';

test('parseRepository follows Docker reference rules', () => {
  const cases: [string, boolean, [string, string, string]][] = [
    ['ghcr.io/team/app', false, ['ghcr.io', 'team/app', 'https://ghcr.io']],
    ['127.0.0.1:5000/lab/app', true, ['127.0.0.1:5000', 'lab/app', 'http://127.0.0.1:5000']],
    ['localhost/app', false, ['localhost', 'app', 'https://localhost']],
    ['nginx', false, ['docker.io', 'library/nginx', 'https://registry-1.docker.io']],
    ['bitnami/redis', false, ['docker.io', 'bitnami/redis', 'https://registry-1.docker.io']],
    ['docker.io/nginx', false, ['docker.io', 'library/nginx', 'https://registry-1.docker.io']],
    ['index.docker.io/a/b', false, ['docker.io', 'a/b', 'https://registry-1.docker.io']],
    [
      'registry.example:443/a/b_c__d-e.f/g',
      false,
      ['registry.example:443', 'a/b_c__d-e.f/g', 'https://registry.example:443'],
    ],
  ];
  for (const [ref, insecure, [registry, name, baseUrl]] of cases) {
    assert.deepEqual(parseRepository(ref, { insecure }), { registry, name, baseUrl }, ref);
  }
  for (const bad of [
    '',
    'ghcr.io/team/App',
    'ghcr.io/app:1.0',
    'app@sha256:abc',
    'a//b',
    'ghcr.io/',
    '-a',
    'a/-b',
    'bad_host.x/a',
  ]) {
    assert.throws(
      () => parseRepository(bad),
      (e) => isSourceError(e, 'Invalid'),
      bad,
    );
  }
});

test('parseChallenge reads Bearer and Basic challenges, quoted commas included', () => {
  assert.deepEqual(
    parseChallenge(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push"',
    ),
    {
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/nginx:pull,push',
      },
    },
  );
  assert.deepEqual(parseChallenge('Basic realm="kachiku-lab"'), {
    scheme: 'basic',
    params: { realm: 'kachiku-lab' },
  });
  assert.deepEqual(parseChallenge('Bearer realm=x, error="insufficient_scope" , a="q\\"b"'), {
    scheme: 'bearer',
    params: { realm: 'x', error: 'insufficient_scope', a: 'q"b' },
  });
  assert.deepEqual(parseChallenge('Basic'), { scheme: 'basic', params: {} });
  assert.equal(parseChallenge(''), undefined);
});

test('nextLink finds rel="next" among links, relative or absolute', () => {
  assert.equal(
    nextLink('</v2/a/tags/list?last=1.0.0&n=2>; rel="next"'),
    '/v2/a/tags/list?last=1.0.0&n=2',
  );
  assert.equal(
    nextLink('<https://r.example/v2/a/tags/list?n=2&last=b>; type="x"; rel=next, </x>; rel="prev"'),
    'https://r.example/v2/a/tags/list?n=2&last=b',
  );
  assert.equal(nextLink('</x>; rel="prev"'), undefined);
  assert.equal(nextLink(undefined), undefined);
});

test('credentialsFromDockerConfig finds the entry by host, Docker Hub by any of its names', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const config = JSON.stringify({
    auths: {
      'https://index.docker.io/v1/': { auth: b64('hub:pw:with:colons') },
      'ghcr.io': { username: 'gh', password: 'tok' },
      '127.0.0.1:5000': { auth: b64('lab:pw') },
    },
  });
  assert.deepEqual(credentialsFromDockerConfig(config, 'docker.io'), {
    username: 'hub',
    password: 'pw:with:colons',
  });
  assert.deepEqual(credentialsFromDockerConfig(config, 'ghcr.io'), {
    username: 'gh',
    password: 'tok',
  });
  assert.deepEqual(credentialsFromDockerConfig(config, '127.0.0.1:5000'), {
    username: 'lab',
    password: 'pw',
  });
  assert.equal(credentialsFromDockerConfig(config, 'quay.io'), undefined);
  assert.throws(
    () => credentialsFromDockerConfig('{', 'x'),
    (e) => isSourceError(e, 'Invalid'),
  );
  assert.throws(
    () =>
      credentialsFromDockerConfig(JSON.stringify({ auths: { x: { auth: b64('nocolon') } } }), 'x'),
    (e) => isSourceError(e, 'Invalid'),
  );
});
