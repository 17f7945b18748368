// Health probes of a data plane, as Route 53's checkers make them: a TCP connect, or an HTTP(S)
// GET answered with 2xx or 3xx. For addresses Route 53 cannot reach (controller-mode failover).
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ProbeEndpoint {
  type: 'TCP' | 'HTTP' | 'HTTPS';
  host: string;
  port: number;
  /** HTTP(S) only. */
  path: string;
}

/** One probe as Route 53 does it: a TCP connect, or a GET answered with 2xx or 3xx. */
export function probeOnce(target: ProbeEndpoint, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (target.type === 'TCP') {
      const socket = connect({ host: target.host, port: target.port });
      const done = (ok: boolean) => (socket.destroy(), resolve(ok));
      socket.setTimeout(timeoutMs, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
      return;
    }
    const request = target.type === 'HTTPS' ? httpsRequest : httpRequest;
    const req = request(
      {
        host: target.host,
        port: target.port,
        path: target.path,
        method: 'GET',
        timeout: timeoutMs,
        // Route 53 does not validate certificates either.
        ...(target.type === 'HTTPS' && { rejectUnauthorized: false }),
      },
      (res) => {
        res.resume();
        resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', () => resolve(false));
    req.end();
  });
}
