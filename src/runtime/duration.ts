// Durations as Kubernetes and Go write them: "500ms", "15s", "5m", "1h30m".
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number {
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(text)
    ? text.match(/\d+(?:\.\d+)?(?:ms|s|m|h)/g)
    : null;
  if (!parts) throw new Error(`bad duration "${text}": use e.g. 500ms, 15s, 5m, 1h30m`);
  return parts.reduce((sum, p) => {
    const [, n, unit] = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(p) as RegExpExecArray;
    return sum + Number(n) * (UNITS[unit as string] as number);
  }, 0);
}
