/** The request loop under every method: openapi-fetch, then timeouts, retries, errors, the schema cache and intMode. */
import createFetchClient, { type Client as FetchClient, type Middleware } from "openapi-fetch";

import { CinchError, errorFromResponse, errorFromThrown } from "./errors.js";
import { checkSafe, parseLossless, stringify, type IntMode } from "./ints.js";
import type { paths } from "./generated/openapi.js";

export type { Middleware };

export interface RetryOptions {
  /** Attempts after the first (default 2; 0 turns retries off). */
  retries: number;
  /** First backoff in ms, doubled at each attempt, with full jitter (default 200). */
  baseDelayMs: number;
  /** Longest backoff in ms (default 5000). */
  maxDelayMs: number;
  /** Longest `Retry-After` honoured in ms; a longer one fails at once (default 30000). */
  maxRetryAfterMs: number;
  /**
   * Also retry writes that are not idempotent (POST of a schema change, a merge, a write
   * query): they may then run twice. Off by default.
   */
  unsafe: boolean;
}

export const DEFAULT_RETRY: RetryOptions = {
  retries: 2,
  baseDelayMs: 200,
  maxDelayMs: 5000,
  maxRetryAfterMs: 30_000,
  unsafe: false,
};

export interface ClientOptions {
  /** Root URL of `cinch serve`, e.g. `http://127.0.0.1:8000`. */
  baseUrl: string;
  /** The key's secret (sent as `Authorization: Bearer ...`), or a function giving it per request. */
  apiKey?: string | (() => string | Promise<string>);
  /** A fetch to use instead of the platform's. */
  fetch?: (input: Request) => Promise<Response>;
  /** Per-attempt timeout in ms (default 30000; 0: none). */
  timeoutMs?: number;
  /** Retry policy, or false for none. */
  retry?: Partial<RetryOptions> | false;
  /** What integer cells of query results become (see {@link IntMode}). */
  intMode?: IntMode;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** Interceptors (openapi-fetch middleware: onRequest / onResponse / onError). */
  middleware?: Middleware[];
  /** Revalidate schema reads with their ETag (default true). */
  cache?: boolean;
  /** A WebSocket class for live queries where the platform has none and `ws` is not wanted. */
  WebSocket?: WebSocketLike;
}

/** What a WebSocket constructor must offer (the platform's, or the `ws` package's). */
export type WebSocketLike = new (url: string, protocols?: string | string[]) => WebSocket;

/** Options every method takes last. */
export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  retry?: Partial<RetryOptions> | false;
  headers?: Record<string, string>;
}

/** The answer of a `.raw` method: never throws for an HTTP or network failure. */
export type RawResult<T> =
  | { data: T; error: undefined; response: Response }
  | { data: undefined; error: CinchError; response: Response | undefined };

interface RunInit {
  signal: AbortSignal | undefined;
  headers: Record<string, string> | undefined;
}

type Fetched = { data?: unknown; error?: unknown; response: Response };

/** One call of one OpenAPI operation, ready to run (and to run again on a retry). */
export interface Op<T> {
  /** Its operation id in docs/openapi.json. */
  readonly id: string;
  readonly idempotent: boolean;
  /** A schema read: kept and revalidated with If-None-Match. The key names the exact request. */
  readonly cacheKey?: string;
  /** The answer carries query results (intMode applies). */
  readonly rows?: boolean;
  /** Per-call intMode. */
  readonly intMode?: IntMode | undefined;
  /** The same request spelled out, for the hot path that skips openapi-fetch (see Core.direct). */
  readonly direct?: { method: "POST"; path: string; body: unknown };
  run(fc: FetchClient<paths>, init: RunInit, parseAs: "json" | "text"): Promise<Fetched>;
  /** Phantom: the type of the answer. */
  readonly _t?: T;
}

export function op<T>(spec: Omit<Op<T>, "run" | "_t"> & {
  run: (fc: FetchClient<paths>, init: RunInit, parseAs: "json" | "text") => Promise<{ data?: T; error?: unknown; response: Response }>;
}): Op<T> {
  return spec as Op<T>;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** `Retry-After` in ms (seconds or an HTTP date), or undefined. */
export function retryAfterMs(response: Response | undefined): number | undefined {
  const header = response?.headers.get("retry-after");
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * One attempt's timeout, joined with the caller's signal. Cleared as soon as the answer is read:
 * AbortSignal.timeout would leave a timer pending for the whole timeout after every request.
 */
class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly onAbort: (() => void) | undefined;

  constructor(ms: number, private readonly outer: AbortSignal | undefined) {
    const controller = this.controller;
    this.timer = setTimeout(() => controller.abort(new DOMException("the request timed out", "TimeoutError")), ms);
    if (outer) {
      if (outer.aborted) controller.abort(outer.reason);
      else {
        this.onAbort = () => controller.abort(outer.reason);
        outer.addEventListener("abort", this.onAbort, { once: true });
      }
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  done(): void {
    clearTimeout(this.timer);
    if (this.onAbort) this.outer?.removeEventListener("abort", this.onAbort);
  }
}

const RETRY_STATUSES = new Set([429, 502, 503, 504]);

export class Core {
  readonly fc: FetchClient<paths>;
  readonly options: ClientOptions;
  readonly baseUrl: string;
  private readonly retry: RetryOptions | false;
  private readonly cache = new Map<string, { etag: string; data: unknown }>();
  private readonly headers: Record<string, string>;
  // Interceptors and custom fetches see every request through openapi-fetch; without them the
  // query routes skip its Request building (a point query is otherwise dominated by it).
  private plain: boolean;

  constructor(options: ClientOptions) {
    this.options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.retry = options.retry === false ? false : { ...DEFAULT_RETRY, ...options.retry };
    const headers: Record<string, string> = { ...options.headers };
    if (typeof options.apiKey === "string") headers["Authorization"] = `Bearer ${options.apiKey}`;
    this.headers = { ...headers, "Content-Type": "application/json" };
    this.plain = !options.fetch && typeof options.apiKey !== "function" && !options.middleware?.length;
    this.fc = createFetchClient<paths>({
      baseUrl: this.baseUrl,
      headers,
      bodySerializer: stringify,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    const keyFn = options.apiKey;
    if (typeof keyFn === "function") {
      this.fc.use({
        async onRequest({ request }) {
          request.headers.set("Authorization", `Bearer ${await keyFn()}`);
          return request;
        },
      });
    }
    if (options.middleware?.length) this.fc.use(...options.middleware);
  }

  /** Adds interceptors (auth, logging, tracing headers) to every later request. */
  use(...middleware: Middleware[]): void {
    this.plain = false;
    this.fc.use(...middleware);
  }

  /** The secret for live queries, resolved now. */
  async apiKey(): Promise<string | undefined> {
    const key = this.options.apiKey;
    return typeof key === "function" ? await key() : key;
  }

  /** Forgets every cached schema read. */
  clearCache(): void {
    this.cache.clear();
  }

  async call<T>(o: Op<T>, opts?: CallOptions): Promise<T> {
    const result = await this.raw(o, opts);
    if (result.error) throw result.error;
    return result.data as T;
  }

  async raw<T>(o: Op<T>, opts: CallOptions = {}): Promise<RawResult<T>> {
    const policy = opts.retry === false || this.retry === false ? false : { ...(this.retry as RetryOptions), ...opts.retry };
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs ?? 30_000;
    const mode = o.intMode ?? this.options.intMode ?? "number";
    const parseAs = o.rows && mode !== "number" ? "text" : "json";
    const cached = o.cacheKey !== undefined && this.options.cache !== false ? this.cache.get(o.cacheKey) : undefined;
    let headers = opts.headers;
    if (cached) headers = { ...headers, "If-None-Match": cached.etag };
    for (let attempt = 0; ; attempt++) {
      const deadline = timeoutMs > 0 ? new Deadline(timeoutMs, opts.signal) : undefined;
      const signal = deadline ? deadline.signal : opts.signal;
      let error: CinchError;
      let response: Response | undefined;
      let retryable: boolean;
      try {
        const fetched = o.direct && this.plain
          ? await this.direct(o.direct, signal, headers, parseAs)
          : await o.run(this.fc, { signal, headers }, parseAs);
        response = fetched.response;
        deadline?.done();
        if (response.ok) return { data: this.decode(o, fetched.data, mode, response) as T, error: undefined, response };
        if (response.status === 304 && cached) return { data: structuredClone(cached.data) as T, error: undefined, response };
        error = errorFromResponse(response, fetched.error, o.id);
        retryable = RETRY_STATUSES.has(response.status) && (o.idempotent || (policy && policy.unsafe));
      } catch (thrown) {
        error = errorFromThrown(thrown, o.id);
        deadline?.done();
        if (opts.signal?.aborted || error.code === "int_overflow" || error.code === "invalid_response") {
          return { data: undefined, error, response };
        }
        retryable = o.idempotent || (policy && policy.unsafe);
      }
      if (!policy || !retryable || attempt >= policy.retries) return { data: undefined, error, response };
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt) * Math.random();
      const after = retryAfterMs(response);
      if (after !== undefined && after > policy.maxRetryAfterMs) return { data: undefined, error, response };
      try {
        await sleep(Math.max(after ?? 0, backoff), opts.signal);
      } catch (reason) {
        return { data: undefined, error: errorFromThrown(reason, o.id), response };
      }
    }
  }

  /** What openapi-fetch would do for a JSON POST, with one fetch(url, init) and nothing else. */
  private async direct(
    d: NonNullable<Op<unknown>["direct"]>,
    signal: AbortSignal | undefined,
    headers: Record<string, string> | undefined,
    parseAs: "json" | "text",
  ): Promise<Fetched> {
    const response = await fetch(this.baseUrl + d.path, {
      method: d.method,
      headers: headers ? { ...this.headers, ...headers } : this.headers,
      body: stringify(d.body),
      signal,
    });
    if (response.ok) return { data: parseAs === "text" ? await response.text() : await response.json(), response };
    const text = await response.text();
    try {
      return { error: JSON.parse(text), response };
    } catch {
      return { error: text, response };
    }
  }

  private decode<T>(o: Op<T>, data: unknown, mode: IntMode, response: Response): unknown {
    if (o.rows) {
      if (mode === "number") checkSafe(data, o.id);
      else if (typeof data === "string") data = parseLossless(data, mode);
      else throw new CinchError({ code: "invalid_response", message: "expected a JSON answer", operation: o.id, response });
    }
    if (o.cacheKey !== undefined && this.options.cache !== false) {
      const etag = response.headers.get("etag");
      if (etag) this.cache.set(o.cacheKey, { etag, data: structuredClone(data) });
    }
    return data;
  }
}
