/**
 * Balloon benchmarks, each with a floor (the same memory work as a bare typed-array loop):
 * - `balloon_inflate_deflate`: ns per page for balloon_page_alloc + balloon_page_enqueue, then
 *   balloon_page_dequeue + __free_page;
 * - `balloon_migrate`: ns per balloon page migrated by `compact_memory` on a fragmented zone (balloon
 *   pages at the bottom, order-0 holes at the top), scanning included;
 * - `balloon_migrate_direct`: ns per page through the calls compaction makes for one page
 *   (isolate_movable_ops_page, allocate the target, migrate_movable_ops_page, the core's two puts).
 */
import 'reflect-metadata';
import {
  GFP_HIGHUSER_MOVABLE,
  VM_EVENT,
  compact_memory,
  drain_all_pages,
  ISOLATE,
  MIGRATE_MODE,
  __free_page,
  alloc_page,
  createMachine,
  folio_put,
  isolate_movable_ops_page,
  migrate_movable_ops_page,
  type Folio,
  type Pfn,
} from '@mm/core';
import { report, result, skipped, timeNsPerOp, type BenchResult } from '../../core/bench/harness.js';
import { balloonPlugin, balloon_devinfo_init, balloon_page_alloc, balloon_page_dequeue, balloon_page_enqueue } from '../src/index.js';

const N = 16384;
const results: BenchResult[] = [];

function machine(memory = '512M') {
  const m = createMachine({ memory, plugins: [balloonPlugin()] });
  const b = balloon_devinfo_init(m, { migratepage: () => 0, adjust_managed_page_count: true });
  return { m, b };
}

/**
 * The floor's memmap: the words a balloon page touches (flags, lru next/prev, private, page_type,
 * refcount), a free stack standing for the allocator and a list head.
 */
function floorMemmap(n: number) {
  const flags = new Uint32Array(n);
  const next = new Int32Array(n).fill(-1);
  const prev = new Int32Array(n).fill(-1);
  const priv = new Uint32Array(n);
  const type = new Int32Array(n).fill(-1);
  const ref = new Int32Array(n);
  const free = new Int32Array(n);
  for (let i = 0; i < n; i++) free[i] = i;
  return { flags, next, prev, priv, type, ref, free, top: n, head: -1, count: 0, events: new Float64Array(4) };
}
type Floor = ReturnType<typeof floorMemmap>;

function floorInflate(f: Floor, id: number): number {
  const p = f.free[--f.top]!;
  f.ref[p] = 1;
  f.type[p] = (0xf1 << 24) | 0;
  f.flags[p]! |= 8;
  f.priv[p] = id * 4;
  f.next[p] = f.head;
  f.prev[p] = -1;
  if (f.head >= 0) f.prev[f.head] = p;
  f.head = p;
  f.count++;
  f.events[0]!++;
  return p;
}

function floorUnlink(f: Floor, p: number): void {
  const n = f.next[p]!;
  const q = f.prev[p]!;
  if (q >= 0) f.next[q] = n;
  else f.head = n;
  if (n >= 0) f.prev[n] = q;
  f.next[p] = f.prev[p] = -1;
  f.count--;
}

function floorFree(f: Floor, p: number): void {
  f.priv[p] = 0;
  f.ref[p] = 0;
  f.type[p] = -1;
  f.flags[p] = 0;
  f.free[f.top++] = p;
}

if (!skipped('balloon_inflate_deflate')) {
  const { m, b } = machine();
  const ns = timeNsPerOp(() => {
    for (let i = 0; i < N; i++) balloon_page_enqueue(m, b, balloon_page_alloc(m) as Pfn);
    for (let i = 0; i < N; i++) __free_page(m, balloon_page_dequeue(m, b) as Pfn);
  }, N, 7, 3);
  const f = floorMemmap(N);
  const floor = timeNsPerOp(() => {
    for (let i = 0; i < N; i++) floorInflate(f, 1);
    for (let i = 0; i < N; i++) {
      const p = f.head;
      floorUnlink(f, p);
      f.events[1]!++;
      floorFree(f, p);
    }
  }, N, 7, 3);
  results.push(result('balloon_inflate_deflate', ns, floor, { pages: N }));
}

if (!skipped('balloon_migrate_direct')) {
  const { m, b } = machine();
  const pages: Pfn[] = [];
  for (let i = 0; i < N; i++) {
    const p = balloon_page_alloc(m) as Pfn;
    balloon_page_enqueue(m, b, p);
    pages.push(p);
  }
  const ns = timeNsPerOp(() => {
    for (let i = 0; i < N; i++) {
      const src = pages[i]!;
      if (!isolate_movable_ops_page(m, src, ISOLATE.ISOLATE_ASYNC_MIGRATE)) throw new Error('isolate');
      const dst = alloc_page(m, GFP_HIGHUSER_MOVABLE) as Pfn;
      if (migrate_movable_ops_page(m, dst, src, MIGRATE_MODE.MIGRATE_ASYNC) !== 0) throw new Error('migrate');
      folio_put(m, src as Folio); // migrate_folio_done: the isolation reference
      folio_put(m, dst as Folio); // the allocation reference
      pages[i] = dst;
    }
  }, N, 7, 3);
  const f = floorMemmap(2 * N);
  const fp = Array.from({ length: N }, () => floorInflate(f, 1));
  const floor = timeNsPerOp(() => {
    for (let i = 0; i < N; i++) {
      const src = fp[i]!;
      floorUnlink(f, src); // isolate
      f.ref[src]!++;
      f.flags[src]! |= 1 << 16;
      const dst = floorInflate(f, 1); // allocate and insert the target
      f.events[2]!++;
      floorFree(f, src); // finalize and free the source
      fp[i] = dst;
    }
  }, N, 7, 3);
  results.push(result('balloon_migrate_direct', ns, floor, { pages: N }));
}

/**
 * A 256 MiB machine whose DMA32 zone is full, with every other page of its top half free (the holes
 * compaction's free scanner takes) and the `n` lowest pages of the zone inflated.
 */
function fragmented(n: number) {
  const { m, b } = machine('256M');
  const zone = m.zones.find((z) => z.name === 'DMA32')!;
  const mid = zone.zone_start_pfn + zone.spanned_pages / 2;
  const held: number[] = [];
  for (let p = alloc_page(m, GFP_HIGHUSER_MOVABLE); p !== -1; p = alloc_page(m, GFP_HIGHUSER_MOVABLE)) held.push(p);
  for (const p of held) if (p >= mid && p % 2 === 0) __free_page(m, p as Pfn);
  drain_all_pages(m, null);
  const low = held.filter((p) => p >= zone.zone_start_pfn && p < mid).sort((x, y) => x - y).slice(0, n);
  for (const p of low) balloon_page_enqueue(m, b, p as Pfn);
  return { m, zone };
}

if (!skipped('balloon_migrate')) {
  const n = 8192;
  const times: number[] = [];
  let scanned = 0;
  for (let rep = 0; rep < 7; rep++) {
    const { m, zone } = fragmented(n);
    const t0 = process.hrtime.bigint();
    compact_memory(m);
    const t = Number(process.hrtime.bigint() - t0);
    const migrated = m.vmEvents[VM_EVENT.balloon_migrate]!;
    if (migrated !== n) throw new Error(`compaction migrated ${migrated} of ${n} balloon pages`);
    scanned = zone.spanned_pages;
    if (rep >= 2) times.push(t / n); // the first runs warm up
  }
  times.sort((a, b) => a - b);
  // Floor: read every page's flags and type word once (the two scanners), then move each page.
  const f = floorMemmap(scanned + n);
  const fp = Array.from({ length: n }, () => floorInflate(f, 1));
  const floor = timeNsPerOp(() => {
    let acc = 0;
    for (let p = 0; p < scanned; p++) acc += f.flags[p]! & f.type[p]!;
    for (let i = 0; i < n; i++) {
      const src = fp[i]!;
      floorUnlink(f, src);
      const dst = floorInflate(f, 1);
      floorFree(f, src);
      fp[i] = dst;
    }
    if (acc === 42) console.log('');
  }, n, 7, 3);
  results.push(result('balloon_migrate', times[Math.floor(times.length / 2)]!, floor, { pages: n, zonePages: scanned }));
}

report(results);
