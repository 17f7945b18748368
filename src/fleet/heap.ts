// A binary min-heap of Prods (by index) keyed by their fill, updated in place when a Prod's fill
// changes: placing a copy on the least-filled Prod of a pool is O(log n), not a scan of the pool.

export class FillHeap {
  private readonly heap: number[];
  /** Prod index → its position in `heap`. */
  private readonly pos = new Map<number, number>();
  private readonly stack: number[] = [];

  constructor(
    private readonly key: (prod: number) => number,
    prods: readonly number[],
  ) {
    this.heap = [...prods];
    this.heap.forEach((p, i) => this.pos.set(p, i));
    this.rebuild();
  }

  /** Restores the order after any number of keys changed. */
  rebuild(): void {
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  get size(): number {
    return this.heap.length;
  }

  /** The least-filled Prod (ties: the lowest index). */
  top(): number | undefined {
    return this.heap[0];
  }

  /**
   * Up to `out.length` Prods sharing the least fill, written to `out`; returns how many. They
   * form a subtree at the root (a parent is never greater than its child), so this visits only
   * them. (`out` and the stack are the caller's and ours to reuse: this runs once per copy.)
   */
  ties(out: Int32Array): number {
    const root = this.heap[0];
    if (root === undefined) return 0;
    const k = this.key(root);
    const stack = this.stack;
    let top = 0;
    let n = 0;
    stack[top++] = 0;
    while (top > 0 && n < out.length) {
      const i = stack[--top]!;
      const p = this.heap[i];
      if (p === undefined || this.key(p) !== k) continue;
      out[n++] = p;
      stack[top++] = 2 * i + 2;
      stack[top++] = 2 * i + 1;
    }
    return n;
  }

  /** Restores the order after `prod`'s key changed. */
  update(prod: number): void {
    const i = this.pos.get(prod);
    if (i === undefined) return;
    this.up(i);
    this.down(this.pos.get(prod)!);
  }

  private less(a: number, b: number): boolean {
    const ka = this.key(a);
    const kb = this.key(b);
    return ka < kb || (ka === kb && a < b);
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    this.heap[i] = b;
    this.heap[j] = a;
    this.pos.set(b, i);
    this.pos.set(a, j);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(this.heap[i]!, this.heap[parent]!)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(this.heap[l]!, this.heap[m]!)) m = l;
      if (r < n && this.less(this.heap[r]!, this.heap[m]!)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
