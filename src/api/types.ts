/**
 * TypeScript mirrors of the server's JSON (notebook_restified/handlers.py,
 * spec.py, errors.py, keys.py). Keep them 1:1 with the server.
 */

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
  'int' | 'float' | 'bool' | 'str' | 'list' | 'dict' | 'any';

/**
 * One declared parameter: `{name, type, default, help}`.
 */
export interface IParameter {
  name: string;
  type: ParameterType;
  default: JSONValue;
  help: string;
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
  warnings: string[];
}

/**
 * The error types of the contract (`RestifiedError.type` and the handlers'
 * own HTTP errors).
 */
export type ErrorType =
  | 'invalid_request'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'not_acceptable'
  | 'too_large'
  | 'invalid_notebook'
  | 'invalid_parameters'
  | 'execution_error'
  | 'kernel_died'
  | 'busy'
  | 'timeout'
  | 'rate_limited'
  | 'keys_unavailable'
  | 'error'
  | 'internal';

/**
 * `details` of an `invalid_parameters` error.
 */
export interface IParameterProblem {
  name: string;
  problem: string;
}

/**
 * The body of every error: `{"error": {type, message, ...}}`; the optional
 * members are those of the errors that carry them.
 */
export interface IErrorBody {
  error: {
    type: ErrorType | string;
    message: string;
    /** `invalid_notebook`: the cells at fault. */
    cells?: number[];
    /** `invalid_parameters`: one entry per problem. */
    details?: IParameterProblem[];
    /** `execution_error`: where and what. */
    cell_index?: number | null;
    cell_id?: string | null;
    ename?: string;
    evalue?: string;
    traceback?: string[];
    /** `busy` (and rate limited): seconds to wait. */
    retry_after?: number;
    /** `timeout`: the limit that was passed, in seconds. */
    time_limit?: number;
  };
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
}

/**
 * `GET /api/restified/keys`.
 */
export interface IEndpointKeyList {
  keys: IEndpointKey[];
}

/**
 * `POST /api/restified/keys` answers 201 with the key, its secret (shown
 * only once), the endpoint URL and a ready-to-send link (`url?key=secret`).
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
