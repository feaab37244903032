import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { VmBugError, recordOperations } from '@mm/core';
import { VizRecorder, renderVizReport, vizViolation, type VizViolation } from '@mm/viz';
import { jsonText } from '../format.js';
import type { CliIo } from '../io.js';
import { applyMachineFlags, bootMachine } from '../machine-spec.js';
import { loadScenario } from '../scenario.js';
import type { RunFlags } from './run.js';

/** Options of `mmsim viz`. */
export interface VizFlags extends RunFlags {
  /** The HTML file to write. */
  readonly out: string;
  /** The report's title (default `mmsim viz <scenario>`). */
  readonly title?: string;
  /** Print JSON. */
  readonly json?: boolean;
}

/**
 * `mmsim viz <scenario> --out FILE`: run a scenario with its operations and tracepoints recorded
 * (`@mm/viz` `VizRecorder`), then write one self-contained HTML memory map of the final state
 * (`renderVizReport`): the PFN map by owner, migratetypes, the timeline with buddyinfo, and the
 * invariant violations. A scenario that breaks an invariant (a `VmBugError` under `--debug-vm`) still
 * gets its report, with the violation marked, and then fails as `mmsim run` would.
 */
export async function vizCommand(path: string, flags: VizFlags, io: CliIo): Promise<void> {
  const { scenario } = await loadScenario(path, io.cwd);
  const spec = applyMachineFlags({ machine: scenario.machine ?? {}, plugins: scenario.plugins ?? [] }, flags);
  const { machine, plugins } = await bootMachine(spec);
  const recorder = new VizRecorder(machine);
  const ops = recordOperations(machine, recorder.sink, { plugins });
  const violations: VizViolation[] = [];
  let bug: VmBugError | null = null;
  try {
    await scenario.run(ops, machine);
  } catch (e) {
    if (!(e instanceof VmBugError)) throw e;
    bug = e;
    violations.push(vizViolation(e));
  } finally {
    recorder.detach();
  }
  const html = await renderVizReport(machine, { title: flags.title ?? `mmsim viz ${path}`, timeline: recorder.timeline(), violations });
  const out = resolve(io.cwd ?? process.cwd(), flags.out);
  await writeFile(out, html);
  const bytes = Buffer.byteLength(html);
  if (flags.json) {
    io.stdout.write(jsonText({ scenario: path, operations: ops.count, out: flags.out, bytes, violations }));
  } else {
    io.stdout.write(
      `${path}: ${ops.count} operations; wrote ${flags.out} (${bytes} bytes)` +
        (violations.length === 0 ? '\n' : `; ${violations.length} invariant violation(s) marked\n`),
    );
  }
  if (bug !== null) throw bug;
}
