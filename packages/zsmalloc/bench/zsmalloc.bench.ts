/**
 * `pnpm bench` for @mm/zsmalloc, each workload beside a floor (the same memory work as a bare
 * typed-array loop, same process):
 * - `zs_malloc_free`: ns per zs_malloc + zs_free pair on a warm pool of mixed-size objects;
 * - `zs_compact`: ms to compact a pool of 1 GiB of objects with half of them freed (`--zs-pool-mib N`
 *   scales the pool; the result line says which size ran).
 */
import 'reflect-metadata';
import { createMachine, type Machine } from '@mm/core';
import fc from 'fast-check';
import {
  ZS_HANDLE_SIZE,
  get_size_class_index,
  zs_compact,
  zs_create_pool,
  zs_free,
  zs_get_total_pages,
  zs_malloc,
  zsPoolClassStats,
  zsmallocPlugin,
  zsmallocState,
  type ZsPool,
} from '../src/index.js';
import { report, result, skipped, timeNsPerOp, type BenchResult } from '../../core/bench/harness.js';

const results: BenchResult[] = [];
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};

/** Seeded object sizes, zram-like: half small (up to 600 bytes), half anywhere up to a page. */
function sizes(n: number, seed: number): Uint16Array {
  return Uint16Array.from(fc.sample(fc.oneof(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 1, max: 4096 })), { seed, numRuns: n, unbiased: true }));
}

if (!skipped('zs_malloc_free')) {
  const m = createMachine({ memory: '1G', plugins: [zsmallocPlugin()] });
  const pool = zs_create_pool(m, 'bench');
  const live = 1 << 16;
  const ops = 1 << 20;
  const sz = sizes(ops, 42);
  const ring = new Float64Array(live);
  for (let i = 0; i < live; i++) ring[i] = zs_malloc(m, pool, sz[i]!);
  let k = 0;
  const ns = timeNsPerOp(() => {
    for (let i = 0; i < ops; i++) {
      const slot = k++ & (live - 1);
      zs_free(m, pool, ring[slot]!);
      ring[slot] = zs_malloc(m, pool, sz[i]!);
    }
  }, ops);
  // Floor: the same memory work in bare typed arrays: per pair, clear one object's header and write
  // another's in a buffer as large as the pool's pages (at scattered offsets, as the objects are),
  // look the class up, pop and push a free-list slot and store the new location in a handle word.
  const pages = zs_get_total_pages(m, pool);
  const words = new Uint32Array(pages * 1024);
  const free = new Int32Array(live * 2);
  const where = new Float64Array(live * 2);
  let top = 0;
  for (let i = 0; i < free.length; i++) free[top++] = i;
  const fring = new Int32Array(live);
  for (let i = 0; i < live; i++) fring[i] = free[--top]!;
  let j = 0;
  const floor = timeNsPerOp(() => {
    for (let i = 0; i < ops; i++) {
      const slot = j++ & (live - 1);
      const old = fring[slot]!;
      words[((old * 2654435761) >>> 0) % words.length & ~1] = 0;
      free[top++] = old;
      const cls = get_size_class_index(sz[i]! + ZS_HANDLE_SIZE);
      const obj = free[--top]!;
      const w = ((obj * 2654435761) >>> 0) % words.length & ~1;
      words[w] = (obj << 2) | 1;
      words[w + 1] = 0;
      where[obj] = w * 16777216 + cls;
      fring[slot] = obj;
    }
  }, ops);
  results.push(result('zs_malloc_free', ns, floor, { liveObjects: live, pages }));
}

/** A pool holding `bytes` bytes of objects, every other one then freed; returns the live handles. */
function halfFreedPool(bytes: number): { m: Machine; pool: ZsPool; live: number[]; sizes: Uint16Array } {
  const mib = Math.ceil((bytes * 1.25) / 2 ** 20 / 2) * 2 + 256;
  const m = createMachine({ memory: `${mib}M`, plugins: [zsmallocPlugin()] });
  const pool = zs_create_pool(m, 'zram0');
  const n = Math.ceil(bytes / 1200);
  const sz = sizes(n * 2, 7);
  const hs: number[] = [];
  let total = 0;
  for (let i = 0; total < bytes; i++) {
    const h = zs_malloc(m, pool, sz[i]!);
    if (h < 0) throw new Error(`zs_malloc failed after ${total} bytes`);
    hs.push(h);
    total += sz[i]!;
  }
  const live: number[] = [];
  hs.forEach((h, i) => (i % 2 ? zs_free(m, pool, h) : live.push(h)));
  return { m, pool, live, sizes: sz };
}

if (!skipped('zs_compact')) {
  const mib = arg('--zs-pool-mib', 1024);
  const runs: { ms: number; floorMs: number; freed: number; pagesBefore: number; moved: number }[] = [];
  for (let r = 0; r < 3; r++) {
    const { m, pool, live } = halfFreedPool(mib * 2 ** 20);
    const st = zsmallocState(m);
    const where = Float64Array.from(live, (h) => st.handles.obj[h >>> 2]!);
    const pagesBefore = zs_get_total_pages(m, pool);
    const expected = zsPoolClassStats(m, pool).total.freeable;
    const t0 = process.hrtime.bigint();
    const freed = zs_compact(m, pool);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (freed !== expected) throw new Error(`zs_compact freed ${freed}, freeable was ${expected}`);
    // Floor: copy the bytes compaction moved (each moved object's class size) between two buffers.
    let movedBytes = 0;
    let moved = 0;
    live.forEach((h, i) => {
      if (st.handles.obj[h >>> 2] !== where[i]) {
        moved++;
        const size = st.handles.size[h >>> 2]! + ZS_HANDLE_SIZE;
        movedBytes += Math.min(4096, 32 + 16 * get_size_class_index(size));
      }
    });
    const src = new Uint8Array(64 << 20);
    const dst = new Uint8Array(64 << 20);
    const t1 = process.hrtime.bigint();
    for (let off = 0, left = movedBytes; left > 0; ) {
      const n = Math.min(left, 1024);
      if (off + n > src.length) off = 0;
      dst.set(src.subarray(off, off + n), off);
      off += n;
      left -= n;
    }
    const floorMs = Number(process.hrtime.bigint() - t1) / 1e6;
    runs.push({ ms, floorMs, freed, pagesBefore, moved });
    (globalThis as { gc?: () => void }).gc?.();
  }
  runs.sort((a, b) => a.ms - b.ms);
  const mid = runs[1]!;
  results.push({
    ...result('zs_compact', mid.ms, mid.floorMs, { unit: 'ms', poolMiB: mib, pagesBefore: mid.pagesBefore, pagesFreed: mid.freed, objectsMoved: mid.moved }),
  });
}

report(results);
