import { InvalidArgumentError, Option, type Command } from 'commander';

/**
 * Option definitions shared by the commands.
 *
 * @module
 */

/** Parse a whole number option value (commander prints a one-line error otherwise). */
export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('not a whole number.');
  return Number(value);
}

/** Parse `a,b,c` into names. */
export function nameList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Collect a repeatable option's values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `--seed`, `--strategy` and `--debug-vm`: what may override a scenario's machine. */
export function addRunFlags(cmd: Command): Command {
  return cmd
    .option('--seed <n>', 'seed of the machine (overrides the scenario)', wholeNumber)
    .addOption(new Option('--strategy <name>', '__folio_put dispatch (overrides the scenario)').choices(['owner-ops', 'mainline']))
    .option('--debug-vm', 'check every invariant after each operation (CONFIG_DEBUG_VM)');
}

/** The machine options of `mmsim boot`. */
export function addMachineFlags(cmd: Command): Command {
  return addRunFlags(
    cmd
      .option('--memory <size>', 'RAM, as the kernel command line writes sizes (16G, 512M)', '1G')
      .option('--nodes <n>', 'NUMA nodes (RAM is split evenly)', wholeNumber)
      .option('--cpus <n>', 'CPUs', wholeNumber)
      .option('--movablecore <size>', 'ZONE_MOVABLE size (movablecore=)')
      .option('--plugins <names>', 'owner plugins, comma-separated: hugetlb,zone-device,guest-memfd,balloon,zsmalloc', nameList)
      .option('--plugin-opt <plugin.key=value>', 'a plugin option, repeatable (hugetlb.cmdline="hugepages=16", zsmalloc.chainSize=4)', collect),
  );
}
