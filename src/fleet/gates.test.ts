import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMatchers } from './gates.js';
import { formatMatcher, parseMatcher, type Matcher } from '../clouds/alertmanager/matchers.js';

const m = (text: string): Matcher => {
  const r = parseMatcher(text);
  if (typeof r === 'string') throw new Error(r);
  return r;
};
const vars = { prod: 'web-1.a', cluster: 'onprem-a', app: 'shop', version: 'v1.2.0' };

test('renderMatchers fills the variables, escaping them in regular expressions', () => {
  const r = renderMatchers(
    [
      m('prod="{{ prod }}"'),
      m('cluster!="{{cluster}}"'),
      m('instance=~"{{prod}}|canary-.*"'),
      m('version!~"{{ version }}"'),
      m('severity=~"crit.*"'),
    ],
    vars,
  );
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.matchers.map(formatMatcher), [
    'prod="web-1.a"',
    'cluster!="onprem-a"',
    'instance=~"web-1\\\\.a|canary-.*"',
    'version!~"v1\\\\.2\\\\.0"',
    'severity=~"crit.*"',
  ]);
  // The escaped value still matches the Prod itself, and only it.
  const re = new RegExp(`^(?:${r.matchers[2]!.value})$`);
  assert.ok(re.test('web-1.a') && !re.test('web-1xa') && re.test('canary-7'));
});

test('renderMatchers refuses unknown variables and leftover braces, never rendering empty', () => {
  const unknown = renderMatchers([m('prod="{{ tenant }}"')], vars);
  assert.equal(unknown.ok, false);
  assert.match(
    !unknown.ok ? unknown.message : '',
    /no variable "tenant" \(there are: app, cluster, prod, version\)/,
  );
  const left = renderMatchers([m('prod="{{ prod }"')], vars);
  assert.equal(left.ok, false);
  // A regex made invalid by a template is caught too.
  const bad = renderMatchers([{ name: 'x', op: '=~', value: '({{ app }}' }], vars);
  assert.equal(bad.ok, false);
  assert.deepEqual(renderMatchers([], vars), { ok: true, matchers: [] });
});

test('parseMatcher and formatMatcher round-trip quotes, backslashes and newlines', () => {
  for (const value of ['plain', 'a "quoted" word', 'back\\slash', 'two\nlines', '']) {
    const text = formatMatcher({ name: 'x', op: '=', value });
    assert.deepEqual(parseMatcher(text), { name: 'x', op: '=', value }, text);
  }
  assert.deepEqual(parseMatcher(' severity =~ crit.* '), {
    name: 'severity',
    op: '=~',
    value: 'crit.*',
  });
  for (const bad of [
    'severity',
    '1x="a"',
    'x=="a"',
    'x="a',
    'x=~"(a"',
    'x=~"(?=a)"',
    'x!~"(a)\\\\1"',
  ]) {
    assert.equal(typeof parseMatcher(bad), 'string', bad);
  }
});
