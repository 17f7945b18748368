// Autoscale on fill: the herd's fill must stay past a watermark for the whole window before one
// standard Prod is added or scaled in. Since-when is kept in status.autoscale (status is the
// controller's memory: a restart neither restarts nor skips the window), the count in
// status.desiredProds. The clocks run only while the herd is steady (no Prod being added or
// emptied): a Prod just added lowers the fill only once it is Ready, and must not count twice.
// Pure.
import { parseDuration } from '../../runtime/duration.js';
import { timestamp } from '../../runtime/time.js';
import type { FleetSpec, FleetStatus } from '../../api/fleet.js';

export type AutoscaleSpec = NonNullable<FleetSpec['autoscale']>;
export type AutoscaleMemory = NonNullable<FleetStatus['autoscale']>;

export interface AutoscaleInput {
  spec: AutoscaleSpec;
  memory: AutoscaleMemory;
  /** The standard Prods wanted now. */
  desired: number;
  /** Percent of open standard capacity used; undefined when there is none open. */
  fill?: number;
  /** Every wanted standard Prod exists and serves, and none is being emptied. */
  steady: boolean;
  now: number;
}

export interface AutoscaleStep {
  desired: number;
  memory: AutoscaleMemory;
  /** `in`: a proposal — the caller scales in only if retiring the chosen Prod strands no one. */
  action?: 'up' | 'in';
  /** Why, for events and lastScale. */
  message?: string;
  /** When a window ends, if one is running. */
  requeueAfterMs?: number;
}

const iso = (ms: number) => timestamp(new Date(ms));
const since = (t: string | undefined, now: number) => (t ? Date.parse(t) : now);

export function autoscale(input: AutoscaleInput): AutoscaleStep {
  const { spec, now } = input;
  const high = spec.highWatermark ?? 80;
  const low = spec.lowWatermark ?? 30;
  const windowMs = parseDuration(spec.window ?? '1m');
  const { aboveSince, belowSince, ...kept } = input.memory;
  const clamped = Math.min(spec.maxProds, Math.max(spec.minProds, input.desired));
  if (clamped !== input.desired)
    return {
      desired: clamped,
      memory: kept,
      message: `${input.desired} standard Prods is outside minProds..maxProds (${spec.minProds}..${spec.maxProds}): ${clamped}`,
    };
  const { fill } = input;
  if (fill === undefined || !input.steady) return { desired: clamped, memory: kept };
  const windowText = spec.window ?? '1m';
  if (fill > high) {
    const start = since(aboveSince, now);
    const memory = { ...kept, aboveSince: iso(start) };
    if (now - start < windowMs)
      return { desired: clamped, memory, requeueAfterMs: start + windowMs - now };
    if (clamped >= spec.maxProds)
      return {
        desired: clamped,
        memory,
        message: `fill ${fill}% above ${high}% but at maxProds ${spec.maxProds}`,
      };
    const message = `fill ${fill}% above ${high}% for ${windowText}: a standard Prod added (${clamped} → ${clamped + 1})`;
    return {
      desired: clamped + 1,
      memory: { ...kept, lastScaleTime: iso(now), lastScale: message },
      action: 'up',
      message,
    };
  }
  if (fill < low) {
    const start = since(belowSince, now);
    const memory = { ...kept, belowSince: iso(start) };
    if (now - start < windowMs)
      return { desired: clamped, memory, requeueAfterMs: start + windowMs - now };
    if (clamped <= spec.minProds) return { desired: clamped, memory };
    const message = `fill ${fill}% below ${low}% for ${windowText}: a standard Prod scaled in (${clamped} → ${clamped - 1})`;
    return {
      desired: clamped - 1,
      memory: { ...kept, lastScaleTime: iso(now), lastScale: message },
      action: 'in',
      message,
    };
  }
  return { desired: clamped, memory: kept };
}
