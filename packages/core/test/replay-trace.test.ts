import { describe, expect, it } from 'vitest';
import {
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  TraceReplayError,
  TraceReplayer,
  captureMachineState,
  createMachine,
  diffMachineState,
  recordOperations,
  replayTrace,
  replayOptions,
  EINVAL,
  MmError,
  type Folio,
  type Machine,
} from '../src/index.js';

/**
 * `replayTrace` reads a trace as lines, as one string or as the bytes of a file; the in-place reader
 * of the bytes must give exactly what `JSON.parse` of each line gives: the same operations, the same
 * machine, the same errors at the same line numbers.
 */

function recorded(): { m: Machine; lines: string[] } {
  const m = createMachine({ memory: '32M', cpus: 2, seed: 4 });
  const lines: string[] = [];
  const ops = recordOperations(m, (l) => lines.push(l));
  const held: Folio[] = [];
  for (let i = 0; i < 40; i++) {
    const f = ops.folio_alloc(i % 2 ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE, i % 4);
    if (f !== -1) held.push(f);
    if (i % 5 === 0) ops.setCpu(i % 2);
  }
  ops.folios_put(held.slice(0, 6));
  for (const f of held.slice(6, 12)) {
    ops.__folio_set_swapbacked(f);
    ops.folio_add_lru(f);
  }
  ops.lru_add_drain_all();
  expect(() => ops.folio_unlock(held[20]!)).toThrow(); // an "err" line
  ops.drain_all_pages(null);
  expect(ops.compact_node(0)).toEqual(expect.any(Array)); // a list result
  return { m, lines };
}

/** The error `replayTrace(input)` throws (its message), or null. */
function failure(input: Parameters<typeof replayTrace>[0]): string | null {
  try {
    replayTrace(input);
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(TraceReplayError);
    return (e as Error).message;
  }
}

describe('replayTrace input forms', () => {
  const { m, lines } = recorded();
  const text = `${lines.join('\n')}\n`;

  it('lines, text, text without its final newline, bytes and CRLF text replay to the same machine', () => {
    const forms = {
      lines,
      text,
      unterminated: lines.join('\n'),
      bytes: new TextEncoder().encode(text),
      buffer: Buffer.from(text),
      crlf: `${lines.join('\r\n')}\r\n`, // off the recorder's shape: every line goes through JSON.parse
    };
    for (const [name, input] of Object.entries(forms)) {
      const r = replayTrace(input);
      expect(r.operations, name).toBe(lines.length - 1);
      expect(r.lines, name).toBe(lines.length);
      expect(diffMachineState(captureMachineState(m), captureMachineState(r.machine)), name).toEqual([]);
    }
  });

  it('blank lines count and are skipped in every form', () => {
    const blank = ['', lines[0]!, '', '   ', ...lines.slice(1), ''];
    expect(replayTrace(blank).lines).toBe(blank.length);
    // In a text, a final newline ends the last line: it does not start another.
    expect(replayTrace(`${blank.join('\n')}\n`).lines).toBe(blank.length);
    expect(replayTrace(blank.join('\n')).lines).toBe(blank.length - 1);
    expect(replayTrace(blank.join('\n')).operations).toBe(lines.length - 1);
  });

  it('every line, well formed or not, fails or passes the same way as text and as lines', () => {
    const h = lines[0]!;
    const cases = [
      '{"op":"setCpu","args":[1],"ret":null}',
      '{"op":"setCpu","args":[1.0],"ret":null}',
      ' {"op": "setCpu", "args": [1], "ret": null} ',
      '{"op":"setCpu","args":[1],"ret":null,"task":"é"}',
      '{"op":"set\\u0043pu","args":[1],"ret":null}',
      '{"op":"setCpu","args":[01],"ret":null}',
      '{"op":"setCpu","args":[1],"ret":null}x',
      '{"op":"setCpu","args":[1],"ret":null',
      '{"op":"setCpu","args":[-1],"ret":null}',
      '{"op":"setCpu","args":[-1],"err":"EINVAL"}',
      '{"op":"setCpu","args":[-1],"err":"EBUSY"}',
      '{"op":"setCpu","args":[-1],"err":"E2BIG"}',
      '{"op":"setCpu","args":[1],"ret":false}',
      '{"op":"setCpu","args":[1,2],"ret":null}',
      '{"op":"setCpu","args":[true],"ret":null}',
      '{"op":"setCpu","args":[[1]],"ret":null}',
      '{"op":"setCpu","args":[9007199254740993],"ret":null}',
      '{"op":"nope","args":[],"ret":null}',
      '{"op":"setCpu"',
      '{"op":"folio_put"}',
      'folio_put 4096',
    ];
    for (const c of cases) {
      const want = failure([h, c]);
      expect(failure(`${h}\n${c}\n`), c).toBe(want);
      expect(failure(`${h}\n${c}`), c).toBe(want);
      if (want !== null) expect(want, c).toMatch(/^trace line 2: /);
    }
    // Six of them replay (JSON.parse reads them alike); the rest fail.
    expect(cases.filter((c) => failure([h, c]) === null)).toEqual([cases[0], cases[1], cases[2], cases[3], cases[4], cases[9]]);
    // The line number of a failure deep in a text.
    const tampered = [...lines];
    const k = lines.findIndex((l) => l.startsWith('{"op":"folios_put"'));
    tampered[k] = tampered[k]!.replace('"ret":null', '"ret":0');
    expect(failure(tampered.join('\n'))).toMatch(new RegExp(`^trace line ${k + 1}: folios_put returned null; the trace says it returned 0$`));
  });

  it('step reads one line; a text holding a newline is parsed whole', () => {
    const r = new TraceReplayer(lines[0]!);
    r.step('{"op":"setCpu","args":[1],\n"ret":null}', 2);
    expect(r.machine.cpu).toBe(1);
    expect(r.run(new TextEncoder().encode('{"op":"setCpu","args":[0],"ret":null}\n\n'), 0, 3)).toBe(4);
    expect(r.machine.cpu).toBe(0);
    expect(r.operations).toBe(2);
  });
});

describe('TraceReplayer.step', () => {
  it('reads nothing of an earlier, longer line', () => {
    const h = createMachine({ memory: '24M', cpus: 2 });
    const header = (() => {
      const out: string[] = [];
      recordOperations(h, (l) => out.push(l));
      return out[0]!;
    })();
    const r = new TraceReplayer(header);
    r.step('{"op":"setCpu","args":[1],"ret":null}\n', 2); // JSON.parse reads it (whitespace after the object)
    expect(() => r.step('{"op":"setCpu","args":[1],"ret":nu', 3)).toThrow(/^trace line 3: not JSON$/);
    expect(() => r.step('{"op":"setCpu","args":[1],"ret":null', 4)).toThrow(/^trace line 4: not JSON$/);
    r.step('{"op":"setCpu","args":[0],"ret":null}', 5);
    expect(r.machine.cpu).toBe(0);
    // Cut inside the operation's name: what follows in the buffer is the earlier line's `","args":[`.
    expect(() => r.step('{"op":"setCpu', 6)).toThrow(/^trace line 6: not JSON$/);
    expect(r.operations).toBe(2);
  });
});

describe('replayOptions', () => {
  it('gives {} for no options, the object for known keys, and EINVAL naming the operation otherwise', () => {
    expect(replayOptions('hugetlbfs_mount', undefined, ['pagesize'])).toEqual({});
    expect(replayOptions('hugetlbfs_mount', { pagesize: 2097152 }, ['pagesize'])).toEqual({ pagesize: 2097152 });
    for (const bad of [{ size: 1 }, [1], 'x', null]) {
      let e: unknown;
      try {
        replayOptions('hugetlbfs_mount', bad, ['pagesize']);
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(MmError);
      expect((e as MmError).errno).toBe(EINVAL);
      expect((e as MmError).message).toMatch(/^EINVAL: hugetlbfs_mount: options /);
    }
  });
});
