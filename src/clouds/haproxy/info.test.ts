import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRuntimeApiError } from './errors.js';
import { parseInfo } from './info.js';
import { answerError } from './errors.js';

const INFO = `Name: HAProxy
Version: 2.6.12-1+deb12u4
Release_date: 2026/10/17
Nbthread: 2
Nbproc: 1
Process_num: 1
Pid: 25505
Uptime: 0d 0h00m03s
Uptime_sec: 3
Start_time_sec: 1796027816
CurrConns: 1`;

test('show info: version, pid, uptime and an instance that tells restarts apart', () => {
  const i = parseInfo(INFO);
  assert.equal(i.version, '2.6.12-1+deb12u4');
  assert.equal(i.pid, 25505);
  assert.equal(i.uptimeSec, 3);
  assert.equal(i.startTimeSec, 1796027816);
  assert.equal(i.instance, '25505@1796027816');
  assert.equal(i.nbthread, 2);
  assert.equal(i.fields.Release_date, '2026/10/17');
  assert.notEqual(parseInfo(INFO.replace('Pid: 25505', 'Pid: 25506')).instance, i.instance);
});

test('show info: an error sentence or a missing field is a typed error', () => {
  assert.throws(
    () => parseInfo('Permission denied'),
    (e) => isRuntimeApiError(e, 'PermissionDenied'),
  );
  assert.throws(
    () => parseInfo(INFO.replace(/Start_time_sec.*\n/, '')),
    (e) => isRuntimeApiError(e, 'BadResponse'),
  );
});

test("HAProxy's error sentences map to kinds", () => {
  const cases: [string, string][] = [
    [
      'Unknown command, but maybe one of the following ones is a better match:\n  clear acl',
      'UnknownCommand',
    ],
    ['No such backend.', 'NotFound'],
    ['No such server.', 'NotFound'],
    ["Can't find backend.", 'NotFound'],
    ['Unknown map identifier. Please use #<id> or <file>.', 'NotFound'],
    ['Version number out of range.', 'BadVersion'],
    ["Version number in the future, please use 'prepare map' before.", 'BadVersion'],
    ['Permission denied', 'PermissionDenied'],
    ["'set server <srv> state' expects 'ready', 'drain' and 'maint'.", 'Rejected'],
  ];
  for (const [answer, kind] of cases) assert.equal(answerError('x', answer).kind, kind, answer);
  const e = answerError('bogus', cases[0]![0]);
  assert.equal(e.detail, 'Unknown command, but maybe one of the following ones is a better match:');
  assert.equal(e.retryable, false);
});
