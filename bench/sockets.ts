// TCP connections to the apiserver, for the benchmarks that compare how clients use them: the
// sockets a process holds (as the kernel sees them, /proc), and the connections it opened.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import tls from 'node:tls';

interface TcpEntry {
  localPort: number;
  remotePort: number;
  /** Kernel state: '01' established, '06' TIME_WAIT, '08' CLOSE_WAIT... */
  state: string;
  inode: string;
}

const port = (hexAddr: string) => parseInt(hexAddr.slice(hexAddr.lastIndexOf(':') + 1), 16);

function tcpTable(): TcpEntry[] {
  const entries: TcpEntry[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      entries.push({ localPort: port(f[1]!), remotePort: port(f[2]!), state: f[3]!, inode: f[9]! });
    }
  }
  return entries;
}

function socketInodes(pid: number | 'self'): Set<string> {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** Established TCP sockets of process `pid` whose remote end is `serverPort`. */
export function socketsHeld(serverPort: number, pid: number | 'self' = 'self'): number {
  const inodes = socketInodes(pid);
  return tcpTable().filter(
    (e) => e.state === '01' && e.remotePort === serverPort && inodes.has(e.inode),
  ).length;
}

/** Samples, every 100 ms, the most sockets to `serverPort` that `pid` held at once. */
export class SocketSampler {
  private maxHeld = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly serverPort: number,
    private readonly pid: number | 'self' = 'self',
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }

  /** The sockets `pid` holds now (counted in the maximum too). */
  sample(): number {
    const held = socketsHeld(this.serverPort, this.pid);
    this.maxHeld = Math.max(this.maxHeld, held);
    return held;
  }

  /** Stops sampling; the most sockets held at once. */
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return this.maxHeld;
  }
}

/**
 * Counts the TLS connections this process opens from now on, whoever opens them (undici, Node's
 * https agents): every client TLS connection goes through `tls.connect`, looked up at each call.
 * A closed connection cannot be counted from /proc: one closed abortively leaves no TIME_WAIT.
 */
export function countTlsConnects(): () => number {
  let n = 0;
  const connect = tls.connect;
  (tls as { connect: typeof tls.connect }).connect = function (this: unknown, ...args: unknown[]) {
    n++;
    return (connect as (...a: unknown[]) => tls.TLSSocket).apply(this, args);
  } as typeof tls.connect;
  return () => n;
}
