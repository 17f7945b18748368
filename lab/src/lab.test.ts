import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { shellExports } from './lab.js';
import { defaultClusters } from './parts/kube.js';

test('shell exports survive quotes and spaces when evaluated by a real shell', () => {
  const env = { A: "it's here", B: '/path with spaces/x', C: '$HOME `x`' };
  const out = execFileSync('bash', ['-c', `${shellExports(env)}\nprintf '%s|' "$A" "$B" "$C"`], {
    encoding: 'utf8',
  });
  assert.equal(out, "it's here|/path with spaces/x|$HOME `x`|");
});

test('default clusters: the control plane, then members alternating on-prem and EKS', () => {
  const names = defaultClusters(3).map((c) => `${c.name}/${c.role}/${c.provider}`);
  assert.deepEqual(names, [
    'kachiku/control-plane/none',
    'onprem-a/member/onprem',
    'eks-b/member/eks',
    'onprem-c/member/onprem',
  ]);
  for (const c of defaultClusters(3).slice(1))
    assert.equal(c.zones.length, 2, `${c.name} has two zones for its nodes`);
});
