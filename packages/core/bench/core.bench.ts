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

/** A floor for buddy work: push/pop on a typed-array free list with the per-page words a buddy op touches. */
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

for (const [name, order, gfp] of [
  ['alloc_free_order0', 0, GFP_HIGHUSER_MOVABLE],
  ['alloc_free_order9', 9, GFP_HIGHUSER_MOVABLE],
  ['alloc_free_order4', 4, GFP_HIGHUSER_MOVABLE],
] as const) {
  if (skipped(name)) continue;
  const ops = order === 0 ? 1 << 21 : 1 << 18;
  // Keep 64 blocks live so the allocator works on a moving state, not one block.
  const ring = new Int32Array(64);
  for (let i = 0; i < ring.length; i++) ring[i] = __alloc_pages(big, gfp, order) as number;
  const ns = timeNsPerOp(() => {
    for (let i = 0; i < ops; i++) {
      const k = i & 63;
      __free_pages(big, asPfn(ring[k]!), order);
      ring[k] = __alloc_pages(big, gfp, order) as number;
    }
  }, ops * 2);
  results.push(result(name, ns, buddyFloor(order, ops * 2)));
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
  const ops = 1 << 16;
  const ns = timeNsPerOp(() => {
    for (let i = 0; i < ops; i++) {
      const p = __alloc_pages(big, GFP_HIGHUSER_MOVABLE | GFP.__GFP_COMP, 9) as number;
      __free_pages(big, asPfn(p), 9);
    }
  }, ops);
  // Floor: the same memory work done bare — prep writes three words on each of 511 tails, teardown
  // clears two of them and the flag bits of each tail.
  const lru = new Uint32Array(1 << 20);
  const mapping = new Uint32Array(1 << 20);
  const priv = new Uint32Array(1 << 20);
  const flags = new Uint32Array(1 << 20);
  const floor = timeNsPerOp(() => {
    for (let i = 0; i < ops; i++) {
      const h = (i & 1023) << 9;
      mapping.fill(0x400, h + 1, h + 512);
      lru.fill(((h + 1) << 2) | 1, h + 1, h + 512);
      priv.fill(0, h + 1, h + 512);
      mapping.fill(0, h + 1, h + 512);
      lru.fill(0, h + 1, h + 512);
      for (let p = h + 1; p < h + 512; p++) flags[p]! &= 0xff000000;
    }
  }, ops);
  results.push(result('alloc_compound_order9', ns, floor));
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
