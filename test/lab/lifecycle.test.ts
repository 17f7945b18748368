// The lab's own life cycle, on a second lab beside the test lab (ports are chosen at run time):
// starting twice is harmless, `down` stops exactly what `up` started, `down` with nothing
// running is harmless, and a part that fails to start is named with its command and log while
// everything already started is stopped again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDown, labUp, labHealth } from '../../lab/src/lab.js';
import { readState } from '../../lab/src/context.js';
import { groupMembers, isAlive } from '../../lab/src/proc.js';
import { LabError } from '../../lab/src/errors.js';
import type { LabState } from '../../lab/src/state.js';

const leftovers = (state: LabState) =>
  state.processes.filter((p) => isAlive(p) || groupMembers(p.pid).length > 0).map((p) => p.name);

test('up twice is harmless, down stops exactly what up started, down again is harmless', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kachiku-lifecycle-'));
  const state = await labUp({ dir, members: 1 });
  try {
    assert.ok(state.readyAt);
    assert.deepEqual(
      state.kube?.clusters.map((c) => c.name),
      ['kachiku', 'onprem-a'],
    );
    assert.ok((await labHealth(state)).every((h) => h.ok));
    const t0 = Date.now();
    const again = await labUp({ dir, members: 1 });
    assert.equal(again.startedAt, state.startedAt, 'the running lab is reused');
    assert.ok(Date.now() - t0 < 10_000, 'reuse does not restart anything');
  } finally {
    assert.equal(await labDown(dir), true);
  }
  assert.deepEqual(leftovers(state), [], 'no process of the lab is left');
  assert.equal(readState(dir), undefined, 'the state is gone');
  assert.deepEqual(
    readState(join(dir, 'logs'))?.processes.map((p) => p.pid),
    state.processes.map((p) => p.pid),
    'what was stopped is on record beside the logs',
  );
  assert.equal(existsSync(state.kube!.etcd.dataDir), false, "etcd's tmpfs data is gone");
  assert.equal(existsSync(state.openstack!.mariadb.dataDir), false, "MariaDB's tmpfs data is gone");
  assert.equal(await labDown(dir), false, 'down with nothing running is harmless');
});

test('a part that fails to start is named with its command and log, and the lab stops what it started', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kachiku-lifecycle-'));
  // An Alertmanager that runs a moment, says why it cannot go on, and exits.
  const broken = join(dir, 'broken-alertmanager');
  writeFileSync(
    broken,
    '#!/bin/sh\necho "level=error msg=\\"bad storage path\\"" >&2\nsleep 0.5\nexit 1\n',
    { mode: 0o755 },
  );
  process.env.KACHIKU_LAB_ALERTMANAGER_BIN = broken;
  const err = await labUp({ dir, members: 1 })
    .catch((e: unknown) => e)
    .finally(() => delete process.env.KACHIKU_LAB_ALERTMANAGER_BIN);
  assert.ok(err instanceof LabError, String(err));
  assert.equal(err.part, 'alertmanager');
  assert.match(
    err.message,
    /lab part "alertmanager": alertmanager exited while waiting for alertmanager \/-\/ready/,
  );
  assert.match(err.message, /bad storage path/, 'the log tail says why');
  assert.match(err.message, new RegExp(`command: ${broken} --config\\.file=`));
  assert.equal(err.logFile, join(dir, 'logs', 'alertmanager.log'));
  assert.ok(existsSync(err.logFile), 'the log is kept for a look');
  assert.equal(readState(dir), undefined, 'no half-started lab is left recorded');
  // Every other part had started; all of them are stopped again.
  const record = readState(join(dir, 'logs'));
  const names = record?.processes.map((p) => p.name) ?? [];
  for (const part of ['etcd', 'kachiku-apiserver', 'onprem-a-kwok', 'octavia-worker', 'moto'])
    assert.ok(names.includes(part), names.join(', '));
  assert.deepEqual(leftovers(record!), []);
});
