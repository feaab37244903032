import { Machine, NR_NODE, PG, PageOffline, id_ptr, list_next, ptr_id, type InvariantCheck, type Pfn } from '@mm/core';
import { inject, injectable } from 'tsyringe';
import { BalloonState } from '../mm/balloon-state.js';

const MOVABLE_OPS = 1 << PG.movable_ops;
const ISOLATED = 1 << PG.movable_ops_isolated;

/** What {@link BalloonInvariants.checkChanged} keeps between calls. */
interface Known {
  /** Per page: 0, or `id * 2 + isolated` for a page inflated in device `id` (see `inflatedClass`). */
  cls: Int32Array;
  /** Per device id: its inflated pages. */
  readonly inflated: Map<number, number>;
  /** Per device id: its isolated inflated pages. */
  readonly isolated: Map<number, number>;
  /** The pages on a device list. */
  listed: number[];
}

/**
 * Page `p`'s §7.2 class: 0 unless PG_movable_ops, PageOffline and a non-zero `private`; then
 * `(id + 1) * 2` plus 1 if isolated, `id` being the device id `private` names (0 for a `private` of
 * 1–3, which names none: still a class, so that the device check finds it).
 */
function inflatedClass(m: Machine, p: number): number {
  const f = m.memmap.flags[p]!;
  const priv = m.memmap.private[p]!;
  if ((f & MOVABLE_OPS) === 0 || priv === 0 || !PageOffline(m, p as Pfn)) return 0;
  return (ptr_id(priv) + 1) * 2 + ((f & ISOLATED) !== 0 ? 1 : 0);
}

/** True if page `p` is inflated, not isolated, and not on its device's list (`onList`). */
function unlisted(k: Known, onList: Int32Array, p: number): boolean {
  const c = k.cls[p]!;
  return c !== 0 && (c & 1) === 0 && onList[p] !== (c >> 1) - 1;
}

function addClass(k: Known, c: number, d: number): void {
  const id = (c >> 1) - 1;
  k.inflated.set(id, (k.inflated.get(id) ?? 0) + d);
  if ((c & 1) !== 0) k.isolated.set(id, (k.isolated.get(id) ?? 0) + d);
}

/**
 * The `debugVm` checker for kernel-semantics §13 §7 (balloon), over every balloon device of the
 * machine:
 * - §7.1 every page on a device's list is PageOffline, not isolated, referenced, and (with balloon
 *   migration) PageMovableOps with `private` naming that device; no page is on two lists; the list
 *   count matches; `isolated_pages` equals the number of isolated pages naming the device, none of
 *   them on the list, so `|pages| + isolated_pages` is the number of inflated pages; Σ over nodes of
 *   NR_BALLOON_PAGES equals Σ of the devices' enqueue − dequeue counts (migration changes neither);
 * - §7.2 `private` names a device only while the page is inflated (on the list or isolated).
 * `check` walks the whole memmap, so it is meant for test-sized machines; `checkChanged` (the
 * explorer's per-step check) walks the device lists and only the pages that changed.
 */
@injectable()
export class BalloonInvariants implements InvariantCheck {
  /** The invariant family. */
  readonly name = '§7 balloon';
  private readonly state: BalloonState;
  /** Scratch: the id of the device whose list holds each page, 0 if none (reused: the explorer checks every step). */
  private onList = new Int32Array(0);
  /** What the previous call found, if it passed with balloon migration on (else null): `checkChanged` starts from it. */
  private known: Known | null = null;
  /** The arrays `check` fills (reused). */
  private spare: Known = { cls: new Int32Array(0), inflated: new Map(), isolated: new Map(), listed: [] };

  /** Built by the machine's container. */
  constructor(@inject(BalloonState) state: BalloonState) {
    this.state = state;
  }

  /** Throw `VmBugError` if the machine breaks a §7 invariant. */
  check(m: Machine): void {
    const k = this.known ?? this.spare;
    this.known = null;
    k.listed.length = 0;
    const onList = this.checkLists(m, k.listed);
    if (this.state.migration) this.checkInflated(m, onList, k);
    this.checkStat(m);
    this.spare = k;
    if (this.state.migration) this.known = k;
  }

  /**
   * The same check when only the pages `changed` had a memmap word written since the previous call
   * (`InvariantCheck.checkChanged`). The device lists and counters are checked whole (a list is
   * walked, as `check` does); the whole-memmap scan of §7.2 becomes an update of what the previous
   * call learnt: each page's class (not inflated, or inflated for device `id`, isolated or not) and
   * the per-device counts, for the pages in `changed`. A page not in `changed` and not on a list at
   * the previous call is in the class it was in then, where the rule held: it was not inflated, or
   * isolated; so only `changed` and the pages listed then need the "on its list or isolated" test.
   * Whatever it finds wrong, it runs `check` to report (the same violation `check` reports). After a
   * call that threw, or the first time, it is `check`.
   */
  checkChanged(m: Machine, changed: readonly number[]): void {
    const k = this.known;
    if (k === null || !this.state.migration || k.cls.length !== m.memmap.flags.length) return this.check(m);
    this.known = null;
    const listedNow: number[] = [];
    const onList = this.checkLists(m, listedNow);
    let ok = true;
    for (const p of changed) {
      if (p >= k.cls.length) continue;
      const was = k.cls[p]!;
      const now = inflatedClass(m, p);
      if (was === now) continue;
      k.cls[p] = now;
      if (was !== 0) addClass(k, was, -1);
      if (now !== 0) addClass(k, now, 1);
    }
    const devices = this.state.devices;
    for (const [id, nr] of k.inflated) if (nr !== 0 && (this.state.device(id) === null || nr !== devices[id]!.nrInflated)) ok = false;
    for (const [id, nr] of k.isolated) if (nr !== 0 && (this.state.device(id) === null || nr !== devices[id]!.isolated_pages)) ok = false;
    for (let id = 1; id < devices.length; id++) {
      const b = devices[id]!;
      if ((k.inflated.get(id) ?? 0) !== b.nrInflated || (k.isolated.get(id) ?? 0) !== b.isolated_pages) ok = false;
    }
    for (const p of changed) if (p < k.cls.length && unlisted(k, onList, p)) ok = false;
    for (const p of k.listed) if (unlisted(k, onList, p)) ok = false;
    if (!ok) {
      this.check(m);
      m.vmBug('§7.1 balloon inflated', 'balloon pages and device counters disagree');
    }
    this.checkStat(m);
    k.listed = listedNow;
    this.known = k;
  }

  /**
   * The device-list rules (§7.1, §7.3): returns, per page, the id of the device whose list holds it
   * (0: none), and appends the listed pages to `listed`.
   */
  private checkLists(m: Machine, listed: number[]): Int32Array {
    const mm = m.memmap;
    const n = mm.flags.length;
    const devices = this.state.devices;
    if (this.onList.length !== n) this.onList = new Int32Array(n);
    const onList = this.onList;
    onList.fill(0);
    for (let id = 1; id < devices.length; id++) {
      const b = devices[id]!;
      if (b.isolated_pages < 0) m.vmBug('§7.1 balloon isolated_pages', `${b.name}: isolated_pages ${b.isolated_pages}`);
      if (!b.migration && b.isolated_pages !== 0) m.vmBug('§7.1 balloon isolated_pages', `${b.name}: isolated pages without balloon migration`);
      let count = 0;
      for (let p = b.pages.heads[0]!; p >= 0; p = list_next(mm.lru, p)) {
        if (++count > n) m.vmBug('§7.1 balloon list', `${b.name}: the page list loops`, p);
        if (onList[p] !== 0) m.vmBug('§7.1 balloon list', `${b.name}: page on two balloon lists (or twice on one)`, p);
        onList[p] = id;
        listed.push(p);
        if (!PageOffline(m, p as Pfn)) m.vmBug('§7.2 balloon PageOffline', `${b.name}: listed page is not PageOffline`, p);
        if ((mm.flags[p]! & ISOLATED) !== 0) m.vmBug('§7.3 balloon isolated', `${b.name}: isolated page on the balloon list`, p);
        if (mm.refcount[p]! < 1) m.vmBug('§7.1 balloon refcount', `${b.name}: listed page with refcount ${mm.refcount[p]}`, p);
        if (b.migration && ((mm.flags[p]! & MOVABLE_OPS) === 0 || mm.private[p] !== id_ptr(id))) {
          m.vmBug('§7.2 balloon private', `${b.name}: listed page lacks PG_movable_ops or private naming its device`, p);
        }
      }
      if (count !== b.pages.counts[0]) m.vmBug('§7.1 balloon list', `${b.name}: ${count} pages on the list, count ${b.pages.counts[0]}`);
    }
    return onList;
  }

  /** §7.1: Σ over nodes of NR_BALLOON_PAGES is Σ of the devices' enqueue − dequeue counts. */
  private checkStat(m: Machine): void {
    let statSum = 0;
    for (let id = 1; id < this.state.devices.length; id++) statSum += this.state.devices[id]!.nrBalloonPagesStat;
    let nodeSum = 0;
    for (const node of m.nodes) nodeSum += node.vmstat[NR_NODE.nr_balloon_pages]!;
    if (nodeSum !== statSum) m.vmBug('§7.1 NR_BALLOON_PAGES', `Σ nr_balloon_pages ${nodeSum}, devices enqueued − dequeued ${statSum}`);
  }

  /**
   * With balloon migration: every page whose `private` names a device is on its list or counted
   * isolated. Fills `k` (every page's class and the counts) on the way.
   */
  private checkInflated(m: Machine, onList: Int32Array, k: Known): void {
    const mm = m.memmap;
    const devices = this.state.devices;
    const inflated = new Int32Array(devices.length);
    const isolated = new Int32Array(devices.length);
    const flags = mm.flags;
    const priv = mm.private;
    if (k.cls.length !== flags.length) k.cls = new Int32Array(flags.length);
    else k.cls.fill(0);
    k.inflated.clear();
    k.isolated.clear();
    for (let p = 0; p < flags.length; p++) {
      if ((flags[p]! & MOVABLE_OPS) === 0 || priv[p] === 0 || !PageOffline(m, p as Pfn)) continue;
      const c = inflatedClass(m, p);
      k.cls[p] = c;
      addClass(k, c, 1);
      const id = ptr_id(mm.private[p]!);
      const b = this.state.device(id);
      if (b === null) m.vmBug('§7.2 balloon private', `PageOffline movable page whose private names no balloon device`, p);
      inflated[id]!++;
      if ((mm.flags[p]! & ISOLATED) !== 0) isolated[id]!++;
      else if (onList[p] !== id) m.vmBug('§7.1 balloon inflated', `${b.name}: inflated page neither on the list nor isolated`, p);
    }
    for (let id = 1; id < devices.length; id++) {
      const b = devices[id]!;
      if (isolated[id] !== b.isolated_pages) m.vmBug('§7.1 balloon isolated_pages', `${b.name}: ${isolated[id]} isolated pages, isolated_pages ${b.isolated_pages}`);
      if (inflated[id] !== b.nrInflated) m.vmBug('§7.1 balloon inflated', `${b.name}: ${inflated[id]} inflated pages, list + isolated ${b.nrInflated}`);
    }
  }
}
