/** Minimal parsers for the snapshot files, written from the formats (not from the code under test). */

/** `Key: value [kB]` lines (also `Node N Key: value`), by key. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of text.trim().split('\n')) {
    const r = /^(?:Node \d+ )?([^:]+):\s+(\d+)/.exec(l);
    if (!r) throw new Error(`bad meminfo line ${JSON.stringify(l)}`);
    out.set(r[1]!, Number(r[2]));
  }
  return out;
}

/** `/proc/buddyinfo` rows. */
export function parseBuddyinfo(text: string): { nid: number; zone: string; counts: number[] }[] {
  return text
    .trim()
    .split('\n')
    .map((l) => {
      const r = /^Node (\d+), zone\s+(\S+)\s+(.*)$/.exec(l)!;
      return { nid: Number(r[1]), zone: r[2]!, counts: r[3]!.trim().split(/\s+/).map(Number) };
    });
}

/** `name value` lines (vmstat, numastat, sysctl files). */
export function parsePairs(text: string): Map<string, number> {
  return new Map(
    text
      .trim()
      .split('\n')
      .map((l) => {
        const [k, v] = l.split(' ');
        return [k!, Number(v)] as [string, number];
      }),
  );
}

/** `/proc/pagetypeinfo` free-count rows: node, zone, migratetype, counts per order. */
export function parsePagetypeFree(text: string): { nid: number; zone: string; type: string; counts: number[] }[] {
  const out: { nid: number; zone: string; type: string; counts: number[] }[] = [];
  for (const l of text.split('\n')) {
    const r = /^Node\s+(\d+), zone\s+(\S+), type\s+(\S+)\s+(.*)$/.exec(l);
    if (r) out.push({ nid: Number(r[1]), zone: r[2]!, type: r[3]!, counts: r[4]!.trim().split(/\s+/).map((x) => Number(x.replace('>', ''))) });
  }
  return out;
}

/** `/proc/zoneinfo`: per zone, the `key value` pairs of its block (first token as key). */
export function parseZoneinfo(text: string): { nid: number; zone: string; values: Map<string, string> }[] {
  return text
    .split(/(?<=\n)(?=Node \d+, zone)/)
    .map((b) => {
      const [head, ...rest] = b.trim().split('\n');
      const r = /^Node (\d+), zone\s+(\S+)$/.exec(head!)!;
      const values = new Map<string, string>();
      for (const l of rest) {
        const t = l.trim().replace(/^pages free/, 'free');
        const i = t.search(/[\s:]/);
        if (i > 0 && !values.has(t.slice(0, i))) values.set(t.slice(0, i), t.slice(i + 1).trim());
      }
      return { nid: Number(r[1]), zone: r[2]!, values };
    });
}

/** A kpageflags/kpagecount file as its little-endian u64 values. */
export function u64s(data: Uint8Array): bigint[] {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return Array.from({ length: data.byteLength / 8 }, (_, i) => dv.getBigUint64(i * 8, true));
}
