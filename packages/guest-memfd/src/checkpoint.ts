import { Checkpointable, EOPNOTSUPP, MmError } from '@mm/core';
import type { GuestMemfd } from './gmem/guest-memfd.js';

/** What {@link GmemCheckpoint} saves. */
interface GmemCopy {
  readonly marks: Uint8Array;
  readonly freeCalls: number;
  readonly lastIno: number;
}

/**
 * The guest_memfd plugin's side of a machine checkpoint (`saveMachineCheckpoint`): the per-page
 * marks and the counters. Files, VMs, pending conversions and lent folios are not copied: `save`
 * throws `MmError(EOPNOTSUPP)` if any exist (a checkpoint is meant to be taken right after boot),
 * and `restore` drops those created after the save.
 */
export class GmemCheckpoint implements Checkpointable {
  /** Covers the `guest-memfd` plugin. */
  readonly plugin = 'guest-memfd';
  private readonly g: GuestMemfd;

  /** For the machine's guest_memfd state. */
  constructor(g: GuestMemfd) {
    this.g = g;
  }

  /** Copy the state; `MmError(EOPNOTSUPP)` if a file, VM, pending conversion or lent folio exists. */
  save(): GmemCopy {
    const g = this.g;
    if (g.files.size > 0 || g.vms.length > 0 || g.pending.size > 0 || g.lent.size > 0) {
      throw new MmError(EOPNOTSUPP, 'guest_memfd checkpoint: files, VMs, conversions or lent folios exist', { rule: 'checkpoint guest_memfd before creating files or VMs' });
    }
    return { marks: g.marks.slice(), freeCalls: g.freeCalls, lastIno: g.lastIno };
  }

  /** Put a saved state back. */
  restore(saved: unknown): void {
    const s = saved as GmemCopy;
    const g = this.g;
    g.files.clear();
    g.vms.length = 0;
    g.pending.clear();
    g.lent.clear();
    if (g.marks.length === s.marks.length) g.marks.set(s.marks);
    else g.marks = s.marks.slice();
    g.freeCalls = s.freeCalls;
    g.lastIno = s.lastIno;
  }
}
