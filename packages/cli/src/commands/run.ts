import { frag_show, machineConfigJson } from '@mm/core';
import { meminfoValues } from '@mm/procfs';
import { resolve } from 'node:path';
import { buddyinfoJson, jsonText, machineLine } from '../format.js';
import type { CliIo } from '../io.js';
import type { MachineFlags } from '../machine-spec.js';
import { loadScenario, runScenario, type ScenarioRun } from '../scenario.js';
import { openTraceFile } from '../trace-file.js';

/** Options of `mmsim run`, `snapshot` and `stat` that change the scenario's machine. */
export type RunFlags = Pick<MachineFlags, 'seed' | 'strategy' | 'debugVm'>;

/** Load and run a scenario, recording its trace to `record` if given. */
export async function runScenarioFile(path: string, flags: RunFlags, io: CliIo, record?: string): Promise<ScenarioRun & { readonly traceLines: number | null }> {
  const { scenario } = await loadScenario(path, io.cwd);
  const file = record === undefined ? null : openTraceFile(resolve(io.cwd ?? process.cwd(), record));
  try {
    const run = await runScenario(scenario, flags, file?.sink ?? null);
    return { ...run, traceLines: file === null ? null : file.close() };
  } catch (e) {
    file?.close();
    throw e;
  }
}

/** Options of `mmsim run`. */
export interface RunCommandFlags extends RunFlags {
  /** Write the trace of the run here. */
  readonly record?: string;
  /** Print JSON. */
  readonly json?: boolean;
}

/**
 * `mmsim run <scenario>`: run a scenario and describe the result: operations run, the machine, its
 * `/proc/buddyinfo` and free memory (or JSON); with `--record FILE`, the run's trace.
 */
export async function runCommand(path: string, flags: RunCommandFlags, io: CliIo): Promise<void> {
  const run = await runScenarioFile(path, flags, io, flags.record);
  const m = run.machine;
  const meminfo = meminfoValues(m);
  if (flags.json) {
    io.stdout.write(
      jsonText({
        scenario: path,
        operations: run.operations,
        machine: machineConfigJson(m),
        plugins: run.plugins,
        ...(flags.record === undefined ? {} : { trace: flags.record, traceLines: run.traceLines }),
        meminfo: Object.fromEntries(meminfo),
        buddyinfo: buddyinfoJson(m),
      }),
    );
    return;
  }
  const kb = (k: string): string => `${meminfo.get(k)} kB`;
  io.stdout.write(
    `${path}: ${run.operations} operations on ${machineLine(m, run.plugins)}\n` +
      (flags.record === undefined ? '' : `trace: ${flags.record} (${run.traceLines} lines)\n`) +
      `MemTotal ${kb('MemTotal')}, MemFree ${kb('MemFree')}, MemAvailable ${kb('MemAvailable')}\n\n/proc/buddyinfo:\n${frag_show(m)}`,
  );
}
