/**
 * The contract's error types, error body and auth schemes, made from
 * notebook_restified/contract.py by `python -m notebook_restified.contract
 * --write`. Do not edit: a test fails when this file is stale.
 */

/**
 * Every error type a caller can get (`error.type` of an error body).
 */
export type ErrorType =
  | 'busy'
  | 'cancelled'
  | 'error'
  | 'execution_error'
  | 'forbidden'
  | 'internal'
  | 'interrupted'
  | 'invalid_notebook'
  | 'invalid_parameters'
  | 'invalid_request'
  | 'kernel_died'
  | 'keys_unavailable'
  | 'method_not_allowed'
  | 'not_acceptable'
  | 'not_finished'
  | 'not_found'
  | 'rate_limited'
  | 'result_too_large'
  | 'timeout'
  | 'too_large';

/**
 * One error of the contract: its HTTP status, when it happens, and the
 * fields its JSON object carries beyond `type` and `message`.
 */
export interface IErrorKind {
  status: number;
  when: string;
  fields: readonly string[];
}

/**
 * Every error of the contract, by type.
 */
export const ERROR_KINDS: Readonly<Record<ErrorType, IErrorKind>> = {
  busy: {
    status: 503,
    when: 'the queue is full; Retry-After says when to retry',
    fields: ['retry_after']
  },
  cancelled: {
    status: 409,
    when: 'the result of a cancelled run',
    fields: []
  },
  error: {
    status: 500,
    when: "a failure with no type of its own: the call's machinery failing (the engine closed, a kernel that cannot report its result), or a client error the web framework answers with a status of its own (then that status)",
    fields: []
  },
  execution_error: {
    status: 500,
    when: 'a cell raised: which, what (the traceback as plain text lines) and what the call printed; a key holder gets cell_index, ename and evalue only, unless key_tracebacks allows',
    fields: [
      'cell_index',
      'cell_id',
      'ename',
      'evalue',
      'traceback',
      'stdout',
      'stderr'
    ]
  },
  forbidden: {
    status: 403,
    when: 'no or insufficient credentials, or a key that does not open this endpoint (nothing runs)',
    fields: []
  },
  internal: {
    status: 500,
    when: 'a fault of the server itself (it is logged)',
    fields: []
  },
  interrupted: {
    status: 500,
    when: 'the server stopped while the run was in flight',
    fields: []
  },
  invalid_notebook: {
    status: 409,
    when: "tags make no function (two return or parameters cells, a parameters cell that is not plain literal assignments): the cells at fault, and the parameters cell's line",
    fields: ['cells', 'line']
  },
  invalid_parameters: {
    status: 422,
    when: 'unknown names, a name given twice, values that do not coerce, have the wrong type, are not one of the choices or are out of bounds: one {name, problem} per problem (the first 50, the message counting the rest)',
    fields: ['details']
  },
  invalid_request: {
    status: 400,
    when: 'the body is not JSON, or not an object',
    fields: []
  },
  kernel_died: {
    status: 502,
    when: 'the process running the call died (os._exit, a crash, out of memory)',
    fields: []
  },
  keys_unavailable: {
    status: 503,
    when: 'the keys file cannot be read, so an endpoint key can be neither checked nor changed',
    fields: []
  },
  method_not_allowed: {
    status: 405,
    when: 'the route does not answer this HTTP method; Allow lists those it answers',
    fields: []
  },
  not_acceptable: {
    status: 406,
    when: "Accept allows none of the result's types",
    fields: []
  },
  not_finished: {
    status: 409,
    when: "the run's result or notebook was asked for while it is queued or running",
    fields: []
  },
  not_found: {
    status: 404,
    when: "no such notebook under the server's root (directories, other files, ..)",
    fields: []
  },
  rate_limited: {
    status: 429,
    when: 'an endpoint key made more than key_rate_limit calls and runs requests this minute, or has key_max_concurrent calls in flight; Retry-After says when',
    fields: ['retry_after']
  },
  result_too_large: {
    status: 502,
    when: "the call's result, encoded as JSON, PNG or CSV, is larger than max_result_size; nothing of it is sent",
    fields: ['limit', 'size']
  },
  timeout: {
    status: 504,
    when: 'the call ran past the time limit; it was stopped',
    fields: ['time_limit']
  },
  too_large: {
    status: 413,
    when: 'the body is larger than max_body_size',
    fields: []
  }
};

/** One entry of an `invalid_parameters` error's `details`. */
export interface IParameterProblem {
  /** The parameter (as it was given). */
  name: string;
  /** What is wrong with it. */
  problem: string;
}

/**
 * The `error` object of every error body: its `type` and `message`, and the
 * fields of the errors that carry them (`ERROR_KINDS[type].fields`).
 */
export interface IErrorObject {
  /** The error's type (see `ERROR_KINDS`). */
  type: ErrorType;
  /** What went wrong, in words. */
  message: string;
  /**
   * The indices (in the notebook's cells) of the cells at fault.
   * (`invalid_notebook`)
   */
  cells?: number[];
  /**
   * The line of the parameters cell at fault (1-based), or null when no line is
   * to blame; absent when the fault is not in the parameters cell.
   * (`invalid_notebook`)
   */
  line?: number | null;
  /**
   * One entry per problem: the parameter and what is wrong with it.
   * (`invalid_parameters`)
   */
  details?: IParameterProblem[];
  /**
   * Seconds to wait before trying again (also the Retry-After header). (`busy`,
   * `rate_limited`)
   */
  retry_after?: number;
  /**
   * The index of the cell that raised, or null when it was none of the
   * notebook's cells. (`execution_error`)
   */
  cell_index?: number | null;
  /** The id of the cell that raised, if any. (`execution_error`) */
  cell_id?: string | null;
  /** The exception's class name. (`execution_error`) */
  ename?: string;
  /** The exception's message. (`execution_error`) */
  evalue?: string;
  /**
   * The traceback as plain text lines (no terminal colours).
   * (`execution_error`)
   */
  traceback?: string[];
  /** What the call printed before it failed. (`execution_error`) */
  stdout?: string;
  /** What the call wrote to stderr. (`execution_error`) */
  stderr?: string;
  /** The limit that was passed, in bytes. (`result_too_large`) */
  limit?: number;
  /**
   * The bytes counted when encoding stopped past the limit (a lower bound), if
   * known. (`result_too_large`)
   */
  size?: number | null;
  /** The time limit that was passed, in seconds. (`timeout`) */
  time_limit?: number;
}

/** The body of every error: `{"error": {type, message, ...}}`. */
export interface IErrorBody {
  error: IErrorObject;
}

/**
 * The ways to authenticate a call (OpenAPI security schemes).
 */
export type AuthScheme =
  'token' | 'tokenQuery' | 'endpointKey' | 'endpointKeyQuery';

/**
 * The endpoint key's prefix (`Authorization: Bearer nrk_...`).
 */
export const ENDPOINT_KEY_PREFIX = 'nrk_';
