import type { Machine } from '@mm/core';
import { GuestMemfd } from '../gmem/guest-memfd.js';

/**
 * `struct kvm` reduced to an identity and the one architecture property guest_memfd asks about.
 * Memslots and bindings are not modelled: a guest_memfd index is the guest's frame number.
 */
export class Kvm {
  /** VM number on this machine. */
  readonly id: number;
  /**
   * `kvm_arch_supports_gmem_init_shared(kvm)`: whether `GUEST_MEMFD_FLAG_INIT_SHARED` is accepted
   * (x86 refuses it for VMs with private memory, e.g. SEV-SNP/TDX; the weak default is true).
   */
  readonly supportsInitShared: boolean;

  /** A VM with id `id`. */
  constructor(id: number, supportsInitShared: boolean) {
    this.id = id;
    this.supportsInitShared = supportsInitShared;
  }
}

/** What {@link kvm_create_vm} accepts. */
export interface KvmCreateOptions {
  /** Whether the architecture accepts INIT_SHARED for this VM (default true). */
  readonly supportsInitShared?: boolean;
}

/**
 * `kvm_create_vm(type)` (`virt/kvm/kvm_main.c`), reduced to handing out a {@link Kvm}. Needs the
 * guest_memfd plugin on the machine (`MmError(ENODEV)` otherwise).
 */
export function kvm_create_vm(m: Machine, options: KvmCreateOptions = {}): Kvm {
  const gmem = GuestMemfd.of(m);
  const kvm = new Kvm(gmem.vms.length + 1, options.supportsInitShared ?? true);
  gmem.vms.push(kvm);
  return kvm;
}
