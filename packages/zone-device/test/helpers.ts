import { captureMachineState, createMachine, diffMachineState, type FreeDispatchStrategy, type Machine, type MachineState } from '@mm/core';
import { zoneDevicePlugin } from '../src/index.js';

/** Both `__folio_put` strategies: every scenario runs under each. */
export const STRATEGIES: readonly FreeDispatchStrategy[] = ['owner-ops', 'mainline'];

/** A small machine with ZONE_DEVICE support and CONFIG_DEBUG_VM checks after every operation. */
export function machine(strategy: FreeDispatchStrategy, extra: Parameters<typeof createMachine>[0] = {}): Machine {
  return createMachine({ memory: '64M', strategy, debugVm: true, plugins: [zoneDevicePlugin()], ...extra });
}

/** Record every `folio_freed` event (the owner callback dispatch) as `"pfn:owner"`. */
export function recordFrees(m: Machine): string[] {
  const log: string[] = [];
  m.trace.on('folio_freed', (e) => log.push(`${e.folio}:${e.owner}`));
  return log;
}

/** Everything about the machine a rejected call must leave alone, including the memmap's size. */
export function snapshot(m: Machine): MachineState {
  return captureMachineState(m);
}

/** Differences between a snapshot and now. */
export function changes(before: MachineState, m: Machine): string[] {
  return diffMachineState(before, captureMachineState(m));
}
