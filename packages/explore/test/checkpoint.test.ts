import { EINVAL, EOPNOTSUPP, captureMachineState, createMachine, diffMachineState, restoreMachineCheckpoint, saveMachineCheckpoint, uncheckpointablePlugins, type MmPlugin } from '@mm/core';
import { describe, expect, it } from 'vitest';
import { ExploreSession, createScenarioMachine, defaultChoice, explore, findScenario, type ExploreOptions, type ScenarioParams } from '../src/index.js';

const target = (name: string, params: ScenarioParams = {}) => ({ scenario: findScenario(name), params });

describe('machine checkpoints', () => {
  it.each(['balloon-deflate', 'hugetlb-isolation', 'zsmalloc-free-isolated', 'gmem-conversion'])('%s: after a whole execution, a restore gives back exactly the state after boot', (name) => {
    const s = new ExploreSession(target(name, { walkers: 1 }));
    expect(s.checkpoint).not.toBeNull();
    const boot = captureMachineState(s.m);
    // The same state as a machine booted afresh (the checkpoint is taken before the setup).
    expect(diffMachineState(captureMachineState(createScenarioMachine(target(name, { walkers: 1 }))), boot)).toEqual([]);
    const r = s.execute((st, en, cur) => defaultChoice(st, en, cur), 400);
    expect(r.complete).toBe(true);
    expect(diffMachineState(boot, captureMachineState(s.m)).length).toBeGreaterThan(0); // the run changed the machine
    restoreMachineCheckpoint(s.m, s.checkpoint!);
    expect(diffMachineState(boot, captureMachineState(s.m))).toEqual([]);
  });

  it('a machine with a plugin that registers no Checkpointable cannot be checkpointed; the explorer then reboots', () => {
    const bare: MmPlugin = { meta: { name: 'bare', version: '0' }, register: () => undefined };
    const m = createMachine({ memory: '8M', plugins: [bare] });
    expect(uncheckpointablePlugins(m)).toEqual(['bare']);
    expect(() => saveMachineCheckpoint(m)).toThrow(expect.objectContaining({ errno: EOPNOTSUPP }));
    const cp = saveMachineCheckpoint(createMachine({ memory: '8M' }));
    expect(() => restoreMachineCheckpoint(m, cp)).toThrow(expect.objectContaining({ errno: EINVAL }));
    expect(new ExploreSession(target('balloon-deflate'), { checkpoint: false }).checkpoint).toBeNull();
  });
});

// The search must not depend on how the machine is brought back or on how much is checked per step:
// the same interleavings, states and violation with a checkpoint or a reboot per execution, and with
// the cheap per-step check or the full check after every step.
const MODES: readonly ExploreOptions[] = [
  { checkpoint: false, scopedChecks: false },
  { checkpoint: true, scopedChecks: false },
  { checkpoint: true, scopedChecks: true },
];
const CASES: readonly [string, ScenarioParams][] = [
  ['balloon-deflate', { walkers: 1 }],
  ['balloon-deflate', { fix: false, walkers: 1 }],
  ['hugetlb-isolation', {}],
  ['zsmalloc-free-isolated', {}],
  ['gmem-conversion', {}],
  ['tryget-final-put', { fix: false }],
];

describe('exhaustive search with and without checkpoints', () => {
  it.each(CASES)('%s %j: identical totals and violation in every mode', (name, params) => {
    const runs = MODES.map((o) => explore(name, params, { ...o, bound: 2, noCounterexample: true }));
    const totals = runs.map((r) => ({ interleavings: r.interleavings, states: r.states, steps: r.steps, completed: r.completed, pruned: r.pruned, exhausted: r.exhausted, violation: r.counterexample?.violation.key ?? null, found: r.counterexample?.found ?? null }));
    expect(totals[1]).toEqual(totals[0]);
    expect(totals[2]).toEqual(totals[0]);
    if (runs[0]!.counterexample === null) expect(runs[0]!.interleavings).toBeGreaterThan(1);
    else expect(runs[0]!.counterexample.violation.kind).toBe('bug');
  });
});
