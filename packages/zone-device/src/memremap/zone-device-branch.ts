import { MAINLINE_BRANCH_ZONE_DEVICE, Machine, folio_is_zone_device, type Folio, type FolioOwnerOps, type MainlineFreeBranch } from '@mm/core';
import { inject, injectable } from 'tsyringe';
import { free_zone_device_folio } from './free-zone-device-folio.js';

/**
 * Mainline's explicit zone-device branch of `__folio_put` (`mm/swap.c`:
 * `if (unlikely(folio_is_zone_device(folio))) { free_zone_device_folio(folio); return; }`), provided to
 * the core as a {@link FolioOwnerOps} with a `mainline` branch. It is only consulted when the machine
 * runs the `mainline` strategy; under `owner-ops` each pgmap is itself the owner ops its tagged pgmap
 * word points at, and this provider is installed but never reached. Both end in
 * `free_zone_device_folio`, so the observable result is the same.
 */
@injectable()
export class ZoneDeviceBranch implements FolioOwnerOps {
  /** Same owner name as every pgmap, so `folio_freed` events match across strategies. */
  readonly name = 'zone_device';
  /** Position 0 in `__folio_put` (before hugetlb); claims every ZONE_DEVICE folio. */
  readonly mainline: MainlineFreeBranch;

  /** The branch for machine `m`. */
  constructor(@inject(Machine) private readonly m: Machine) {
    this.mainline = { order: MAINLINE_BRANCH_ZONE_DEVICE, claims: (folio: Folio) => folio_is_zone_device(m, folio) };
  }

  /** `free_zone_device_folio(folio)`: dispatches on the folio's own pgmap. */
  free(folio: Folio): void {
    free_zone_device_folio(this.m, folio);
  }
}
