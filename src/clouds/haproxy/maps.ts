// Maps through the runtime API: list, read, and replace atomically (HAProxy 2.4+: `prepare map`
// allocates a hidden version, `add map @ver` fills it, `commit map @ver` makes it the one matched
// against in a single step, so no request ever sees half a table). Runtime changes are not
// written to disk: writeMapFile() writes the file HAProxy loads when it starts.
import { rename, writeFile } from 'node:fs/promises';
import { RuntimeApiError, answerError } from './errors.js';
import { frame, hasControl, isWord, word, type RuntimeClient } from './socket.js';

/** A map as `show map` lists it. */
export interface MapInfo {
  /** Numeric id; `#<id>` names the map in commands, as its file does. */
  id: number;
  /** The file (or name) it was loaded from: the identifier used in the configuration. */
  file: string;
  description: string;
  /** The version requests are matched against. */
  currentVersion: number;
  /** The last version allocated by `prepare map` (equal to current when none is pending). */
  nextVersion: number;
  /** Entries of every version, pending ones included. */
  entryCount: number;
}

export interface MapEntry {
  /** HAProxy's reference of the entry (for `set map`/`del map` by #ref). */
  ref: string;
  key: string;
  value: string;
}

/** What to put in a map: pairs (a Map, or an array whose keys must be unique). */
export type MapEntries = Iterable<readonly [key: string, value: string]>;

export async function showMaps(client: RuntimeClient): Promise<MapInfo[]> {
  return parseMapList(await client.send('show map'));
}

/** The map loaded from `file` (or with `#id`), or undefined when the router has none. */
export async function findMap(client: RuntimeClient, map: string): Promise<MapInfo | undefined> {
  return (await showMaps(client)).find((m) => m.file === map || `#${m.id}` === map);
}

/** The entries of a map's current version, or of `version` (pending or current). */
export async function showMap(
  client: RuntimeClient,
  map: string,
  opts: { version?: number } = {},
): Promise<MapEntry[]> {
  const command = `show map ${at(opts.version)}${word('show map', map)}`;
  return parseMapEntries(command, await client.send(command));
}

/** Allocates a new, empty, invisible version of a map; resolves to its number. */
export async function prepareMap(client: RuntimeClient, map: string): Promise<number> {
  const command = `prepare map ${word('prepare map', map)}`;
  const answer = await client.send(command);
  const m = /^New version created: (\d+)$/.exec(answer.trim());
  if (!m) throw answerError(command, answer);
  return Number(m[1]);
}

/**
 * Adds entries to a map (to `version` if given, else to the current one, where they match at
 * once), in as few payloads as fit the router's request size. Resolves to the number sent.
 */
export async function addMapEntries(
  client: RuntimeClient,
  map: string,
  entries: MapEntries,
  opts: { version?: number } = {},
): Promise<{ entries: number; batches: number }> {
  const command = `add map ${at(opts.version)}${word('add map', map)}`;
  return sendLines(client, command, mapLines(command, entries));
}

async function sendLines(
  client: RuntimeClient,
  command: string,
  lines: string[],
): Promise<{ entries: number; batches: number }> {
  const batches = batch(command, lines, client.maxRequestBytes);
  for (const b of batches) {
    const answer = await client.send(command, b);
    if (answer.trim() !== '') throw answerError(command, answer);
  }
  return { entries: lines.length, batches: batches.length };
}

/** Makes `version` the map's current one, at once, and drops every older version. */
export async function commitMap(
  client: RuntimeClient,
  map: string,
  version: number,
): Promise<void> {
  const command = `commit map @${version} ${word('commit map', map)}`;
  const answer = await client.send(command);
  if (answer.trim() !== '') throw answerError(command, answer);
}

/** Removes every entry of a map's current version (visible at once), or of `version`. */
export async function clearMap(
  client: RuntimeClient,
  map: string,
  opts: { version?: number } = {},
): Promise<void> {
  const command = `clear map ${at(opts.version)}${word('clear map', map)}`;
  const answer = await client.send(command);
  if (answer.trim() !== '') throw answerError(command, answer);
}

export interface ReplaceResult {
  /** The version now current. */
  version: number;
  entries: number;
  /** Payloads sent to fill it. */
  batches: number;
}

/**
 * Replaces a map's whole content atomically: prepare → add in batches → commit. Entries are
 * checked before anything is sent. If a step fails, nothing was committed: the router still
 * matches the old table, and the half-filled version stays invisible until the next commit
 * drops it (management.txt, "prepare map"). Call again after a BadVersion (another writer, or
 * a restart in between) or a retryable error.
 */
export async function replaceMap(
  client: RuntimeClient,
  map: string,
  entries: MapEntries,
): Promise<ReplaceResult> {
  // Bad entries are refused before anything is prepared.
  const lines = mapLines(`replace map ${map}`, entries);
  const version = await prepareMap(client, map);
  const added = await sendLines(client, `add map @${version} ${word('add map', map)}`, lines);
  await commitMap(client, map, version);
  return { version, ...added };
}

/** A map file's text: one "key value" line per entry, as HAProxy reads it at start. */
export function formatMapFile(entries: MapEntries): string {
  return mapLines('map file', entries)
    .map((l) => `${l}\n`)
    .join('');
}

/**
 * Writes a map file whole (a temporary file renamed over it), so that a router starting at any
 * moment loads either the old table or the new one.
 */
export async function writeMapFile(path: string, entries: MapEntries): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, formatMapFile(entries));
  await rename(tmp, path);
}

/** Parses `show map` without argument. */
export function parseMapList(answer: string): MapInfo[] {
  const maps: MapInfo[] = [];
  for (const line of answer.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(-?\d+) \((.*)\) (.*?) curr_ver=(\d+) next_ver=(\d+) entry_cnt=(\d+)$/.exec(line);
    if (!m) throw answerError('show map', answer);
    maps.push({
      id: Number(m[1]),
      file: m[2]!,
      description: m[3]!.replace(/\.$/, ''),
      currentVersion: Number(m[4]),
      nextVersion: Number(m[5]),
      entryCount: Number(m[6]),
    });
  }
  return maps;
}

/** Parses `show map [@ver] <map>`: "<ref> <key> <value…>" per line. */
export function parseMapEntries(command: string, answer: string): MapEntry[] {
  const entries: MapEntry[] = [];
  for (const line of answer.split('\n')) {
    if (line === '') continue;
    const m = /^(0x[0-9a-f]+) (\S+) ?(.*)$/.exec(line);
    if (!m) throw answerError(command, answer);
    entries.push({ ref: m[1]!, key: m[2]!, value: m[3]! });
  }
  return entries;
}

const at = (version?: number) => (version === undefined ? '' : `@${version} `);

/**
 * The payload lines of entries, checked: the first word of a line is the key and the rest the
 * value, and an empty line ends a payload, so a key is one word, a value one line without
 * leading or trailing blanks, and a key appears once.
 */
function mapLines(command: string, entries: MapEntries): string[] {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const [key, value] of entries) {
    const bad = (why: string) =>
      new RuntimeApiError('Invalid', command, `entry ${JSON.stringify(key)}: ${why}`);
    if (!isWord(key)) throw bad('a key must be one word');
    if (value === '' || hasControl(value) || value.trim() !== value) {
      throw bad(`bad value ${JSON.stringify(value)}`);
    }
    if (seen.has(key)) throw bad('given twice');
    seen.add(key);
    lines.push(`${key} ${value}`);
  }
  return lines;
}

/** Splits payload lines into the fewest requests of at most `maxBytes` each, in order. */
export function batch(command: string, lines: readonly string[], maxBytes: number): string[][] {
  const fixed = Buffer.byteLength(frame(command, []));
  const batches: string[][] = [];
  let current: string[] = [];
  let size = fixed;
  for (const line of lines) {
    const n = Buffer.byteLength(line) + 1;
    if (fixed + n > maxBytes) {
      throw new RuntimeApiError('Invalid', command, `an entry of ${n} bytes never fits a request`);
    }
    if (size + n > maxBytes) {
      batches.push(current);
      current = [];
      size = fixed;
    }
    current.push(line);
    size += n;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
