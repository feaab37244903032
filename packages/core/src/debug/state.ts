import type { Machine } from '../machine/machine.js';

/**
 * A copy of everything a machine's core state consists of — every memmap word, every free list and
 * per-CPU list, every counter — so that a test can prove a rejected call changed nothing:
 * `expect(diffMachineState(before, captureMachineState(m))).toEqual([])`.
 */
export interface MachineState {
  /** Memmap arrays by name. */
  readonly memmap: Readonly<Record<string, ArrayLike<number>>>;
  /** Zone free lists, counts and counters, per zone. */
  readonly zones: readonly Readonly<Record<string, ArrayLike<number>>>[];
  /** Per-node LRU lists and counters. */
  readonly nodes: readonly Readonly<Record<string, ArrayLike<number>>>[];
  /** Global event counters and scalar state. */
  readonly global: Readonly<Record<string, ArrayLike<number>>>;
}

/** Capture the machine's core state (copies, not views). */
export function captureMachineState(m: Machine): MachineState {
  const mm = m.memmap;
  return {
    memmap: {
      flags: mm.flags.slice(),
      lru: mm.lru.slice(),
      lruPrev: mm.lruPrev.slice(),
      mapping: mm.mapping.slice(),
      index: mm.index.slice(),
      private: mm.private.slice(),
      mapcount: mm.mapcount.slice(),
      refcount: mm.refcount.slice(),
      memcgData: mm.memcgData.slice(),
      pageblock: mm.pageblock.slice(),
    },
    zones: m.zones.map((z) => ({
      heads: z.free_list.heads.slice(),
      tails: z.free_list.tails.slice(),
      counts: z.free_list.counts.slice(),
      nr_free: z.nr_free.slice(),
      vmstat: z.vmstat.slice(),
      pcp: Float64Array.from(
        z.per_cpu_pageset.flatMap((p) => [p.count, p.high, p.alloc_factor, p.free_count, p.flags, ...p.lists.heads, ...p.lists.tails]),
      ),
      flags: [z.flags],
    })),
    nodes: m.nodes.map((n) => ({ lru: Int32Array.from([...n.lruvec.heads, ...n.lruvec.tails, ...n.lruvec.counts]), vmstat: n.vmstat.slice() })),
    global: {
      vmEvents: m.vmEvents.slice(),
      scalars: [m.nrBadPages, m.cpu],
      lruAdd: Int32Array.from(m.lruAddBatch.flatMap((b) => [b.count, ...b.folios])),
    },
  };
}

/** The names of every part that differs between two captured states, e.g. `["memmap.refcount[4100]"]`. */
export function diffMachineState(a: MachineState, b: MachineState): string[] {
  const out: string[] = [];
  const cmp = (path: string, x: ArrayLike<number>, y: ArrayLike<number>): void => {
    if (x.length !== y.length) {
      out.push(`${path}.length`);
      return;
    }
    for (let i = 0; i < x.length; i++) {
      if (x[i] !== y[i]) {
        out.push(`${path}[${i}]`);
        if (out.length > 50) return;
      }
    }
  };
  for (const k of Object.keys(a.memmap)) cmp(`memmap.${k}`, a.memmap[k]!, b.memmap[k]!);
  a.zones.forEach((z, i) => Object.keys(z).forEach((k) => cmp(`zones[${i}].${k}`, z[k]!, b.zones[i]![k]!)));
  a.nodes.forEach((n, i) => Object.keys(n).forEach((k) => cmp(`nodes[${i}].${k}`, n[k]!, b.nodes[i]![k]!)));
  for (const k of Object.keys(a.global)) cmp(`global.${k}`, a.global[k]!, b.global[k]!);
  return out;
}
