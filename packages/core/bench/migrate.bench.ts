/**
 * `pnpm bench` for the migration core: `migrate_order0` (ns per order-0 anonymous folio migrated,
 * 1 M folios on a 16 GiB machine), `migrate_movable_ops` (ns per movable_ops page migrated),
 * `compact_16GiB` (ms to compact a fragmented 16 GiB ZONE_MOVABLE, and PFNs scanned per second) and
 * `compact_scan_16GiB` (the same zone with every folio pinned: nothing moves, so the time is the two
 * scanners' alone). Each has a floor: the same memory work as a bare typed-array loop.
 */
import 'reflect-metadata';
import { inject, injectable } from 'tsyringe';
import {
  CompactControl,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  ListHead,
  MIGRATE_MODE,
  MR,
  Machine,
  MovableOperations,
  PGTY_FIRST_FREE,
  SetPageMovableOps,
  VM_EVENT,
  alloc_page,
  anon_vma_alloc,
  compact_zone,
  createMachine,
  drain_all_pages,
  faultInAnonFolio,
  folio_alloc,
  folio_get,
  folio_isolate_lru,
  folio_try_get,
  isolate_movable_ops_page,
  listAddTail,
  lru_add_drain_all,
  migrate_pages,
  mod_isolated,
  put_page,
  set_page_type,
  zapFolioPtes,
  type Folio,
  type MmPlugin,
  type Pfn,
} from '@mm/core';
import { report, result, skipped, type BenchResult } from './harness.js';

const results: BenchResult[] = [];
const now = (): number => Number(process.hrtime.bigint());

/** CPU time (user + system) of this process in ns: unlike the wall clock, not stretched by other processes. */
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

/** The last `timed` call's median CPU ns per op. */
let lastCpuNsPerOp = 0;

/**
 * Median of `reps` timed runs of `run` (each preceded by an untimed `setup`), in wall-clock ns per op;
 * the median CPU ns per op is left in {@link lastCpuNsPerOp}.
 */
function timed(setup: () => void, run: () => number, reps: number): number {
  const t: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < reps; i++) {
    setup();
    const t0 = now();
    const c0 = cpuNow();
    const ops = run();
    c.push((cpuNow() - c0) / ops);
    t.push((now() - t0) / ops);
  }
  t.sort((a, b) => a - b);
  c.sort((a, b) => a - b);
  lastCpuNsPerOp = c[Math.floor(c.length / 2)]!;
  return t[Math.floor(t.length / 2)]!;
}

/**
 * Floor for migrating one order-0 folio: unlink src from a list, pop dst from a free list, copy the
 * identity words (flags, mapping, index, memcg), move the mapcount and references, link dst, clear
 * and free src — the struct-page words the model's migration touches, as a bare loop.
 */
function migrateFloor(n: number): number {
  const words = 1 << 22;
  const flags = new Uint32Array(words);
  const lru = new Uint32Array(words);
  const prev = new Uint32Array(words);
  const mapping = new Uint32Array(words);
  const index = new Uint32Array(words);
  const mapcount = new Int32Array(words).fill(-1);
  const ref = new Int32Array(words);
  const memcg = new Uint32Array(words);
  const srcs = new Int32Array(n);
  for (let i = 0; i < n; i++) srcs[i] = i * 2;
  return timed(
    () => {
      for (let i = 0; i < n; i++) {
        const s = srcs[i]!;
        flags[s] = 0x20020;
        mapping[s] = 9;
        ref[s] = 2;
        mapcount[s] = 0;
        lru[s] = (s + 3) * 4;
        prev[s] = (s - 1) * 4;
      }
    },
    () => {
      let free = 1;
      for (let i = 0; i < n; i++) {
        const s = srcs[i]!;
        const d = free;
        free += 2;
        lru[s] = 0;
        prev[s] = 0; // list_del(src)
        ref[d] = 1; // allocation
        flags[d] = flags[s]! & ~0x20;
        mapping[d] = mapping[s]!;
        index[d] = index[s]!;
        memcg[d] = memcg[s]!;
        memcg[s] = 0;
        const c = mapcount[s]! + 1;
        mapcount[s] = -1;
        ref[s]! -= c; // try_to_migrate
        mapcount[d] = c - 1;
        ref[d]! += c; // remove_migration_ptes
        flags[d]! |= 0x20;
        lru[d] = (d + 1) * 4; // LRU add
        prev[d] = (d - 1) * 4;
        ref[s]! -= 1; // migrate_folio_done
        if (ref[s] === 0) {
          flags[s] = 0;
          mapping[s] = 0;
          lru[s] = (s + 5) * 4; // onto a free list
        }
      }
      return n;
    },
    5,
  );
}

if (!skipped('migrate_order0')) {
  // 1 M mapped anonymous folios on a 16 GiB machine, isolated, then migrated (MIGRATE_ASYNC).
  const m = createMachine({ memory: '16G' });
  const n = 1 << 20;
  const av = anon_vma_alloc(m);
  let folios = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0) as Folio;
    faultInAnonFolio(m, f, av, i);
    folios[i] = f;
  }
  const next = new Int32Array(n);
  let k = 0;
  const alloc = (): Folio | -1 => {
    const d = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0);
    if (d >= 0) next[k++] = d;
    return d;
  };
  let list = new ListHead();
  const ns = timed(
    () => {
      lru_add_drain_all(m);
      list = new ListHead();
      for (let i = 0; i < n; i++) {
        const f = folios[i]! as Folio;
        folio_isolate_lru(m, f);
        mod_isolated(m, f, 1);
        listAddTail(m, list, f);
      }
      k = 0;
    },
    () => {
      const rc = migrate_pages(m, list, alloc, null, undefined, MIGRATE_MODE.MIGRATE_ASYNC, MR.MR_SYSCALL);
      if (rc !== 0 || k !== n) throw new Error(`migrate_pages: ${rc}, ${k} migrated`);
      [folios] = [next.slice()];
      return n;
    },
    5,
  );
  const cpu = lastCpuNsPerOp;
  const floor = migrateFloor(n);
  results.push(result('migrate_order0', ns, floor, { cpuNsPerOp: Math.round(cpu), floorCpuNsPerOp: Math.round(lastCpuNsPerOp), folios: n }));
}

/** The bench's movable_ops owner: one reference per page, migrates by taking the new page. */
@injectable()
class BenchPool implements MovableOperations {
  readonly pageType: number = PGTY_FIRST_FREE;
  constructor(@inject(Machine) readonly m: Machine) {}
  isolate_page(): boolean {
    return true;
  }
  migrate_page(dst: Pfn, src: Pfn): number {
    set_page_type(this.m, dst, this.pageType);
    SetPageMovableOps(this.m, dst);
    folio_get(this.m, dst as Folio);
    put_page(this.m, src);
    return 0;
  }
  putback_page(): void {}
}

if (!skipped('migrate_movable_ops')) {
  const plugin: MmPlugin = {
    meta: { name: 'bench-pool', version: '0' },
    register(c) {
      c.registerSingleton(BenchPool);
      c.register(MovableOperations, { useToken: BenchPool });
    },
  };
  const m = createMachine({ memory: '4G', experimentalMovableOpsTypes: [PGTY_FIRST_FREE], plugins: [plugin] });
  const n = 1 << 18;
  let pages = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = alloc_page(m, GFP_HIGHUSER_MOVABLE) as Pfn;
    set_page_type(m, p, PGTY_FIRST_FREE);
    SetPageMovableOps(m, p);
    pages[i] = p;
  }
  const next = new Int32Array(n);
  let k = 0;
  const alloc = (): Folio | -1 => {
    const d = alloc_page(m, GFP_HIGHUSER_MOVABLE);
    if (d >= 0) next[k++] = d;
    return d as Folio | -1;
  };
  let list = new ListHead();
  const ns = timed(
    () => {
      list = new ListHead();
      for (let i = 0; i < n; i++) {
        isolate_movable_ops_page(m, pages[i]! as Pfn, 0);
        listAddTail(m, list, pages[i]! as Folio);
      }
      k = 0;
    },
    () => {
      const rc = migrate_pages(m, list, alloc, null, undefined, MIGRATE_MODE.MIGRATE_ASYNC, MR.MR_COMPACTION);
      if (rc !== 0 || k !== n) throw new Error(`migrate_pages: ${rc}`);
      pages = next.slice();
      return n;
    },
    5,
  );
  const cpu = lastCpuNsPerOp;
  const floor = migrateFloor(n);
  results.push(result('migrate_movable_ops', ns, floor, { cpuNsPerOp: Math.round(cpu), floorCpuNsPerOp: Math.round(lastCpuNsPerOp), pages: n }));
}

/** Fill a machine's ZONE_MOVABLE with mapped anonymous folios and free every other one. */
function fragmentedMovable(pin: boolean): { m: Machine; zone: Machine['zones'][number] } {
  const m = createMachine({ memory: '32G', movablecore: '16G' });
  const zone = m.zones.find((z) => z.name === 'Movable')!;
  const av = anon_vma_alloc(m);
  const all: Folio[] = [];
  for (;;) {
    const f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0) as Folio;
    if (f < 0 || !zone.spans(f)) break;
    faultInAnonFolio(m, f, av, all.length);
    all.push(f);
  }
  lru_add_drain_all(m);
  const kept: Folio[] = [];
  all.forEach((f, i) => (i & 1 ? zapFolioPtes(m, f) : kept.push(f)));
  lru_add_drain_all(m);
  drain_all_pages(m, null);
  if (pin) for (const f of kept) folio_try_get(m, f);
  return { m, zone };
}

/** Floor for the scanners: a linear walk over the zone's flags, mapcount and refcount words. */
function scanFloor(pfns: number): number {
  const flags = new Uint32Array(pfns);
  const mc = new Int32Array(pfns);
  const ref = new Int32Array(pfns);
  for (let i = 0; i < pfns; i++) if (i & 1) mc[i] = 0xf0000000 | 0;
  return timed(
    () => {},
    () => {
      let hits = 0;
      for (let p = 0; p < pfns; p++) {
        if (mc[p] === (0xf0000000 | 0)) continue;
        if ((flags[p]! & 0x20) !== 0 || ref[p]! > 1) hits++;
      }
      if (hits < 0) throw new Error();
      return pfns;
    },
    5,
  );
}

for (const [name, pin] of [
  ['compact_16GiB', false],
  ['compact_scan_16GiB', true],
] as const) {
  if (skipped(name)) continue;
  const { m, zone } = fragmentedMovable(pin);
  const cc = new CompactControl(zone, -1, GFP_KERNEL);
  cc.mode = MIGRATE_MODE.MIGRATE_SYNC;
  cc.ignore_skip_hint = true;
  cc.whole_zone = true;
  const t0 = now();
  const c0 = cpuNow();
  compact_zone(m, cc);
  const ns = now() - t0;
  const cpu = cpuNow() - c0;
  const scanned = cc.total_migrate_scanned + cc.total_free_scanned;
  const migrated = m.vmEvents[VM_EVENT.pgmigrate_success]!;
  const floorNsPerPfn = scanFloor(zone.spanned_pages);
  results.push(
    result(name, ns / 1e6, (floorNsPerPfn * scanned) / 1e6, {
      unit: 'ms',
      pfnsScanned: scanned,
      pfnsPerSecond: Math.round(scanned / (ns / 1e9)),
      pfnsPerCpuSecond: Math.round(scanned / (cpu / 1e9)),
      migrated,
      nsPerFolioMigrated: migrated ? Math.round(ns / migrated) : null,
      zonePages: zone.spanned_pages,
    }),
  );
}

report(results);
