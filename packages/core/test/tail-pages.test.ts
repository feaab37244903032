import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GFP,
  GFP_KERNEL,
  PAGE_FLAGS_CHECK_AT_FREE,
  PAGE_FLAGS_CHECK_AT_PREP,
  PAGE_FLAGS_SECOND,
  PAGE_TYPE_NONE,
  PG,
  TAIL_BIT,
  TAIL_MAPPING,
  __free_pages,
  alloc_pages,
  asPfn,
  captureMachineState,
  createMachine,
  diffMachineState,
  free_pages_prepare,
  pfn_ptr,
  prep_compound_head,
  prep_compound_page,
  VM_EVENT,
  type Machine,
} from '@mm/core';

/*
 * The tail-page loops of prep_compound_page and free_pages_prepare (mm/page_alloc.c) are written as
 * range operations and fused check-and-clear passes for speed. These tests prove that every memmap word
 * and every bad-page report comes out exactly as from the kernel's page-by-page loops, which are
 * written out below as the reference (a transcription of mm/page_alloc.c with the model's choices:
 * pages 1 and 2 are always checked, the head always; everything else only under debugVm, the model's
 * is_check_pages_enabled()).
 */

const HEAD = 1 << PG.head;

function refBadPage(m: Machine, pfn: number, reason: string): void {
  m.nrBadPages++;
  m.memmap.mapcount[pfn] = PAGE_TYPE_NONE;
  if (m.trace.active) m.trace.emit('bad_page', { pfn, reason });
}

/** page_bad_reason(): free_page_is_bad() and check_new_page_bad() conditions, first one wins. */
function refBadReason(m: Machine, pfn: number): string | null {
  const mm = m.memmap;
  if (mm.mapcount[pfn] !== PAGE_TYPE_NONE) return 'nonzero mapcount';
  if (mm.mapping[pfn] !== 0) return 'non-NULL mapping';
  if (mm.refcount[pfn] !== 0) return 'nonzero _refcount';
  if ((mm.flags[pfn]! & PAGE_FLAGS_CHECK_AT_FREE) !== 0) return 'PAGE_FLAGS_CHECK_AT_FREE flag(s) set';
  if (mm.memcgData[pfn] !== 0) return 'page still charged to cgroup';
  return null;
}

/** free_tail_page_prepare(head, page), one page at a time, checks on. */
function refFreeTail(m: Machine, head: number, pfn: number): number {
  const mm = m.memmap;
  let reason: string | null = null;
  const idx = pfn - head;
  if (idx === 1) {
    if ((mm.lruPrev[pfn]! | 0) !== -1) reason = 'nonzero large_mapcount';
    else if ((mm.mapping[pfn]! | 0) !== -1) reason = 'nonzero entire_mapcount';
    else if (mm.index[pfn] !== 0) reason = 'nonzero pincount';
    mm.lruPrev[pfn] = 0;
    mm.index[pfn] = 0;
  } else if (idx === 2) {
    if (mm.lruPrev[pfn] !== 0 || mm.mapping[pfn] !== 0) reason = 'on deferred list';
  } else if (idx === 3) {
    // CONFIG_HUGETLB_PAGE: page 3's mapping is hugetlb's.
  } else if (mm.mapping[pfn] !== TAIL_MAPPING) {
    reason = 'corrupted mapping in tail page';
  }
  if (reason === null && (mm.lru[pfn]! & TAIL_BIT) === 0) reason = 'PageTail not set';
  if (reason === null && mm.lru[pfn] !== ((pfn_ptr(head) | TAIL_BIT) >>> 0)) reason = 'compound_head not consistent';
  mm.mapping[pfn] = 0;
  mm.lru[pfn] = 0;
  if (reason !== null) {
    refBadPage(m, pfn, reason);
    return 1;
  }
  return 0;
}

/** free_pages_prepare(page, order) as the kernel's loop: every tail, one at a time. */
function refFreePagesPrepare(m: Machine, pfn: number, order: number): boolean {
  const mm = m.memmap;
  if (m.trace.active) m.trace.emit('mm_page_free', { pfn, order });
  if ((mm.flags[pfn]! & (1 << PG.hwpoison)) !== 0 && order === 0) {
    mm.mapcount[pfn] = PAGE_TYPE_NONE;
    return false;
  }
  const compound = (mm.flags[pfn]! & HEAD) !== 0;
  let bad = 0;
  if (order > 0) {
    if (compound) {
      mm.flags[pfn + 1]! &= ~PAGE_FLAGS_SECOND;
      mm.private[pfn + 1] = 0;
    }
    for (let p = pfn + 1; p < pfn + (1 << order); p++) {
      if (compound) {
        // Without checks the kernel only unties the tail; the model checks pages 1 and 2 anyway.
        if (m.debugVm || p - pfn <= 2) bad += refFreeTail(m, pfn, p);
        else {
          mm.mapping[p] = 0;
          mm.lru[p] = 0;
        }
      }
      if (m.debugVm) {
        const why = refBadReason(m, p);
        if (why !== null) {
          refBadPage(m, p, why);
          bad++;
          continue;
        }
      }
      mm.flags[p]! &= ~PAGE_FLAGS_CHECK_AT_PREP;
    }
  }
  if ((mm.mapping[pfn]! & 1) !== 0) mm.mapping[pfn] = 0;
  if (m.stickyPageTypes && mm.mapcount[pfn]! < -16777216) mm.mapcount[pfn] = PAGE_TYPE_NONE;
  const why = refBadReason(m, pfn);
  if (why !== null) {
    refBadPage(m, pfn, why);
    bad++;
  }
  if (bad) return false;
  mm.flags[pfn]! &= ~PAGE_FLAGS_CHECK_AT_PREP;
  mm.private[pfn] = 0;
  m.vmEvents[VM_EVENT.pgfree]! += 1 << order;
  return true;
}

/** prep_compound_page(page, order) as the kernel's loop: prep_compound_tail on every tail. */
function refPrepCompoundPage(m: Machine, head: number, order: number): void {
  const mm = m.memmap;
  mm.flags[head]! |= HEAD;
  for (let i = 1; i < 1 << order; i++) {
    mm.mapping[head + i] = TAIL_MAPPING;
    mm.lru[head + i] = pfn_ptr(head) | TAIL_BIT;
    mm.private[head + i] = 0;
  }
  prep_compound_head(m, asPfn(head), order);
}

const FIELDS = ['flags', 'mapping', 'lru', 'lruPrev', 'index', 'mapcount', 'refcount', 'memcgData'] as const;

/**
 * Every memmap word, vmEvents and the bad-page count that differ between two machines (what
 * diffMachineState compares, minus the free lists, which free_pages_prepare does not touch; a typed
 * loop, fast enough for thousands of cases).
 */
function memmapDiff(a: Machine, b: Machine): string[] {
  const out: string[] = [];
  const bytes = (x: ArrayBufferView): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  const cmp = (name: string, x: Uint8Array | Uint32Array | Int32Array | Float64Array, y: typeof x): void => {
    if (bytes(x).equals(bytes(y))) return; // memcmp first: most cases are equal
    for (let i = 0; i < x.length && out.length < 20; i++) if (x[i] !== y[i]) out.push(`${name}[${i}]: ${x[i]} vs ${y[i]}`);
  };
  for (const k of [...FIELDS, 'private'] as const) cmp(k, a.memmap[k], b.memmap[k]);
  cmp('pageblock', a.memmap.pageblock, b.memmap.pageblock);
  cmp('vmEvents', a.vmEvents, b.vmEvents);
  if (a.nrBadPages !== b.nrBadPages) out.push(`nrBadPages: ${a.nrBadPages} vs ${b.nrBadPages}`);
  return out;
}

/** One damaged word on one page of the block. */
interface Damage {
  page: number; // index in the block, modulo the block size
  field: (typeof FIELDS)[number];
  kind: number; // which value: see apply()
  raw: number;
}

const damageArb: fc.Arbitrary<Damage> = fc.record({
  // Often the head or pages 1..4 (the tails with their own rules), else any page.
  page: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.nat()),
  field: fc.constantFrom(...FIELDS),
  kind: fc.nat(4),
  raw: fc.nat(),
});

function apply(m: Machine, head: number, order: number, d: Damage): void {
  const mm = m.memmap;
  const n = 1 << order;
  const p = head + (d.page % n);
  switch (d.field) {
    case 'flags':
      // One flag bit (any of the 24, hwpoison included) or a zone-byte change.
      mm.flags[p] = d.kind === 4 ? (mm.flags[p]! ^ 0x01000000) >>> 0 : (mm.flags[p]! | (1 << (d.raw % 24))) >>> 0;
      break;
    case 'mapping':
      mm.mapping[p] = [0, TAIL_MAPPING, 0xffffffff, d.raw, d.raw * 4 + 1][d.kind % 5]!;
      break;
    case 'lru':
      mm.lru[p] = [0, (pfn_ptr(head) | TAIL_BIT) >>> 0, pfn_ptr(head), (pfn_ptr(head + n) | TAIL_BIT) >>> 0, d.raw][d.kind % 5]!;
      break;
    case 'mapcount':
      mm.mapcount[p] = [PAGE_TYPE_NONE, 0, 5, -129, d.raw | 0][d.kind % 5]!;
      break;
    default:
      mm[d.field][p] = [0, 1, 0xffffffff, d.raw, 2][d.kind % 5]!;
  }
}

/** A machine with one allocated block whose last reference was just dropped (refcount 0), as free_frozen_pages sees it. */
function blockReadyToFree(debugVm: boolean, order: number, compound: boolean): { m: Machine; h: number; bad: string[] } {
  const m = createMachine({ memory: '16M', debugVm, seed: 7 });
  const h = alloc_pages(m, GFP_KERNEL | (compound ? GFP.__GFP_COMP : 0), order) as number;
  expect(h).toBeGreaterThan(0);
  m.memmap.refcount[h] = 0;
  const bad: string[] = [];
  m.trace.on('bad_page', (e) => bad.push(`${e.pfn - h}:${e.reason}`));
  return { m, h, bad };
}

/**
 * Two identical machines, each with the same block ready to free, and a way to put both back to that
 * state (free_pages_prepare touches only the memmap, the bad-page count and vmEvents).
 */
function pairReadyToFree(debugVm: boolean, order: number, compound: boolean) {
  const a = blockReadyToFree(debugVm, order, compound);
  const b = blockReadyToFree(debugVm, order, compound);
  const snap = captureMachineState(a.m);
  const reset = (): void => {
    for (const x of [a, b]) {
      const mm = x.m.memmap;
      for (const k of [...FIELDS, 'private'] as const) {
        mm[k].set(snap.memmap[k] as ArrayLike<number>);
      }
      x.m.vmEvents.set(snap.global.vmEvents!);
      x.m.nrBadPages = 0;
      x.bad.length = 0;
    }
  };
  /** Damage both the same way, free with the model on `a` and the reference on `b`, compare everything. */
  const check = (damage: readonly Damage[]): void => {
    reset();
    for (const d of damage) {
      apply(a.m, a.h, order, d);
      apply(b.m, b.h, order, d);
    }
    const okA = free_pages_prepare(a.m, a.h, order);
    const okB = refFreePagesPrepare(b.m, b.h, order);
    expect(okA).toBe(okB);
    expect(a.bad).toEqual(b.bad);
    expect(memmapDiff(a.m, b.m)).toEqual([]);
  };
  return check;
}

describe('free_pages_prepare tail loops equal the kernel page-by-page loop', () => {
  it('every single damage (any field, each kind of value) to the head, pages 1..4 or the last tail', () => {
    let cases = 0;
    for (const debugVm of [false, true]) {
      for (const compound of [false, true]) {
        for (const order of [1, 2, 6, 9]) {
          const check = pairReadyToFree(debugVm, order, compound);
          check([]);
          const n = 1 << order;
          for (const page of new Set([0, 1, 2, 3, 4, n - 1].filter((i) => i < n))) {
            for (const field of FIELDS) {
              for (let kind = 0; kind < 5; kind++) {
                check([{ page, field, kind, raw: 0x9e3779b9 }]);
                cases++;
              }
            }
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(500);
  });

  it('word for word and report for report, with several damages anywhere in the block', () => {
    const checks = new Map<string, (d: readonly Damage[]) => void>();
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 1, max: 10 }), fc.boolean(), fc.array(damageArb, { maxLength: 6 }), (debugVm, order, compound, damage) => {
        const key = `${debugVm}/${order}/${compound}`;
        if (!checks.has(key)) checks.set(key, pairReadyToFree(debugVm, order, compound));
        checks.get(key)!(damage);
      }),
      { seed: 20261122, numRuns: 400 },
    );
  });
});

describe('bad tail pages are reported (free_tail_page_prepare, free_page_is_bad)', () => {
  const order = 9;
  it('debugVm: a corrupted TAIL_MAPPING on tail 100 is reported, the block is leaked, every other tail is untied', () => {
    const { m, h, bad } = blockReadyToFree(true, order, true);
    m.memmap.mapping[h + 100] = 0x1234;
    expect(free_pages_prepare(m, h, order)).toBe(false);
    expect(bad).toEqual(['100:corrupted mapping in tail page']);
    expect(m.nrBadPages).toBe(1);
    for (let i = 1; i < 512; i++) {
      expect(m.memmap.lru[h + i]).toBe(0);
      expect(m.memmap.mapping[h + i]).toBe(0);
    }
  });

  it('debugVm: a tail pointing at another head, a tail without the tail bit, a tail with PG_lru', () => {
    const { m, h, bad } = blockReadyToFree(true, order, true);
    m.memmap.lru[h + 7] = (pfn_ptr(h + 512) | TAIL_BIT) >>> 0;
    m.memmap.lru[h + 300] = 0;
    m.memmap.flags[h + 511]! |= 1 << PG.lru;
    expect(free_pages_prepare(m, h, order)).toBe(false);
    // In page order, as the kernel's loop meets them.
    expect(bad).toEqual(['7:compound_head not consistent', '300:PageTail not set', '511:PAGE_FLAGS_CHECK_AT_FREE flag(s) set']);
    // A bad tail keeps its flags (the kernel `continue`s before clearing them).
    expect(m.memmap.flags[h + 511]! & (1 << PG.lru)).not.toBe(0);
  });

  it('debugVm, not compound: a mapped tail of a plain order-9 block is reported', () => {
    const { m, h, bad } = blockReadyToFree(true, order, false);
    m.memmap.mapcount[h + 42] = 0;
    expect(free_pages_prepare(m, h, order)).toBe(false);
    expect(bad).toEqual(['42:nonzero mapcount']);
  });

  it('without debugVm pages 1 and 2 are still checked; other tails are untied unchecked, as with checks disabled', () => {
    const { m, h, bad } = blockReadyToFree(false, order, true);
    m.memmap.lruPrev[h + 1] = 0; // _large_mapcount 0: mapped once
    m.memmap.mapping[h + 100] = 0x1234; // would be reported under debugVm
    expect(free_pages_prepare(m, h, order)).toBe(false);
    expect(bad).toEqual(['1:nonzero large_mapcount']);
    expect(m.memmap.mapping[h + 100]).toBe(0);
  });

  it('a tail with a PAGE_FLAGS_CHECK_AT_PREP bit has it cleared; hwpoison stays (not in the mask)', () => {
    const { m, h, bad } = blockReadyToFree(false, order, false);
    m.memmap.flags[h + 3]! |= 1 << PG.dirty;
    m.memmap.flags[h + 4]! |= 1 << PG.hwpoison;
    const zone = m.memmap.flags[h + 3]! & ~PAGE_FLAGS_CHECK_AT_PREP;
    expect(free_pages_prepare(m, h, order)).toBe(true);
    expect(bad).toEqual([]);
    expect(m.memmap.flags[h + 3]).toBe(zone >>> 0);
    expect(m.memmap.flags[h + 4]! & (1 << PG.hwpoison)).not.toBe(0);
  });

  it('__free_pages of a healthy compound order-9 page leaves no tail marks and reports nothing', () => {
    const m = createMachine({ memory: '64M', debugVm: true });
    const h = asPfn(alloc_pages(m, GFP_KERNEL | GFP.__GFP_COMP, order) as number);
    __free_pages(m, h, order);
    expect(m.nrBadPages).toBe(0);
    for (let i = 1; i < 512; i++) expect(m.memmap.lru[h + i]! & TAIL_BIT).toBe(0);
  });
});

describe('the tail flags scan (two words per load) leaves flags exactly as the kernel loop', () => {
  // free_pages_prepare reads tails 2..n-1 as float64 pairs; these cases aim at what float equality gets
  // wrong (+0 equals -0) and at blocks whose tails differ. Each is compared with the reference loop.
  const cases: [string, (flags: Uint32Array, h: number) => void][] = [
    ['all tails zero except a word with only bit 31 (-0 against +0)', (f, h) => {
      for (let i = 1; i < 512; i++) f[h + i] = 0;
      f[h + 201] = 0x80000000;
    }],
    ['all tails zero except one with PG_dirty beside a zero word', (f, h) => {
      for (let i = 1; i < 512; i++) f[h + i] = 0;
      f[h + 201] = 1 << PG.dirty;
    }],
    ['tails 2 and 3 differ (no pair to compare with), one later tail dirty', (f, h) => {
      f[h + 3]! |= 1 << PG.hwpoison;
      f[h + 400]! |= 1 << PG.dirty;
    }],
    ['a hwpoisoned tail (kept) and a dirty tail 1', (f, h) => {
      f[h + 77]! |= 1 << PG.hwpoison;
      f[h + 1]! |= 1 << PG.dirty;
    }],
    ['the last tail dirty', (f, h) => {
      f[h + 511]! |= 1 << PG.dirty;
    }],
  ];
  for (const [name, damage] of cases) {
    it(name, () => {
      const a = blockReadyToFree(false, 9, false);
      const b = blockReadyToFree(false, 9, false);
      damage(a.m.memmap.flags, a.h);
      damage(b.m.memmap.flags, b.h);
      expect(free_pages_prepare(a.m, a.h, 9)).toBe(refFreePagesPrepare(b.m, b.h, 9));
      expect(memmapDiff(a.m, b.m)).toEqual([]);
      for (let i = 1; i < 512; i++) expect(a.m.memmap.flags[a.h + i]! & PAGE_FLAGS_CHECK_AT_PREP).toBe(0);
    });
  }
});

describe('prep_compound_page equals prep_compound_tail on every tail', () => {
  it('for every order from 0 to 12 (gigantic pages included), over any previous contents', () => {
    for (let order = 0; order <= 12; order++) {
      const a = createMachine({ memory: '64M' });
      const b = createMachine({ memory: '64M' });
      const head = 8192; // 32 MiB: aligned for order 12
      for (const m of [a, b]) {
        for (let i = 0; i < 1 << order; i++) {
          m.memmap.private[head + i] = 0x77 + i;
          m.memmap.mapping[head + i] = i;
          m.memmap.lru[head + i] = 0xdead0000 + i;
        }
      }
      prep_compound_page(a, asPfn(head), order);
      refPrepCompoundPage(b, head, order);
      expect(diffMachineState(captureMachineState(a), captureMachineState(b))).toEqual([]);
    }
  });
});
