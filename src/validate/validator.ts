/**
 * validator(app): Python's wsgiref.validate as middleware. It checks the
 * environ the server hands in, and what the application does with it:
 * start_response's arguments and the order of calls (once, unless with
 * excInfo before anything was sent; write() only after it), the body and its
 * items, close() exactly once, and how wsgi.input and wsgi.errors are used.
 * A violation throws a WsgiValidationError naming the rule and the section
 * of PEP 3333 that states it; the server turns it into a 500 and logs it.
 */

import type { App, Chunk, Environ, StartResponse, Write } from "../gateway/types.js";
import { checkChunk, checkContentType, checkEnviron, checkHeaders, checkStatus } from "./checks.js";
import { check, Section } from "./error.js";
import { wrapBody, wrapErrors, wrapInput } from "./wrappers.js";

export interface ValidatorOptions {
  /**
   * Require a Content-Type on every response that has content, as wsgiref does
   * (default true). PEP 3333 does not require one; set false for apps that leave it out.
   */
  requireContentType?: boolean;
}

const S = Section.startResponse;

/** Per call: what start_response and write() have seen. */
class CallState {
  started = false;
  private checkContentType: boolean;

  constructor(checkContentType: boolean) {
    this.checkContentType = checkContentType;
  }

  wrapStartResponse(start: StartResponse): StartResponse {
    return (status, headers, excInfo) => {
      const code = checkStatus(status);
      checkHeaders(headers, code);
      if (this.checkContentType) checkContentType(headers, code);
      check(
        !this.started || (excInfo !== undefined && excInfo !== null),
        "start_response() was called a second time without excInfo",
        S,
        () => status,
      );
      this.started = true;
      const write = start(status, headers, excInfo);
      return this.wrapWrite(write);
    };
  }

  private wrapWrite(write: Write): Write {
    return (data: Chunk) => {
      checkChunk(data, "write()'s argument");
      return write(data);
    };
  }
}

export function validator(app: App, opts: ValidatorOptions = {}): App {
  const requireContentType = opts.requireContentType ?? true;
  return (environ: Environ, startResponse: StartResponse) => {
    check(
      typeof startResponse === "function",
      "the application was not given a start_response callable",
      S,
      () => typeof startResponse,
    );
    checkEnviron(environ);
    const input = wrapInput(environ["wsgi.input"]);
    environ["wsgi.input"] = input;
    if ("eventlet.input" in environ) environ["eventlet.input"] = input;
    environ["wsgi.errors"] = wrapErrors(environ["wsgi.errors"]);
    const state = new CallState(requireContentType);
    const result = app(environ, state.wrapStartResponse(startResponse));
    if (result instanceof Promise) return result.then((body) => wrapBody(body, state));
    return wrapBody(result, state);
  };
}
