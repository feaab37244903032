import { FolioOwnerOps, InvariantCheck, ReplayableOperations, type MmPlugin } from '@mm/core';
import type { DependencyContainer } from 'tsyringe';
import { ZoneDeviceInvariants } from './debug/zone-device-invariants.js';
import { AnonVmaTable } from './mm/anon-vma.js';
import { ZoneDeviceBranch } from './memremap/zone-device-branch.js';
import { ZoneDeviceState } from './memremap/zone-device-state.js';
import { ZoneDeviceReplayOperations } from './replay-operations.js';

/**
 * The `@mm/zone-device` plugin: gives the machine CONFIG_ZONE_DEVICE. Registers, in the machine's own
 * container, the per-machine {@link ZoneDeviceState} (`pgmap_array`, device zones), the anon-VMA table
 * of the minimal process-memory model, the mainline `__folio_put` zone-device branch
 * ({@link ZoneDeviceBranch}, a `FolioOwnerOps` provider with a `mainline` branch) and the §13 §5
 * {@link ZoneDeviceInvariants}. Under `owner-ops` each pgmap installs itself as owner ops when mapped.
 */
export function zoneDevicePlugin(): MmPlugin {
  return {
    meta: { name: 'zone-device', version: '0.1.0' },
    register(c: DependencyContainer): void {
      c.registerSingleton(ZoneDeviceState);
      c.registerSingleton(AnonVmaTable);
      c.registerSingleton(ZoneDeviceBranch);
      c.register(FolioOwnerOps, { useToken: ZoneDeviceBranch });
      c.register(InvariantCheck, { useClass: ZoneDeviceInvariants });
      c.registerSingleton(ZoneDeviceReplayOperations);
      c.register(ReplayableOperations, { useToken: ZoneDeviceReplayOperations });
    },
  };
}
