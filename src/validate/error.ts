/** A PEP 3333 violation found by validator(): names the rule broken and the PEP's section. */

export class WsgiValidationError extends Error {
  readonly code = "ERR_WSGI_VALIDATION";
  /** The rule, in a few words ("environ key is not a string"). */
  readonly rule: string;
  /** The section of PEP 3333 that states it ("environ Variables"). */
  readonly section: string;

  constructor(rule: string, section: string, detail: string) {
    super(`WSGI violation: ${rule} (PEP 3333, "${section}"): ${detail}`);
    this.name = "WsgiValidationError";
    this.rule = rule;
    this.section = section;
  }
}

/** PEP 3333's sections, as the errors cite them. */
export const Section = {
  environ: "environ Variables",
  startResponse: "The start_response() Callable",
  streams: "Input and Error Streams",
  appSide: "The Application/Framework Side",
  unicode: "Unicode Issues",
  buffering: "Buffering and Streaming",
  errors: "Error Handling",
} as const;

/** Throws a WsgiValidationError unless `ok`. */
export function check(ok: boolean, rule: string, section: string, detail: () => string): asserts ok {
  if (!ok) throw new WsgiValidationError(rule, section, detail());
}
