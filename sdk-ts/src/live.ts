/**
 * Live queries over the server's WebSocket (`/databases/{db}/tenants/{tenant}/live`): the
 * result again whenever the tenant's data changes, with reconnects after a dropped socket.
 */
import type { Core, WebSocketLike } from "./core.js";
import { CinchError } from "./errors.js";
import { checkSafe, parseLossless, stringify, type IntMode, type Params, type Value } from "./ints.js";
import type { QueryResult } from "./resources.js";

export interface LiveOptions {
  /** Called with the rows at once, then after every change of the result. */
  onRows: (rows: Value[][], result: QueryResult) => void;
  /** A refused subscription, a dropped socket (followed by a reconnect) or a refused key (no reconnect). */
  onError?: (error: CinchError) => void;
  /** `connecting`, `open` (subscribed), `reconnecting` (after a drop), `closed` (for good). */
  onStatus?: (status: LiveStatus) => void;
  branch?: string;
  intMode?: IntMode;
  /** First reconnect delay in ms (default 250), doubled up to `maxReconnectDelayMs` (default 10000), with jitter. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** Aborting it unsubscribes. */
  signal?: AbortSignal;
}

export type LiveStatus = "connecting" | "open" | "reconnecting" | "closed";

/** What `client.live` returns. */
export interface LiveSubscription {
  /** Stops the subscription and closes its socket; no callback runs after it. */
  unsubscribe(): void;
  readonly status: LiveStatus;
}

// Closes with 4000 + an HTTP status: the key or the tenant was refused, so trying again is pointless.
const PERMANENT = new Set([4400, 4401, 4403, 4404, 4422]);

let wsPackage: Promise<WebSocketLike> | undefined;

/** The platform's WebSocket (browsers, Node 22+), else the `ws` package (Node 20). */
async function webSocketClass(core: Core): Promise<{ Ctor: WebSocketLike; headers: boolean }> {
  if (core.options.WebSocket) return { Ctor: core.options.WebSocket, headers: false };
  const platform = (globalThis as { WebSocket?: WebSocketLike }).WebSocket;
  if (platform) return { Ctor: platform, headers: false };
  wsPackage ??= import(/* webpackIgnore: true */ /* @vite-ignore */ "ws").then(
    (m: { default: unknown }) => m.default as WebSocketLike,
  );
  return { Ctor: await wsPackage, headers: true };
}

export function live(
  core: Core,
  db: string,
  tenant: string,
  sql: string,
  params: Params | undefined,
  options: LiveOptions,
): LiveSubscription {
  const mode = options.intMode ?? core.options.intMode ?? "number";
  const base = options.reconnectDelayMs ?? 250;
  const max = options.maxReconnectDelayMs ?? 10_000;
  let status: LiveStatus = "connecting";
  let socket: WebSocket | undefined;
  let stopped = false;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const url = new URL(`${core.baseUrl}/databases/${encodeURIComponent(db)}/tenants/${encodeURIComponent(tenant)}/live`);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (options.branch) url.searchParams.set("branch", options.branch);

  const setStatus = (next: LiveStatus) => {
    if (status === next) return;
    status = next;
    options.onStatus?.(next);
  };
  const fail = (error: CinchError) => {
    if (!stopped) options.onError?.(error);
  };

  const onFrame = (text: string) => {
    let frame: { type?: string; result?: QueryResult; error?: { code?: string; message?: string; hint?: string } };
    try {
      frame = mode === "number" ? JSON.parse(text) : (parseLossless(text, mode) as typeof frame);
      if (mode === "number") checkSafe(frame, "live");
    } catch (error) {
      return fail(error instanceof CinchError ? error : new CinchError({ code: "invalid_response", message: String(error) }));
    }
    if (frame.type === "ready") {
      socket?.send(stringify({ type: "subscribe", id: "q", sql, params: params ?? [] }));
    } else if (frame.type === "result" && frame.result) {
      failures = 0;
      setStatus("open");
      if (!stopped) options.onRows(frame.result.rows, frame.result);
    } else if (frame.type === "error") {
      const info = frame.error ?? {};
      fail(new CinchError({ code: info.code ?? "live_error", message: info.message ?? "live query failed", hint: info.hint, operation: "live" }));
    }
  };

  const schedule = () => {
    if (stopped) return;
    setStatus("reconnecting");
    const delay = Math.min(max, base * 2 ** failures) * (0.5 + Math.random() / 2);
    failures++;
    timer = setTimeout(() => void connect(), delay);
  };

  const connect = async () => {
    if (stopped) return;
    let ws: WebSocket;
    try {
      const [{ Ctor, headers }, secret] = await Promise.all([webSocketClass(core), core.apiKey()]);
      if (stopped) return;
      ws = headers && secret
        ? new (Ctor as unknown as new (u: string, o: object) => WebSocket)(url.toString(), { headers: { Authorization: `Bearer ${secret}` } })
        : new Ctor(url.toString());
      if (!headers && secret) ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "auth", key: secret })));
    } catch (error) {
      fail(new CinchError({ code: "network_error", message: `live query: ${String(error)}`, cause: error }));
      return schedule();
    }
    socket = ws;
    ws.addEventListener("message", (event: MessageEvent) => {
      const data: unknown = event.data;
      onFrame(typeof data === "string" ? data : new TextDecoder().decode(data as ArrayBuffer));
    });
    ws.addEventListener("error", () => {
      /* the close event follows and decides */
    });
    ws.addEventListener("close", (event: CloseEvent) => {
      if (socket !== ws) return;
      socket = undefined;
      if (stopped) return;
      if (PERMANENT.has(event.code)) {
        fail(new CinchError({
          code: "live_closed", message: `the server refused the live query (close code ${event.code})`,
          status: event.code - 4000, operation: "live",
        }));
        stopped = true;
        return setStatus("closed");
      }
      fail(new CinchError({ code: "live_closed", message: `the live socket closed (code ${event.code}); reconnecting`, operation: "live" }));
      schedule();
    });
  };

  const unsubscribe = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    const ws = socket;
    socket = undefined;
    if (ws && ws.readyState === 1) {
      try {
        ws.send(JSON.stringify({ type: "unsubscribe", id: "q" }));
      } catch {
        /* closing anyway */
      }
    }
    ws?.close(1000);
    setStatus("closed");
  };

  if (options.signal?.aborted) unsubscribe();
  else {
    options.signal?.addEventListener("abort", unsubscribe, { once: true });
    options.onStatus?.("connecting");
    void connect();
  }

  return {
    unsubscribe,
    get status() {
      return status;
    },
  };
}
