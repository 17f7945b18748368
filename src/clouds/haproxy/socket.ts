// The transport of HAProxy's runtime API (management.txt §9.3): one command per connection, in
// the CLI's non-interactive mode. HAProxy answers and closes, so the end of the stream is the end
// of the answer: no prompt to parse (a map value could look like one), no session to resync
// after a timeout or an oversized request (HAProxy drops those silently and may leave a
// persistent session waiting), and a restarted router is simply the next connection. A unix
// socket connect costs tens of microseconds, a loopback TCP one little more; the batches of a
// map replacement are the only place where many commands go in a row (bench/README.md).
//
// Why not an npm client: the packages there (`haproxy` 0.3, `haproxy-sdk` 1.0) are untyped,
// built for HAProxy 1.5-era stats and process control, and know neither versioned maps
// (prepare/commit, 2.4+) nor payloads; this file and the few beside it are all kachiku needs.
import { connect, type Socket } from 'node:net';
import { RuntimeApiError } from './errors.js';

/** A unix socket path, or a TCP address (`stats socket ipv4@127.0.0.1:9999`). */
export type RuntimeTarget = { socket: string } | { host: string; port: number };

export interface RuntimeClientOptions {
  /** For the whole exchange of one command; default 10 s (HAProxy's own `stats timeout`). */
  timeoutMs?: number;
  /**
   * The largest request (command line and payload) to send. HAProxy takes a request only if it
   * fits its buffer (tune.bufsize, 16384 by default; larger ones are dropped without an answer),
   * so the default keeps 1 KiB below that.
   */
  maxRequestBytes?: number;
}

export interface RuntimeClient {
  /** Where it connects: the socket path or host:port (for messages and status). */
  readonly target: string;
  readonly maxRequestBytes: number;
  /**
   * Sends one command, with an optional payload (one line per element), on a new connection,
   * and resolves to HAProxy's answer without its closing empty line. Rejects with a
   * RuntimeApiError only for transport failures: what the answer means is the caller's.
   */
  send(command: string, payload?: readonly string[]): Promise<string>;
}

export const DEFAULT_MAX_REQUEST_BYTES = 16384 - 1024;

/** "/run/haproxy/admin.sock", "unix@/…", "127.0.0.1:9999" or "ipv4@127.0.0.1:9999". */
export function parseTarget(s: string): RuntimeTarget {
  const t = s.replace(/^(unix|ipv4|ipv6)@/, '');
  const tcp = /^\[?([^\]]*?)\]?:(\d+)$/.exec(t);
  if (!t.includes('/') && tcp) return { host: tcp[1]!, port: Number(tcp[2]) };
  return { socket: t };
}

export function runtimeClient(
  target: RuntimeTarget | string,
  opts: RuntimeClientOptions = {},
): RuntimeClient {
  const to = typeof target === 'string' ? parseTarget(target) : target;
  const where = 'socket' in to ? to.socket : `${to.host}:${to.port}`;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxRequestBytes = opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  return {
    target: where,
    maxRequestBytes,
    send(command, payload) {
      const request = frame(command, payload);
      const size = Buffer.byteLength(request);
      if (size > maxRequestBytes) {
        const err = new RuntimeApiError(
          'Invalid',
          command,
          `request of ${size} bytes is over the ${maxRequestBytes} this router takes`,
        );
        return Promise.reject(err);
      }
      return exchange(to, where, command, request, timeoutMs);
    },
  };
}

/** The request bytes: the command line, or `command <<`, the payload lines and an empty line. */
export function frame(command: string, payload?: readonly string[]): string {
  if (payload === undefined) return `${command}\n`;
  return `${command} <<\n${payload.map((l) => `${l}\n`).join('')}\n`;
}

function exchange(
  to: RuntimeTarget,
  where: string,
  command: string,
  request: string,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket: Socket = 'socket' in to ? connect(to.socket) : connect(to.port, to.host);
    const fail = (kind: 'Unreachable' | 'Timeout', detail: string, cause?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(new RuntimeApiError(kind, command, `${where}: ${detail}`, { cause }));
    };
    const timer = setTimeout(() => fail('Timeout', `no answer within ${timeoutMs} ms`), timeoutMs);
    socket.on('connect', () => socket.end(request));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => fail('Unreachable', e.code ?? e.message, e));
    socket.on('close', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('utf8');
      // Every complete answer ends with an empty line: "\n" alone, or text and "\n\n".
      if (raw === '') {
        reject(new RuntimeApiError('NoAnswer', command, `${where}: closed without an answer`));
      } else if (!raw.endsWith('\n')) {
        reject(new RuntimeApiError('BadResponse', command, `${where}: answer cut short`));
      } else {
        resolve(raw.replace(/\n+$/, ''));
      }
    });
  });
}

/**
 * One word of a command line: HAProxy splits on spaces and `;`, and unescapes `\`. A word with
 * whitespace or a control character cannot be sent safely, so it is refused.
 */
export function word(command: string, s: string): string {
  if (!isWord(s)) {
    throw new RuntimeApiError('Invalid', command, `not a single word: ${JSON.stringify(s)}`);
  }
  return s.replace(/[\\;]/g, (c) => `\\${c}`);
}

/** Not empty, and no whitespace or control character. */
export function isWord(s: string): boolean {
  return s !== '' && !/\s/.test(s) && !hasControl(s);
}

export function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
