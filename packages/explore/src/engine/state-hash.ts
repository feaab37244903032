import type { Machine } from '@mm/core';

/**
 * The state hash that prunes revisits: a 32-bit FNV-1a-style mix of every memmap word (flags, list
 * links, mapping, index, private, mapcount, refcount, memcg), every zone's `nr_free` and vmstat, every
 * node's vmstat and the vm events. Scenario machines are small (8 MiB: 2048 pages), so hashing the
 * whole memmap costs a few microseconds and needs no list of touched PFNs. Collisions can prune a
 * state that was not visited: the search is then incomplete, never wrong about a violation it
 * reports.
 *
 * @module
 */

function mixArray(h: number, a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ (a[i]! | 0), 0x01000193);
  return h;
}

/** The hash of `m`'s page state and counters, mixed with `extra` (the tasks' progress). */
export function machineStateHash(m: Machine, extra: number): number {
  const mm = m.memmap;
  let h = Math.imul(0x811c9dc5 ^ extra, 0x01000193);
  h = mixArray(h, mm.flags);
  h = mixArray(h, mm.lru);
  h = mixArray(h, mm.lruPrev);
  h = mixArray(h, mm.mapping);
  h = mixArray(h, mm.index);
  h = mixArray(h, mm.private);
  h = mixArray(h, mm.mapcount);
  h = mixArray(h, mm.refcount);
  h = mixArray(h, mm.memcgData);
  for (const z of m.zones) {
    h = mixArray(h, z.nr_free);
    h = mixArray(h, z.vmstat);
  }
  for (const n of m.nodes) h = mixArray(h, n.vmstat);
  h = mixArray(h, m.vmEvents);
  return h >>> 0;
}
