import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRuntimeApiError } from './errors.js';
import { parseServersState } from './servers.js';

// HAProxy 2.6.12, read off the lab's router: s1 programmed and ready (up), s2 drained after
// its checks failed, s3 as configured (`disabled`), s4 forced into maintenance again.
const STATE = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
4 be_slot_0 1 s1 127.0.0.1 2 4 1 1 2 6 3 2 6 0 0 0 unassigned.invalid 8081 - 0 0 - - 0
4 be_slot_0 2 s2 127.0.0.2 0 12 1 1 2 8 2 0 6 0 0 0 unassigned.invalid 8082 - 0 0 - - 0
4 be_slot_0 3 s3 127.0.0.1 0 5 1 1 19 1 0 0 14 0 0 0 unassigned.invalid 1 - 0 0 - - 0
4 be_slot_0 4 s4 - 0 1 1 1 19 1 0 0 12 0 0 0 - 1 - 0 0 - - 0`;

test('show servers state: addresses, ports, admin and operational states, checks', () => {
  const s = parseServersState(STATE);
  assert.deepEqual(
    s.map((x) => [x.name, x.addr, x.port, x.admin, x.op, x.checkResult, x.checkEnabled]),
    [
      ['s1', '127.0.0.1', 8081, 'ready', 'up', 'passed', true],
      ['s2', '127.0.0.2', 8082, 'drain', 'down', 'failed', true],
      ['s3', '127.0.0.1', 1, 'maint', 'down', 'unknown', true],
      ['s4', undefined, 1, 'maint', 'down', 'unknown', false],
    ],
  );
  assert.equal(s[0]?.backend, 'be_slot_0');
  assert.equal(s[0]?.backendId, 4);
  assert.equal(s[0]?.fqdn, 'unassigned.invalid');
  assert.equal(s[3]?.fqdn, undefined);
  assert.deepEqual(parseServersState('1\n# be_id be_name'), []);
});

test('show servers state: another format or a short line is a typed error', () => {
  assert.throws(
    () => parseServersState('2\n# …'),
    (e) => isRuntimeApiError(e, 'BadResponse'),
  );
  assert.throws(
    () => parseServersState('1\n4 be_slot_0 1 s1'),
    (e) => isRuntimeApiError(e, 'BadResponse'),
  );
});
