import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AlertDescription, type AlertName } from "./alert.ts";
import {
  alertReceived,
  asTlsError,
  decryptFailed,
  ERROR_TABLES,
  errorGroup,
  invalidCertificate,
  misbehaved,
  truncated,
} from "./errors.ts";
import { alertForVerifyError, type VerifyErrorCode } from "../verify/mod.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** verify/'s alert for `code`, or undefined when `code` is not a VerifyErrorCode. */
function verifyAlert(code: string): AlertName | undefined {
  try {
    return alertForVerifyError(code as VerifyErrorCode);
  } catch {
    return undefined;
  }
}

/** Whether `code` is a member of TlsErrorCode, read from the tables at run time. */
function isKnownCode(code: string): boolean {
  if (code === "decrypt" || code === "truncated") return true;
  const dot = code.indexOf(".");
  const [group, name] = [code.slice(0, dot), code.slice(dot + 1)];
  if (group === "alert_received") return name === "unknown" || Object.hasOwn(AlertDescription, name);
  if (group === "certificate" && verifyAlert(name) !== undefined) return true;
  return Object.hasOwn(ERROR_TABLES, group) &&
    Object.hasOwn(ERROR_TABLES[group as keyof typeof ERROR_TABLES], name);
}

Deno.test("ERROR_TABLES: every code is a bare snake_case name and every alert a known alert", () => {
  for (const [group, table] of Object.entries(ERROR_TABLES)) {
    assert.match(group, /^[a-z]+(_[a-z]+)*$/);
    for (const [code, alert] of Object.entries(table)) {
      assert.match(code, /^[a-z0-9]+(_[a-z0-9]+)*$/, `${group}.${code}`);
      assert.ok(Object.hasOwn(AlertDescription, alert), `${group}.${code}: alert ${alert}`);
    }
  }
});

Deno.test("ERROR_TABLES: no code appears twice, and no table holds another group's prefix", () => {
  const all = Object.entries(ERROR_TABLES).flatMap(([group, table]) =>
    Object.keys(table).map((code) => `${group}.${code}`)
  );
  assert.equal(new Set(all).size, all.length);
  for (const code of all) {
    for (const group of Object.keys(ERROR_TABLES)) {
      assert.ok(!code.slice(code.indexOf(".") + 1).startsWith(`${group}.`));
    }
  }
});

Deno.test("ERROR_TABLES: a certificate code shared with verify/ has verify/'s alert", () => {
  let shared = 0;
  for (const [code, alert] of Object.entries(ERROR_TABLES.certificate)) {
    const theirs = verifyAlert(code);
    if (theirs === undefined) continue;
    shared++;
    assert.equal(alert, theirs, `certificate.${code}`);
  }
  assert.ok(shared > 0);
});

Deno.test("misbehaved() takes the table's alert unless told, and formats the message as TlsError does", () => {
  const e = misbehaved(
    "bad_finished",
    "Cannot accept Finished: verify_data is wrong",
    "client.ExpectFinished",
  );
  assert.equal(e.code, "peer_misbehaved.bad_finished");
  assert.equal(e.alert, "decrypt_error");
  assert.equal(e.where, "client.ExpectFinished");
  assert.equal(
    e.message,
    "Cannot accept Finished: verify_data is wrong (client.ExpectFinished, alert decrypt_error)",
  );
  assert.equal(misbehaved("record_size_limit", "m", "record", "record_overflow").alert, "record_overflow");
  assert.equal(misbehaved("compression", "m").where, "");
});

Deno.test("invalidCertificate() takes verify/'s codes with their alert", () => {
  const e = invalidCertificate(
    "expired",
    "Cannot accept Certificate: expired",
    "w",
    alertForVerifyError("expired"),
  );
  assert.equal(e.code, "certificate.expired");
  assert.equal(e.alert, "certificate_expired");
  assert.equal(invalidCertificate("required", "m").alert, "certificate_required");
});

Deno.test("the one-code groups: decrypt, truncated, alert_received, local.internal", () => {
  assert.equal(decryptFailed("m").alert, "bad_record_mac");
  assert.equal(decryptFailed("m").code, "decrypt");
  assert.equal(truncated("m").alert, undefined);
  assert.equal(truncated("m").message, "m");
  assert.equal(alertReceived("handshake_failure", "m").code, "alert_received.handshake_failure");
  assert.equal(alertReceived("handshake_failure", "m").alert, "handshake_failure");
  assert.equal(alertReceived("unknown", "m").alert, "internal_error");
  const internal = asTlsError(new TypeError("secret"), "w");
  assert.equal(internal.code, "local.internal");
  assert.equal(internal.alert, "internal_error");
  assert.ok(!internal.message.includes("secret"));
});

Deno.test("errorGroup() is what comes before the dot", () => {
  assert.equal(errorGroup("local.bad_length"), "local");
  assert.equal(errorGroup("alert_received.close_notify"), "alert_received");
  assert.equal(errorGroup("truncated"), "truncated");
  assert.equal(errorGroup("decrypt"), "decrypt");
});

Deno.test("every error code the README and docs/ name is a TlsErrorCode", () => {
  const groups = [...Object.keys(ERROR_TABLES), "alert_received"].join("|");
  const quoted = new RegExp(`[\`"]((?:${groups})\\.[a-z0-9_]+|decrypt|truncated)[\`"]`, "g");
  const files = [
    "README.md",
    ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
  ];
  let named = 0;
  for (const file of files) {
    for (const m of readFileSync(join(ROOT, file), "utf8").matchAll(quoted)) {
      named++;
      assert.ok(isKnownCode(m[1]!), `${file}: ${m[1]} is not a TlsErrorCode`);
    }
  }
  assert.ok(named > 30, `only ${named} codes found`);
});
