// Octavia's event notifications over AMQP (oslo.messaging's messagingv2 driver on RabbitMQ).
// Octavia's worker sends octavia.loadbalancer.{create,update,delete}.end at the end of each
// flow ([controller_worker] event_notifications, default true, once
// [oslo_messaging_notifications] driver = messagingv2): a topic exchange named after Octavia's
// control_exchange ("octavia"), routing key "<topic>.<priority>" (topic "notifications").
// kachiku listens on a queue of its own — server-named, exclusive, auto-deleted, not durable —
// so that it never takes messages from another consumer's queue and leaves nothing behind; a
// message missed while disconnected is caught by the next list (the caller's safety net).
import amqp from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from '../../runtime/backoff.js';

export interface LoadBalancerEvent {
  /** e.g. octavia.loadbalancer.create.end */
  eventType: string;
  loadBalancerID?: string;
  projectID?: string;
}

export interface NotificationOptions {
  /** amqp://user:password@host:port/vhost */
  url: string;
  /** Octavia's control_exchange. Default "octavia". */
  exchange?: string;
  /** [oslo_messaging_notifications] topics. Default "notifications". */
  topic?: string;
  onEvent: (e: LoadBalancerEvent) => void;
  /** Connected (true) or lost (false, with why: never the URL, which holds a password). */
  onState?: (connected: boolean, error?: string) => void;
  /** Reconnect backoff: first and longest delay. Default 500 ms and 30 s. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** A UUID, with or without its dashes (Keystone's project ids have none). */
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * The load-balancer event a message carries, or undefined: messagingv2 wraps the notification
 * as a JSON string under "oslo.message" (messaging v1 and the log driver send it bare).
 */
export function parseNotification(body: string): LoadBalancerEvent | undefined {
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(body) as Record<string, unknown>;
    if (typeof msg['oslo.message'] === 'string')
      msg = JSON.parse(msg['oslo.message']) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const eventType = msg.event_type;
  if (typeof eventType !== 'string' || !eventType.startsWith('octavia.loadbalancer.'))
    return undefined;
  const payload = (msg.payload ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  // Octavia's ids are UUIDs, Keystone's project ids hex: anything else in a message (which
  // anyone on the bus can send) is no id, and goes into no URL path (an event without an id
  // lists).
  const uuid = (v: unknown) => {
    const s = str(v);
    return s && UUID.test(s) ? s : undefined;
  };
  return {
    eventType,
    loadBalancerID: uuid(payload.loadbalancer_id) ?? uuid(payload.id),
    projectID: uuid(payload.project_id),
  };
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'amqp://(unparsable URL)';
  }
}

/** Listens until stopped, reconnecting with backoff; stop() closes the connection. */
export function listenNotifications(opts: NotificationOptions): { stop: () => Promise<void> } {
  const exchange = opts.exchange ?? 'octavia';
  const topic = opts.topic ?? 'notifications';
  const stopped = new AbortController();
  let conn: amqp.ChannelModel | undefined;
  const backoff = new Backoff(opts.backoffMs ?? 500, opts.maxBackoffMs ?? 30_000);

  async function once(): Promise<void> {
    const c = await amqp.connect(opts.url, { timeout: 10_000 });
    conn = c;
    const closed = new Promise<Error | undefined>((resolve) => {
      c.on('error', (err: Error) => resolve(err));
      c.on('close', (err?: Error) => resolve(err));
    });
    const ch = await c.createChannel();
    ch.on('error', () => {}); // reported through the connection's close
    // As oslo.messaging declares it (amqp_durable_queues and amqp_auto_delete default false):
    // a different durability would be refused. It exists once Octavia's worker has started.
    await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    const q = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await ch.bindQueue(q.queue, exchange, `${topic}.*`);
    await ch.consume(
      q.queue,
      (m) => {
        if (!m) return;
        const e = parseNotification(m.content.toString('utf8'));
        if (e) opts.onEvent(e);
      },
      { noAck: true },
    );
    backoff.reset();
    opts.onState?.(true);
    const err = await closed;
    conn = undefined;
    if (!stopped.signal.aborted) throw err ?? new Error('the broker closed the connection');
  }

  const loop = (async () => {
    while (!stopped.signal.aborted) {
      try {
        await once();
      } catch (err) {
        if (stopped.signal.aborted) break;
        await conn?.close().catch(() => {});
        conn = undefined;
        const message = err instanceof Error ? err.message : String(err);
        opts.onState?.(false, message.split(opts.url).join(redactUrl(opts.url)));
        await sleep(backoff.next(), undefined, { signal: stopped.signal }).catch(() => {});
      }
    }
  })();

  return {
    async stop() {
      stopped.abort();
      await conn?.close().catch(() => {});
      await loop;
    },
  };
}
