import type { DependencyContainer } from 'tsyringe';
import { FolioOwnerOps, InvariantCheck, type MmPlugin } from '@mm/core';
import { GuestMemfd } from './gmem/guest-memfd.js';
import { GuestMemfdInvariants } from './gmem/invariants.js';

/**
 * The guest_memfd plugin: registers the per-machine {@link GuestMemfd} state as a singleton of the
 * machine's container, as the machine's guest_memfd folio owner (`FolioOwnerOps`, with its mainline
 * branch), and the §13 §6 invariant check.
 *
 * @example
 * ```ts
 * const m = createMachine({ memory: '64M', plugins: [guestMemfdPlugin()] });
 * const vm = kvm_create_vm(m);
 * const gmem = kvm_gmem_create(m, vm, 2 << 20, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
 * ```
 */
export function guestMemfdPlugin(): MmPlugin {
  return {
    meta: { name: 'guest-memfd', version: '0.1.0' },
    register(container: DependencyContainer): void {
      container.registerSingleton(GuestMemfd);
      container.register(FolioOwnerOps, { useToken: GuestMemfd });
      container.register(InvariantCheck, { useClass: GuestMemfdInvariants });
    },
  };
}
