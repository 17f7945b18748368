// A release gate's matchers, templated for one Prod: `prod="{{ prod }}"` becomes `prod="web-3"`
// with the Prod, cluster, app and version of the wave (Argo Rollouts' and Flagger's `{{ … }}`).
// Pure: the release controller renders, clouds/alertmanager asks. A template naming a variable
// that is not given is an error, never an empty string: `prod=""` would match every alert
// without a prod label, and `prod=~""` none — either way a gate that does not gate.
import { isRegexOp, matcherProblem, type Matcher } from '../clouds/alertmanager/matchers.js';

export type Rendered = { ok: true; matchers: Matcher[] } | { ok: false; message: string };

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Values put into a regular expression match themselves only. */
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function renderMatchers(
  matchers: readonly Matcher[],
  vars: Readonly<Record<string, string>>,
): Rendered {
  const out: Matcher[] = [];
  for (const m of matchers) {
    let missing: string | undefined;
    const value = m.value.replace(PLACEHOLDER, (_, name: string) => {
      const v = Object.hasOwn(vars, name) ? vars[name] : undefined;
      if (v === undefined) {
        missing ??= name;
        return '';
      }
      return isRegexOp(m.op) ? escapeRegex(v) : v;
    });
    if (missing !== undefined)
      return {
        ok: false,
        message: `matcher ${m.name}${m.op}"${m.value}": no variable "${missing}" (there are: ${Object.keys(vars).sort().join(', ')})`,
      };
    if (/\{\{|\}\}/.test(value))
      return { ok: false, message: `matcher ${m.name}${m.op}"${m.value}": a "{{" or "}}" is left` };
    const rendered = { name: m.name, op: m.op, value };
    const problem = matcherProblem(rendered);
    if (problem) return { ok: false, message: problem };
    out.push(rendered);
  }
  return { ok: true, matchers: out };
}
