import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent, formatEvent, formatLive, type PartProgress } from './progress.js';

test('plain lines: starting, ready and failed with the elapsed time, lines as they come', () => {
  let parts: PartProgress[] = [];
  const lines: string[] = [];
  const at = (now: number, e: Parameters<typeof applyEvent>[1]) => {
    lines.push(
      formatEvent(
        e,
        parts.find((p) => p.part === e.part),
        now,
      ),
    );
    parts = applyEvent(parts, e, now);
  };
  at(1000, { kind: 'start', part: 'kubernetes' });
  at(1000, { kind: 'start', part: 'aws' });
  at(2500, { kind: 'line', part: 'kubernetes', text: 'go: downloading k8s.io/api v0.33.13' });
  at(37_000, { kind: 'ready', part: 'kubernetes' });
  at(41_250, { kind: 'failed', part: 'aws', error: 'moto exited 1\nlast lines: …' });
  assert.deepEqual(lines, [
    'kubernetes: starting',
    'aws: starting',
    'kubernetes: go: downloading k8s.io/api v0.33.13',
    'kubernetes: ready (36.0 s)',
    'aws: FAILED (40.3 s): moto exited 1',
  ]);
});

test('live view: a line per part, done parts with their time, running ones with their last line', () => {
  let parts: PartProgress[] = [];
  parts = applyEvent(parts, { kind: 'start', part: 'kubernetes-build' }, 0);
  parts = applyEvent(parts, { kind: 'start', part: 'git' }, 0);
  parts = applyEvent(parts, { kind: 'start', part: 'aws' }, 0);
  parts = applyEvent(parts, { kind: 'ready', part: 'git' }, 3_500);
  parts = applyEvent(parts, { kind: 'line', part: 'kubernetes-build', text: 'building' }, 4_000);
  // A blank line does not replace the last one worth showing.
  parts = applyEvent(parts, { kind: 'line', part: 'kubernetes-build', text: '  ' }, 4_100);
  parts = applyEvent(parts, { kind: 'failed', part: 'aws', error: 'port in use' }, 5_000);
  assert.deepEqual(formatLive(parts, 12_000, 80), [
    '| kubernetes-build   12.0 s  building',
    '✓ git                 3.5 s',
    '✗ aws                 5.0 s  FAILED: port in use',
  ]);
  // The spinner turns with time; lines are cut to the terminal's width.
  const narrow = formatLive(parts, 12_250, 24);
  assert.deepEqual(narrow, [
    '/ kubernetes-build   12…',
    '✓ git                 3…',
    '✗ aws                 5…',
  ]);
  for (const l of narrow) assert.equal([...l].length, 24);
});

test('a part started again (a retry) starts its clock afresh', () => {
  let parts: PartProgress[] = [];
  parts = applyEvent(parts, { kind: 'start', part: 'git' }, 0);
  parts = applyEvent(parts, { kind: 'failed', part: 'git', error: 'x' }, 1_000);
  parts = applyEvent(parts, { kind: 'start', part: 'git' }, 2_000);
  assert.deepEqual(parts, [{ part: 'git', startedAt: 2_000 }]);
});
