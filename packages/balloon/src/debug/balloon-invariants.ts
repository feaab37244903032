import { Machine, NR_NODE, PG, PageOffline, id_ptr, list_next, ptr_id, type InvariantCheck, type Pfn } from '@mm/core';
import { inject, injectable } from 'tsyringe';
import { BalloonState } from '../mm/balloon-state.js';

const MOVABLE_OPS = 1 << PG.movable_ops;
const ISOLATED = 1 << PG.movable_ops_isolated;

/**
 * The `debugVm` checker for kernel-semantics §13 §7 (balloon), over every balloon device of the
 * machine:
 * - §7.1 every page on a device's list is PageOffline, not isolated, referenced, and (with balloon
 *   migration) PageMovableOps with `private` naming that device; no page is on two lists; the list
 *   count matches; `isolated_pages` equals the number of isolated pages naming the device, none of
 *   them on the list, so `|pages| + isolated_pages` is the number of inflated pages; Σ over nodes of
 *   NR_BALLOON_PAGES equals Σ of the devices' enqueue − dequeue counts (migration changes neither);
 * - §7.2 `private` names a device only while the page is inflated (on the list or isolated).
 * It walks the whole memmap, so it is meant for test-sized machines.
 */
@injectable()
export class BalloonInvariants implements InvariantCheck {
  /** The invariant family. */
  readonly name = '§7 balloon';
  private readonly state: BalloonState;
  /** Scratch: the id of the device whose list holds each page, 0 if none (reused: the explorer checks every step). */
  private onList = new Int32Array(0);

  /** Built by the machine's container. */
  constructor(@inject(BalloonState) state: BalloonState) {
    this.state = state;
  }

  /** Throw `VmBugError` if the machine breaks a §7 invariant. */
  check(m: Machine): void {
    const mm = m.memmap;
    const n = mm.flags.length;
    const devices = this.state.devices;
    if (this.onList.length !== n) this.onList = new Int32Array(n);
    const onList = this.onList;
    onList.fill(0);
    let statSum = 0;
    for (let id = 1; id < devices.length; id++) {
      const b = devices[id]!;
      statSum += b.nrBalloonPagesStat;
      if (b.isolated_pages < 0) m.vmBug('§7.1 balloon isolated_pages', `${b.name}: isolated_pages ${b.isolated_pages}`);
      if (!b.migration && b.isolated_pages !== 0) m.vmBug('§7.1 balloon isolated_pages', `${b.name}: isolated pages without balloon migration`);
      let count = 0;
      for (let p = b.pages.heads[0]!; p >= 0; p = list_next(mm.lru, p)) {
        if (++count > n) m.vmBug('§7.1 balloon list', `${b.name}: the page list loops`, p);
        if (onList[p] !== 0) m.vmBug('§7.1 balloon list', `${b.name}: page on two balloon lists (or twice on one)`, p);
        onList[p] = id;
        if (!PageOffline(m, p as Pfn)) m.vmBug('§7.2 balloon PageOffline', `${b.name}: listed page is not PageOffline`, p);
        if ((mm.flags[p]! & ISOLATED) !== 0) m.vmBug('§7.3 balloon isolated', `${b.name}: isolated page on the balloon list`, p);
        if (mm.refcount[p]! < 1) m.vmBug('§7.1 balloon refcount', `${b.name}: listed page with refcount ${mm.refcount[p]}`, p);
        if (b.migration && ((mm.flags[p]! & MOVABLE_OPS) === 0 || mm.private[p] !== id_ptr(id))) {
          m.vmBug('§7.2 balloon private', `${b.name}: listed page lacks PG_movable_ops or private naming its device`, p);
        }
      }
      if (count !== b.pages.counts[0]) m.vmBug('§7.1 balloon list', `${b.name}: ${count} pages on the list, count ${b.pages.counts[0]}`);
    }
    if (this.state.migration) this.checkInflated(m, onList);
    let nodeSum = 0;
    for (const node of m.nodes) nodeSum += node.vmstat[NR_NODE.nr_balloon_pages]!;
    if (nodeSum !== statSum) m.vmBug('§7.1 NR_BALLOON_PAGES', `Σ nr_balloon_pages ${nodeSum}, devices enqueued − dequeued ${statSum}`);
  }

  /** With balloon migration: every page whose `private` names a device is on its list or counted isolated. */
  private checkInflated(m: Machine, onList: Int32Array): void {
    const mm = m.memmap;
    const devices = this.state.devices;
    const inflated = new Int32Array(devices.length);
    const isolated = new Int32Array(devices.length);
    const flags = mm.flags;
    const priv = mm.private;
    for (let p = 0; p < flags.length; p++) {
      if ((flags[p]! & MOVABLE_OPS) === 0 || priv[p] === 0 || !PageOffline(m, p as Pfn)) continue;
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
