/**
 * `pnpm bench` for @mm/core: folio get/put, order-0 and order-9 allocation, compound prep, boot time
 * and memmap size, each beside a floor (the same memory work as a bare typed-array loop, same process).
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import {
  FPI_NONE,
  GFP,
  GFP_HIGHUSER_MOVABLE,
  MIGRATE_MOVABLE,
  Memmap,
  __alloc_pages,
  __free_one_page,
  __free_pages,
  __rmqueue,
  asFolio,
  asPfn,
  createMachine,
  folio_alloc,
  folio_get,
  folio_put,
  type Folio,
} from '@mm/core';
import { report, result, skipped, timeNsPerOp, type BenchResult } from './harness.js';

const results: BenchResult[] = [];
const rng = xoroshiro128plus(20261122);

if (process.argv[2] === '--boot-child') {
  // Child process: boot one machine and print boot ms and peak RSS.
  const t0 = process.hrtime.bigint();
  const m = createMachine({ memory: process.argv[3]! });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(JSON.stringify({ ms, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), pages: m.max_pfn }));
  process.exit(0);
}

const big = createMachine({ memory: '16G' });

if (!skipped('folio_get_put')) {
  // 1 M order-0 folios scattered over a 16 GiB machine; get+put pairs on random ones.
  const n = 1 << 20;
  const folios = new Int32Array(n);
  for (let i = 0; i < n; i++) folios[i] = folio_alloc(big, GFP_HIGHUSER_MOVABLE, 0) as number;
  const order = new Int32Array(1 << 22);
  for (let i = 0; i < order.length; i++) order[i] = folios[uniformInt(rng, 0, n - 1)]!;
  const ops = order.length;
  const ns = timeNsPerOp(() => {
    for (let i = 0; i < ops; i++) {
      const f = order[i]! as Folio;
      folio_get(big, f);
      folio_put(big, f);
    }
  }, ops);
  const rc = new Int32Array(big.memmap.refcount.length);
  const floor = timeNsPerOp(() => {
    for (let i = 0; i < ops; i++) {
      const f = order[i]!;
      rc[f]!++;
      if (--rc[f]! === 0) rc[0]!++;
    }
  }, ops);
  results.push(result('folio_get_put', ns, floor));
  for (let i = 0; i < n; i++) folio_put(big, asFolio(folios[i]!));
}

/**
 * A floor for buddy work: push/pop on a typed-array free list with the per-page words a buddy op touches
 * (mapcount, refcount, flags of the block's first page). Used by the `buddy_op_*` workloads, whose
 * operation (`__rmqueue` / `__free_one_page`) touches no tail page.
 */
function buddyFloor(order: number, ops: number): number {
  const words = 1 << 20;
  const next = new Uint32Array(words);
  const flags = new Uint32Array(words);
  const mc = new Int32Array(words);
  const ref = new Int32Array(words);
  let head = 0;
  for (let i = 0; i < words >> order; i++) next[i << order] = (i + 1) << order;
  return timeNsPerOp(() => {
    for (let i = 0; i < ops; i++) {
      const p = head;
      head = next[p]!;
      mc[p] = -1;
      ref[p] = 1;
      flags[p]! &= 0xff000000;
      ref[p] = 0;
      mc[p] = 0xf0000000 | 0;
      next[p] = head;
      head = p;
    }
  }, ops);
}

/**
 * Floor for `alloc_free_order*`: per iteration, what one free + one alloc must do to memory, as a bare
 * loop. Free: clear the PAGE_FLAGS_CHECK_AT_PREP bits of every tail page (the kernel's per-tail work in
 * free_pages_prepare: `flags &= ~PAGE_FLAGS_CHECK_AT_PREP` on `2^order - 1` words; done as a read of
 * every tail's flags and a rewrite only if one has such a bit, which gives the same memory as the
 * kernel's read-modify-write and is the least memory work that does: in this workload no tail has one,
 * so every tail word is read and none written), clear the head's flag bits, push the block on a LIFO
 * list; alloc: pop it, refcount 1, mapcount -1. Same cache state as the workload: its per-CPU list is
 * LIFO, so each of its 64 ring slots gets the same block back every time; the floor cycles over 64
 * blocks the same way. One op = one alloc or one free, as in the workload.
 */
function allocFreeFloor(order: number, iterations: number): number {
  const n = 1 << order;
  const words = 64 * n + 1;
  const next = new Uint32Array(words);
  const flags = new Uint32Array(words).fill(0x02000000);
  const mc = new Int32Array(words);
  const ref = new Int32Array(words);
  const ring = new Int32Array(64);
  for (let k = 0; k < 64; k++) ring[k] = k * n;
  return timeNsPerOp(() => allocFreeFloorLoop(iterations, n, ring, next, flags, mc, ref), iterations * 2);
}

/** The loop of {@link allocFreeFloor}; a function of its arrays, as the model's code is. */
function allocFreeFloorLoop(iterations: number, n: number, ring: Int32Array, next: Uint32Array, flags: Uint32Array, mc: Int32Array, ref: Int32Array): void {
  const keep = 0xff800000 | 0; // zone byte and PG_hwpoison: what ~PAGE_FLAGS_CHECK_AT_PREP keeps
  let list = next.length - 1; // empty-list sentinel
  for (let i = 0; i < iterations; i++) {
    const k = i & 63;
    const p = ring[k]!;
    let any = 0;
    for (let t = p + 1, end = p + n; t < end; t++) any |= flags[t]!;
    if ((any & ~keep) !== 0) for (let t = p + 1, end = p + n; t < end; t++) flags[t]! &= keep;
    flags[p]! &= keep;
    ref[p] = 0;
    next[p] = list;
    list = p;
    const q = list;
    list = next[q]!;
    ref[q] = 1;
    mc[q] = -1;
    ring[k] = q;
  }
}

for (const [name, order, gfp] of [
  ['alloc_free_order0', 0, GFP_HIGHUSER_MOVABLE],
  ['alloc_free_order9', 9, GFP_HIGHUSER_MOVABLE],
  ['alloc_free_order4', 4, GFP_HIGHUSER_MOVABLE],
] as const) {
  if (skipped(name)) continue;
  const iterations = order === 0 ? 1 << 21 : 1 << 18;
  // Keep 64 blocks live so the allocator works on a moving state, not one block. One op = one
  // __free_pages or one __alloc_pages (an iteration does one of each).
  const ring = new Int32Array(64);
  for (let i = 0; i < ring.length; i++) ring[i] = __alloc_pages(big, gfp, order) as number;
  const ns = timeNsPerOp(() => {
    for (let i = 0; i < iterations; i++) {
      const k = i & 63;
      __free_pages(big, asPfn(ring[k]!), order);
      ring[k] = __alloc_pages(big, gfp, order) as number;
    }
  }, iterations * 2);
  results.push(result(name, ns, allocFreeFloor(order, iterations)));
  for (let i = 0; i < ring.length; i++) __free_pages(big, asPfn(ring[i]!), order);
}

// The buddy allocator's own operation (what toolchain.md's "buddy op" measures): take a block off the
// free lists (__rmqueue, splitting) and give it back (__free_one_page, merging), without the
// alloc_pages/free_pages_prepare bookkeeping around it.
for (const [name, order] of [
  ['buddy_op_order0', 0],
  ['buddy_op_order9', 9],
] as const) {
  if (skipped(name)) continue;
  const zone = big.zones[big.zones.length - 1]!;
  const ops = 1 << 20;
  const ring = new Int32Array(64);
  for (let i = 0; i < ring.length; i++) ring[i] = __rmqueue(big, zone, order, MIGRATE_MOVABLE);
  const ns = timeNsPerOp(() => {
    for (let i = 0; i < ops; i++) {
      const k = i & 63;
      __free_one_page(big, ring[k]!, zone, order, MIGRATE_MOVABLE, FPI_NONE);
      ring[k] = __rmqueue(big, zone, order, MIGRATE_MOVABLE);
    }
  }, ops * 2);
  results.push(result(name, ns, buddyFloor(order, ops * 2)));
  for (let i = 0; i < ring.length; i++) __free_one_page(big, ring[i]!, zone, order, MIGRATE_MOVABLE, FPI_NONE);
}

if (!skipped('alloc_compound_order9')) {
  // One op = one __alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_COMP, 9) (with prep_compound_page) or one
  // __free_pages of it (with the compound teardown), as in alloc_free_order*: an iteration is two ops.
  // The per-CPU list is LIFO, so every iteration gets the same (hot) block back.
  const iterations = 1 << 16;
  const ns = timeNsPerOp(() => {
    for (let i = 0; i < iterations; i++) {
      const p = __alloc_pages(big, GFP_HIGHUSER_MOVABLE | GFP.__GFP_COMP, 9) as number;
      __free_pages(big, asPfn(p), 9);
    }
  }, iterations * 2);
  // Floor: the same memory work on one hot block, as a bare typed-array loop (`fill` for each run of one
  // value). Prep (prep_compound_tail on 511 tails): mapping = TAIL_MAPPING, compound_head = head|1,
  // private = 0; the head's PG_head and refcount, page 1's order, _nr_pages and counters. Teardown
  // (free_pages_prepare): page 1's words; on each tail mapping = 0 and compound_head = 0; each tail's
  // PAGE_FLAGS_CHECK_AT_PREP bits cleared as in allocFreeFloor (every tail's flags read, rewritten only
  // if one has such a bit: none has here); the head's flags and refcount; a LIFO list push and pop.
  const w = 1 << 10;
  const [flags, lru, lruPrev, mapping, index, priv] = [0x02000000, 0, 0, 0, 0, 0].map((v) => new Uint32Array(w).fill(v)) as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  const ref = new Int32Array(w);
  const floor = timeNsPerOp(() => compoundFloorLoop(iterations, 512, flags, lru, lruPrev, mapping, index, priv, ref), iterations * 2);
  results.push(result('alloc_compound_order9', ns, floor));
}

/** The loop of the `alloc_compound_order9` floor (block at `h`); a function of its arrays, as the model's code is. */
function compoundFloorLoop(
  iterations: number,
  h: number,
  flags: Uint32Array,
  lru: Uint32Array,
  lruPrev: Uint32Array,
  mapping: Uint32Array,
  index: Uint32Array,
  priv: Uint32Array,
  ref: Int32Array,
): void {
  const keep = 0xff800000 | 0;
  let list = 0;
  for (let i = 0; i < iterations; i++) {
    ref[h] = 1;
    flags[h]! |= 1 << 6;
    mapping.fill(0x400, h + 1, h + 512);
    lru.fill(((h + 1) << 2) | 1, h + 1, h + 512);
    priv.fill(0, h + 1, h + 512);
    flags[h + 1] = (flags[h + 1]! & ~0xff) | 9;
    priv[h + 1] = 512;
    lruPrev[h + 1] = 0xffffffff;
    mapping[h + 1] = 0xffffffff;
    index[h + 1] = 0;
    ref[h] = 0;
    flags[h + 1]! &= ~0xff;
    priv[h + 1] = 0;
    lruPrev[h + 1] = 0;
    index[h + 1] = 0;
    mapping.fill(0, h + 1, h + 512);
    lru.fill(0, h + 1, h + 512);
    let any = 0;
    for (let p = h + 1; p < h + 512; p++) any |= flags[p]!;
    if ((any & ~keep) !== 0) for (let p = h + 1; p < h + 512; p++) flags[p]! &= keep;
    flags[h]! &= keep;
    lru[h] = list; // onto the per-CPU list (LIFO) …
    list = h;
    list = lru[list]!; // … and off it again for the next allocation
  }
}

if (!skipped('boot_16GiB')) {
  const t = timeNsPerOp(() => createMachine({ memory: '16G' }), 1, 3, 1) / 1e6;
  const floor = timeNsPerOp(() => new Memmap(4 << 20), 1, 3, 1) / 1e6;
  results.push(result('boot_16GiB', t, floor, { unit: 'ms' }));
}

if (!skipped('memmap_bytes_per_page')) {
  const pages = big.memmap.flags.length;
  const mm = big.memmap;
  const bytes = [mm.flags, mm.lru, mm.lruPrev, mm.mapping, mm.index, mm.private, mm.mapcount, mm.refcount, mm.memcgData, mm.pageblock].reduce((s, a) => s + a.byteLength, 0);
  results.push(result('memmap_bytes_per_page', bytes / pages, null, { bytesPerPage: Math.round((bytes / pages) * 100) / 100 }));
}

if (!skipped('boot_1TiB')) {
  const self = fileURLToPath(import.meta.url);
  const run = (mem: string): { ms: number; peakRssMiB: number; pages: number } =>
    JSON.parse(execFileSync(process.execPath, [...process.execArgv, self, '--boot-child', mem], { encoding: 'utf8', maxBuffer: 1 << 20 }).trim().split('\n').pop()!);
  const tib = run('1T');
  const floor = run('8M');
  results.push(result('boot_1TiB', tib.ms, null, { unit: 'ms', pages: tib.pages, peakRssMiB: tib.peakRssMiB, baselineRssMiB: floor.peakRssMiB }));
}

report(results);
