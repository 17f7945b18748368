// `show info`: which HAProxy answers, and since when. A router that restarted or reloaded has
// reloaded its map files and lost every runtime change, so whoever programs it compares
// `instance` with the one it programmed and re-programs on a difference.
import { RuntimeApiError, answerError } from './errors.js';
import type { RuntimeClient } from './socket.js';

export interface RouterInfo {
  /** "2.6.12-1+deb12u4" */
  version: string;
  /** The process serving (the worker, in master-worker mode: a reload changes it). */
  pid: number;
  uptimeSec: number;
  /** Unix time the process started. */
  startTimeSec: number;
  /** pid and start time together: differs after any restart or reload, even if a PID is reused. */
  instance: string;
  nbthread: number;
  currConns: number;
  /** Every field as HAProxy printed it. */
  fields: Record<string, string>;
}

export async function showInfo(client: RuntimeClient): Promise<RouterInfo> {
  return parseInfo(await client.send('show info'));
}

/** Parses the "Name: value" lines of `show info`. */
export function parseInfo(answer: string): RouterInfo {
  const fields: Record<string, string> = {};
  for (const line of answer.split('\n')) {
    const i = line.indexOf(': ');
    if (i > 0) fields[line.slice(0, i)] = line.slice(i + 2).trim();
  }
  if (fields.Name !== 'HAProxy' || !fields.Version) {
    throw fields.Name === undefined
      ? answerError('show info', answer)
      : new RuntimeApiError('BadResponse', 'show info', `not HAProxy's info: ${fields.Name}`);
  }
  const num = (k: string): number => {
    const n = Number(fields[k]);
    if (fields[k] === undefined || !Number.isFinite(n)) {
      throw new RuntimeApiError('BadResponse', 'show info', `no numeric field ${k}`);
    }
    return n;
  };
  const pid = num('Pid');
  // Start_time_sec is there since 2.5 (Debian 12 ships 2.6).
  const startTimeSec = num('Start_time_sec');
  return {
    version: fields.Version,
    pid,
    uptimeSec: num('Uptime_sec'),
    startTimeSec,
    instance: `${pid}@${startTimeSec}`,
    nbthread: fields.Nbthread ? num('Nbthread') : 1,
    currConns: fields.CurrConns ? num('CurrConns') : 0,
    fields,
  };
}
