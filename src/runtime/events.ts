// Kubernetes events (events.k8s.io/v1) with aggregation: the same event about the same object
// within ten minutes updates one Event's series count instead of creating another.
import { randomBytes } from 'node:crypto';
import type { Gvr, KubeObject, Rest } from './rest.js';
import type { Logger } from './log.js';
import { microTime } from './time.js';

export const eventGvr: Gvr = {
  group: 'events.k8s.io',
  version: 'v1',
  resource: 'events',
  namespaced: true,
};

export interface EventInput {
  regarding: KubeObject;
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  last: number;
}

const SERIES_WINDOW_MS = 10 * 60_000;

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly rest: Rest,
    private readonly controller: string,
    private readonly instance: string,
    private readonly log: Logger,
  ) {}

  /** Records an event; never throws (an event is worth less than the reconcile that makes it). */
  async record(input: EventInput): Promise<void> {
    try {
      await this.write(input);
    } catch (err) {
      this.log.warn(
        { reason: input.reason, err: err instanceof Error ? err.message : String(err) },
        'could not record event',
      );
    }
  }

  private async write(input: EventInput): Promise<void> {
    const { regarding } = input;
    const note = input.note.length > 1024 ? `${input.note.slice(0, 1021)}...` : input.note;
    const key = [regarding.metadata.uid, input.type, input.reason, input.action, note].join(
      '\u0000',
    );
    const now = new Date();
    const prior = this.seen.get(key);
    if (prior && now.getTime() - prior.last < SERIES_WINDOW_MS) {
      prior.count += 1;
      prior.last = now.getTime();
      await this.rest.patch(
        eventGvr,
        prior.namespace,
        prior.name,
        { series: { count: prior.count, lastObservedTime: microTime(now) } },
        'merge',
      );
      return;
    }
    const namespace = regarding.metadata.namespace || 'default';
    const name = `${regarding.metadata.name}.${randomBytes(8).toString('hex')}`;
    await this.rest.create(eventGvr, {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace },
      eventTime: microTime(now),
      reportingController: this.controller,
      reportingInstance: this.instance,
      action: input.action,
      reason: input.reason,
      note,
      type: input.type,
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name: regarding.metadata.name,
        namespace: regarding.metadata.namespace,
        uid: regarding.metadata.uid,
        resourceVersion: regarding.metadata.resourceVersion,
      },
    } as KubeObject);
    this.seen.set(key, { name, namespace, count: 1, last: now.getTime() });
    if (this.seen.size > 4096) this.prune(now.getTime());
  }

  private prune(now: number): void {
    for (const [k, v] of this.seen) if (now - v.last >= SERIES_WINDOW_MS) this.seen.delete(k);
  }
}
