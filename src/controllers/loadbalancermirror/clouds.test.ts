import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secretCloud } from './clouds.js';
import { parseCloudsYaml } from '../../clouds/openstack/config.js';

const ONE = `clouds:
  tenant:
    auth:
      auth_url: https://keystone.example:5000/v3
      username: u
      password: p
      project_name: proj
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
`;

test("a Secret's clouds.yaml with one cloud and none named: that cloud, whatever the controller's OS_CLOUD", () => {
  const saved = process.env.OS_CLOUD;
  process.env.OS_CLOUD = 'controller-cloud';
  try {
    assert.equal(secretCloud(ONE, undefined, 'Secret ns/os').name, 'tenant');
    // parseCloudsYaml reads no environment unless given one.
    assert.equal(parseCloudsYaml(ONE).name, 'tenant');
    assert.throws(() => secretCloud(ONE, 'other', 'Secret ns/os'), /has no cloud "other"/);
  } finally {
    if (saved === undefined) delete process.env.OS_CLOUD;
    else process.env.OS_CLOUD = saved;
  }
});
