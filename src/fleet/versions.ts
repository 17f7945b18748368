// Which version a source offers: the newest container image tag under a policy, or the version a
// git ref rule selects, with Flux's field names (ImagePolicy, GitRepository; reference/fleet.md)
// so that users read them as they know them. Pure: the tags and refs come from clouds/.
// Ranges are npm's semver (the `semver` package); Flux uses Masterminds', whose syntax for the
// ranges people write (^1.2, ~1.2.3, >=1.0.0 <2.0.0, 1.x) is the same.
import semver from 'semver';

/** A version as a Prod takes it (ProdSpec.version's pattern). */
export const VERSION_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export type Order = 'asc' | 'desc';

export type ImagePolicy =
  | { semver: { range: string } }
  | { alphabetical: { order?: Order } }
  | { numerical: { order?: Order } };

export interface TagFilter {
  /** A regular expression (Go's `(?P<name>…)` groups are accepted) that tags must match. */
  pattern: string;
  /** What to compare instead of the tag, e.g. `$ts` for the group named ts. */
  extract?: string;
}

export type Selected =
  | { ok: true; version: string; tag: string }
  | { ok: false; reason: 'NoMatch' | 'InvalidPolicy'; message: string };

function compileFilter(filter: TagFilter): RegExp | string {
  try {
    return new RegExp(filter.pattern.replace(/\(\?P</g, '(?<'));
  } catch (e) {
    return `filterTags.pattern ${JSON.stringify(filter.pattern)}: ${(e as Error).message}`;
  }
}

/** `$name`, `${name}` and `$1` in extract, replaced from the match. */
function extractFrom(m: RegExpExecArray, extract: string): string {
  return extract.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced?: string, bare?: string) => {
    const key = (braced ?? bare)!;
    return (/^\d+$/.test(key) ? m[Number(key)] : m.groups?.[key]) ?? '';
  });
}

/** The newest tag under the policy (Flux ImagePolicy semantics: `asc` picks the last). */
export function selectImageTag(
  tags: readonly string[],
  policy: ImagePolicy,
  filter?: TagFilter,
): Selected {
  let candidates = tags.map((tag) => ({ tag, key: tag }));
  if (filter) {
    const re = compileFilter(filter);
    if (typeof re === 'string') return { ok: false, reason: 'InvalidPolicy', message: re };
    candidates = candidates.flatMap(({ tag }) => {
      const m = re.exec(tag);
      return m ? [{ tag, key: filter.extract ? extractFrom(m, filter.extract) : tag }] : [];
    });
  }
  const usable = candidates.filter((c) => VERSION_PATTERN.test(c.tag));
  let best: { tag: string; key: string } | undefined;
  if ('semver' in policy) {
    const range = semver.validRange(policy.semver.range);
    if (range === null)
      return {
        ok: false,
        reason: 'InvalidPolicy',
        message: `semver range ${JSON.stringify(policy.semver.range)} is not valid`,
      };
    for (const c of usable) {
      const v = semver.valid(c.key, { loose: true });
      if (v === null || !semver.satisfies(v, range)) continue;
      if (!best || semver.gt(v, semver.valid(best.key, { loose: true })!)) best = c;
    }
  } else if ('numerical' in policy) {
    const numeric = usable.filter((c) => /^-?\d+(\.\d+)?$/.test(c.key));
    const sign = policy.numerical.order === 'desc' ? -1 : 1;
    for (const c of numeric) if (!best || sign * (Number(c.key) - Number(best.key)) > 0) best = c;
  } else {
    const sign = policy.alphabetical.order === 'desc' ? -1 : 1;
    for (const c of usable)
      if (!best || sign * (c.key < best.key ? -1 : c.key > best.key ? 1 : 0) > 0) best = c;
  }
  if (!best)
    return {
      ok: false,
      reason: 'NoMatch',
      message: `none of ${tags.length} tags matches${filter ? ` filterTags ${JSON.stringify(filter.pattern)} and` : ''} the policy ${JSON.stringify(policy)}`,
    };
  return { ok: true, version: best.tag, tag: best.tag };
}

/** A ref as `git ls-remote` lists it; annotated tags also appear peeled, as `<tag>^{}`. */
export interface GitRef {
  name: string;
  sha: string;
}

/** GitRepository's ref rules, one of them. */
export type GitRefRule = { branch: string } | { tag: string } | { semver: string };

/** The tags of the refs, each with the commit it points at (peeled when annotated). */
function tagsOf(refs: readonly GitRef[]): Map<string, string> {
  const tags = new Map<string, string>();
  for (const r of refs) {
    if (!r.name.startsWith('refs/tags/')) continue;
    const peeled = r.name.endsWith('^{}');
    const name = r.name.slice('refs/tags/'.length, peeled ? -3 : undefined);
    if (peeled || !tags.has(name)) tags.set(name, r.sha);
  }
  return tags;
}

/** A glob as `git tag -l` takes it (`*`, `?`), anchored. */
const globToRegExp = (glob: string) =>
  new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );

/**
 * The version a git source offers: for a branch, a tag pointing at its head commit if one is a
 * valid version (the newest by semver, else by name), else the head's 12-character short SHA;
 * for a tag glob, the newest matching tag by semver, else by name; for a semver range, the
 * highest tag satisfying it.
 */
export function selectGitVersion(
  refs: readonly GitRef[],
  rule: GitRefRule,
): Selected & { commit?: string } {
  const tags = tagsOf(refs);
  const newest = (names: string[]) => {
    const sem = names.filter((n) => semver.valid(n, { loose: true }) !== null);
    if (sem.length) return sem.sort((a, b) => semver.rcompare(a, b, { loose: true }))[0]!;
    return names.sort().at(-1);
  };
  if ('branch' in rule) {
    const head = refs.find((r) => r.name === `refs/heads/${rule.branch}`);
    if (!head)
      return { ok: false, reason: 'NoMatch', message: `branch ${rule.branch} does not exist` };
    const at = [...tags]
      .filter(([n, sha]) => sha === head.sha && VERSION_PATTERN.test(n))
      .map(([n]) => n);
    const tag = newest(at);
    return tag
      ? { ok: true, version: tag, tag, commit: head.sha }
      : { ok: true, version: head.sha.slice(0, 12), tag: '', commit: head.sha };
  }
  if ('tag' in rule) {
    const re = globToRegExp(rule.tag);
    const tag = newest([...tags.keys()].filter((n) => re.test(n) && VERSION_PATTERN.test(n)));
    return tag
      ? { ok: true, version: tag, tag, commit: tags.get(tag)! }
      : { ok: false, reason: 'NoMatch', message: `no tag matches ${JSON.stringify(rule.tag)}` };
  }
  const picked = selectImageTag([...tags.keys()], { semver: { range: rule.semver } });
  return picked.ok ? { ...picked, commit: tags.get(picked.tag)! } : picked;
}
