// A CPU profile of this process over one measured window, for finding where a benchmark's time
// goes (the controllers run in the benchmark's process). Off unless BENCH_CPU_PROFILE names a
// directory; each window is written there as <label>.cpuprofile (Chrome DevTools' format), and
// the functions with the most self time are printed.
import { Session } from 'node:inspector/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export async function startProfile(): Promise<{ stop(label: string): Promise<void> } | undefined> {
  const dir = process.env.BENCH_CPU_PROFILE;
  if (!dir) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    async stop(label) {
      const { profile } = (await session.post('Profiler.stop')) as { profile: Profile };
      session.disconnect();
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, `${label}.cpuprofile`), JSON.stringify(profile));
      console.log(`profile ${label}: ${summarize(profile)}`);
    },
  };
}

/** The top self-time functions, in ms, over the profile's wall time. */
function summarize(p: Profile): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const n = byId.get(samples[i]!);
    if (!n) continue;
    const f = n.callFrame;
    const where = f.url
      ? `${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}`
      : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + (deltas[i] ?? 0) / 1000);
  }
  const wall = (p.endTime - p.startTime) / 1000;
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
  return `${wall.toFixed(0)} ms wall\n${top.map(([k, v]) => `  ${v.toFixed(1).padStart(8)} ms  ${k}`).join('\n')}`;
}
