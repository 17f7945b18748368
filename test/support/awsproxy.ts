// A recording, fault-injecting HTTP proxy in front of moto, for what moto cannot show: what the
// client sent and when, throttling, and slow answers. AWS query-protocol services (ELBv2, EC2)
// name their action in the form body, which the proxy records with its arrival time; REST-XML
// ones (Route 53) by method and path, recorded with the body as it came.
import { randomUUID } from 'node:crypto';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Sent {
  action: string;
  params: URLSearchParams;
  method: string;
  path: string;
  /** The request body as text (Route 53's XML). */
  body: string;
  /** When the whole request had arrived (Date.now()). */
  at: number;
  /** The client went away while the proxy held the request back: it never reached moto. */
  abandoned?: boolean;
}

export interface AwsProxy {
  url: string;
  sent: Sent[];
  /** Answer the next `n` requests for `action` with ELBv2's throttling error. */
  throttle(action: string, n: number): void;
  /**
   * Answer every request `matches` picks with the service's throttling error until `until`
   * (Date.now() ms): a throttling storm.
   */
  throttleUntil(matches: (s: Sent) => boolean, until: number): void;
  /**
   * Refuse requests signed with an access key id not in `ids` (undefined: accept any), as AWS
   * refuses unknown credentials (moto takes any): a stand-in for AWS's own check, which only
   * looks at the key id, not the signature.
   */
  acceptKeys(ids: string[] | undefined): void;
  /**
   * Refuse every request `matches` picks until `until` (Date.now() ms) with AccessDenied, which
   * the SDK does not retry: AWS out of reach for those calls, without a retry's backoff after.
   */
  refuseUntil(matches: (s: Sent) => boolean, until: number): void;
  /** Hold every request `matches` picks back for `ms` before passing it on (0: none). */
  slow(matches: (s: Sent) => boolean, ms: number): void;
  close(): Promise<void>;
}

/** ELBv2 (API version 2015-12-01) calls that change something: anything but Describe*. */
export const isElbWrite = (s: Sent) =>
  s.params.get('Version') === '2015-12-01' && !s.action.startsWith('Describe');

// ELBv2 speaks the AWS query protocol: errors are XML with Type, Code and Message.
const throttlingXml = (requestId: string) =>
  `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">` +
  `<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>` +
  `<RequestId>${requestId}</RequestId></ErrorResponse>`;

// EC2 (API version 2016-11-15) has its own error shape.
const ec2ErrorXml = (code: string, message: string, requestId: string) =>
  `<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors>` +
  `<RequestID>${requestId}</RequestID></Response>`;
// ELBv2's shape; Route 53 (REST-XML) answers errors in the same one.
const errorXml = (code: string, message: string, requestId: string) =>
  `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error>` +
  `<RequestId>${requestId}</RequestId></ErrorResponse>`;

/** The access key id of a SigV4-signed request. */
const keyIdOf = (auth: string | undefined) => /Credential=([^/]+)\//.exec(auth ?? '')?.[1];

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startAwsProxy(target: string): Promise<AwsProxy> {
  const upstream = new URL(target);
  const sent: Sent[] = [];
  const faults = new Map<string, number>();
  let slow: { matches: (s: Sent) => boolean; ms: number } = { matches: () => false, ms: 0 };
  let storm: { matches: (s: Sent) => boolean; until: number } = { matches: () => false, until: 0 };
  let refusal: { matches: (s: Sent) => boolean; until: number } = {
    matches: () => false,
    until: 0,
  };
  let keys: string[] | undefined;
  const server = createServer(async (req, res) => {
    let gone = false;
    res.on('close', () => (gone = !res.writableFinished));
    const body = await readBody(req);
    const params = new URLSearchParams(body.toString('utf8'));
    const entry: Sent = {
      action: params.get('Action') ?? '',
      params,
      method: req.method ?? '',
      path: req.url ?? '',
      body: body.toString('utf8'),
      at: Date.now(),
    };
    sent.push(entry);
    const left = faults.get(entry.action) ?? 0;
    if (left > 0) {
      faults.set(entry.action, left - 1);
      res.writeHead(400, { 'content-type': 'text/xml' });
      res.end(throttlingXml(randomUUID()));
      return;
    }
    const refuse = (status: number, code: string, message: string) => {
      const id = randomUUID();
      res.writeHead(status, { 'content-type': 'text/xml' });
      res.end(
        params.get('Version') === '2016-11-15'
          ? ec2ErrorXml(code, message, id)
          : errorXml(code, message, id),
      );
    };
    if (keys && !keys.includes(keyIdOf(req.headers.authorization) ?? '')) {
      refuse(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
      return;
    }
    if (Date.now() < refusal.until && refusal.matches(entry)) {
      refuse(403, 'AccessDenied', 'refused by the test');
      return;
    }
    if (Date.now() < storm.until && storm.matches(entry)) {
      refuse(
        400,
        params.get('Version') === '2016-11-15' ? 'RequestLimitExceeded' : 'Throttling',
        'Rate exceeded',
      );
      return;
    }
    if (slow.ms > 0 && slow.matches(entry)) {
      await new Promise((r) => setTimeout(r, slow.ms));
      if (gone) {
        entry.abandoned = true;
        return;
      }
    }
    const fwd = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    fwd.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    fwd.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sent,
    throttle: (action, n) => void faults.set(action, n),
    throttleUntil: (matches, until) => void (storm = { matches, until }),
    refuseUntil: (matches, until) => void (refusal = { matches, until }),
    acceptKeys: (ids) => void (keys = ids),
    slow: (matches, ms) => void (slow = { matches, ms }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The API operation of a recorded request: the query protocol's Action, or Route 53's, from its
 * method and path (as far as kachiku calls Route 53).
 */
export function operationOf(s: Sent): string {
  if (s.action) return s.action;
  const path = (s.path.split('?')[0] ?? '').replace(/\/$/, '');
  const m = s.method;
  if (/\/hostedzone\/[^/]+\/rrset$/.test(path))
    return m === 'POST' ? 'ChangeResourceRecordSets' : 'ListResourceRecordSets';
  if (/\/tags\/healthcheck\/[^/]+$/.test(path))
    return m === 'POST' ? 'ChangeTagsForResource' : 'ListTagsForResource';
  if (/\/tags\/healthcheck$/.test(path)) return 'ListTagsForResources';
  if (/\/healthcheck\/[^/]+\/status$/.test(path)) return 'GetHealthCheckStatus';
  if (/\/healthcheck\/[^/]+$/.test(path))
    return m === 'DELETE'
      ? 'DeleteHealthCheck'
      : m === 'POST'
        ? 'UpdateHealthCheck'
        : 'GetHealthCheck';
  if (/\/healthcheck$/.test(path)) return m === 'POST' ? 'CreateHealthCheck' : 'ListHealthChecks';
  if (/\/hostedzone(\/[^/]+)?$/.test(path)) return m === 'GET' ? 'GetHostedZone' : `${m} ${path}`;
  return `${m} ${path}`;
}

/** Whether an operation changes something (anything but Describe*, Get*, List*). */
export const isWrite = (operation: string) => !/^(Describe|Get|List)/.test(operation);
