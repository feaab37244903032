import { Checkpointable, EINVAL, MmError, ReplayableOperations, defineReplayableOperation, type MmPlugin } from '@mm/core';
import type { DependencyContainer } from 'tsyringe';
import { Machine } from '@mm/core';
import { findScenario } from '../scenarios/registry.js';
import type { ScenarioInstance, ScenarioParams } from '../scenarios/scenario.js';
import { ExploreConfig, ExploreState } from './explore-state.js';

/** Options of {@link explorePlugin}, also read from `pluginOptions.explore` (where a trace header keeps them). */
export interface ExplorePluginOptions {
  /** The scenario's name (see `SCENARIOS`). */
  readonly scenario: string;
  /** Its parameters. */
  readonly params?: ScenarioParams;
}

/**
 * The explorer's plugin: per-machine {@link ExploreState} for the named scenario and two replayable
 * operations, so that a counterexample is an ordinary trace: `exploreSetup()` (run the scenario's
 * setup, returns its summary) and `exploreStep(task)` (one step of task `task`, returns its label,
 * then checks every invariant). List it after the owner plugins the scenario needs.
 * `MmError(EINVAL)` at boot for an unknown scenario.
 */
export function explorePlugin(options?: ExplorePluginOptions): MmPlugin {
  return {
    meta: { name: 'explore', version: '0.1.0' },
    register(c: DependencyContainer): void {
      const fromMachine = c.resolve(Machine).config.pluginOptions['explore'] as ExplorePluginOptions | undefined;
      const o = options ?? fromMachine;
      if (o === undefined || typeof o.scenario !== 'string') {
        throw new MmError(EINVAL, 'explorePlugin: no scenario', { rule: 'pluginOptions.explore = { scenario, params }' });
      }
      const config: ExploreConfig = { scenario: findScenario(o.scenario), params: o.params ?? {} };
      c.register(ExploreConfig, { useValue: config });
      c.registerSingleton(ExploreState);
      // A checkpoint taken right after a setup whose scenario can restart (no task has run) keeps that
      // setup: a restore starts its tasks again. Any other checkpoint forgets the setup (it is re-run
      // after a restore).
      c.register(Checkpointable, {
        useFactory: (x) => {
          const state = x.resolve(ExploreState);
          return {
            plugin: 'explore',
            save: () => (state.atStart && state.instance!.restart !== undefined ? state.instance : null),
            restore: (saved: unknown) => (saved === null ? state.reset() : state.restart(saved as ScenarioInstance)),
          };
        },
      });
      c.register(ReplayableOperations, {
        useValue: {
          operations: [
            defineReplayableOperation('exploreSetup', [], (m) => m.container.resolve(ExploreState).setup()),
            defineReplayableOperation('exploreStep', ['int'], (m, task: number) => m.container.resolve(ExploreState).step(task)),
          ],
        },
      });
    },
  };
}
