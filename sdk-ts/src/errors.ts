/** Codes the SDK itself gives to failures that never reached an answer from the server. */
export type ClientErrorCode =
  | "network_error"
  | "timeout"
  | "aborted"
  | "int_overflow"
  | "invalid_response"
  | "live_closed";

/**
 * Every failure of a call: the server's error body (its stable `code`, `message`, `hint` and
 * `details`, with the HTTP `status`), or a failure on the way there (`network_error`,
 * `timeout`, `aborted`; `status` is then undefined).
 */
export class CinchError extends Error {
  /** The server's stable code (`not_found`, `forbidden`, `merge_conflict`, ...) or a ClientErrorCode. */
  readonly code: string;
  /** HTTP status of the answer; undefined when there was none. */
  readonly status: number | undefined;
  readonly hint: string | undefined;
  readonly details: unknown;
  /** The operation id of the OpenAPI document that failed (`tenants-get`, ...). */
  readonly operation: string | undefined;
  /** The raw answer, when there was one. */
  readonly response: Response | undefined;

  constructor(init: {
    code: string;
    message: string;
    status?: number | undefined;
    hint?: string | undefined;
    details?: unknown;
    operation?: string | undefined;
    response?: Response | undefined;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "CinchError";
    this.code = init.code;
    this.status = init.status;
    this.hint = init.hint;
    this.details = init.details;
    this.operation = init.operation;
    this.response = init.response;
  }
}

interface ErrorBodyLike {
  error?: { code?: unknown; message?: unknown; hint?: unknown; details?: unknown };
}

/** The CinchError for a non-2xx answer whose body was already read (`body`: parsed JSON or text). */
export function errorFromResponse(response: Response, body: unknown, operation?: string): CinchError {
  const info = (body as ErrorBodyLike | undefined)?.error;
  if (info && typeof info.code === "string") {
    return new CinchError({
      code: info.code,
      message: typeof info.message === "string" ? info.message : info.code,
      status: response.status,
      hint: typeof info.hint === "string" ? info.hint : undefined,
      details: info.details,
      operation,
      response,
    });
  }
  const text = typeof body === "string" && body ? `: ${body.slice(0, 200)}` : "";
  return new CinchError({
    code: `http_${response.status}`,
    message: `HTTP ${response.status} ${response.statusText}${text}`,
    status: response.status,
    operation,
    response,
  });
}

/** The CinchError for a fetch that threw (network down, timeout, abort). */
export function errorFromThrown(error: unknown, operation?: string): CinchError {
  if (error instanceof CinchError) return error;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === "TimeoutError") {
    return new CinchError({ code: "timeout", message: "the request timed out", operation, cause: error });
  }
  if (name === "AbortError") {
    return new CinchError({ code: "aborted", message: "the request was aborted", operation, cause: error });
  }
  const detail = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
  return new CinchError({
    code: "network_error",
    message: `could not reach the server: ${detail}`,
    operation,
    cause: error,
  });
}
