import type { Machine } from '@mm/core';

/**
 * The state hash that prunes revisits: a 32-bit FNV-1a-style mix of every memmap word (flags, list
 * links, mapping, index, private, mapcount, refcount, memcg), every zone's `nr_free` and vmstat, every
 * node's vmstat and the vm events. Scenario machines are small (8–16 MiB: 2048–4096 pages), so
 * hashing the whole memmap costs a few microseconds and needs no list of touched PFNs (which would
 * make the hash inexact: a page the explorer does not know was touched would not tell states
 * apart). It is the largest cost of a search. Collisions can prune a state that was not visited:
 * the search is then incomplete, never wrong about a violation it reports.
 *
 * @module
 */

function mixArray(h: number, a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ (a[i]! | 0), 0x01000193);
  return h;
}

/** Int32 views of the memmap's nine word arrays (one element type: the hash loop stays monomorphic). */
interface Views {
  readonly src: Uint32Array;
  readonly a: readonly Int32Array[];
}
const viewCache = new WeakMap<Machine, Views>();

function views(m: Machine): readonly Int32Array[] {
  const mm = m.memmap;
  const v = viewCache.get(m);
  if (v !== undefined && v.src === mm.flags && v.a[0]!.length === mm.flags.length) return v.a;
  const a = [mm.flags, mm.lru, mm.lruPrev, mm.mapping, mm.index, mm.private, mm.mapcount, mm.refcount, mm.memcgData].map((x) => new Int32Array(x.buffer, x.byteOffset, x.length));
  viewCache.set(m, { src: mm.flags, a });
  return a;
}

/**
 * The hash of `m`'s page state and counters, mixed with `extra` (the tasks' progress). The memmap's
 * nine words of a page are mixed in nine independent lanes (FNV-style multiply-xor, combined at the
 * end), which lets the CPU overlap the multiplications: about a nanosecond per page.
 */
export function machineStateHash(m: Machine, extra: number): number {
  const [f, l, lp, mp, ix, pr, mc, rc, mg] = views(m) as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
  const K = 0x01000193;
  let h0 = 0x811c9dc5 ^ extra;
  let h1 = 0x2f;
  let h2 = 0x3b;
  let h3 = 0x47;
  let h4 = 0x53;
  let h5 = 0x61;
  let h6 = 0x6b;
  let h7 = 0x77;
  let h8 = 0x83;
  const n = f.length;
  for (let i = 0; i < n; i++) {
    h0 = Math.imul(h0 ^ f[i]!, K);
    h1 = Math.imul(h1 ^ l[i]!, K);
    h2 = Math.imul(h2 ^ lp[i]!, K);
    h3 = Math.imul(h3 ^ mp[i]!, K);
    h4 = Math.imul(h4 ^ ix[i]!, K);
    h5 = Math.imul(h5 ^ pr[i]!, K);
    h6 = Math.imul(h6 ^ mc[i]!, K);
    h7 = Math.imul(h7 ^ rc[i]!, K);
    h8 = Math.imul(h8 ^ mg[i]!, K);
  }
  let h = h0;
  for (const x of [h1, h2, h3, h4, h5, h6, h7, h8]) h = Math.imul(h ^ x, K) ^ (h >>> 15);
  for (const z of m.zones) {
    h = mixArray(h, z.nr_free);
    h = mixArray(h, z.vmstat);
  }
  for (const nd of m.nodes) h = mixArray(h, nd.vmstat);
  h = mixArray(h, m.vmEvents);
  return h >>> 0;
}
