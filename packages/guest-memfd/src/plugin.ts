import type { DependencyContainer } from 'tsyringe';
import { Checkpointable, FolioOwnerOps, InvariantCheck, ReplayableOperations, type MmPlugin } from '@mm/core';
import { GmemCheckpoint } from './checkpoint.js';
import { GuestMemfd } from './gmem/guest-memfd.js';
import { GuestMemfdInvariants } from './gmem/invariants.js';
import { GuestMemfdReplayOperations } from './replay-operations.js';

/**
 * The guest_memfd plugin: registers the per-machine {@link GuestMemfd} state as a singleton of the
 * machine's container, as the machine's guest_memfd folio owner (`FolioOwnerOps`, with its mainline
 * branch), and the §13 §6 invariant check.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { createMachine } from '@mm/core';
 * import { GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, guestMemfdPlugin, kvm_create_vm, kvm_gmem_create } from '@mm/guest-memfd';
 *
 * const m = createMachine({ memory: '64M', plugins: [guestMemfdPlugin()] });
 * const vm = kvm_create_vm(m);
 * const gmem = kvm_gmem_create(m, vm, 2 << 20, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
 * console.log(gmem.nrPages); // 512
 * ```
 */
export function guestMemfdPlugin(): MmPlugin {
  return {
    meta: { name: 'guest-memfd', version: '0.1.0' },
    register(container: DependencyContainer): void {
      container.registerSingleton(GuestMemfd);
      container.register(FolioOwnerOps, { useToken: GuestMemfd });
      container.register(InvariantCheck, { useClass: GuestMemfdInvariants });
      container.register(Checkpointable, { useFactory: (x) => new GmemCheckpoint(x.resolve(GuestMemfd)) });
      container.registerSingleton(GuestMemfdReplayOperations);
      container.register(ReplayableOperations, { useToken: GuestMemfdReplayOperations });
    },
  };
}
