import { PG, PGTY, captureMachineState, diffMachineState, id_ptr, restoreMachineCheckpoint, saveMachineCheckpoint, violatedInvariant, type InvariantCheck, type Machine } from '@mm/core';
import { describe, expect, it } from 'vitest';
import { ExploreSession, ExploreState, StateTable, StateTracker, createScenarioMachine, defaultChoice, findScenario, type ScenarioParams, type StateDelta } from '../src/index.js';

const target = (name: string, params: ScenarioParams = {}) => ({ scenario: findScenario(name), params });

/** The scenario's machine, set up (not checked by the explorer: the checks are what is tested). */
function setUp(name: string): Machine {
  const m = createScenarioMachine(target(name));
  m.container.resolve(ExploreState).setup();
  return m;
}

function look(t: StateTracker, m: Machine): number[] {
  t.sync(m);
  t.syncSmall(m, []);
  return [...t.changed].sort((a, b) => a - b);
}

describe('StateTracker', () => {
  it('finds exactly the pages whose memmap words changed; a state reached again has the same hash and compares equal', () => {
    const m = setUp('balloon-deflate');
    const t = new StateTracker();
    expect(look(t, m)).toEqual([]); // the first look is the base
    const h0 = t.hash;
    const s0 = t.snapshot();
    expect(s0.length).toBe(0); // no difference from the base
    // Two words of two pages in two arrays, one of them in the last word of the memmap.
    const last = m.memmap.flags.length - 1;
    m.memmap.refcount[100]! += 1;
    m.memmap.memcgData[last] = 4;
    expect(look(t, m)).toEqual([100, last]);
    expect(t.hash).not.toBe(h0);
    expect(t.equals(s0)).toBe(false);
    const s1 = t.snapshot();
    expect(s1.length).toBe(4); // two (position, value) pairs
    expect(look(t, m)).toEqual([]); // nothing changed since the last look
    // Back by another path: the same hash and an equal state.
    m.memmap.memcgData[last] = 0;
    m.memmap.refcount[100]! -= 1;
    expect(look(t, m)).toEqual([100, last]);
    expect(t.hash).toBe(h0);
    expect(t.equals(s0)).toBe(true);
    expect(t.equals(s1)).toBe(false);
  });

  it('tells states apart by the counters and lists outside the memmap and by the caller\'s numbers', () => {
    const m = setUp('balloon-deflate');
    const t = new StateTracker();
    look(t, m);
    const h0 = t.hash;
    const s0 = t.snapshot();
    m.vmEvents[0]! += 1;
    expect(look(t, m)).toEqual([]); // no memmap word changed
    expect(t.hash).not.toBe(h0);
    expect(t.equals(s0)).toBe(false);
    m.vmEvents[0]! -= 1;
    t.sync(m);
    t.syncSmall(m, []);
    expect(t.equals(s0)).toBe(true);
    t.syncSmall(m, [1]); // a task's progress (a new layout: a position the base lacks)
    expect(t.equals(s0)).toBe(false);
  });

  it('leaves the tasks\' progress out of the machine\'s part of the state, but not the numbers before it', () => {
    const m = setUp('balloon-deflate');
    const t = new StateTracker();
    t.sync(m);
    t.syncSmall(m, [5, 0, 0], 2); // the scenario's number, then two numbers of progress
    const whole = t.snapshot();
    const machine = t.snapshotMachine();
    const h = t.machineHash;
    t.syncSmall(m, [5, 2, 7], 2); // progress only
    expect(t.equals(whole)).toBe(false);
    expect(t.equalsMachine(machine)).toBe(true);
    expect(t.machineHash).toBe(h);
    const table = new StateTable<number>(true);
    table.add(t, -1, 1);
    t.syncSmall(m, [5, 0, 0], 2);
    expect(table.get(t, -1)?.value).toBe(1);
    t.syncSmall(m, [6, 0, 0], 2); // the scenario's own state is machine state
    expect(t.equalsMachine(machine)).toBe(false);
    expect(t.machineHash).not.toBe(h);
    expect(table.get(t, -1)).toBeUndefined();
  });

  it('follows a memmap that grows (memory hotplug): a new state, the same hash as a first look at it', () => {
    const m = setUp('balloon-deflate');
    const t = new StateTracker();
    look(t, m);
    const s0 = t.snapshot();
    const h0 = t.hash;
    const n = m.memmap.flags.length;
    m.memmap.grow(n + 512);
    m.memmap.refcount[n + 3] = 1;
    expect(look(t, m)).toEqual([n + 3]); // the new pages at Memmap's fill values are not changes
    expect(t.equals(s0)).toBe(false);
    expect(t.hash).not.toBe(h0);
    const fresh = new StateTracker();
    look(fresh, m);
    expect(fresh.hash).toBe(t.hash);
  });

  it('agrees with a tracker that looks for the first time at the same state (the hash does not depend on the path)', () => {
    const s = new ExploreSession(target('balloon-deflate', { walkers: 1 }));
    const r = s.execute((st, en, cur) => defaultChoice(st, en, cur), 400);
    expect(r.complete).toBe(true);
    const fresh = new StateTracker();
    fresh.sync(s.m);
    const extra: number[] = [];
    s.state.tasksState(extra);
    fresh.syncSmall(s.m, extra, extra.length - 1);
    expect(s.stateKey()).toBe(fresh.hash);
  });
});

describe('StateTable', () => {
  // Trackers whose hash is forced equal: a hash collision.
  const fake = (id: number): StateTracker =>
    ({ hash: 7, snapshot: () => Float64Array.of(0, id), equals: (d: StateDelta) => d[1] === id }) as unknown as StateTracker;

  it('keeps two states whose hashes collide apart (a hit counts only for the same state)', () => {
    const table = new StateTable<string>();
    table.add(fake(1), 0, 'one');
    expect(table.get(fake(2), 0)).toBeUndefined();
    table.add(fake(2), 0, 'two');
    expect(table.size).toBe(2);
    expect(table.get(fake(1), 0)?.value).toBe('one');
    expect(table.get(fake(2), 0)?.value).toBe('two');
    expect(table.get(fake(1), 1)).toBeUndefined(); // another extra key (the task that ran)
    expect(table.keys()).toEqual([StateTable.key(fake(1), 0), StateTable.key(fake(1), 0)]);
  });
});

describe('checkpoint after the setup', () => {
  it.each([
    ['balloon-deflate', true],
    ['tryget-final-put', true],
    ['migrate-speculative', false],
    ['hugetlb-isolation', true], // hugetlb checkpoints the hugetlbfs mount, file, process and VMA the setup made
    ['zsmalloc-free-isolated', true], // zsmalloc checkpoints the pool and zspage the setup made
    ['gmem-conversion', true], // guest_memfd checkpoints the VM, file and VMA the setup made
  ] as const)('%s: restored to the state right after the first setup (%s) or set up again', (name, restarts) => {
    const s = new ExploreSession(target(name, { walkers: 1 }));
    const run = () => s.execute((st, en, cur) => defaultChoice(st, en, cur), 400);
    s.execute(() => 0, 0); // the first execution: boot state, setup, no step
    const inst = s.state.instance;
    const afterSetup = captureMachineState(s.m);
    const first = run();
    expect(first.complete).toBe(true);
    s.execute(() => 0, 0); // brought back to the start of the race, no step
    expect(s.state.instance === inst).toBe(restarts);
    expect(diffMachineState(afterSetup, captureMachineState(s.m))).toEqual([]);
    expect(run()).toEqual(first);
  });
});

describe('the explore plugin\'s checkpoint', () => {
  it('keeps a setup saved before any step (its tasks start again), forgets one saved in the middle of a run', () => {
    const m = createScenarioMachine(target('balloon-deflate'));
    const st = m.container.resolve(ExploreState);
    st.setup();
    const inst = st.instance;
    const atStart = saveMachineCheckpoint(m);
    st.step(0);
    expect(st.atStart).toBe(false);
    const mid = saveMachineCheckpoint(m);
    restoreMachineCheckpoint(m, mid);
    expect(st.instance).toBeNull(); // the setup is forgotten: a restore cannot put a task back mid-path
    restoreMachineCheckpoint(m, atStart);
    expect(st.instance).toBe(inst);
    expect(st.atStart).toBe(true);
  });
});

describe('InvariantCheck.checkChanged', () => {
  const checkNamed = (m: Machine, name: string): InvariantCheck => m.invariantChecks.find((c) => c.name === name)!;

  // Each case breaks a rule on one page of a machine that passed the check; `checkChanged` told that
  // page changed must find what `check` finds.
  it.each([
    [
      'balloon-deflate',
      '§7 balloon',
      (m: Machine, p: number): string => {
        // A page that names the balloon device, PageOffline and PG_movable_ops, on no list and not isolated.
        m.memmap.flags[p] = m.memmap.flags[p]! | (1 << PG.movable_ops);
        m.memmap.mapcount[p] = (PGTY.offline << 24) | 0;
        m.memmap.private[p] = id_ptr(1);
        return '§7.1 balloon inflated';
      },
    ],
    [
      'balloon-deflate',
      '§9 migration',
      (m: Machine, p: number): string => {
        m.memmap.flags[p] = m.memmap.flags[p]! | (1 << PG.movable_ops_isolated); // isolated without PG_movable_ops
        m.memmap.mapcount[p] = (PGTY.offline << 24) | 0;
        return '§9.1 movable_ops isolation';
      },
    ],
    [
      'hugetlb-isolation',
      '§4 hugetlb',
      (m: Machine, p: number): string => {
        m.memmap.mapcount[p] = (PGTY.hugetlb << 24) | 0; // a hugetlb head in no known state
        return '§4.1 hugetlb states';
      },
    ],
    [
      'zsmalloc-free-isolated',
      '§8 zsmalloc',
      (m: Machine, p: number): string => {
        m.memmap.mapcount[p] = (PGTY.zsmalloc << 24) | 0; // PageZsmalloc outside any zspage, no reference
        return '§8.1 PageZsmalloc';
      },
    ],
  ] as const)('%s, %s: finds the broken page that changed, as check does', (name, checkName, breakPage) => {
    const m = setUp(name);
    const c = checkNamed(m, checkName);
    expect(c.checkChanged).toBeDefined();
    c.check(m);
    c.checkChanged!(m, []); // nothing changed: passes
    // A free page inside a buddy block (no type, no reference, not a head or tail).
    const mm = m.memmap;
    let p = mm.flags.length - 1;
    while (!(mm.flags[p]! >>> 24 !== 0xff && mm.refcount[p] === 0 && mm.mapcount[p] === -1 && (mm.lru[p]! & 1) === 0 && (mm.flags[p]! & (1 << PG.head)) === 0)) p--;
    const want = breakPage(m, p);
    expect(violatedInvariant(() => c.checkChanged!(m, [p]))).toBe(want);
    expect(violatedInvariant(() => c.check(m))).toBe(want);
  });
});
