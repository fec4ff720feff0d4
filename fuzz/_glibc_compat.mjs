// Copyright 2026 the airlock authors. MIT license.

// Makes the Linux x64 libFuzzer addon that @jazzer.js/fuzzer 4.0.0 ships on npm load on glibc 2.36 (Debian 12).
//
// The prebuilt `fuzzer-linux-x64.node` was linked on a newer system and asks the dynamic loader for three
// symbols that Debian 12's glibc 2.36 and libstdc++ (GCC 12) do not define, so `require()` fails with
// "version `GLIBC_2.38' not found":
//   __isoc23_strtol, __isoc23_strtoul (GLIBC_2.38): glibc 2.38's C23 spelling of strtol/strtoul, which differs
//     only in also accepting a "0b" prefix when base is 0 or 2 (libFuzzer parses its flags in base 10);
//   _ZSt21ios_base_library_initv (GLIBCXX_3.4.32): a symbol GCC 13's <iostream> references only to force
//     libstdc++'s stream initialisation to be linked in; it is never called.
// This rewrites a copy of the ELF file in place of the original, five small edits: the first two names become
// "strtol"/"strtoul" bound to GLIBC_2.2.5 (their version since x86-64 glibc began), the third loses its version
// (it stays an unresolved lazy PLT entry that is never called), and the two version requirements are marked
// VER_FLG_WEAK so the loader only notes their absence. Nothing is downloaded or compiled; the original is kept
// beside it as `.orig`, and running this again is a no-op. Other platforms are left untouched.
//
//   node fuzz/_glibc_compat.mjs        (run by fuzz/run.mjs before every fuzzing run)

import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import process from "node:process";

const VER_FLG_WEAK = 2;

/** Patch the addon if this platform needs it; returns a one-line description of what happened. */
export function ensureJazzerLoads() {
  if (process.platform !== "linux" || process.arch !== "x64") return "not linux-x64: nothing to patch";
  const require = createRequire(import.meta.url);
  const pkg = require.resolve("@jazzer.js/fuzzer/package.json");
  const file = join(dirname(pkg), "prebuilds", "fuzzer-linux-x64.node");
  if (!existsSync(file)) throw new Error(`Cannot find the Jazzer.js addon: ${file} is missing`);
  if (loads(require, file)) return "the Jazzer.js addon loads as shipped";
  const buf = readFileSync(file);
  const changed = patch(buf);
  if (changed === 0) {
    throw new Error(`Cannot load ${file}, and it has none of the symbols this script patches`);
  }
  if (!existsSync(file + ".orig")) copyFileSync(file, file + ".orig");
  writeFileSync(file, buf);
  if (!loads(require, file)) throw new Error(`Cannot load ${file} even after patching ${changed} entries`);
  return `patched ${changed} entries of the Jazzer.js addon for this glibc`;
}

function loads(require, file) {
  try {
    require(file);
    return true;
  } catch {
    return false;
  }
}

function cstr(buf, off) {
  let end = off;
  while (buf[end] !== 0) end++;
  return buf.toString("latin1", off, end);
}

/** Apply the edits to an ELF64 little-endian image; returns how many entries it changed. */
function patch(buf) {
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) {
    throw new Error("Not an ELF64 LE file");
  }
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const base = shoff + i * shentsize;
    sections.push({
      type: buf.readUInt32LE(base + 4),
      offset: Number(buf.readBigUInt64LE(base + 0x18)),
      size: Number(buf.readBigUInt64LE(base + 0x20)),
      link: buf.readUInt32LE(base + 0x28),
      entsize: Number(buf.readBigUInt64LE(base + 0x38)),
    });
  }
  const dynsym = sections.find((s) => s.type === 11); // SHT_DYNSYM
  const versym = sections.find((s) => s.type === 0x6fffffff); // SHT_GNU_versym
  const verneed = sections.find((s) => s.type === 0x6ffffffe); // SHT_GNU_verneed
  if (!dynsym || !versym || !verneed) return 0;
  const dynstr = sections[dynsym.link];

  // Version indexes by name, and mark the missing versions weak.
  const indexOf = new Map();
  let changed = 0;
  let vn = verneed.offset;
  for (;;) {
    const file = cstr(buf, dynstr.offset + buf.readUInt32LE(vn + 4));
    let aux = vn + buf.readUInt32LE(vn + 8);
    for (let j = 0; j < buf.readUInt16LE(vn + 2); j++) {
      const name = cstr(buf, dynstr.offset + buf.readUInt32LE(aux + 8));
      const index = buf.readUInt16LE(aux + 6);
      indexOf.set(`${file}:${name}`, index);
      if (name === "GLIBC_2.38" || name === "GLIBCXX_3.4.32") {
        const flags = buf.readUInt16LE(aux + 4);
        if (!(flags & VER_FLG_WEAK)) {
          buf.writeUInt16LE(flags | VER_FLG_WEAK, aux + 4);
          changed++;
        }
      }
      const next = buf.readUInt32LE(aux + 12);
      if (next === 0) break;
      aux += next;
    }
    const next = buf.readUInt32LE(vn + 12);
    if (next === 0) break;
    vn += next;
  }
  const glibc225 = indexOf.get("libc.so.6:GLIBC_2.2.5");
  if (glibc225 === undefined) return changed;

  const renames = new Map([["__isoc23_strtol", "strtol"], ["__isoc23_strtoul", "strtoul"]]);
  const count = dynsym.size / dynsym.entsize;
  for (let i = 0; i < count; i++) {
    const sym = dynsym.offset + i * dynsym.entsize;
    const nameOff = dynstr.offset + buf.readUInt32LE(sym);
    const name = cstr(buf, nameOff);
    const to = renames.get(name);
    if (to !== undefined) {
      // Undefined symbols are not in the file's own hash table, so renaming one is safe. The new name is written
      // over the start of the old one; any other name that shares the old one's tail is untouched.
      buf.write(to + "\0", nameOff, "latin1");
      buf.writeUInt16LE(glibc225, versym.offset + i * 2);
      changed++;
    } else if (name === "_ZSt21ios_base_library_initv") {
      buf.writeUInt16LE(1, versym.offset + i * 2); // VER_NDX_GLOBAL: no version asked for
      changed++;
    }
  }
  return changed;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(ensureJazzerLoads());
