import { resolve } from 'node:path';
import { writeSnapshot } from '@mm/procfs';
import { jsonText } from '../format.js';
import type { CliIo } from '../io.js';
import { runScenarioFile, type RunFlags } from './run.js';

/** Options of `mmsim snapshot`. */
export interface SnapshotFlags extends RunFlags {
  /** The snapshot directory (absent or empty). */
  readonly out: string;
  /** Print JSON. */
  readonly json?: boolean;
}

/**
 * `mmsim snapshot <scenario> --out DIR`: run a scenario and write the machine's `/proc` and `/sys`
 * files under DIR (`@mm/procfs` `writeSnapshot`), for stock tools to read.
 */
export async function snapshotCommand(path: string, flags: SnapshotFlags, io: CliIo): Promise<void> {
  const run = await runScenarioFile(path, flags, io);
  const s = await writeSnapshot(run.machine, resolve(io.cwd ?? process.cwd(), flags.out));
  if (flags.json) {
    io.stdout.write(jsonText({ scenario: path, operations: run.operations, dir: flags.out, files: s.files, bytes: s.bytes }));
    return;
  }
  io.stdout.write(`${path}: ${run.operations} operations; wrote ${s.files} files (${s.bytes} bytes) to ${flags.out}\n`);
}
