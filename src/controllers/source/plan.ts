// The source poller's pure core. From a Fleet, what one poll of its source read (refs, tags, or
// a typed failure), the Releases that exist for it and the clock, decide() says what
// status.source and condition SourceReady should be, whether that is worth a write, and which
// Release to create. Errors never make a Release; neither does a version older than the one the
// Fleet runs under a semver rule (a newest tag deleted makes an older one newest again: that is
// reported, not released). No I/O and no clock here.
import { isDeepStrictEqual } from 'node:util';
import semver from 'semver';
import { setCondition, type Condition } from '../../runtime/conditions.js';
import { parseDuration } from '../../runtime/duration.js';
import { timestamp } from '../../runtime/time.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import { API_VERSION } from '../../api/kind.js';
import type { Fleet, FleetSpec, FleetStatus } from '../../api/fleet.js';
import { RELEASE_FLEET_LABEL, type Release } from '../../api/release.js';
import type { SourceErrorKind } from '../../clouds/source-error.js';
import {
  selectGitVersion,
  selectImageTag,
  type GitRef,
  type GitRefRule,
  type ImagePolicy,
  type Selected,
} from '../../fleet/versions.js';
import { ownerReference } from '../fleet/prods.js';
import { releaseName } from './names.js';

export type Source = NonNullable<FleetSpec['source']>;
export type SourceStatus = NonNullable<FleetStatus['source']>;

/** Without spec.source.interval. */
export const DEFAULT_INTERVAL_MS = 60_000;
/**
 * A steady source's status is rewritten this often, only to move lastPollTime: a write per poll
 * per Fleet (and a watch event to every Fleet informer) would buy nothing else.
 */
export const POLL_RECORD_MAX_AGE_MS = 3 * 60_000;

/** What one poll read, or why it could not. */
export type PollOutcome =
  | { kind: 'refs'; refs: readonly GitRef[] }
  | { kind: 'tags'; tags: readonly string[] }
  | { kind: 'error'; reason: Reason; message: string };

export interface PollInput {
  fleet: Fleet;
  outcome: PollOutcome;
  /** The Releases in the Fleet's namespace whose spec.fleet names it. */
  releases: readonly Release[];
  now: number;
}

export interface SourceEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
}

export interface PollDecision {
  /** status.source (undefined: removed) and the SourceReady condition; what the poller owns. */
  source?: SourceStatus;
  condition: Condition;
  /** Whether that differs enough from what is stored to be written. */
  write: boolean;
  /** The Release to create (idempotent: a 409 means it exists). */
  release?: Release;
  events: SourceEvent[];
  /** The version offered, for logs; undefined on an error. */
  version?: string;
}

/** The poll interval of a source (ms). */
export function intervalOf(source: Source): number {
  if (!source.interval) return DEFAULT_INTERVAL_MS;
  try {
    return Math.max(1000, parseDuration(source.interval));
  } catch {
    return DEFAULT_INTERVAL_MS;
  }
}

/** A SourceError's kind as the condition reason a user reads. */
export function reasonOfError(kind: SourceErrorKind): Reason {
  switch (kind) {
    case 'AuthFailed':
      return Reason.SourceAuthFailed;
    case 'NotFound':
      return Reason.SourceNotFound;
    case 'Invalid':
      return Reason.InvalidPolicy;
    default:
      return Reason.SourceUnreachable;
  }
}

/** Whether the rule orders versions by semver (so that "older" means something). */
const semverRule = (source: Source) =>
  Boolean(source.git?.ref.semver ?? source.image?.policy.semver);

/** Where the version was found, without credentials (Release spec.source, status.source.from). */
function whereFound(source: Source, picked: Selected & { ok: true; commit?: string }) {
  if (source.git) {
    const ref = picked.tag
      ? `refs/tags/${picked.tag}`
      : `refs/heads/${source.git.ref.branch}@${picked.commit ?? picked.version}`;
    return { from: ref, release: `${withoutUserInfo(source.git.url)}@${ref}` };
  }
  const ref = `${source.image!.repository}:${picked.tag}`;
  return { from: ref, release: ref };
}

const withoutUserInfo = (url: string) => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');

function select(source: Source, outcome: PollOutcome): Selected & { commit?: string } {
  if (outcome.kind === 'error') throw new Error('select() of an error');
  if (source.git) {
    if (outcome.kind !== 'refs') throw new Error('a git source polled for tags');
    return selectGitVersion(outcome.refs, source.git.ref as GitRefRule);
  }
  if (outcome.kind !== 'tags') throw new Error('an image source polled for refs');
  const image = source.image!;
  return selectImageTag(outcome.tags, image.policy as ImagePolicy, image.filterTags);
}

/**
 * A source's SourceReady and status.source after one poll, and the Release to make. A Fleet
 * without a source gets neither (and loses both if it had them).
 */
export function decide(input: PollInput): PollDecision {
  const { fleet, outcome, now } = input;
  const source = fleet.spec.source;
  const stored = fleet.status ?? {};
  const gen = fleet.metadata.generation;
  const storedCondition = (stored.conditions ?? []).find(
    (c) => c.type === ConditionType.SourceReady,
  ) as Condition | undefined;
  const condition = (status: Condition['status'], reason: string, message: string) =>
    setCondition(
      storedCondition ? [storedCondition] : [],
      { type: ConditionType.SourceReady, status, reason, message },
      gen,
      new Date(now),
    )[0]!;
  const lastPollTime = timestamp(new Date(now));
  const events: SourceEvent[] = [];

  if (!source) {
    // Only reached when a source was removed while a poll was due: forget what it said.
    const cond = condition('False', Reason.InvalidSpec, 'the Fleet has no spec.source');
    return {
      condition: cond,
      write: stored.source !== undefined || storedCondition !== undefined,
      events,
    };
  }

  let next: SourceStatus;
  let cond: Condition;
  let release: Release | undefined;
  let version: string | undefined;
  if (outcome.kind === 'error') {
    // What the source offered last time stays: an outage does not unsay it.
    next = { ...stored.source, lastPollTime };
    cond = condition('False', outcome.reason, outcome.message);
  } else {
    const picked = select(source, outcome);
    if (!picked.ok) {
      next = { ...stored.source, lastPollTime };
      cond = condition(
        'False',
        picked.reason === 'InvalidPolicy' ? Reason.InvalidPolicy : Reason.NoMatchingVersion,
        picked.message,
      );
    } else {
      version = picked.version;
      const where = whereFound(source, picked);
      const foundTime =
        stored.source?.version === picked.version && stored.source.foundTime
          ? stored.source.foundTime
          : lastPollTime;
      next = { version: picked.version, from: where.from, foundTime, lastPollTime };
      const current = fleet.spec.version;
      const older =
        semverRule(source) &&
        semver.valid(current, { loose: true }) !== null &&
        semver.lt(picked.version, current, { loose: true });
      const existing = input.releases.find((r) => r.spec.version === picked.version);
      let message = `${picked.version} from ${where.from}`;
      if (picked.version === current) message += ': the Fleet runs it';
      else if (older)
        message += `: older than the Fleet's ${current} (a newer tag was deleted?), not released`;
      else if (existing) message += `: Release ${existing.metadata.name}`;
      else {
        const name = releaseName(fleet.metadata.name, picked.version);
        message += `: Release ${name}`;
        release = releaseFor(fleet, name, picked.version, where.release);
        events.push({
          type: 'Normal',
          reason: Reason.SourceFound,
          action: 'CreateRelease',
          note: `${picked.version} found at ${where.from}: Release ${name}`,
        });
      }
      cond = condition('True', Reason.SourceFound, message);
    }
  }

  if (
    cond.status !== 'True' &&
    (storedCondition?.status !== cond.status || storedCondition.reason !== cond.reason)
  )
    events.push({ type: 'Warning', reason: cond.reason, action: 'Poll', note: cond.message });

  return {
    source: next,
    condition: cond,
    write: writeDue(stored, storedCondition, next, cond, now),
    ...(release && { release }),
    events,
    ...(version !== undefined && { version }),
  };
}

/**
 * A change of version, from, foundTime or the condition is written at once; otherwise only a
 * lastPollTime POLL_RECORD_MAX_AGE_MS old is refreshed.
 */
export function writeDue(
  stored: FleetStatus,
  storedCondition: Condition | undefined,
  next: SourceStatus,
  cond: Condition,
  now: number,
): boolean {
  const facts = (s: FleetStatus['source']) => [s?.version, s?.from, s?.foundTime];
  if (!isDeepStrictEqual(facts(next), facts(stored.source))) return true;
  const last = stored.source?.lastPollTime;
  if (!isDeepStrictEqual(cond, storedCondition)) return true;
  const at = Date.parse(last ?? '');
  return Number.isNaN(at) || now - at >= POLL_RECORD_MAX_AGE_MS;
}

export function releaseFor(fleet: Fleet, name: string, version: string, source: string): Release {
  const strategy = fleet.spec.release?.strategy;
  return {
    apiVersion: API_VERSION,
    kind: 'Release',
    metadata: {
      name,
      namespace: fleet.metadata.namespace,
      labels: { [RELEASE_FLEET_LABEL]: fleet.metadata.name },
      ownerReferences: [ownerReference(fleet)],
    },
    spec: {
      fleet: fleet.metadata.name,
      version,
      source: source.slice(0, 2048),
      ...(strategy && { strategy: structuredClone(strategy) }),
    },
  };
}

/**
 * The Fleet's status with the poller's part (status.source and SourceReady) replaced by the
 * decision's, everything else as `fresh` has it: what the read-modify-write writes.
 */
export function withSource(fresh: FleetStatus | undefined, d: PollDecision): FleetStatus {
  const status: FleetStatus = { ...(fresh ?? {}) };
  const conditions = status.conditions ?? [];
  if (d.source) {
    status.source = d.source;
    // In place: moving it would be a difference of order, and a write, each time.
    const i = conditions.findIndex((c) => c.type === ConditionType.SourceReady);
    status.conditions =
      i < 0 ? [...conditions, d.condition] : conditions.map((c, j) => (j === i ? d.condition : c));
  } else {
    delete status.source;
    status.conditions = conditions.filter((c) => c.type !== ConditionType.SourceReady);
  }
  return status;
}
