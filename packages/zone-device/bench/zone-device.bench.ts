/**
 * Zone-device benchmarks: `zone_device_get_put` and `zone_device_get_put_mainline` — ns per driver
 * get+put pair on 1 M MEMORY_DEVICE_PRIVATE pages in random order, where the put reaches the owner:
 * `zone_device_page_init` (refcount 0→1, a pgmap reference, the page lock), `folio_unlock`, then
 * `folio_put` (1→0) dispatched to `free_zone_device_folio` — through the tagged pgmap word under the
 * `owner-ops` strategy (series 1), through mainline's explicit `folio_is_zone_device` branch under
 * `mainline` — whose `page_free` pushes the page on the driver's free list and which drops the pgmap
 * reference. The floor does the same memory work as a bare typed-array loop. Each strategy runs in its
 * own child process, so that neither inherits the other's JIT feedback.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createMachine, folio_put, folio_unlock, pfn_ptr, type FreeDispatchStrategy, type Folio, type Pfn } from '@mm/core';
import { report, result, skipped, timeNsPerOp, type BenchResult } from '../../core/bench/harness.js';
import { DevPagemap, MEMORY_DEVICE_PRIVATE, memremap_pages, request_free_mem_region, zoneDevicePlugin, zone_device_page_init } from '../src/index.js';

const N = 1 << 20;
const OPS = 1 << 21;
const results: BenchResult[] = [];

/** A seeded random page order (a 32-bit LCG; benchmarks may use any generator). */
function order(n: number, ops: number): Int32Array {
  const out = new Int32Array(ops);
  let x = 20261122;
  for (let i = 0; i < ops; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x % n;
  }
  return out;
}
const idx = order(N, OPS);

function deviceMachine(strategy: FreeDispatchStrategy) {
  const m = createMachine({ memory: '64M', strategy, plugins: [zoneDevicePlugin()] });
  const range = request_free_mem_region(m, N)!;
  let head = -1;
  const lruPrev = (): Uint32Array => m.memmap.lruPrev;
  const pgmap = new DevPagemap({
    type: MEMORY_DEVICE_PRIVATE,
    ranges: [range],
    owner: 'bench',
    // page_free: push the page on the driver's free list through zone_device_data.
    ops: { page_free: (p: Pfn) => ((lruPrev()[p] = head < 0 ? 0 : pfn_ptr(head)), (head = p)), migrate_to_ram: () => 0 },
  });
  memremap_pages(m, pgmap);
  return { m, base: range.start, pgmap };
}

function bench(strategy: FreeDispatchStrategy): number {
  const { m, base, pgmap } = deviceMachine(strategy);
  const ns = timeNsPerOp(() => {
    for (let i = 0; i < OPS; i++) {
      const p = (base + idx[i]!) as Folio;
      zone_device_page_init(m, p);
      folio_unlock(m, p);
      folio_put(m, p);
    }
  }, OPS);
  if (pgmap.ref !== 1) throw new Error(`pgmap references do not balance: ${pgmap.ref}`);
  return ns;
}

/** The floor: the words the pair touches (refcount, flags, the pgmap word, zone_device_data, mapping, memcg) and the pgmap count. */
function floor(): number {
  const n = N;
  const rc = new Int32Array(n);
  const flags = new Uint32Array(n).fill((4 << 24) | (1 << 13));
  const lru = new Uint32Array(n).fill(4 | 2);
  const lruPrev = new Uint32Array(n);
  const mapping = new Uint32Array(n);
  const memcg = new Uint32Array(n);
  const types = new Int32Array(4).fill(1);
  let ref = 1;
  let head = -1;
  return timeNsPerOp(() => {
    for (let i = 0; i < OPS; i++) {
      const p = idx[i]!;
      if (rc[p] !== 0 || (flags[p]! & 1) !== 0) throw new Error('busy');
      ref++;
      rc[p] = 1;
      flags[p]! |= 1;
      flags[p]! &= ~1;
      if (--rc[p]! === 0) {
        const type = types[lru[p]! >>> 2]!;
        memcg[p] = 0;
        mapping[p] = 0;
        if (type === 1) {
          lruPrev[p] = head < 0 ? 0 : head + 1;
          head = p;
          ref--;
        }
      }
    }
  }, OPS);
}

if (process.argv[2] === '--zd-child') {
  console.log(JSON.stringify({ ns: bench(process.argv[3] as FreeDispatchStrategy) }));
  process.exit(0);
}

if (!skipped('zone_device_get_put')) {
  const self = fileURLToPath(import.meta.url);
  const child = (strategy: FreeDispatchStrategy): number =>
    (JSON.parse(execFileSync(process.execPath, [...process.execArgv, self, '--zd-child', strategy], { encoding: 'utf8' }).trim().split('\n').pop()!) as { ns: number }).ns;
  const fl = floor();
  const ownerOps = child('owner-ops');
  const mainline = child('mainline');
  results.push(result('zone_device_get_put', ownerOps, fl, { pages: N, strategy: 'owner-ops' }));
  results.push(result('zone_device_get_put_mainline', mainline, fl, { pages: N, strategy: 'mainline', vsOwnerOps: Math.round((mainline / ownerOps) * 100) / 100 }));
}

report(results);
