import { Checkpointable } from '@mm/core';
import type { GuestMemfd } from './gmem/guest-memfd.js';
import { restoreGmemObjects, saveGmemObjects, type GmemObjectsCopy } from './gmem/gmem-objects-checkpoint.js';

/** What {@link GmemCheckpoint} saves. */
interface GmemCopy {
  readonly marks: Uint8Array;
  readonly freeCalls: number;
  readonly lastIno: number;
  readonly objects: GmemObjectsCopy;
}

/**
 * The guest_memfd plugin's side of a machine checkpoint (`saveMachineCheckpoint`): the per-page
 * marks, the counters, and the files, their VMAs, the VMs, the pending conversions and the lent
 * hugetlb memory (`saveGmemObjects`). A restore puts the same objects back with their saved
 * contents and drops those created after the save.
 */
export class GmemCheckpoint implements Checkpointable {
  /** Covers the `guest-memfd` plugin. */
  readonly plugin = 'guest-memfd';
  private readonly g: GuestMemfd;

  /** For the machine's guest_memfd state. */
  constructor(g: GuestMemfd) {
    this.g = g;
  }

  /** Copy the state. */
  save(): GmemCopy {
    const g = this.g;
    return { marks: g.marks.slice(), freeCalls: g.freeCalls, lastIno: g.lastIno, objects: saveGmemObjects(g) };
  }

  /** Put a saved state back. */
  restore(saved: unknown): void {
    const s = saved as GmemCopy;
    const g = this.g;
    restoreGmemObjects(g, s.objects);
    if (g.marks.length === s.marks.length) g.marks.set(s.marks);
    else g.marks = s.marks.slice();
    g.freeCalls = s.freeCalls;
    g.lastIno = s.lastIno;
  }
}
