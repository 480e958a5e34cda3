/**
 * The wire-level case table, in the spirit of the Autobahn|Testsuite: each case sends raw client
 * frames to an echo server and states what must come back — the echoed messages and the close
 * code — citing the RFC rule it checks (case-table.ts has the shape; the cases are in two halves).
 */

import type { Case } from "./case-table.js";
import { FRAMING_CASES } from "./cases-framing.js";
import { PAYLOAD_CASES } from "./cases-payload.js";

export { CASE_MAX_MESSAGE_BYTES, type Case } from "./case-table.js";

export const CASES: Case[] = [...FRAMING_CASES, ...PAYLOAD_CASES];
