import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GFP,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  __alloc_pages,
  __free_pages,
  asFolio,
  createMachine,
  drain_all_pages,
  folio_get,
  folio_put,
  folio_try_get,
  type Machine,
} from '@mm/core';

/** What the test believes about one allocation. */
interface Block {
  pfn: number;
  order: number;
  compound: boolean;
  refs: number;
}
interface Model {
  live: Block[];
}

type Cmd = fc.Command<Model, Machine>;
const pick = (model: Model, i: number): Block | undefined => (model.live.length ? model.live[i % model.live.length] : undefined);

class Alloc implements Cmd {
  constructor(readonly order: number, readonly compound: boolean, readonly movable: boolean) {}
  check = () => true;
  run(model: Model, m: Machine): void {
    const gfp = (this.movable ? GFP_HIGHUSER_MOVABLE : GFP_KERNEL) | (this.compound ? GFP.__GFP_COMP : 0);
    const pfn = __alloc_pages(m, gfp, this.order);
    if (pfn < 0) return;
    expect(m.memmap.refcount[pfn]).toBe(1);
    model.live.push({ pfn, order: this.order, compound: this.compound && this.order > 0, refs: 1 });
  }
  toString = () => `alloc(order=${this.order}, comp=${this.compound}, movable=${this.movable})`;
}
class Get implements Cmd {
  constructor(readonly i: number) {}
  check = (model: Readonly<Model>) => model.live.length > 0;
  run(model: Model, m: Machine): void {
    const b = pick(model, this.i)!;
    folio_get(m, asFolio(b.pfn));
    b.refs++;
  }
  toString = () => `get(${this.i})`;
}
class TryGet implements Cmd {
  constructor(readonly i: number) {}
  check = (model: Readonly<Model>) => model.live.length > 0;
  run(model: Model, m: Machine): void {
    const b = pick(model, this.i)!;
    expect(folio_try_get(m, asFolio(b.pfn))).toBe(true);
    b.refs++;
  }
  toString = () => `try_get(${this.i})`;
}
class Put implements Cmd {
  constructor(readonly i: number) {}
  check = (model: Readonly<Model>) => model.live.some((b) => b.compound || b.order === 0);
  run(model: Model, m: Machine): void {
    const folios = model.live.filter((b) => b.compound || b.order === 0);
    const b = folios[this.i % folios.length]!;
    folio_put(m, asFolio(b.pfn));
    if (--b.refs === 0) {
      model.live.splice(model.live.indexOf(b), 1);
      expect(m.memmap.refcount[b.pfn]).toBe(0);
      expect(folio_try_get(m, asFolio(b.pfn))).toBe(false);
    }
  }
  toString = () => `put(${this.i})`;
}
class Free implements Cmd {
  constructor(readonly i: number) {}
  check = (model: Readonly<Model>) => model.live.length > 0;
  run(model: Model, m: Machine): void {
    const b = pick(model, this.i)!;
    __free_pages(m, asFolio(b.pfn), b.order);
    if (--b.refs === 0 || !b.compound) model.live.splice(model.live.indexOf(b), 1);
    // A non-compound high-order block with extra references frees all but its first page; keep it simple:
    // such a block leaves the model and its first page keeps refs-1 references we drop now.
    if (!b.compound && b.refs > 0) for (let r = 0; r < b.refs; r++) folio_put(m, asFolio(b.pfn));
  }
  toString = () => `free(${this.i})`;
}

const commands = [
  fc.tuple(fc.integer({ min: 0, max: 10 }), fc.boolean(), fc.boolean()).map(([o, c, mv]) => new Alloc(o, c, mv)),
  fc.nat(1000).map((i) => new Get(i)),
  fc.nat(1000).map((i) => new TryGet(i)),
  fc.nat(1000).map((i) => new Put(i)),
  fc.nat(1000).map((i) => new Free(i)),
];

describe('property: random get/put/alloc/free sequences keep every invariant', () => {
  it('holds the §1–§3 invariants after every operation and returns to the boot state', () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 200 }), (cmds) => {
        const m = createMachine({ memory: '32M', cpus: 2, debugVm: true });
        const boot = m.zones.map((z) => Array.from(z.nr_free));
        const model: Model = { live: [] };
        fc.modelRun(() => ({ model, real: m }), cmds);
        for (const b of [...model.live]) {
          if (b.compound || b.order === 0) {
            for (let r = 0; r < b.refs; r++) folio_put(m, asFolio(b.pfn));
          } else {
            for (let r = 1; r < b.refs; r++) folio_put(m, asFolio(b.pfn));
            __free_pages(m, asFolio(b.pfn), b.order);
          }
        }
        drain_all_pages(m, null);
        m.checkInvariants('end of sequence');
        // Everything freed and merged: the buddy lists are exactly as at boot.
        expect(m.zones.map((z) => Array.from(z.nr_free))).toEqual(boot);
      }),
      { seed: 20261122, numRuns: 60, verbose: 1 },
    );
  });
});
