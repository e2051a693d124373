// Lanes for a `git log --graph` style drawing of the commits of every branch.
import type { LogItem } from "./types";

export interface GraphRow {
  item: LogItem;
  lane: number;
  /** Lanes holding an awaited commit above this row and below it (null: free). */
  before: (string | null)[];
  after: (string | null)[];
}

/** Commits newest first (children before parents), each placed in a lane. */
export function layout(items: LogItem[]): GraphRow[] {
  let lanes: (string | null)[] = [];
  const rows: GraphRow[] = [];
  for (const item of items) {
    const before = lanes.slice();
    let lane = lanes.indexOf(item.commit);
    if (lane < 0) {
      lane = lanes.indexOf(null);
      if (lane < 0) lane = lanes.push(null) - 1;
    }
    // Other lanes that waited for this commit end here (their branches forked from it).
    lanes = lanes.map((c, i) => (c === item.commit && i !== lane ? null : c));
    const [first, ...others] = item.parents;
    lanes[lane] = first ?? null;
    for (const parent of others) {
      if (lanes.includes(parent)) continue;
      const free = lanes.indexOf(null);
      if (free >= 0) lanes[free] = parent;
      else lanes.push(parent);
    }
    while (lanes.length && lanes[lanes.length - 1] === null) lanes.pop();
    rows.push({ item, lane, before, after: lanes.slice() });
  }
  return rows;
}

/** The union of several branches' logs, newest first, each commit once. */
export function mergeLogs(logs: LogItem[][]): LogItem[] {
  const seen = new Map<string, LogItem>();
  for (const log of logs) for (const item of log) seen.set(item.commit, item);
  const all = [...seen.values()];
  // Time order, then make sure a child always comes before its parents.
  all.sort((a, b) => b.time.localeCompare(a.time));
  const index = new Map(all.map((c) => [c.commit, c]));
  const placed = new Set<string>();
  const out: LogItem[] = [];
  const children = new Map<string, number>();
  for (const c of all) for (const p of c.parents) if (index.has(p)) children.set(p, (children.get(p) ?? 0) + 1);
  const ready = all.filter((c) => !children.get(c.commit));
  while (ready.length) {
    ready.sort((a, b) => b.time.localeCompare(a.time));
    const next = ready.shift() as LogItem;
    if (placed.has(next.commit)) continue;
    placed.add(next.commit);
    out.push(next);
    for (const p of next.parents) {
      if (!index.has(p)) continue;
      const left = (children.get(p) ?? 1) - 1;
      children.set(p, left);
      if (left === 0) ready.push(index.get(p) as LogItem);
    }
  }
  return out;
}
