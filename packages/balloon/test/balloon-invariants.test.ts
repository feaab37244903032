import { GFP_KERNEL, ISOLATE, NR_NODE, PG, __SetPageOffline, alloc_pages, isolate_movable_ops_page, list_add, list_del, violatedInvariant, type Machine, type Pfn } from '@mm/core';
import { describe, expect, it } from 'vitest';
import { balloon_devinfo_init, balloon_page_alloc, balloon_page_enqueue, type BalloonDevInfo } from '../src/index.js';
import { boot } from './helpers.js';

/** A machine with 3 inflated pages, one of them isolated, and no automatic checks (the test corrupts it). */
function setup(): { m: Machine; b: BalloonDevInfo; listed: Pfn[]; isolated: Pfn } {
  const m = boot({ memory: '16M', debugVm: false });
  const b = balloon_devinfo_init(m, { migratepage: () => 0 });
  const pages = [0, 1, 2].map(() => {
    const p = balloon_page_alloc(m) as Pfn;
    balloon_page_enqueue(m, b, p);
    return p;
  });
  expect(isolate_movable_ops_page(m, pages[0]!, ISOLATE.ISOLATE_UNEVICTABLE)).toBe(true);
  m.checkInvariants('setup');
  return { m, b, listed: pages.slice(1), isolated: pages[0]! };
}

function violation(m: Machine): string {
  return violatedInvariant(() => m.checkInvariants('test')) ?? 'none';
}

describe('§13 §7 balloon invariants catch broken states', () => {
  it('isolated_pages out of step with the isolated pages', () => {
    const { m, b } = setup();
    b.isolated_pages++;
    expect(violation(m)).toBe('§7.1 balloon isolated_pages');
  });

  it('an inflated page neither on the list nor isolated', () => {
    const { m, b, listed } = setup();
    list_del(m.memmap.lru, m.memmap.lruPrev, b.pages, 0, listed[0]!);
    expect(violation(m)).toBe('§7.1 balloon inflated');
  });

  it('an isolated page back on the list', () => {
    const { m, b, isolated } = setup();
    list_add(m.memmap.lru, m.memmap.lruPrev, b.pages, 0, isolated);
    expect(violation(m)).toBe('§7.3 balloon isolated');
  });

  it('a listed page that lost PageOffline or its device pointer', () => {
    const a = setup();
    a.m.memmap.mapcount[a.listed[0]!] = -1;
    expect(violation(a.m)).toBe('§7.2 balloon PageOffline');
    const c = setup();
    c.m.memmap.private[c.listed[0]!] = 0;
    expect(violation(c.m)).toBe('§7.2 balloon private');
    const d = setup();
    d.m.memmap.flags[d.listed[0]!]! &= ~(1 << PG.movable_ops);
    expect(violation(d.m)).toBe('§7.2 balloon private');
  });

  it('a private word naming no device', () => {
    const { m, isolated } = setup();
    m.memmap.private[isolated] = 99 * 4;
    expect(violation(m)).toBe('§7.2 balloon private');
  });

  it('a page on two balloon lists', () => {
    const { m, listed } = setup();
    const b2 = balloon_devinfo_init(m, { migratepage: () => 0 });
    b2.pages.heads[0] = listed[1]!; // b2's list starts at the tail of b's list
    b2.pages.tails[0] = listed[1]!;
    b2.pages.counts[0] = 1;
    expect(violation(m)).toBe('§7.1 balloon list');
  });

  it('NR_BALLOON_PAGES changed behind the balloon code', () => {
    const { m } = setup();
    m.nodes[0]!.vmstat[NR_NODE.nr_balloon_pages]!++;
    expect(violation(m)).toBe('§7.1 NR_BALLOON_PAGES');
  });

  it('a consistent machine passes', () => {
    expect(violation(setup().m)).toBe('none');
  });
});

describe('checkChanged (the explorer’s per-step check) throws exactly when check does', () => {
  /** Run the balloon check whole (it learns the machine), then corrupt, then ask checkChanged about `changed`. */
  function both(corrupt: (m: Machine) => number[]): [string, string] {
    const { m } = setup();
    const chk = m.invariantChecks.find((c) => c.name === '§7 balloon')!;
    chk.check(m);
    const changed = corrupt(m);
    const outcome = (f: () => void): string => violatedInvariant(f) ?? 'none';
    return [outcome(() => chk.checkChanged!(m, changed)), outcome(() => chk.check(m))];
  }

  it('an unlisted PageOffline movable page whose private (1–3) names no device', () => {
    const [changed, whole] = both((m) => {
      const p = alloc_pages(m, GFP_KERNEL, 0) as Pfn;
      m.memmap.flags[p]! |= 1 << PG.movable_ops;
      __SetPageOffline(m, p);
      m.memmap.private[p] = 1;
      return [p];
    });
    expect(whole).toBe('§7.2 balloon private');
    expect(changed).not.toBe('none');
  });

  it('a private word naming no device on an isolated page', () => {
    const [changed, whole] = both((m) => {
      const p = alloc_pages(m, GFP_KERNEL, 0) as Pfn;
      m.memmap.flags[p]! |= (1 << PG.movable_ops) | (1 << PG.movable_ops_isolated);
      __SetPageOffline(m, p);
      m.memmap.private[p] = 99 * 4;
      return [p];
    });
    expect(whole).toBe('§7.2 balloon private');
    expect(changed).not.toBe('none');
  });

  it('an unchanged machine passes both', () => {
    expect(both(() => [])).toEqual(['none', 'none']);
  });
});
