import { Buffer } from 'node:buffer';
import type { Machine } from '@mm/core';

/**
 * The explorer's view of a machine's state between steps, kept up to date at the cost of what a
 * step changed rather than the size of the machine:
 * - which pages had a memmap word written since the last look (`sync`): a shadow copy of the nine
 *   memmap word arrays, compared natively (`Buffer.equals`) array by array, then in chunks of 512
 *   words, then eight words at a time inside the chunks that differ; each changed word is copied
 *   into the shadow;
 * - the state as a small exact value: the positions (memmap words, then the "small" state — pageblock
 *   migratetypes, free-list and per-CPU list heads, `nr_free`, counters, `lru_add` batches, vm events,
 *   and what the caller adds: the tasks' progress) whose value differs from the state at the first
 *   look (the base). Two covered states are equal exactly when these differences are (see {@link StateTable};
 *   the tasks' part is, per task, its steps done, whether it finished, and a hash of its last
 *   step's label, so that state hashes agree between worker processes);
 * - a hash of the state, maintained incrementally: the sum over all positions of a mix of the
 *   position and its value (mod 2^32), so a changed word costs two mixes and the same state always
 *   gets the same hash, whatever the path that reached it.
 * The state covered: the memmap (and its size), `nrBadPages`, the pageblock bytes, every zone's
 * free-list heads, `nr_free`, vmstat, `flags` (ZONE_BELOW_HIGH), span, watermarks, reserves and
 * compaction state, and per-CPU lists (count, heads and tuning: `high`, `high_min`, `high_max`,
 * `batch`, `alloc_factor`, `free_count`, `flags`), every node's LRU heads and vmstat, the `lru_add`
 * batches and the vm events (list members are in the memmap links). Not covered: the core's mapping
 * table (page cache `i_pages`, anon_vma reference counts) and the plugins' own objects (balloon
 * devices, hugetlb pools, zsmalloc classes, guest_memfd inodes), which reach the state only through
 * the scenario's `hashExtra` number, so two states that differ only there and not in that number
 * would be merged. (No scenario's search merges such states today: a review compared every plugin's
 * checkpointed state at every lookup of all six scenarios and found none.) It replaces a hash of the whole machine
 * per step (some tens of microseconds on the 8 MiB scenario machines) that could also merge two
 * states on a 32-bit collision.
 *
 * @module
 */

const WORD_ARRAYS = ['flags', 'lru', 'lruPrev', 'mapping', 'index', 'private', 'mapcount', 'refcount', 'memcgData'] as const;
const NW = WORD_ARRAYS.length;
const CHUNK = 512;
/** The numbers of a `per_cpu_pages` in the small state besides its list heads. */
const PCP_SCALARS = 8;

/**
 * A zone's numbers that change only with its size or tuning (memory offlining, `min_free_kbytes`,
 * compaction's cached scanner positions and deferral): spans, watermarks, reserves, compaction state,
 * written into `out` (reused) and returned.
 */
function zoneScalars(z: Machine['zones'][number], out: number[]): number[] {
  out.length = 0;
  out.push(z.zone_start_pfn, z.spanned_pages, z.present_pages, z.managed_pages, z.nr_reserved_highatomic);
  for (let i = 0; i < z.watermark.length; i++) out.push(z.watermark[i]!);
  for (let i = 0; i < z.lowmem_reserve.length; i++) out.push(z.lowmem_reserve[i]!);
  const c = z.compact;
  out.push(c.cached_migrate_pfn, c.cached_migrate_pfn_sync, c.cached_free_pfn, c.init_migrate_pfn, c.init_free_pfn, c.blockskip_flush ? 1 : 0, c.considered, c.defer_shift, c.order_failed);
  return out;
}
/** What `Memmap` gives a page it grows by (flags: no zone; `_mapcount`: -1; the rest 0). */
const GROW_FILL: readonly number[] = [0xff000000 | 0, 0, 0, 0, 0, 0, -1, 0, 0];

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The hash term of value `v` at position `pos` (memmap word `pfn * 9 + array`, or `-1 - k` for the small state's `k`th number). */
function term(pos: number, v: number): number {
  const lo = v | 0;
  const hi = lo === v ? 0 : Math.floor(v / 4294967296) | 0;
  return fmix(fmix(Math.imul(pos, 0x9e3779b1) ^ hi) ^ lo);
}

/** An exact copy of a state: its positions and values (pairs) that differ from the base. */
export type StateDelta = Float64Array;

/** See the module comment. */
export class StateTracker {
  /** The pages whose memmap words the last {@link StateTracker.sync} found changed (each once). */
  readonly changed: number[] = [];
  private views: Int32Array[] = [];
  private src: readonly unknown[] = [];
  private shadow: Int32Array[] = [];
  private base: Int32Array[] = [];
  private bufs: Buffer[][] = [];
  private shadowBufs: Buffer[][] = [];
  private mark = new Uint8Array(0);
  private small = new Float64Array(0);
  private smallBase = new Float64Array(0);
  private memmapHash = 0;
  private smallHash = 0;
  /** Small positions from here on are the tasks' progress; their part of `smallHash` and of `delta`. */
  private progressFrom = 0;
  private progressHash = 0;
  private progressDelta = 0;
  private readonly delta = new Map<number, number>();
  /** Scratch for {@link zoneScalars}. */
  private readonly scalars: number[] = [];
  private started = false;

  /**
   * Look at `m`'s memmap: find the pages changed since the last look (`changed`), update the shadow,
   * the hash and the differences from the base. The first look makes the current state the base.
   */
  sync(m: Machine): void {
    this.changed.length = 0;
    if (!this.started || this.replaced(m)) this.rebind(m);
    const n = this.views[0]!.length;
    for (let j = 0; j < NW; j++) {
      const cur = this.bufs[j]!;
      const sh = this.shadowBufs[j]!;
      if (cur[0]!.equals(sh[0]!)) continue;
      for (let c = 1; c < cur.length; c++) {
        if (!cur[c]!.equals(sh[c]!)) this.syncWords(j, (c - 1) * CHUNK, Math.min(n, c * CHUNK));
      }
    }
    for (const p of this.changed) this.mark[p] = 0;
  }

  /** True if one of `m`'s memmap arrays is not the one the views were built on. */
  private replaced(m: Machine): boolean {
    const mm = m.memmap;
    for (let j = 0; j < NW; j++) if (mm[WORD_ARRAYS[j]!] !== this.src[j]) return true;
    return false;
  }

  /** Words `from`..`to` of array `j`: take in those that differ from the shadow, eight at a time. */
  private syncWords(j: number, from: number, to: number): void {
    const v = this.views[j]!;
    const s = this.shadow[j]!;
    let i = from;
    for (; i + 8 <= to; i += 8) {
      const d = (v[i]! ^ s[i]!) | (v[i + 1]! ^ s[i + 1]!) | (v[i + 2]! ^ s[i + 2]!) | (v[i + 3]! ^ s[i + 3]!) | (v[i + 4]! ^ s[i + 4]!) | (v[i + 5]! ^ s[i + 5]!) | (v[i + 6]! ^ s[i + 6]!) | (v[i + 7]! ^ s[i + 7]!);
      if (d === 0) continue;
      for (let k = i; k < i + 8; k++) if (v[k] !== s[k]) this.syncWord(j, k);
    }
    for (; i < to; i++) if (v[i] !== s[i]) this.syncWord(j, i);
  }

  /** Word `i` of array `j` changed: update the hash, the shadow, the differences from the base and `changed`. */
  private syncWord(j: number, i: number): void {
    const x = this.views[j]![i]!;
    const s = this.shadow[j]!;
    const pos = i * NW + j;
    this.memmapHash = (this.memmapHash - term(pos, s[i]!) + term(pos, x)) | 0;
    s[i] = x;
    if (x === this.base[j]![i]) this.delta.delete(pos);
    else this.delta.set(pos, x);
    if (this.mark[i] === 0) {
      this.mark[i] = 1;
      this.changed.push(i);
    }
  }

  /** (Re)build the views of `m`'s memmap arrays; a first look takes the base, a grown memmap grows the shadow and base. */
  private rebind(m: Machine): void {
    const mm = m.memmap;
    const n = mm.flags.length;
    const old = this.views.length === NW ? this.views[0]!.length : 0;
    this.src = WORD_ARRAYS.map((k) => mm[k]);
    this.views = WORD_ARRAYS.map((k) => new Int32Array(mm[k].buffer, mm[k].byteOffset, n));
    if (!this.started) {
      this.shadow = this.views.map((v) => v.slice());
      this.base = this.views.map((v) => v.slice());
      let h = 0;
      for (let j = 0; j < NW; j++) {
        const v = this.views[j]!;
        for (let i = 0; i < n; i++) h = (h + term(i * NW + j, v[i]!)) | 0;
      }
      this.memmapHash = h;
      this.started = true;
    } else if (n !== old) {
      // The memmap grew (or was replaced by one of another size): the new pages start at Memmap's
      // fill values in the shadow and the base, and the next comparison finds what differs.
      const grow = (a: Int32Array, j: number): Int32Array => {
        const b = new Int32Array(n).fill(GROW_FILL[j]!);
        b.set(a.subarray(0, Math.min(a.length, n)));
        return b;
      };
      let h = this.memmapHash;
      for (let j = 0; j < NW; j++) {
        for (let i = n; i < old; i++) {
          const pos = i * NW + j;
          h = (h - term(pos, this.shadow[j]![i]!)) | 0;
          this.delta.delete(pos);
        }
        for (let i = old; i < n; i++) h = (h + term(i * NW + j, GROW_FILL[j]!)) | 0;
      }
      this.memmapHash = h;
      this.shadow = this.shadow.map(grow);
      this.base = this.base.map(grow);
    }
    const chunks = (a: Int32Array): Buffer[] => {
      const whole = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      const out = [whole];
      for (let i = 0; i < a.length; i += CHUNK) out.push(whole.subarray(i * 4, Math.min(a.length, i + CHUNK) * 4));
      return out;
    };
    this.bufs = this.views.map(chunks);
    this.shadowBufs = this.shadow.map(chunks);
    if (this.mark.length !== n) this.mark = new Uint8Array(n);
  }

  /**
   * Set the small state (everything but the memmap words, plus the caller's numbers `extra`) from `m`
   * now, updating the hash and the differences from the base. The last `progress` numbers of `extra`
   * are not machine state (the tasks' progress): the `machine*` views leave them out.
   */
  syncSmall(m: Machine, extra: readonly number[], progress = 0): void {
    let k = this.smallLayout(m, extra, progress);
    if (k < 0) return;
    k = this.put1(m.memmap.flags.length, 0);
    k = this.put1(m.nrBadPages, k);
    const pb = m.memmap.pageblock;
    for (let i = 0; i < pb.length; i++) k = this.put1(pb[i]!, k);
    for (const z of m.zones) {
      k = this.putI32(z.free_list.heads, k);
      k = this.putI32(z.nr_free, k);
      k = this.putF64(z.vmstat, k);
      k = this.put1(z.flags, k);
      for (const x of zoneScalars(z, this.scalars)) k = this.put1(x, k);
      for (const p of z.per_cpu_pageset) {
        k = this.put1(p.count, k);
        k = this.put1(p.high, k);
        k = this.put1(p.high_min, k);
        k = this.put1(p.high_max, k);
        k = this.put1(p.batch, k);
        k = this.put1(p.alloc_factor, k);
        k = this.put1(p.free_count, k);
        k = this.put1(p.flags, k);
        k = this.putI32(p.lists.heads, k);
      }
    }
    for (const nd of m.nodes) {
      k = this.putI32(nd.lruvec.heads, k);
      k = this.putF64(nd.vmstat, k);
    }
    for (const b of m.lruAddBatch) {
      k = this.put1(b.count, k);
      for (let i = 0; i < b.folios.length; i++) k = this.put1(i < b.count ? b.folios[i]! : -1, k);
    }
    k = this.putF64(m.vmEvents, k);
    for (const x of extra) k = this.put1(x, k);
  }

  /** Number `x` at small position `k`: update the hash and differences if it changed. Returns `k + 1`. */
  private put1(x: number, k: number): number {
    const old = this.small[k]!;
    if (x !== old) {
      const pos = -1 - k;
      const d = term(pos, x) - term(pos, old);
      this.smallHash = (this.smallHash + d) | 0;
      this.small[k] = x;
      const differs = !(k < this.smallBase.length && x === this.smallBase[k]);
      if (k >= this.progressFrom) {
        this.progressHash = (this.progressHash + d) | 0;
        if (differs !== this.delta.has(pos)) this.progressDelta += differs ? 1 : -1;
      }
      if (differs) this.delta.set(pos, x);
      else this.delta.delete(pos);
    }
    return k + 1;
  }

  /** The numbers of `a` from small position `k` on (see `put1`). Returns the next position. */
  private putI32(a: Int32Array, k: number): number {
    const s = this.small;
    for (let i = 0; i < a.length; i++, k++) if (a[i] !== s[k]) this.put1(a[i]!, k);
    return k;
  }

  /** The same for a Float64Array (one element type per loop: each stays monomorphic). */
  private putF64(a: Float64Array, k: number): number {
    const s = this.small;
    for (let i = 0; i < a.length; i++, k++) if (a[i] !== s[k]) this.put1(a[i]!, k);
    return k;
  }

  /**
   * The small state's length for `m` and `extra`; if it differs from the last call's (the first call,
   * or zones or CPUs were added), take the whole small state over (the first call takes the base;
   * a position the base lacks never equals it) and return -1.
   */
  private smallLayout(m: Machine, extra: readonly number[], progress: number): number {
    let len = 2 + m.memmap.pageblock.length + m.vmEvents.length + extra.length;
    for (const z of m.zones) {
      len += z.free_list.heads.length + z.nr_free.length + z.vmstat.length;
      len += 1 + zoneScalars(z, this.scalars).length + z.per_cpu_pageset.length * PCP_SCALARS;
      for (const p of z.per_cpu_pageset) len += p.lists.heads.length;
    }
    for (const nd of m.nodes) len += nd.lruvec.heads.length + nd.vmstat.length;
    for (const b of m.lruAddBatch) len += 1 + b.folios.length;
    if (len === this.small.length && len - progress === this.progressFrom) return len;
    const out: number[] = [];
    const pushAll = (a: ArrayLike<number>): void => {
      for (let i = 0; i < a.length; i++) out.push(a[i]!);
    };
    out.push(m.memmap.flags.length, m.nrBadPages);
    pushAll(m.memmap.pageblock);
    for (const z of m.zones) {
      pushAll(z.free_list.heads);
      pushAll(z.nr_free);
      pushAll(z.vmstat);
      out.push(z.flags);
      pushAll(zoneScalars(z, this.scalars));
      for (const p of z.per_cpu_pageset) {
        out.push(p.count, p.high, p.high_min, p.high_max, p.batch, p.alloc_factor, p.free_count, p.flags);
        pushAll(p.lists.heads);
      }
    }
    for (const nd of m.nodes) {
      pushAll(nd.lruvec.heads);
      pushAll(nd.vmstat);
    }
    for (const b of m.lruAddBatch) {
      out.push(b.count);
      for (let i = 0; i < b.folios.length; i++) out.push(i < b.count ? b.folios[i]! : -1);
    }
    pushAll(m.vmEvents);
    pushAll(extra);
    if (this.smallBase.length === 0) this.smallBase = Float64Array.from(out);
    for (let k = 0; k < this.small.length; k++) this.delta.delete(-1 - k);
    this.small = Float64Array.from(out);
    this.progressFrom = out.length - progress;
    this.progressHash = 0;
    this.progressDelta = 0;
    let h = 0;
    for (let k = 0; k < out.length; k++) {
      const t = term(-1 - k, out[k]!);
      h = (h + t) | 0;
      const differs = !(k < this.smallBase.length && out[k] === this.smallBase[k]);
      if (differs) this.delta.set(-1 - k, out[k]!);
      if (k >= this.progressFrom) {
        this.progressHash = (this.progressHash + t) | 0;
        if (differs) this.progressDelta++;
      }
    }
    this.smallHash = h;
    return -1;
  }

  /** The state's hash (after `sync` and `syncSmall`). */
  get hash(): number {
    return (this.memmapHash + Math.imul(this.smallHash, 0x2545f491)) >>> 0;
  }

  /** The hash of the machine's part of the state (all but the tasks' progress). */
  get machineHash(): number {
    return (this.memmapHash + Math.imul((this.smallHash - this.progressHash) | 0, 0x2545f491)) >>> 0;
  }

  /** An exact copy of the machine's part of the state, for {@link StateTracker.equalsMachine}. */
  snapshotMachine(): StateDelta {
    const d = new Float64Array((this.delta.size - this.progressDelta) * 2);
    const first = -1 - this.progressFrom; // progress positions are this one and below
    let i = 0;
    for (const [pos, v] of this.delta) {
      if (pos <= first) continue;
      d[i++] = pos;
      d[i++] = v;
    }
    return d;
  }

  /** True if the machine's part of the state now is the one `d` (`snapshotMachine`) copied. */
  equalsMachine(d: StateDelta): boolean {
    if (d.length !== (this.delta.size - this.progressDelta) * 2) return false;
    for (let i = 0; i < d.length; i += 2) if (this.delta.get(d[i]!) !== d[i + 1]) return false;
    return true;
  }

  /** An exact copy of the state (after `sync` and `syncSmall`), for {@link StateTracker.equals}. */
  snapshot(): StateDelta {
    const d = new Float64Array(this.delta.size * 2);
    let i = 0;
    for (const [pos, v] of this.delta) {
      d[i++] = pos;
      d[i++] = v;
    }
    return d;
  }

  /** True if the state now (after `sync` and `syncSmall`) is the one `d` copied. */
  equals(d: StateDelta): boolean {
    if (d.length !== this.delta.size * 2) return false;
    for (let i = 0; i < d.length; i += 2) if (this.delta.get(d[i]!) !== d[i + 1]) return false;
    return true;
  }
}

/** What {@link StateTable.get} finds: the value stored with a state. */
export interface StateTableEntry<V> {
  /** The value (may be changed in place). */
  value: V;
}

/** One entry of a {@link StateTable}: a state, the extra key it was stored with, and its value. */
interface Entry<V> extends StateTableEntry<V> {
  readonly state: StateDelta;
  readonly extra: number;
}

/**
 * A table keyed by exact states (with an extra number, e.g. the task that ran last): entries are
 * found by the tracker's hash, and a hash hit counts only if the state is the same (no two states
 * are ever merged by a hash collision).
 */
export class StateTable<V> {
  private readonly byHash = new Map<number, Entry<V>[]>();
  private n = 0;
  private readonly machineOnly: boolean;

  /** A table of whole states, or with `machineOnly` of the machine's part only (the tasks' progress left out). */
  constructor(machineOnly = false) {
    this.machineOnly = machineOnly;
  }

  /** The key of the tracker's state with `extra`: its hash mixed with `extra`. */
  static key(t: StateTracker, extra: number): number {
    return (t.hash ^ Math.imul(extra + 1, 0x9e3779b1)) >>> 0;
  }

  /** The entry of the tracker's state now with `extra`, if stored (its `value` may be changed in place). */
  get(t: StateTracker, extra: number): StateTableEntry<V> | undefined {
    const list = this.byHash.get(this.keyOf(t, extra));
    if (list === undefined) return undefined;
    for (const e of list) if (e.extra === extra && (this.machineOnly ? t.equalsMachine(e.state) : t.equals(e.state))) return e;
    return undefined;
  }

  private keyOf(t: StateTracker, extra: number): number {
    return this.machineOnly ? (t.machineHash ^ Math.imul(extra + 1, 0x9e3779b1)) >>> 0 : StateTable.key(t, extra);
  }

  /**
   * Store the tracker's state now with `extra` (not stored yet) and `value`; `state` is its copy if
   * the caller has one (`snapshot()`, or `snapshotMachine()` for a `machineOnly` table). Returns the copy.
   */
  add(t: StateTracker, extra: number, value: V, state: StateDelta = this.machineOnly ? t.snapshotMachine() : t.snapshot()): StateDelta {
    const key = this.keyOf(t, extra);
    const e: Entry<V> = { state, extra, value };
    const list = this.byHash.get(key);
    if (list === undefined) this.byHash.set(key, [e]);
    else list.push(e);
    this.n++;
    return state;
  }

  /** Number of states stored. */
  get size(): number {
    return this.n;
  }

  /** The keys of the states stored (one per state; two states may share a key). */
  keys(): number[] {
    const out: number[] = [];
    for (const [k, list] of this.byHash) for (let i = 0; i < list.length; i++) out.push(k);
    return out;
  }
}
