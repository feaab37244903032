import { frag_show, type Machine } from '@mm/core';
import { meminfo_proc_show, meminfoValues, pagetypeinfo_show, vmstat_show, vmstatValues, zoneinfo_show } from '@mm/procfs';
import { CliError } from '../cli-error.js';
import { buddyinfoJson, jsonText } from '../format.js';
import type { CliIo } from '../io.js';
import { runScenarioFile, type RunFlags } from './run.js';

/** The `/proc` files `mmsim stat` prints, by name: text as the kernel prints it, and JSON. */
export const STAT_FILES: Readonly<Record<string, { readonly text: (m: Machine) => string; readonly json: (m: Machine) => unknown }>> = {
  meminfo: { text: (m) => meminfo_proc_show(m), json: (m) => Object.fromEntries(meminfoValues(m)) },
  buddyinfo: { text: frag_show, json: buddyinfoJson },
  vmstat: { text: vmstat_show, json: (m) => Object.fromEntries(vmstatValues(m)) },
  zoneinfo: { text: zoneinfo_show, json: (m) => zoneinfo_show(m) },
  pagetypeinfo: { text: pagetypeinfo_show, json: (m) => pagetypeinfo_show(m) },
};

/** Options of `mmsim stat`. */
export interface StatFlags extends RunFlags {
  /** Which files (default meminfo, buddyinfo, vmstat). */
  readonly file?: readonly string[];
  /** Print JSON. */
  readonly json?: boolean;
}

/**
 * `mmsim stat <scenario>`: run a scenario and print `/proc/meminfo`, `/proc/buddyinfo` and
 * `/proc/vmstat` as the kernel prints them (several files are separated by `==> /proc/NAME <==`
 * headers, as `head` separates files; one file is printed alone), or their values as JSON.
 */
export async function statCommand(path: string, flags: StatFlags, io: CliIo): Promise<void> {
  const files = flags.file ?? ['meminfo', 'buddyinfo', 'vmstat'];
  for (const f of files) if (!Object.hasOwn(STAT_FILES, f)) throw new CliError(`--file ${f}: not one of ${Object.keys(STAT_FILES).join(', ')}`);
  const { machine: m } = await runScenarioFile(path, flags, io);
  if (flags.json) {
    io.stdout.write(jsonText(Object.fromEntries(files.map((f) => [f, STAT_FILES[f]!.json(m)]))));
    return;
  }
  if (files.length === 1) {
    io.stdout.write(STAT_FILES[files[0]!]!.text(m));
    return;
  }
  io.stdout.write(files.map((f) => `==> /proc/${f} <==\n${STAT_FILES[f]!.text(m)}`).join('\n'));
}
