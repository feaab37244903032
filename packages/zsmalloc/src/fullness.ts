import {
  ZS_INUSE_RATIO_0,
  ZS_INUSE_RATIO_10,
  ZS_INUSE_RATIO_100,
  ZS_INUSE_RATIO_99,
  type SizeClass,
} from './size-class.js';
import type { ZspageTable } from './zspage.js';

/**
 * Fullness groups (`mm/zsmalloc.c`): each class files its zspages on one list per group of usage
 * ratio, so that allocation can take the fullest non-full zspage and compaction can move objects
 * from the emptiest to the fullest. Lists are linked through the zspage table; `list_add` inserts at
 * the head, as the kernel's does.
 *
 * @module
 */

/**
 * `get_fullness_group(class, zspage)`: `ZS_INUSE_RATIO_0` when empty, `ZS_INUSE_RATIO_100` when
 * full, else `(100 * inuse / objs_per_zspage) / 10 + 1` in integer arithmetic (1..10).
 */
export function get_fullness_group(t: ZspageTable, cls: SizeClass, zs: number): number {
  const inuse = t.inuse[zs]!;
  const objs = cls.objs_per_zspage;
  if (inuse === 0) return ZS_INUSE_RATIO_0;
  if (inuse === objs) return ZS_INUSE_RATIO_100;
  const ratio = ((100 * inuse) / objs) | 0;
  return ((ratio / 10) | 0) + 1;
}

/** `insert_zspage(class, zspage, fullness)`: file it at the head of the group's list and count it. */
export function insert_zspage(t: ZspageTable, cls: SizeClass, zs: number, fullness: number): void {
  cls.stats[fullness]! += 1;
  const head = cls.fullness_list[fullness]!;
  t.prev[zs] = -1;
  t.next[zs] = head;
  if (head >= 0) t.prev[head] = zs;
  cls.fullness_list[fullness] = zs;
  t.fullness[zs] = fullness;
}

/** `remove_zspage(class, zspage)`: take it off its group's list (`list_del_init`) and uncount it. */
export function remove_zspage(t: ZspageTable, cls: SizeClass, zs: number): void {
  const fg = t.fullness[zs]!;
  const n = t.next[zs]!;
  const p = t.prev[zs]!;
  if (p >= 0) t.next[p] = n;
  else cls.fullness_list[fg] = n;
  if (n >= 0) t.prev[n] = p;
  t.next[zs] = -1;
  t.prev[zs] = -1;
  cls.stats[fg]! -= 1;
}

/** `fix_fullness_group(class, zspage)`: move it to the list its usage now calls for; returns the group. */
export function fix_fullness_group(t: ZspageTable, cls: SizeClass, zs: number): number {
  const newfg = get_fullness_group(t, cls, zs);
  if (newfg !== t.fullness[zs]) {
    remove_zspage(t, cls, zs);
    insert_zspage(t, cls, zs, newfg);
  }
  return newfg;
}

/**
 * `find_get_zspage(class)`: the first zspage of the fullest non-full group, searching 99% down to
 * 0% (an empty zspage waiting for deferred freeing can be reused); -1 if none.
 */
export function find_get_zspage(cls: SizeClass): number {
  const l = cls.fullness_list;
  for (let i = ZS_INUSE_RATIO_99; i >= ZS_INUSE_RATIO_0; i--) if (l[i]! >= 0) return l[i]!;
  return -1;
}

/** `isolate_src_zspage(class)`: take the emptiest non-empty zspage (10% up to 99%) off its list; -1 if none. */
export function isolate_src_zspage(t: ZspageTable, cls: SizeClass): number {
  for (let fg = ZS_INUSE_RATIO_10; fg <= ZS_INUSE_RATIO_99; fg++) {
    const zs = cls.fullness_list[fg]!;
    if (zs >= 0) {
      remove_zspage(t, cls, zs);
      return zs;
    }
  }
  return -1;
}

/** `isolate_dst_zspage(class)`: take the fullest non-full, non-empty zspage (99% down to 10%) off its list; -1 if none. */
export function isolate_dst_zspage(t: ZspageTable, cls: SizeClass): number {
  for (let fg = ZS_INUSE_RATIO_99; fg >= ZS_INUSE_RATIO_10; fg--) {
    const zs = cls.fullness_list[fg]!;
    if (zs >= 0) {
      remove_zspage(t, cls, zs);
      return zs;
    }
  }
  return -1;
}

/** `putback_zspage(class, zspage)`: file an isolated zspage under its current group; returns the group. */
export function putback_zspage(t: ZspageTable, cls: SizeClass, zs: number): number {
  const fg = get_fullness_group(t, cls, zs);
  insert_zspage(t, cls, zs, fg);
  return fg;
}
