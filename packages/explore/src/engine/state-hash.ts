import type { Machine } from '@mm/core';

/**
 * The state hash that prunes revisits: a 32-bit multiply-xor (FNV-style) mix of every memmap word
 * (flags, list links, mapping, index, private, mapcount, refcount, memcg), the pageblock
 * migratetypes, every list head (free lists, per-CPU lists, LRU lists; a list's members are in the
 * memmap links), the `lru_add` batches, every zone's `nr_free` and vmstat, every node's vmstat and
 * the vm events. Scenario machines are the smallest the core builds (8 MiB: 2048 pages, 18 432
 * memmap words), so hashing the whole memmap costs some tens of microseconds and needs no list of
 * touched PFNs (which would make the hash inexact: a page the explorer does not know was touched
 * would not tell states apart). Collisions can prune a state that was not visited: the search is
 * then incomplete, never wrong about a violation it reports.
 *
 * @module
 */

const K = 0x01000193;

// Small arrays, one function per element type so that each stays monomorphic.
function mixI32(h: number, a: Int32Array): number {
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a[i]!, K);
  return h;
}
function mixF64(h: number, a: Float64Array): number {
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ (a[i]! | 0), K);
  return h;
}
function mixU8(h: number, a: Uint8Array): number {
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a[i]!, K);
  return h;
}

/**
 * Int32 views of a machine's nine memmap word arrays (one element type: the hash loop stays
 * monomorphic), kept by the caller across steps and rebuilt when the memmap's arrays are replaced
 * (it grew).
 */
export class StateHashViews {
  private src: Uint32Array | null = null;
  private a: readonly Int32Array[] = [];

  /** The views of `m`'s memmap now. */
  of(m: Machine): readonly Int32Array[] {
    const mm = m.memmap;
    if (this.src !== mm.flags || this.a[0]!.length !== mm.flags.length) {
      this.a = [mm.flags, mm.lru, mm.lruPrev, mm.mapping, mm.index, mm.private, mm.mapcount, mm.refcount, mm.memcgData].map((x) => new Int32Array(x.buffer, x.byteOffset, x.length));
      this.src = mm.flags;
    }
    return this.a;
  }
}

/**
 * One memmap array mixed into `h`: four independent FNV-style multiply-xor lanes over consecutive
 * words (the CPU overlaps their multiplications; more lanes, or one lane per array across all nine
 * arrays, run out of registers and are slower), then the tail words, then the lanes folded together.
 */
function mixWords(h: number, a: Int32Array): number {
  let h0 = h ^ 0x811c9dc5;
  let h1 = 0x2f;
  let h2 = 0x3b;
  let h3 = 0x47;
  const n = a.length;
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    h0 = Math.imul(h0 ^ a[i]!, K);
    h1 = Math.imul(h1 ^ a[i + 1]!, K);
    h2 = Math.imul(h2 ^ a[i + 2]!, K);
    h3 = Math.imul(h3 ^ a[i + 3]!, K);
  }
  for (; i < n; i++) h0 = Math.imul(h0 ^ a[i]!, K);
  h0 = Math.imul(h0 ^ h1, K) ^ (h0 >>> 15);
  h0 = Math.imul(h0 ^ h2, K) ^ (h0 >>> 15);
  return Math.imul(h0 ^ h3, K) ^ (h0 >>> 15);
}

/**
 * The hash of `m`'s page state and counters, mixed with `extra` (the tasks' progress): the nine
 * memmap word arrays one after the other (`mixWords`: about 1.5 ns per word on the shared bench machine, 1.5–2× faster than nine
 * lanes side by side), the pageblock
 * migratetypes, every zone's free-list heads and counts, `nr_free`, vmstat and per-CPU lists, every
 * node's LRU list heads and vmstat, the `lru_add` batches and the vm events. A caller hashing every
 * step passes its own `views` so they are built once.
 */
export function machineStateHash(m: Machine, extra: number, views: StateHashViews = new StateHashViews()): number {
  const v = views.of(m);
  let h = extra | 0;
  for (let j = 0; j < v.length; j++) h = mixWords(h, v[j]!);
  h = mixU8(h, m.memmap.pageblock);
  for (const z of m.zones) {
    h = mixI32(h, z.free_list.heads);
    h = mixI32(h, z.nr_free);
    h = mixF64(h, z.vmstat);
    for (const p of z.per_cpu_pageset) {
      h = Math.imul(h ^ p.count, K);
      h = mixI32(h, p.lists.heads);
    }
  }
  for (const nd of m.nodes) {
    h = mixI32(h, nd.lruvec.heads);
    h = mixF64(h, nd.vmstat);
  }
  for (const b of m.lruAddBatch) {
    h = Math.imul(h ^ b.count, K);
    for (let i = 0; i < b.count; i++) h = Math.imul(h ^ b.folios[i]!, K);
  }
  h = mixF64(h, m.vmEvents);
  return h >>> 0;
}
