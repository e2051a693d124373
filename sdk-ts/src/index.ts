/**
 * @cinch/sdk: the TypeScript client of cinch's HTTP API (`cinch serve`).
 *
 * @packageDocumentation
 */
export { createClient, type CinchClient } from "./client.js";
export { CinchError, type ClientErrorCode } from "./errors.js";
export {
  DEFAULT_RETRY,
  type CallOptions,
  type ClientOptions,
  type Middleware,
  type RawResult,
  type RetryOptions,
  type WebSocketLike,
} from "./core.js";
export type { IntMode, Param, Params, Value } from "./ints.js";
export type { LiveOptions, LiveStatus, LiveSubscription } from "./live.js";
export { Paged, type Page } from "./paged.js";
export {
  OPERATIONS,
  type ApiKey,
  type BatchResult,
  type Branch,
  type CascadeOptions,
  type ChangeOptions,
  type ChangeResult,
  type Column,
  type ColumnCreate,
  type ColumnUpdate,
  type Comment,
  type CreatedKey,
  type Database,
  type DatabaseDetail,
  type Index,
  type IndexCreate,
  type ListOptions,
  type LogItem,
  type MergeOutcome,
  type MergeRequest,
  type MergeRequestDetail,
  type QueryOptions,
  type QueryResult,
  type RawNamespace,
  type RawResources,
  type ReadOptions,
  type Resources,
  type Schema,
  type Statement,
  type Table,
  type TableCreate,
  type Tenant,
  type View,
} from "./resources.js";
export type { components, paths, operations } from "./generated/openapi.js";
