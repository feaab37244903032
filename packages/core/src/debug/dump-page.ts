import type { Machine } from '../machine/machine.js';
import { PG, PAGEFLAGS_MASK } from '../page/page-flags.js';
import { PGTY } from '../page/page-type.js';
import { ZONE_NAMES } from '../page/page-zone.js';
import { FOLIO_OWNER_OPS, PTR_TAG_MASK, TAIL_BIT, ptr_id, ptr_pfn } from '../page/word.js';

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** Names of the set PG_* bits, first name per bit (aliases omitted), as `%pGp` prints them. */
export function pageFlagNames(flags: number): string {
  const seen = new Set<number>();
  const names: string[] = [];
  for (const [name, bit] of Object.entries(PG)) {
    if (seen.has(bit)) continue;
    seen.add(bit);
    if ((flags & PAGEFLAGS_MASK & (1 << bit)) !== 0) names.push(name);
  }
  return names.join('|');
}

/** Name of a PGTY value (`buddy`, `offline`, …) or its hex value. */
export function pageTypeName(type: number): string {
  return Object.entries(PGTY).find(([, v]) => v === type)?.[0] ?? hex(type);
}

/**
 * `dump_page(page, reason)` (`mm/debug.c`): a text description of a struct page in the kernel's
 * layout — refcount, mapcount, mapping, index, pfn; the folio's order and mapcounts for a large folio;
 * flags with their names, node and zone; the page type; and the raw words.
 */
export function dump_page(m: Machine, pfn: number, reason = ''): string {
  const mm = m.memmap;
  if (!(pfn >= 0 && pfn < mm.flags.length)) return `page: pfn:${hex(pfn)} has no struct page`;
  const w = mm.lru[pfn]!;
  const head = (w & TAIL_BIT) !== 0 ? ptr_pfn(w) : pfn;
  const v = mm.mapcount[pfn]!;
  const typed = v < (0xff000000 | 0);
  const lines = [
    `page: refcount:${mm.refcount[pfn]} mapcount:${typed ? 0 : v + 1} mapping:${hex(mm.mapping[pfn]!)} index:${hex(mm.index[pfn]!)} pfn:${hex(pfn)}`,
  ];
  if (head !== pfn || (mm.flags[pfn]! & (1 << PG.head)) !== 0) {
    const order = mm.flags[head + 1]! & 0xff;
    lines.push(
      `head: pfn:${hex(head)} order:${order} mapcount:${(mm.lruPrev[head + 1]! | 0) + 1} entire_mapcount:${(mm.mapping[head + 1]! | 0) + 1} pincount:${mm.index[head + 1]} refcount:${mm.refcount[head]}`,
    );
  }
  const f = mm.flags[pfn]!;
  const top = f >>> 24;
  const where = top === 0xff ? 'no zone' : `node:${top >>> 3} zone:${ZONE_NAMES[top & 7]}`;
  lines.push(`flags: ${hex(f & PAGEFLAGS_MASK)}(${pageFlagNames(f)}) ${where}`);
  if (typed) lines.push(`page_type: ${hex(v)}(${pageTypeName(v >>> 24)})`);
  if ((w & PTR_TAG_MASK) === FOLIO_OWNER_OPS) lines.push(`owner_ops: ${m.ownerOps.get(ptr_id(w))?.name ?? `#${ptr_id(w)}`}`);
  lines.push(
    `raw: flags=${hex(f)} lru=${hex(w)} lru.prev=${hex(mm.lruPrev[pfn]!)} mapping=${hex(mm.mapping[pfn]!)} index=${hex(mm.index[pfn]!)} private=${hex(mm.private[pfn]!)} mapcount/page_type=${hex(v)} refcount=${mm.refcount[pfn]} memcg_data=${hex(mm.memcgData[pfn]!)}`,
  );
  if (reason) lines.push(`page dumped because: ${reason}`);
  return lines.join('\n');
}
