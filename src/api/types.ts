/**
 * TypeScript mirrors of the server's JSON (notebook_restified/server/,
 * spec.py, keys.py). Keep them 1:1 with the server. The error body is made
 * from the contract's table: see contract.ts.
 */

import type { IErrorObject } from './contract';
import type { IWarmupState } from '../core/warmup';

export type { IWarmupState };

/**
 * A JSON value, as the server sends it.
 */
export type JSONValue =
  null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };

/**
 * `GET /api/restified/status`.
 */
export interface IServerStatus {
  version: string;
  config: Record<string, unknown>;
  pool: Record<string, unknown>;
}

/**
 * The declared type of a parameter (`Parameter.type` in spec.py).
 */
export type ParameterType =
  | 'int'
  | 'float'
  | 'bool'
  | 'str'
  | 'list'
  | 'dict'
  | 'any'
  | 'date'
  | 'datetime'
  | 'time'
  | 'path'
  | 'bytes';

/**
 * A JSON type name as JSON Schema writes it.
 */
export type SchemaType =
  'integer' | 'number' | 'boolean' | 'string' | 'array' | 'object' | 'null';

/**
 * The JSON Schema (2020-12) of a parameter's value in a JSON body: the same
 * object as the OpenAPI document's `Parameters.properties[name]`. Only the
 * keys the server writes are typed; every key may be absent.
 */
export interface IParameterSchema {
  /** A JSON type, or `[type, 'null']` when nullable; absent for `any`. */
  type?: SchemaType | SchemaType[];
  /** `Literal[...]`: the allowed values (`null` among them when nullable). */
  enum?: JSONValue[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  /** A list's items (`list[int]`); `false` after `prefixItems` (a tuple). */
  items?: IParameterSchema | boolean;
  /** A fixed tuple's items, in order. */
  prefixItems?: IParameterSchema[];
  /** A dict's values (`dict[str, float]`). */
  additionalProperties?: IParameterSchema | boolean;
  /** `date`, `date-time`, `time`, `path`. */
  format?: string;
  /** `base64` for bytes. */
  contentEncoding?: string;
  /** Inside `items`/`prefixItems`: a union of schemas. */
  anyOf?: IParameterSchema[];
  default?: JSONValue;
  description?: string;
}

/**
 * One declared parameter: `{name, type, default, help, nullable, schema}`.
 */
export interface IParameter {
  name: string;
  type: ParameterType;
  default: JSONValue;
  help: string;
  /**
   * Whether JSON `null` is accepted (`Optional[...]`, a `None` default,
   * `any`). Absent from older servers' specs.
   */
  nullable?: boolean;
  /** The value's JSON Schema; absent from older servers' specs. */
  schema?: IParameterSchema;
  /**
   * The default's JSON text as the server wrote it (`2.0`, which `default`
   * holds as `2`); added by the client.
   */
  defaultText?: string;
}

/**
 * `GET /api/restified/spec/<path>`.
 */
export interface IEndpointSpec {
  path: string;
  url: string;
  kernel: { name: string; language: string };
  parameters: IParameter[];
  parameters_cell: number | null;
  setup_cells: number[];
  body_cells: number[];
  skip_cells: number[];
  return_cell: number | null;
  /**
   * The notebook's own isolation choice (`metadata.restified.isolation`),
   * or null for the server's default.
   */
  isolation: 'fork' | 'kernel' | null;
  /**
   * The notebook's cached results (`metadata.restified.cache`), or null when
   * every call runs.
   */
  cache: { ttl: number } | null;
  /**
   * The declared warm-up (`metadata.restified.warmup`): the parameter values
   * of each run of the body after setup (`{}`: the defaults).
   */
  warmup?: Record<string, unknown>[];
  /**
   * The warm-up in the kernel serving the saved version (null: not warm yet,
   * or none declared).
   */
  warmup_state?: IWarmupState | null;
  warnings: string[];
}

/**
 * Who made a key: the server user who created it (on a JupyterHub, any user
 * the hub lets use the server may).
 */
export interface IKeyCreator {
  username: string;
  display_name: string;
}

/**
 * An endpoint key as listed: `GET /api/restified/keys?path=`.
 */
export interface IEndpointKey {
  id: string;
  path: string;
  label: string;
  /** ISO 8601. */
  created: string;
  /** ISO 8601, or null for never. */
  expires: string | null;
  /** ISO 8601, or null when never used. */
  last_used: string | null;
  calls: number;
  /** Null for a key made before keys recorded who made them. */
  creator: IKeyCreator | null;
}

/**
 * `GET /api/restified/keys`.
 */
export interface IEndpointKeyList {
  keys: IEndpointKey[];
}

/**
 * `POST /api/restified/keys` answers 201 with the key, its secret (shown
 * only once), the endpoint URL and a ready-to-send link
 * (`url?shared#key=secret`: the secret in the fragment, never sent).
 */
export interface ICreatedEndpointKey extends IEndpointKey {
  secret: string;
  url: string;
  link: string;
}

/**
 * `POST /api/restified/keys` body.
 */
export interface ICreateEndpointKey {
  path: string;
  label: string;
  /** ISO 8601 date-time in the future, or null for a key that never expires. */
  expires: string | null;
}

/**
 * A run's status (`notebook_restified/runs/model.py`, `STATUSES`).
 */
export type RunStatus =
  'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timed_out';

/**
 * The statuses of a run that is over.
 */
export const FINISHED_STATUSES: readonly RunStatus[] = [
  'succeeded',
  'failed',
  'cancelled',
  'timed_out'
];

/**
 * A run's error: the error object a synchronous call would have answered,
 * as the run object holds it (its `type` as written: a run's record is read
 * as it is, not through `contractError`).
 */
export interface IRunError extends Omit<IErrorObject, 'type'> {
  type: string;
}

/**
 * The run object: `GET /api/restified/runs/<id>`, a `202` answer to a call
 * with `Prefer: respond-async`, and the `done` event's data.
 */
export interface IRun {
  id: string;
  path: string;
  status: RunStatus;
  /** False: a recorded synchronous call. */
  asynchronous: boolean;
  /** The coerced values the call ran with. */
  parameters: Record<string, JSONValue>;
  notebook_sha256: string;
  /** ISO 8601, UTC. */
  created: string;
  started: string | null;
  finished: string | null;
  /** Seconds the call's cells ran; null until it is over. */
  duration: number | null;
  /** Cells finished of the cells the call runs. */
  progress: { cell: number; cells: number };
  error: IRunError | null;
  result_kind: 'json' | 'table' | 'image' | null;
  /** The endpoint key that made the run, or null. */
  key: { id: string; label: string | null } | null;
  links: { self: string; result: string; events: string; notebook?: string };
}

/**
 * `GET /api/restified/runs?path=&limit=`.
 */
export interface IRunList {
  runs: IRun[];
}

/**
 * `status` event: `{"status": "queued", "created"}`, then `running`.
 */
export interface IRunStatusEvent {
  status: RunStatus;
  created?: string;
  started?: string;
}

/**
 * `cell` event: a call's cell started or finished. `position` counts the
 * call's cells (0: the injected parameters, whose `index` is null).
 */
export interface IRunCellEvent {
  position: number;
  index: number | null;
  id: string | null;
  state: 'started' | 'finished';
  /** Seconds since the call started. */
  at: number;
  /** The cell's own time (on `finished`). */
  seconds?: number;
  /** Whether it ran without raising (on `finished`). */
  ok?: boolean;
}

/**
 * `output` event: printed text, in order.
 */
export interface IRunOutputEvent {
  stream: 'stdout' | 'stderr';
  text: string;
}

/**
 * One event of `GET /api/restified/runs/<id>/events`, its data parsed.
 */
export type RunEvent =
  | { id: number; event: 'status'; data: IRunStatusEvent }
  | { id: number; event: 'cell'; data: IRunCellEvent }
  | { id: number; event: 'output'; data: IRunOutputEvent }
  | { id: number; event: 'done'; data: IRun };
