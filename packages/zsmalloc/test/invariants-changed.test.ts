import { GFP_KERNEL, PGTY, violatedInvariant, alloc_page, id_ptr, type Machine } from '@mm/core';
import { describe, expect, it } from 'vitest';
import { ZsmallocInvariants, zs_create_pool, zs_free, zs_malloc } from '../src/index.js';
import { STRATEGIES, pageOfHandle, zsMachine } from './helpers.js';

const WORDS = ['flags', 'lru', 'lruPrev', 'mapping', 'index', 'private', 'mapcount', 'refcount', 'memcgData', 'pageblock'] as const;

/** A copy of every memmap array, and later the pages whose words differ from it (what the explorer's tracker reports). */
function memmapMark(m: Machine): () => number[] {
  const before = WORDS.map((k) => m.memmap[k].slice());
  return () => {
    const out = new Set<number>();
    WORDS.forEach((k, i) => {
      const now = m.memmap[k];
      const was = before[i]!;
      for (let p = 0; p < now.length; p++) if (now[p] !== was[p]) out.add(p);
    });
    return [...out].sort((a, b) => a - b);
  };
}

// checkChanged is told which pages' memmap words changed since the last check; it must throw
// exactly when check does, whether the broken rule is on a changed page or comes from state outside
// the memmap (the zspage table).
describe.each(STRATEGIES)('ZsmallocInvariants.checkChanged (%s)', (strategy) => {
  it('agrees with check on a page that changed and on an unchanged page whose zspage was freed', () => {
    const m = zsMachine({ strategy, debugVm: false });
    const c = m.invariantChecks.find((x): x is ZsmallocInvariants => x instanceof ZsmallocInvariants)!;
    const pool = zs_create_pool(m, 'p');
    const h = zs_malloc(m, pool, 200);
    c.check(m);
    expect(violatedInvariant(() => c.checkChanged(m, []))).toBeNull();
    // A page outside the zspage that still names it (as a page migrated out of it does): PageZsmalloc,
    // `zspage` pointing at the live zspage, a reference. Allowed while the zspage lives.
    const zs = m.memmap.private[pageOfHandle(m, h)]! >>> 2;
    let changed = memmapMark(m);
    const q = alloc_page(m, GFP_KERNEL);
    m.memmap.mapcount[q] = (PGTY.zsmalloc << 24) | 0;
    m.memmap.private[q] = id_ptr(zs);
    expect(violatedInvariant(() => c.checkChanged(m, changed()))).toBeNull();
    expect(violatedInvariant(() => c.check(m))).toBeNull();
    // The zspage is freed: q's words do not change, but it now names a dead zspage.
    changed = memmapMark(m);
    zs_free(m, pool, h);
    const pages = changed();
    expect(pages).not.toContain(q);
    expect(violatedInvariant(() => c.checkChanged(m, pages))).toBe('§8.1 PageZsmalloc');
    expect(violatedInvariant(() => c.check(m))).toBe('§8.1 PageZsmalloc');
    // q stops being PageZsmalloc: both pass again.
    changed = memmapMark(m);
    m.memmap.mapcount[q] = -1;
    m.memmap.private[q] = 0;
    expect(violatedInvariant(() => c.checkChanged(m, changed()))).toBeNull();
    expect(violatedInvariant(() => c.check(m))).toBeNull();
  });
});
