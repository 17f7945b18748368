import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRuntimeApiError } from './errors.js';
import { batch, formatMapFile, parseMapEntries, parseMapList, replaceMap } from './maps.js';
import { frame, type RuntimeClient } from './socket.js';

// HAProxy 2.6.12's answers, as read off the lab's router.
const LIST = `# id (file) description
2 (/lab/haproxy/hosts.map) pattern loaded from file '/lab/haproxy/hosts.map' used by map at file '/lab/haproxy/haproxy.cfg' line 22. curr_ver=1 next_ver=2 entry_cnt=2000`;

test('show map: ids, files and versions', () => {
  assert.deepEqual(parseMapList(LIST), [
    {
      id: 2,
      file: '/lab/haproxy/hosts.map',
      description:
        "pattern loaded from file '/lab/haproxy/hosts.map' used by map at file '/lab/haproxy/haproxy.cfg' line 22",
      currentVersion: 1,
      nextVersion: 2,
      entryCount: 2000,
    },
  ]);
  assert.deepEqual(parseMapList('# id (file) description'), []);
});

test('show map <map>: entries, values with spaces; an error sentence is a typed error', () => {
  const entries = parseMapEntries(
    'show map m',
    '0x7f04a4046730 a.example be_slot_0\n0x7f04a4046860 b.example be_x y z',
  );
  assert.deepEqual(entries, [
    { ref: '0x7f04a4046730', key: 'a.example', value: 'be_slot_0' },
    { ref: '0x7f04a4046860', key: 'b.example', value: 'be_x y z' },
  ]);
  assert.deepEqual(parseMapEntries('show map m', ''), []);
  assert.throws(
    () => parseMapEntries('show map m', 'Unknown map identifier. Please use #<id> or <file>.'),
    (e) => isRuntimeApiError(e, 'NotFound'),
  );
});

test('batches: in order, each request within the limit, as few as fit', () => {
  const lines = Array.from({ length: 1000 }, (_, i) => `tenant-${i}.example.com be_slot_${i % 32}`);
  const command = 'add map @3 /lab/haproxy/hosts.map';
  const max = 15360;
  const batches = batch(command, lines, max);
  assert.deepEqual(batches.flat(), lines);
  for (const b of batches) assert.ok(Buffer.byteLength(frame(command, b)) <= max);
  const total = Buffer.byteLength(frame(command, lines)) - Buffer.byteLength(frame(command, []));
  assert.equal(batches.length, Math.ceil(total / (max - Buffer.byteLength(frame(command, [])))));
  assert.throws(
    () => batch(command, ['k ' + 'v'.repeat(400)], 200),
    (e) => isRuntimeApiError(e, 'Invalid'),
  );
  assert.deepEqual(batch(command, [], max), []);
});

/** A client that records commands and answers from a script. */
function scripted(answer: (command: string) => string): RuntimeClient & { log: string[] } {
  const log: string[] = [];
  return {
    target: 'scripted',
    maxRequestBytes: 200,
    log,
    async send(command, payload) {
      log.push(payload ? `${command} [${payload.length}]` : command);
      return answer(command);
    },
  };
}

test('replaceMap: prepare, add in batches to that version, commit', async () => {
  const c = scripted((cmd) => (cmd.startsWith('prepare') ? 'New version created: 5' : ''));
  const entries = new Map(Array.from({ length: 12 }, (_, i) => [`h${i}.example`, `be_slot_${i}`]));
  const r = await replaceMap(c, '/m', entries);
  assert.deepEqual(r, { version: 5, entries: 12, batches: 2 });
  assert.deepEqual(c.log, [
    'prepare map /m',
    'add map @5 /m [8]',
    'add map @5 /m [4]',
    'commit map @5 /m',
  ]);
});

test('replaceMap: bad entries are refused before anything is sent; a failed batch is never committed', async () => {
  const c = scripted(() => '');
  for (const bad of [
    [['a b', 'be']],
    [['a', '']],
    [['a', ' be']],
    [['a', 'be\nx']],
    [
      ['a', 'be'],
      ['a', 'be2'],
    ],
  ] as [string, string][][]) {
    await assert.rejects(replaceMap(c, '/m', bad), (e) => isRuntimeApiError(e, 'Invalid'));
  }
  assert.deepEqual(c.log, []);

  const failing = scripted((cmd) =>
    cmd.startsWith('prepare')
      ? 'New version created: 9'
      : cmd.startsWith('add')
        ? "Version number in the future, please use 'prepare map' before."
        : '',
  );
  await assert.rejects(replaceMap(failing, '/m', [['a', 'be']]), (e) =>
    isRuntimeApiError(e, 'BadVersion'),
  );
  assert.deepEqual(failing.log, ['prepare map /m', 'add map @9 /m [1]']);
});

test('map files: one line per entry', () => {
  assert.equal(
    formatMapFile([
      ['a.example', 'be_slot_0'],
      ['b.example', 'be_slot_1'],
    ]),
    'a.example be_slot_0\nb.example be_slot_1\n',
  );
  assert.equal(formatMapFile([]), '');
});
