import { frag_show, machineConfigJson } from '@mm/core';
import { meminfo_proc_show } from '@mm/procfs';
import { buddyinfoJson, jsonText, machineLine, zonesJson, zonesText } from '../format.js';
import type { CliIo } from '../io.js';
import { applyMachineFlags, bootMachine, type MachineFlags } from '../machine-spec.js';

/** Options of `mmsim boot`. */
export interface BootFlags extends MachineFlags {
  /** Print JSON. */
  readonly json?: boolean;
}

/**
 * `mmsim boot`: boot a machine from the flags and describe it: its zones, `min_free_kbytes`,
 * `/proc/buddyinfo` and `/proc/meminfo` (text), or the same as JSON.
 */
export async function bootCommand(flags: BootFlags, io: CliIo): Promise<void> {
  const { machine: m, plugins } = await bootMachine(applyMachineFlags({ machine: {}, plugins: [] }, flags));
  if (flags.json) {
    io.stdout.write(
      jsonText({ machine: machineConfigJson(m), plugins, zones: zonesJson(m), min_free_kbytes: m.minFreeKbytes, buddyinfo: buddyinfoJson(m) }),
    );
    return;
  }
  io.stdout.write(`booted ${machineLine(m, plugins)}\n${zonesText(m)}min_free_kbytes ${m.minFreeKbytes}\n\n/proc/buddyinfo:\n${frag_show(m)}\n/proc/meminfo:\n${meminfo_proc_show(m)}`);
}
