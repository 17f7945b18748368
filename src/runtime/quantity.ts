// Kubernetes resource quantities ("250m", "1.5", "512Mi", "1e3"): parsed to a number of base
// units, so that requests, usage and allocatable can be summed, and written back in Kubernetes'
// style. client-node keeps its quantityToScalar internal (not exported), and the grammar is
// small; a double is exact for any realistic CPU and memory. Pure.

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The value of a quantity in base units (cores, bytes); throws on a malformed one. */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/.exec(
    q.trim(),
  );
  if (!m) throw new Error(`not a quantity: ${JSON.stringify(q)}`);
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  if (suffix in BINARY) return n * (BINARY[suffix] as number);
  if (/^[eE]/.test(suffix)) return n * 10 ** Number(suffix.slice(1));
  return n * (DECIMAL[suffix] as number);
}

/** CPU as Kubernetes writes it: whole cores ("2") or millicores ("1500m"). */
export function formatCpu(cores: number): string {
  const milli = Math.round(cores * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** Memory in the largest binary unit that divides it ("1536Mi", "2Gi"), else bytes. */
export function formatMemory(bytes: number): string {
  const b = Math.round(bytes);
  for (const unit of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'])
    if (b !== 0 && b % (BINARY[unit] as number) === 0)
      return `${b / (BINARY[unit] as number)}${unit}`;
  return String(b);
}
