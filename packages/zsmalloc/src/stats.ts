import { EINVAL, MmError, type Machine } from '@mm/core';
import { zs_can_compact } from './compact.js';
import { NR_FULLNESS_GROUPS, ZS_INUSE_RATIO_10, ZS_OBJS_ALLOCATED, ZS_OBJS_INUSE, ZS_SIZE_CLASSES, get_size_class_index } from './size-class.js';
import { assertPool, type ZsPool, type ZsPoolStats } from './zs-pool.js';

/** `zs_get_total_pages(pool)` (`mm/zsmalloc.c`): pages of all the pool's zspages (`pages_allocated`). */
export function zs_get_total_pages(m: Machine, pool: ZsPool): number {
  assertPool(m, pool, 'zs_get_total_pages');
  return pool.pages_allocated;
}

/** `zs_pool_stats(pool, stats)` (`mm/zsmalloc.c`): add the pool's `pages_compacted` into `stats`, as the kernel does. */
export function zs_pool_stats(m: Machine, pool: ZsPool, stats: ZsPoolStats): void {
  assertPool(m, pool, 'zs_pool_stats');
  stats.pages_compacted += pool.stats.pages_compacted;
}

/**
 * `zs_lookup_class_index(pool, size)` (`mm/zsmalloc.c`): the index of the (possibly merged) class
 * that holds objects of `size` bytes. `size` is taken as is: unlike `zs_malloc`, no handle header
 * is added (zram passes compressed lengths and compares the results).
 */
export function zs_lookup_class_index(m: Machine, pool: ZsPool, size: number): number {
  assertPool(m, pool, 'zs_lookup_class_index');
  if (!(Number.isInteger(size) && size >= 0)) throw new MmError(EINVAL, `zs_lookup_class_index: size ${size}`, { rule: 'unsigned int size' });
  return pool.size_class[get_size_class_index(size)]!.index;
}

/**
 * `zs_huge_class_size(pool)` (`mm/zsmalloc.c`): objects of at least this many bytes are stored in a
 * huge class, one per page (3625 on 4 KiB pages with the default chain size of 8: the largest
 * multi-object, multi-page class is 3632 bytes, minus `ZS_HANDLE_SIZE - 1`).
 */
export function zs_huge_class_size(m: Machine, pool: ZsPool): number {
  return assertPool(m, pool, 'zs_huge_class_size').huge_class_size;
}

/** One row of `zsmalloc/<pool>/classes`: a (merged) size class's statistics. */
export interface ZsClassStats {
  /** `class`: the class index. */
  readonly index: number;
  /** `size`: object size in bytes. */
  readonly size: number;
  /** Zspages per fullness group, for the columns `10%`, `20%`, …, `90%`, `99%`, `100%`. */
  readonly inuse: readonly number[];
  /** `obj_allocated`. */
  readonly obj_allocated: number;
  /** `obj_used`. */
  readonly obj_used: number;
  /** `pages_used`: `obj_allocated / objs_per_zspage * pages_per_zspage`. */
  readonly pages_used: number;
  /** `pages_per_zspage`. */
  readonly pages_per_zspage: number;
  /** `freeable`: pages compaction could free (`zs_can_compact`). */
  readonly freeable: number;
}

/** The table of `zsmalloc/<pool>/classes` as data: one row per class (merged classes once) and the totals. */
export interface ZsPoolClassStats {
  /** The rows, smallest class first. */
  readonly classes: readonly ZsClassStats[];
  /** The `Total` row (its `index`, `size` and `pages_per_zspage` are 0). */
  readonly total: ZsClassStats;
}

/** The statistics `zs_stats_size_show` prints, as data. */
export function zsPoolClassStats(m: Machine, pool: ZsPool): ZsPoolClassStats {
  assertPool(m, pool, 'zsPoolClassStats');
  const classes: ZsClassStats[] = [];
  const inuseTotal = new Array<number>(NR_FULLNESS_GROUPS - ZS_INUSE_RATIO_10).fill(0);
  let allocated = 0;
  let used = 0;
  let pages = 0;
  let freeable = 0;
  for (let i = 0; i < ZS_SIZE_CLASSES; i++) {
    const cls = pool.size_class[i]!;
    if (cls.index !== i) continue;
    const inuse: number[] = [];
    for (let fg = ZS_INUSE_RATIO_10; fg < NR_FULLNESS_GROUPS; fg++) {
      inuse.push(cls.stats[fg]!);
      inuseTotal[fg - ZS_INUSE_RATIO_10]! += cls.stats[fg]!;
    }
    const row: ZsClassStats = {
      index: i,
      size: cls.size,
      inuse,
      obj_allocated: cls.stats[ZS_OBJS_ALLOCATED]!,
      obj_used: cls.stats[ZS_OBJS_INUSE]!,
      pages_used: Math.floor(cls.stats[ZS_OBJS_ALLOCATED]! / cls.objs_per_zspage) * cls.pages_per_zspage,
      pages_per_zspage: cls.pages_per_zspage,
      freeable: zs_can_compact(cls),
    };
    classes.push(row);
    allocated += row.obj_allocated;
    used += row.obj_used;
    pages += row.pages_used;
    freeable += row.freeable;
  }
  return {
    classes,
    total: { index: 0, size: 0, inuse: inuseTotal, obj_allocated: allocated, obj_used: used, pages_used: pages, pages_per_zspage: 0, freeable },
  };
}

const r = (v: number | string, w: number): string => String(v).padStart(w);
const FULLNESS_HEADERS = ['10%', '20%', '30%', '40%', '50%', '60%', '70%', '80%', '90%', '99%', '100%'];

/**
 * `zs_stats_size_show()` (`mm/zsmalloc.c`, CONFIG_ZSMALLOC_STAT): the text of debugfs
 * `zsmalloc/<pool>/classes`, with the kernel's columns and widths: ` %5s %5s` for class and size,
 * `%9s` per fullness group, then `%13s %10s %10s %16s %8s`; rows print the fullness counts as
 * `"%9lu "`; after a blank line, the `Total` row leaves size and pages_per_zspage blank.
 */
export function zs_stats_size_show(m: Machine, pool: ZsPool): string {
  const s = zsPoolClassStats(m, pool);
  let out = ` ${r('class', 5)} ${r('size', 5)} ${FULLNESS_HEADERS.map((h) => r(h, 9)).join(' ')} ${r('obj_allocated', 13)} ${r('obj_used', 10)} ${r('pages_used', 10)} ${r('pages_per_zspage', 16)} ${r('freeable', 8)}\n`;
  for (const c of s.classes) {
    out += ` ${r(c.index, 5)} ${r(c.size, 5)} ${c.inuse.map((v) => `${r(v, 9)} `).join('')}`;
    out += `${r(c.obj_allocated, 13)} ${r(c.obj_used, 10)} ${r(c.pages_used, 10)} ${r(c.pages_per_zspage, 16)} ${r(c.freeable, 8)}\n`;
  }
  const t = s.total;
  out += '\n';
  out += ` ${r('Total', 5)} ${r('', 5)} ${t.inuse.map((v) => `${r(v, 9)} `).join('')}`;
  out += `${r(t.obj_allocated, 13)} ${r(t.obj_used, 10)} ${r(t.pages_used, 10)} ${r('', 16)} ${r(t.freeable, 8)}\n`;
  return out;
}
