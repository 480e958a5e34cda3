/**
 * What Node's fetch implementation (undici) knows of a native Request's or
 * Response's body without reading it: the source it was made from and its
 * length. Read from undici's per-object state slot, found once on a probe;
 * when a Node release moves it, every function here answers "unknown"
 * (undefined) and callers take their general path (a stream).
 */

interface UndiciBody {
  source?: unknown;
  length?: number | null;
  stream?: ReadableStream<Uint8Array>;
}

type WithState = Record<symbol, { body?: UndiciBody | null } | undefined>;

function findStateSlot(probe: object, source: string): symbol | undefined {
  for (const key of Object.getOwnPropertySymbols(probe)) {
    const state = (probe as WithState)[key];
    if (state?.body?.source === source && state.body.length === source.length) return key;
  }
  return undefined;
}

const RESPONSE_STATE = findStateSlot(new Response("probe"), "probe");
const REQUEST_STATE = findStateSlot(new Request("http://localhost/", { method: "POST", body: "probe" }), "probe");

function bodyOf(obj: object, slot: symbol | undefined): UndiciBody | undefined {
  if (slot === undefined) return undefined;
  const body = (obj as WithState)[slot]?.body;
  // A stream someone has started reading is no longer its source.
  if (body === undefined || body === null || body.stream?.locked === true) return undefined;
  return body;
}

/** The string, bytes or Blob a native Response was made with, when its stream is untouched. */
export function responseSource(res: object): string | Uint8Array | Blob | undefined {
  const source = bodyOf(res, RESPONSE_STATE)?.source;
  if (typeof source === "string" || source instanceof Uint8Array || source instanceof Blob) return source;
  return undefined;
}

/** The byte length of a native Request's body, when it was made from a string, bytes or Blob. */
export function requestBodyLength(req: object): number | undefined {
  const length = bodyOf(req, REQUEST_STATE)?.length;
  return typeof length === "number" ? length : undefined;
}
