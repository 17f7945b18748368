import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isAlive,
  runToCompletion,
  startProcess,
  startTicks,
  stopProcess,
  waitUntil,
} from './proc.js';
import { LabError } from './errors.js';

const dir = mkdtempSync(join(tmpdir(), 'kachiku-proc-'));

test('a started process is recorded, logs to its file, and is stopped with its children', async () => {
  const log = join(dir, 'parent.log');
  // The shell forks a child into the same process group; stopping the group must end both.
  const rec = startProcess(
    {
      name: 'parent',
      part: 'test',
      command: 'bash',
      args: ['-c', 'echo started; sleep 300 & echo child=$!; wait'],
    },
    log,
  );
  assert.ok(isAlive(rec));
  await waitUntil('test', 'child pid', async () => /child=\d+/.test(readFileSync(log, 'utf8')));
  const childPid = Number(/child=(\d+)/.exec(readFileSync(log, 'utf8'))?.[1]);
  const child = { pid: childPid, startTicks: startTicks(childPid) ?? '' };
  assert.ok(isAlive(child));
  await stopProcess(rec, 2000);
  assert.equal(isAlive(rec), false);
  assert.equal(isAlive(child), false, 'the forked child died with its group');
});

test('a record whose start time does not match (a reused PID) is never signalled', async () => {
  const rec = startProcess(
    { name: 'victim', part: 'test', command: 'sleep', args: ['300'] },
    join(dir, 'v.log'),
  );
  const impostor = { ...rec, startTicks: '1' };
  assert.equal(isAlive(impostor), false);
  await stopProcess(impostor, 100);
  assert.ok(isAlive(rec), 'the real process was left alone');
  await stopProcess(rec, 2000);
  assert.equal(isAlive(rec), false);
});

test('waitUntil fails with the log of a process that exited, naming its command', async () => {
  const log = join(dir, 'dies.log');
  const rec = startProcess(
    { name: 'dies', part: 'widget', command: 'bash', args: ['-c', 'echo boom-reason; exit 3'] },
    log,
  );
  const err = await waitUntil('widget', 'readiness', async () => false, {
    proc: rec,
    timeoutMs: 5000,
  }).catch((e: unknown) => e);
  assert.ok(err instanceof LabError);
  assert.equal(err.part, 'widget');
  assert.equal(err.logFile, log);
  assert.match(err.message, /lab part "widget": dies exited while waiting for readiness/);
  assert.match(err.message, /boom-reason/);
  assert.match(err.message, /command: bash -c "echo boom-reason; exit 3"/);
});

test('runToCompletion throws a LabError on a non-zero exit and on a timeout', async () => {
  await runToCompletion(
    { name: 'fine', part: 'p', command: 'true', args: [] },
    join(dir, 'ok.log'),
  );
  await assert.rejects(
    runToCompletion(
      { name: 'bad', part: 'p', command: 'bash', args: ['-c', 'echo nope >&2; exit 2'] },
      join(dir, 'bad.log'),
    ),
    (e: unknown) =>
      e instanceof LabError && /bad failed \(2\)/.test(e.message) && /nope/.test(e.message),
  );
  await assert.rejects(
    runToCompletion(
      { name: 'slow', part: 'p', command: 'sleep', args: ['10'] },
      join(dir, 'slow.log'),
      200,
    ),
    /slow failed \(timeout\)/,
  );
  await assert.rejects(
    runToCompletion(
      { name: 'missing', part: 'p', command: '/nonexistent/bin', args: [] },
      join(dir, 'm.log'),
    ),
    /missing failed \(spawn \/nonexistent\/bin ENOENT\)/,
  );
});

test('a process that ends at once is reported with its log; a missing command cannot start', async () => {
  for (let i = 0; i < 20; i++) {
    const log = join(dir, `instant-${i}.log`);
    const rec = startProcess(
      { name: 'instant', part: 'p', command: 'bash', args: ['-c', 'echo gone-at-once; exit 1'] },
      log,
    );
    const err = await waitUntil('p', 'readiness', async () => false, {
      proc: rec,
      timeoutMs: 5000,
    }).catch((e: unknown) => e);
    assert.ok(err instanceof LabError);
    assert.match(err.message, /instant exited while waiting for readiness/);
    assert.match(err.message, /gone-at-once/);
  }
  assert.throws(
    () =>
      startProcess(
        { name: 'ghost', part: 'p', command: '/nonexistent/ghost', args: [] },
        join(dir, 'ghost.log'),
      ),
    /lab part "p": could not start ghost/,
  );
});
