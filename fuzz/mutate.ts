// Copyright 2026 the airlock authors. MIT license.

/**
 * Structure-aware mutation of a recorded transcript, driven by fuzzer bytes. An input is a header and then
 * either raw peer bytes (libFuzzer mutates real recorded flights byte by byte) or a program of record- and
 * message-level operations on one side's recorded records: drop, duplicate, reorder, split and merge records,
 * change lengths, add, remove, duplicate and reorder extensions, inject alerts, ChangeCipherSpecs, KeyUpdates,
 * tickets, renegotiation requests and application data, flip bytes inside or outside the protection. Protected
 * records are resealed with the recorded keys (the fuzzer plays a peer that knows its own keys), so mutations
 * reach the handshake and post-handshake code instead of stopping at bad_record_mac; `rawFlip` leaves a
 * record's ciphertext broken on purpose. A TLS 1.3 record hides its type inside (outside it is
 * application_data); a TLS 1.2 record shows it, and it is authenticated, so changing it reseals the record.
 *
 * Input layout: byte 0 = mode (bit 7: program, else raw) and knobs (chunk size, BIO capacity, actions);
 * byte 1 = scenario index; then the raw bytes or the program.
 * @module
 */

import { ContentType as CT, HandshakeType as H } from "../engine/msgs/enums.ts";
import { concat } from "../suites/bytes.ts";
import {
  protection,
  type RecordedRecord,
  type ScenarioName,
  SCENARIOS,
  type Side,
  wireBytes,
} from "./transcript.ts";

/** What to run: the peer's flights and how to deliver them. */
export interface Plan {
  readonly scenario: ScenarioName;
  readonly flights: Uint8Array[];
  /** Every application payload the mutated peer sealed. */
  readonly authentic: Uint8Array[];
  readonly chunk: number;
  readonly capacity: number | undefined;
  readonly write: boolean;
  readonly keyUpdate: boolean;
  readonly shutdownAfter: number | undefined;
  /** The operations applied, for people reading a finding. */
  readonly ops: string[];
}

const CHUNKS = [Infinity, 1, 2, 3, 5, 7, 16, 100, 512, 1000, 4096, 16389, 13, 64, 17, 300] as const;
const CAPACITIES = [undefined, 1, 7, 64, 300, 1024, 5000, 16384] as const;

/** The scenario an input names (byte 1). */
export function scenarioOf(data: Uint8Array): ScenarioName {
  return SCENARIOS[(data[1] ?? 0) % SCENARIOS.length]!;
}

/** Decode `data` against `side` (the peer's recorded records). */
export function planFromInput(side: Side, data: Uint8Array): Plan {
  const head = data[0] ?? 0;
  const knobs = data[2] ?? 0;
  const base = {
    scenario: scenarioOf(data),
    chunk: CHUNKS[head & 0x0f]!,
    capacity: CAPACITIES[knobs & 0x07],
    write: (knobs & 0x08) !== 0,
    keyUpdate: (knobs & 0x10) !== 0,
    shutdownAfter: (knobs & 0x20) !== 0 ? (knobs & 0x40 ? 0 : 40) : undefined,
  };
  if ((head & 0x80) === 0) {
    return { ...base, flights: [data.subarray(3)], authentic: side.appData.slice(), ops: ["raw"] };
  }
  return { ...base, ...applyProgram(side, data.subarray(3)) };
}

/** A seed input: the peer's real flights, raw (mode 0) with the given knobs. */
export function rawSeed(side: Side, scenario: number, head = 0, knobs = 0): Uint8Array {
  return concat(Uint8Array.of(head & 0x7f, scenario, knobs), wireBytes(side));
}

/** A seed input: the structured mode with a program (empty: the transcript as recorded). */
export function programSeed(
  scenario: number,
  program: readonly number[],
  head = 0x80,
  knobs = 0,
): Uint8Array {
  return Uint8Array.of(head | 0x80, scenario, knobs, ...program);
}

interface Rec {
  type: number;
  version: number;
  /** Plaintext body, or the inner content of a protected record. */
  content: Uint8Array;
  /** Protected: the key index and inner type. */
  key: number | undefined;
  innerType: number;
  /** A ciphertext to send as is (a protected record whose bytes were flipped after sealing). */
  raw: Uint8Array | undefined;
  flight: number;
}

class Cursor {
  #at = 0;
  constructor(readonly data: Uint8Array) {}
  get done(): boolean {
    return this.#at >= this.data.length;
  }
  u8(): number {
    return this.data[this.#at++] ?? 0;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  bytes(n: number): Uint8Array {
    const out = this.data.slice(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }
}

function applyProgram(
  side: Side,
  program: Uint8Array,
): Omit<Plan, "scenario" | "chunk" | "capacity" | "write" | "keyUpdate" | "shutdownAfter"> {
  const flightOf = new Map<number, number>();
  side.flights.forEach((f, n) => f.forEach((i) => flightOf.set(i, n)));
  const recs: Rec[] = side.records.map((r: RecordedRecord, i) => ({
    type: r.type,
    version: r.version,
    content: r.key === undefined ? r.body : r.content!,
    key: r.key,
    innerType: r.innerType ?? r.type,
    raw: r.key === undefined || r.content !== undefined ? undefined : r.body,
    flight: flightOf.get(i) ?? 0,
  }));
  const ops: string[] = [];
  const c = new Cursor(program);
  for (let n = 0; n < 64 && !c.done && recs.length > 0; n++) {
    const op = c.u8() % 17;
    const i = c.u8() % recs.length;
    const r = recs[i]!;
    switch (op) {
      case 0:
        recs.splice(i, 1);
        ops.push(`drop ${i}`);
        break;
      case 1:
        recs.splice(i, 0, { ...r });
        ops.push(`dup ${i}`);
        break;
      case 2: {
        const j = c.u8() % recs.length;
        recs[i] = recs[j]!;
        recs[j] = r;
        ops.push(`swap ${i} ${j}`);
        break;
      }
      case 3: {
        if (r.content.length === 0) break;
        const off = c.u16() % r.content.length;
        const v = c.u8() || 1;
        r.content = r.content.slice();
        r.content[off]! ^= v;
        r.raw = undefined;
        ops.push(`flip ${i}+${off}^${v}`);
        break;
      }
      case 4: {
        if (r.content.length < 2) break;
        const off = c.u16() % (r.content.length - 1);
        const v = c.u16();
        r.content = r.content.slice();
        r.content[off] = v >>> 8;
        r.content[off + 1] = v & 0xff;
        r.raw = undefined;
        ops.push(`set16 ${i}+${off}=${v}`);
        break;
      }
      case 5: {
        // A handshake message's u24 length, moved by a small signed delta.
        const msgs = messages(r);
        if (!msgs || msgs.length === 0) break;
        const m = msgs[c.u8() % msgs.length]!;
        const delta = ((c.u8() << 24) >> 24) || 1;
        const len = Math.max(0, m.len + delta) & 0xffffff;
        r.content = r.content.slice();
        r.content[m.at + 1] = len >>> 16;
        r.content[m.at + 2] = (len >>> 8) & 0xff;
        r.content[m.at + 3] = len & 0xff;
        ops.push(`len ${i}@${m.at} ${m.len}->${len}`);
        break;
      }
      case 6: {
        const level = c.u8() % 3;
        const desc = c.u8();
        recs.splice(i, 0, inserted(side, recs, i, CT.alert, Uint8Array.of(level, desc)));
        ops.push(`alert@${i} ${level}/${desc}`);
        break;
      }
      case 7: {
        const v = c.u8() & 1 ? 1 : c.u8();
        const ccs = { ...inserted(side, recs, i, CT.changeCipherSpec, Uint8Array.of(v)), key: undefined };
        recs.splice(i, 0, { ...ccs, type: CT.changeCipherSpec });
        ops.push(`ccs@${i} ${v}`);
        break;
      }
      case 8: {
        if (r.content.length < 2) break;
        const off = 1 + (c.u16() % (r.content.length - 1));
        recs.splice(i, 1, { ...r, content: r.content.subarray(0, off), raw: undefined }, {
          ...r,
          content: r.content.subarray(off),
          raw: undefined,
        });
        ops.push(`split ${i}@${off}`);
        break;
      }
      case 9: {
        const next = recs[i + 1];
        if (!next || next.key !== r.key || next.innerType !== r.innerType) break;
        recs.splice(i, 2, { ...r, content: concat(r.content, next.content), raw: undefined });
        ops.push(`merge ${i}`);
        break;
      }
      case 10: {
        const len = c.u16() % (r.content.length + 1);
        r.content = r.content.subarray(0, len);
        r.raw = undefined;
        ops.push(`truncate ${i} to ${len}`);
        break;
      }
      case 11: {
        const what = extensionOp(r, c);
        if (what) ops.push(`ext ${i} ${what}`);
        break;
      }
      case 12: {
        const kind = c.u8() % 8;
        const body = [
          () => hs(H.keyUpdate, Uint8Array.of(0)),
          () => hs(H.keyUpdate, Uint8Array.of(1)),
          () => hs(H.newSessionTicket, ticketBody(c)),
          () => new Uint8Array(0),
          () => c.bytes(c.u8() % 48),
          () => hs(c.u8(), c.bytes(c.u8() % 40)),
          // Renegotiation (TLS 1.2 refuses it): a HelloRequest, or the peer's first hello once more.
          () => hs(H.helloRequest, new Uint8Array(0)),
          () => firstHello(side),
        ][kind]!();
        const type = kind === 3 || kind === 4 ? CT.applicationData : CT.handshake;
        recs.splice(i, 0, inserted(side, recs, i, type, body));
        ops.push(`insert@${i} kind ${kind}`);
        break;
      }
      case 13: {
        const msgs = messages(r);
        if (!msgs || msgs.length < 2) break;
        const a = c.u8() % msgs.length, b = c.u8() % msgs.length;
        const parts = msgs.map((m) => r.content.subarray(m.at, m.at + 4 + m.len));
        [parts[a], parts[b]] = [parts[b]!, parts[a]!];
        r.content = concat(...parts);
        ops.push(`swapmsg ${i} ${a} ${b}`);
        break;
      }
      case 14: {
        if (r.key === undefined) break;
        const off = c.u16();
        const v = c.u8() || 1;
        const sealed = sealOne(side, r, new Map());
        sealed[off % sealed.length]! ^= v;
        r.raw = sealed;
        ops.push(`rawflip ${i}+${off % sealed.length}^${v}`);
        break;
      }
      case 15: {
        const t = c.u8();
        r.type = [CT.handshake, CT.alert, CT.applicationData, CT.changeCipherSpec, t][t % 5]!;
        // TLS 1.2 authenticates the type: the record is resealed as that type.
        if (r.key !== undefined && !hidesType(side, r.key)) r.innerType = r.type;
        r.version = c.u8() & 1 ? 0x0303 : c.u16();
        ops.push(`outer ${i} ${r.type}/${r.version.toString(16)}`);
        break;
      }
      case 16: {
        r.content = concat(r.content, c.bytes(1 + (c.u8() % 32)));
        r.raw = undefined;
        ops.push(`append ${i}`);
        break;
      }
    }
  }
  return serialize(side, recs, ops);
}

function inserted(side: Side, recs: Rec[], i: number, innerType: number, content: Uint8Array): Rec {
  // The key in force at that point: the one of the nearest protected record before it (else after it).
  let key: number | undefined;
  for (let j = i - 1; j >= 0 && key === undefined; j--) key = recs[j]!.key;
  if (key === undefined && i < recs.length && recs[i]!.key !== undefined && i > 0) key = recs[i]!.key;
  const flight = recs[Math.min(i, recs.length - 1)]?.flight ?? 0;
  const outer = key === undefined || !hidesType(side, key) ? innerType : CT.applicationData;
  return { type: outer, version: 0x0303, content, key, innerType, raw: undefined, flight };
}

/** Whether recorded key `key` hides the content type inside the record (TLS 1.3) or not (TLS 1.2). */
function hidesType(side: Side, key: number): boolean {
  return side.keys[key]!.tls12 === undefined;
}

/** The first handshake message `side` sent (its ClientHello or ServerHello). */
function firstHello(side: Side): Uint8Array {
  const r = side.records.find((x) => x.type === CT.handshake && x.key === undefined);
  if (!r || r.body.length < 4) return new Uint8Array(0);
  return r.body.subarray(0, 4 + ((r.body[1]! << 16) | (r.body[2]! << 8) | r.body[3]!));
}

function hs(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  out[0] = type;
  out[1] = body.length >>> 16;
  out[2] = (body.length >>> 8) & 0xff;
  out[3] = body.length & 0xff;
  out.set(body, 4);
  return out;
}

function ticketBody(c: Cursor): Uint8Array {
  const ticket = c.bytes(1 + (c.u8() % 64));
  const life = c.u8() & 1 ? 3600 : c.u16() * 65536 + c.u16();
  const ext = c.u8() & 1 ? Uint8Array.of(0, 42, 0, 4, 0, 0, 64, 0) : new Uint8Array(0);
  return concat(
    Uint8Array.of(life >>> 24, (life >>> 16) & 0xff, (life >>> 8) & 0xff, life & 0xff, 1, 2, 3, 4, 1, 9),
    Uint8Array.of(ticket.length >>> 8, ticket.length & 0xff),
    ticket,
    Uint8Array.of(ext.length >>> 8, ext.length & 0xff),
    ext,
  );
}

interface Msg {
  readonly at: number;
  readonly type: number;
  readonly len: number;
}

/** The handshake messages in a record's content, or undefined if it does not split into whole messages. */
function messages(r: Rec): Msg[] | undefined {
  if (r.innerType !== CT.handshake) return undefined;
  const out: Msg[] = [];
  let at = 0;
  while (at + 4 <= r.content.length) {
    const len = (r.content[at + 1]! << 16) | (r.content[at + 2]! << 8) | r.content[at + 3]!;
    if (at + 4 + len > r.content.length) return undefined;
    out.push({ at, type: r.content[at]!, len });
    at += 4 + len;
  }
  return at === r.content.length ? out : undefined;
}

/** Where a message's extension block starts (offset in its body), if we know its layout. */
function extensionsAt(type: number, body: Uint8Array): number | undefined {
  const u8 = (o: number) => body[o] ?? 0;
  const u16 = (o: number) => (u8(o) << 8) | u8(o + 1);
  switch (type) {
    case H.clientHello: {
      let o = 34;
      o += 1 + u8(o);
      o += 2 + u16(o);
      o += 1 + u8(o);
      return o;
    }
    case H.serverHello: {
      const o = 34;
      return o + 1 + u8(o) + 3;
    }
    case H.encryptedExtensions:
      return 0;
    case H.certificateRequest:
      return 1 + u8(0);
    case H.newSessionTicket: {
      let o = 8;
      o += 1 + u8(o);
      return o + 2 + u16(o);
    }
    default:
      return undefined;
  }
}

/** Add, remove, duplicate or reorder an extension of the first message with extensions in `r`. */
function extensionOp(r: Rec, c: Cursor): string | undefined {
  const msgs = messages(r);
  if (!msgs) return undefined;
  for (const m of msgs) {
    const body = r.content.subarray(m.at + 4, m.at + 4 + m.len);
    const at = extensionsAt(m.type, body);
    if (at === undefined || at + 2 > body.length) continue;
    const len = (body[at]! << 8) | body[at + 1]!;
    if (at + 2 + len !== body.length) continue;
    const exts: Uint8Array[] = [];
    let o = at + 2;
    while (o + 4 <= body.length) {
      const l = (body[o + 2]! << 8) | body[o + 3]!;
      if (o + 4 + l > body.length) return undefined;
      exts.push(body.subarray(o, o + 4 + l));
      o += 4 + l;
    }
    const kind = c.u8() % 5;
    const n = exts.length > 0 ? c.u8() % exts.length : 0;
    let what: string;
    if (kind === 0 || exts.length === 0) {
      const type = c.u8() & 1 ? c.u8() : c.u16();
      const data = c.bytes(c.u8() % 24);
      exts.splice(n, 0, concat(Uint8Array.of(type >>> 8, type & 0xff, 0, data.length), data));
      what = `add ${type}`;
    } else if (kind === 1) {
      exts.splice(n, 1);
      what = `remove #${n}`;
    } else if (kind === 2) {
      exts.splice(n, 0, exts[n]!);
      what = `duplicate #${n}`;
    } else if (kind === 3) {
      const k = c.u8() % exts.length;
      [exts[n], exts[k]] = [exts[k]!, exts[n]!];
      what = `swap #${n} #${k}`;
    } else {
      // Many extensions: the limit on their number.
      const count = 100 + c.u8();
      for (let k = 0; k < count; k++) exts.push(Uint8Array.of(0xfa, k, 0, 0));
      what = `add ${count} unknown`;
    }
    const list = concat(...exts);
    const newBody = concat(
      body.subarray(0, at),
      Uint8Array.of(list.length >>> 8, list.length & 0xff),
      list,
    );
    r.content = concat(
      r.content.subarray(0, m.at),
      hs(m.type, newBody),
      r.content.subarray(m.at + 4 + m.len),
    );
    r.raw = undefined;
    return what;
  }
  return undefined;
}

function sealOne(side: Side, r: Rec, seqs: Map<number, number>): Uint8Array {
  const p = protection(side.keys[r.key!]!);
  p.seq = seqs.get(r.key!) ?? 0;
  return p.seal(r.innerType, r.content).subarray(5);
}

function serialize(
  side: Side,
  recs: Rec[],
  ops: string[],
): { flights: Uint8Array[]; authentic: Uint8Array[]; ops: string[] } {
  const protections = new Map<number, ReturnType<typeof protection>>();
  const authentic = side.appData.slice();
  const flights: Uint8Array[] = [];
  let current: Uint8Array[] = [];
  let flight = -1;
  for (const r of recs) {
    let body: Uint8Array;
    if (r.key === undefined) {
      body = r.content;
    } else {
      let p = protections.get(r.key);
      if (!p) protections.set(r.key, p = protection(side.keys[r.key]!));
      // Sealed in order, so sequence numbers follow the mutated order; a raw record takes its slot.
      const sealed = p.seal(r.innerType, r.content).subarray(5);
      body = r.raw ?? sealed;
      if (!r.raw && r.innerType === CT.applicationData && r.content.length > 0) authentic.push(r.content);
    }
    if (body.length > 0xffff) body = body.subarray(0, 0xffff);
    const header = Uint8Array.of(
      r.type,
      r.version >>> 8,
      r.version & 0xff,
      body.length >>> 8,
      body.length & 0xff,
    );
    if (r.flight !== flight && current.length > 0) {
      flights.push(concat(...current));
      current = [];
    }
    flight = r.flight;
    current.push(header, body);
  }
  if (current.length > 0) flights.push(concat(...current));
  return { flights, authentic, ops };
}
