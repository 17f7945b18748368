// Alertmanager label matchers, as its API's `filter` parameter takes them (`prod="p1"`,
// `severity=~"crit.*"`): checked before they are sent, so that a gate with a bad matcher says so
// instead of quietly matching nothing — a gate that matches nothing always passes. Pure.
//
// Regular expressions are Go's RE2, anchored at both ends by Alertmanager. They are checked here
// with JavaScript's engine, refusing what RE2 lacks (lookaround, backreferences) so that a
// pattern accepted here is one Alertmanager accepts too.

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const OPS: readonly MatchOp[] = ['=~', '!~', '!=', '='];

export const isRegexOp = (op: MatchOp) => op === '=~' || op === '!~';

/** Why the matcher cannot be used, or undefined when it can. */
export function matcherProblem(m: Matcher): string | undefined {
  if (!LABEL.test(m.name)) return `label name ${JSON.stringify(m.name)} is not valid`;
  if (!OPS.includes(m.op)) return `operator ${JSON.stringify(m.op)} is not one of = != =~ !~`;
  if (typeof m.value !== 'string') return `value of ${m.name} is not a string`;
  if (isRegexOp(m.op)) {
    if (/\(\?<?[=!]|\\[1-9]|\\k</.test(m.value))
      return `${m.name}${m.op}: lookaround and backreferences are not in Alertmanager's RE2`;
    try {
      new RegExp(`^(?:${m.value})$`);
    } catch (e) {
      return `${m.name}${m.op}: ${(e as Error).message}`;
    }
  }
  return undefined;
}

/** The matcher as Alertmanager parses it: the value double-quoted, `\`, `"` and newline escaped. */
export function formatMatcher(m: Matcher): string {
  const value = m.value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `${m.name}${m.op}"${value}"`;
}

/** `name<op>value` with the value quoted or bare, as users write it (amtool's syntax). */
export function parseMatcher(text: string): Matcher | string {
  const m = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/s.exec(text);
  if (!m) return `${JSON.stringify(text)} is not name=value, name!=value, name=~re or name!~re`;
  let value = m[3]!;
  if (value.startsWith('"')) {
    const q = /^"((?:[^"\\]|\\.)*)"$/s.exec(value);
    if (!q) return `${JSON.stringify(text)}: unterminated or stray quote`;
    value = q[1]!.replace(/\\(.)/gs, (_, c: string) => (c === 'n' ? '\n' : c));
  } else if (value.includes('"')) {
    return `${JSON.stringify(text)}: a bare value cannot hold a quote`;
  }
  const matcher: Matcher = { name: m[1]!, op: m[2] as MatchOp, value };
  return matcherProblem(matcher) ?? matcher;
}
