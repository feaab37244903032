import { Command, CommanderError, Option } from 'commander';
import { MmError, TraceReplayError, VmBugError } from '@mm/core';
import { SCENARIOS } from '@mm/explore';
import { CliError } from './cli-error.js';
import { bootCommand } from './commands/boot.js';
import { exploreCommand } from './commands/explore.js';
import { addMachineFlags, addRunFlags, collect, wholeNumber } from './commands/options.js';
import { replayCommand } from './commands/replay.js';
import { runCommand } from './commands/run.js';
import { snapshotCommand } from './commands/snapshot.js';
import { soakCommand } from './commands/soak.js';
import { statCommand, STAT_FILES } from './commands/stat.js';
import { vizCommand } from './commands/viz.js';
import { processIo, type CliIo } from './io.js';

/**
 * The `mmsim` command line: commander wiring of the commands, run in-process with the given streams
 * so that tests call it directly.
 *
 * @module
 */

/** Exit status for bad input (a one-line error on stderr). */
export const EXIT_BAD_INPUT = 1;
/** Exit status for a bug in the model or the command (`EX_SOFTWARE`). */
export const EXIT_INTERNAL = 70;

function program(io: CliIo): Command {
  const p = new Command('mmsim')
    .description('Boot, run, snapshot and replay simulated machines of the @mm model of Linux page ownership.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showSuggestionAfterError(true);

  addMachineFlags(p.command('boot').description('boot a machine and print its zones, buddyinfo and meminfo'))
    .option('--json', 'print JSON')
    .action((flags) => bootCommand(flags, io));

  addRunFlags(p.command('run').description('run a scenario (.json, or .ts/.js with a default export { machine?, plugins?, run(ops, m) })').argument('<scenario>'))
    .option('--record <file>', 'write the trace of the run (JSON lines) to <file>')
    .option('--json', 'print JSON')
    .action((scenario: string, flags) => runCommand(scenario, flags, io));

  addRunFlags(p.command('snapshot').description("run a scenario and write the machine's /proc and /sys files under a directory").argument('<scenario>'))
    .requiredOption('--out <dir>', 'snapshot directory (absent or empty)')
    .option('--json', 'print JSON')
    .action((scenario: string, flags) => snapshotCommand(scenario, flags, io));

  addRunFlags(p.command('stat').description('run a scenario and print /proc/meminfo, /proc/buddyinfo and /proc/vmstat as the kernel prints them').argument('<scenario>'))
    .option('--file <name>', `a file to print, repeatable: ${Object.keys(STAT_FILES).join(', ')}`, collect)
    .option('--json', 'print JSON')
    .action((scenario: string, flags) => statCommand(scenario, flags, io));

  addRunFlags(p.command('viz').description('run a scenario and write a self-contained HTML memory map (PFN map by owner, migratetypes, timeline, invariant violations)').argument('<scenario>'))
    .requiredOption('--out <file>', 'the HTML file to write')
    .option('--title <text>', 'title of the report')
    .option('--json', 'print JSON')
    .action((scenario: string, flags) => vizCommand(scenario, flags, io));

  p.command('replay')
    .description('replay a recorded trace (checking every result) or import a kernel page-allocator trace (ftrace, trace-cmd report, perf script)')
    .argument('<trace>')
    .option('--memory <size>', 'kernel traces: RAM of the traced host (default: the traced PFN range)')
    .option('--nodes <n>', 'kernel traces: NUMA nodes', wholeNumber)
    .option('--cpus <n>', 'kernel traces: CPUs', wholeNumber)
    .option('--seed <n>', 'kernel traces: seed of the machine', wholeNumber)
    .option('--debug-vm', 'check every invariant while replaying')
    .option('--out <dir>', 'write a snapshot of the final state to <dir>')
    .addOption(new Option('--no-progress', 'no progress bar (it is drawn only when stderr is a terminal)'))
    .option('--json', 'print JSON')
    .action((trace: string, flags) => replayCommand(trace, flags, io));

  p.command('explore')
    .description(`explore the interleavings of a race scenario (${SCENARIOS.map((s) => s.name).join(', ')}); print a summary and a replayable counterexample`)
    .argument('<scenario>')
    .option('--strategy <s>', 'exhaustive | random | pct', 'exhaustive')
    .option('--bound <n>', 'exhaustive: preemption bound (default 2); pct: priority-change depth (default 3)', wholeNumber)
    .option('--seed <n>', 'random, pct: seed', wholeNumber)
    .option('--runs <n>', 'random, pct: executions (default 10000); exhaustive: a cap', wholeNumber)
    .option('--workers <n>', 'exhaustive: worker threads', wholeNumber)
    .option('--walkers <n>', 'inject RCU walkers (spurious folio_try_get/folio_put)', wholeNumber)
    .option('--no-fix', "switch the scenario's fix off (e.g. stickyPageTypes)")
    .option('--variant <v>', "the scenario's variant (gmem-conversion: deferred | synchronous)")
    .addOption(new Option('--free-strategy <s>', '__folio_put strategy').choices(['owner-ops', 'mainline']))
    .option('--out <file>', 'write the counterexample trace to <file>')
    .option('--json', 'print JSON')
    .action((scenario: string, flags) => exploreCommand(scenario, flags, io));

  p.command('soak')
    .description('seeded random operations across the plugins with every invariant checked; reports operations, errors by design and violations')
    .requiredOption('--ops <n>', 'operations', wholeNumber)
    .option('--seed <n>', 'seed (default 1)', wholeNumber)
    .option('--plugins <name>', 'a plugin to drive, repeatable (default: all the soak drives)', collect)
    .option('--memory <size>', 'machine memory (default 64M)')
    .option('--check-every <n>', 'check the invariants every n operations (default 1)', wholeNumber)
    .option('--json', 'print JSON')
    .action((flags) => soakCommand(flags, io));

  return p;
}

/**
 * Run `mmsim` with the arguments `argv` (without `node` and the script) and return the exit status:
 * 0 on success, {@link EXIT_BAD_INPUT} with a one-line `mmsim: …` error on stderr for bad input
 * (usage errors, `MmError`s, `CliError`s, a trace that does not replay), {@link EXIT_INTERNAL} for
 * anything else.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { main, type CliIo } from '@mm/cli';
 *
 * // Run `mmsim boot --memory 256M --json` in-process and read what it prints.
 * let out = '';
 * const io: CliIo = { stdout: { write: (s: string) => void (out += s) }, stderr: process.stderr };
 * const status = await main(['boot', '--memory', '256M', '--json'], io);
 * console.log(status, Object.keys(JSON.parse(out))); // 0 [ ... ]
 * ```
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    await program(io).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // commander has printed its one-line message (or the help)
    const line = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    if (e instanceof CliError || e instanceof MmError || e instanceof TraceReplayError || e instanceof VmBugError) {
      io.stderr.write(`mmsim: ${line}\n`);
      return EXIT_BAD_INPUT;
    }
    io.stderr.write(`mmsim: internal error: ${line}\n`);
    return EXIT_INTERNAL;
  }
}
