import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectGitVersion, selectImageTag, type GitRef } from './versions.js';

const tags = [
  '1.0.0',
  'v1.2.0',
  '1.10.0',
  '2.0.0-rc.1',
  '2.0.0',
  'latest',
  'main-abc123-1700000000',
];

test('semver: the highest tag in the range; v-prefixed tags count; pre-releases only when asked', () => {
  assert.deepEqual(selectImageTag(tags, { semver: { range: '^1.0.0' } }), {
    ok: true,
    version: '1.10.0',
    tag: '1.10.0',
  });
  const v = selectImageTag(['v1.2.0', '1.1.0'], { semver: { range: '>=1.0.0 <2' } });
  assert.ok(v.ok && v.tag === 'v1.2.0');
  const all = selectImageTag(tags, { semver: { range: '>=1.0.0' } });
  assert.ok(all.ok && all.tag === '2.0.0');
  const rc = selectImageTag(['2.0.0-rc.1', '1.0.0'], { semver: { range: '>=2.0.0-rc.0' } });
  assert.ok(rc.ok && rc.tag === '2.0.0-rc.1');
});

test('semver: a tag outside the range selects nothing; an invalid range is a policy error', () => {
  const none = selectImageTag(tags, { semver: { range: '>=3' } });
  assert.ok(!none.ok && none.reason === 'NoMatch');
  const bad = selectImageTag(tags, { semver: { range: '>>banana' } });
  assert.ok(!bad.ok && bad.reason === 'InvalidPolicy');
  assert.match(bad.message, /banana.*not valid/);
});

test('filterTags with an extract group, numerical order (Flux: asc picks the last)', () => {
  const filter = { pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)$', extract: '$ts' };
  const builds = ['main-aaa-1700000000', 'main-bbb-1700000900', 'main-ccc-1700000100', 'v9'];
  const asc = selectImageTag(builds, { numerical: { order: 'asc' } }, filter);
  assert.deepEqual(asc, { ok: true, version: 'main-bbb-1700000900', tag: 'main-bbb-1700000900' });
  const desc = selectImageTag(builds, { numerical: { order: 'desc' } }, filter);
  assert.ok(desc.ok && desc.tag === 'main-aaa-1700000000');
  const braced = selectImageTag(builds, { numerical: {} }, { ...filter, extract: '${ts}' });
  assert.ok(braced.ok && braced.tag === 'main-bbb-1700000900');
});

test('alphabetical order, and a broken filter pattern is a policy error', () => {
  const a = selectImageTag(['2024-01-02', '2024-01-10', '2023-12-31'], { alphabetical: {} });
  assert.ok(a.ok && a.tag === '2024-01-10');
  const d = selectImageTag(['b', 'a', 'c'], { alphabetical: { order: 'desc' } });
  assert.ok(d.ok && d.tag === 'a');
  const bad = selectImageTag(['a'], { alphabetical: {} }, { pattern: '(' });
  assert.ok(!bad.ok && bad.reason === 'InvalidPolicy');
});

test('tags that cannot be a Prod version are never selected', () => {
  const r = selectImageTag(['1.0.0', '2.0.0+build'], { semver: { range: '*' } });
  assert.ok(r.ok && r.tag === '1.0.0');
});

const sha = (c: string) => c.repeat(40);
const refs: GitRef[] = [
  { name: 'HEAD', sha: sha('a') },
  { name: 'refs/heads/main', sha: sha('a') },
  { name: 'refs/heads/dev', sha: sha('d') },
  { name: 'refs/tags/v1.0.0', sha: sha('1') },
  { name: 'refs/tags/v1.1.0', sha: sha('9') }, // annotated: the tag object…
  { name: 'refs/tags/v1.1.0^{}', sha: sha('a') }, // …peeled to main's head
  { name: 'refs/tags/release-2', sha: sha('2') },
];

test('git branch: a version tag at its head, else the short SHA', () => {
  assert.deepEqual(selectGitVersion(refs, { branch: 'main' }), {
    ok: true,
    version: 'v1.1.0',
    tag: 'v1.1.0',
    commit: sha('a'),
  });
  assert.deepEqual(selectGitVersion(refs, { branch: 'dev' }), {
    ok: true,
    version: 'dddddddddddd',
    tag: '',
    commit: sha('d'),
  });
  const gone = selectGitVersion(refs, { branch: 'nope' });
  assert.ok(!gone.ok && gone.reason === 'NoMatch');
});

test('git tag glob and semver range', () => {
  const t = selectGitVersion(refs, { tag: 'v1.*' });
  assert.ok(t.ok && t.version === 'v1.1.0' && t.commit === sha('a'));
  const r = selectGitVersion(refs, { tag: 'release-*' });
  assert.ok(r.ok && r.version === 'release-2');
  const s = selectGitVersion(refs, { semver: '~1.0' });
  assert.ok(s.ok && s.version === 'v1.0.0' && s.commit === sha('1'));
  const none = selectGitVersion(refs, { semver: '>=2' });
  assert.ok(!none.ok && none.reason === 'NoMatch');
});
