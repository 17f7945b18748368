// Min-cost max-flow by successive shortest paths (Bellman-Ford queue, as residual edges carry
// negative costs). Placement runs it on graphs of failure domains and groups of copies — tens
// of nodes whatever the number of tenants — where simplicity beats asymptotics.

export class MinCostFlow {
  private readonly head: number[];
  private readonly to: number[] = [];
  private readonly next: number[] = [];
  private readonly cap: number[] = [];
  private readonly cost: number[] = [];
  private readonly initial: number[] = [];

  constructor(readonly nodes: number) {
    this.head = new Array<number>(nodes).fill(-1);
  }

  /** Adds an edge u → v; returns its id for `flowOn`. */
  addEdge(u: number, v: number, cap: number, cost: number): number {
    const id = this.to.length;
    this.push(u, v, cap, cost);
    this.push(v, u, 0, -cost);
    return id;
  }

  /** The flow the last `run` sent along edge `id`. */
  flowOn(id: number): number {
    return this.initial[id]! - this.cap[id]!;
  }

  /** Sends as much as possible from s to t, at the least cost for that amount. */
  run(s: number, t: number): { flow: number; cost: number } {
    const n = this.nodes;
    const dist = new Float64Array(n);
    const via = new Int32Array(n);
    const queued = new Uint8Array(n);
    let flow = 0;
    let cost = 0;
    for (;;) {
      dist.fill(Infinity);
      via.fill(-1);
      dist[s] = 0;
      const queue = [s];
      queued[s] = 1;
      for (let qi = 0; qi < queue.length; qi++) {
        const u = queue[qi]!;
        queued[u] = 0;
        for (let e = this.head[u]!; e !== -1; e = this.next[e]!) {
          if (this.cap[e]! <= 0) continue;
          const v = this.to[e]!;
          const d = dist[u]! + this.cost[e]!;
          if (d < dist[v]!) {
            dist[v] = d;
            via[v] = e;
            if (!queued[v]) {
              queued[v] = 1;
              queue.push(v);
            }
          }
        }
      }
      if (dist[t] === Infinity) return { flow, cost };
      let push = Infinity;
      for (let v = t; v !== s; v = this.to[via[v]! ^ 1]!) push = Math.min(push, this.cap[via[v]!]!);
      for (let v = t; v !== s; v = this.to[via[v]! ^ 1]!) {
        this.cap[via[v]!]! -= push;
        this.cap[via[v]! ^ 1]! += push;
      }
      flow += push;
      cost += push * dist[t]!;
    }
  }

  private push(u: number, v: number, cap: number, cost: number): void {
    this.to.push(v);
    this.cap.push(cap);
    this.initial.push(cap);
    this.cost.push(cost);
    this.next.push(this.head[u]!);
    this.head[u] = this.to.length - 1;
  }
}
