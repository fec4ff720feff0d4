// Copyright 2026 the airlock authors. MIT license.

/**
 * The whole-engine fuzz targets: an input picks a recorded scenario and becomes the peer's flights (raw bytes,
 * or a program of structured mutations, see mutate.ts); a fresh engine in `role` runs on them under the
 * invariant checker. The same function runs a finding again in a test (tests/fuzz_regressions_test.ts).
 * @module
 */

import { type InvariantViolation, runEngineOnInput, type RunResult } from "./invariant.ts";
import { planFromInput, scenarioOf } from "./mutate.ts";
import {
  EARLY_PAYLOAD,
  PAYLOADS,
  recordScenario,
  scenarioConfig,
  SCENARIOS,
  type Transcript,
} from "./transcript.ts";

const transcripts = new Map<string, Transcript>();

/** Record every scenario (call once before fuzzing). */
export async function prepare(): Promise<void> {
  for (const name of SCENARIOS) transcripts.set(name, await recordScenario(name));
}

/**
 * Run one input against an engine in `role`; resolves with how it ended, rejects with an
 * {@link InvariantViolation} on a finding.
 */
export async function fuzzEngine(role: "client" | "server", data: Uint8Array): Promise<RunResult> {
  const scenario = scenarioOf(data);
  let t = transcripts.get(scenario);
  if (!t) {
    t = await recordScenario(scenario);
    transcripts.set(scenario, t);
  }
  const peer = role === "client" ? t.server : t.client;
  const plan = planFromInput(peer, data);
  const config = await scenarioConfig(plan.scenario);
  return await runEngineOnInput(role, plan.flights, {
    config,
    authentic: plan.authentic,
    chunk: plan.chunk,
    ...(plan.capacity ? { capacity: plan.capacity } : {}),
    ...(plan.write ? { write: PAYLOADS[role][0] } : {}),
    keyUpdate: plan.keyUpdate,
    ...(role === "client" && config.client.earlyData ? { earlyData: EARLY_PAYLOAD } : {}),
    ...(plan.shutdownAfter !== undefined ? { shutdownAfter: plan.shutdownAfter } : {}),
  });
}

export type { InvariantViolation };
