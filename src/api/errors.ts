/**
 * The client's errors. The server answers every error with the contract's
 * body, `{"error": {"type", "message", ...}}`: a `RestifiedRequestError`
 * carries it with the status. A server that cannot be reached is JupyterLab's
 * `ServerConnection.NetworkError`. `requestProblem` condenses either for the
 * panel. Pure: no DOM, no JupyterLab objects.
 */
import { ERROR_KINDS, ErrorType, IErrorObject } from './contract';

/**
 * The contract's `error` object.
 */
export type ContractError = IErrorObject;

/**
 * An error answered by the server, carrying the contract's JSON error body.
 */
export class RestifiedRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown
  ) {
    super(message);
    this.name = 'RestifiedRequestError';
  }

  /**
   * The contract's `error` object, if the body is one.
   */
  get error(): ContractError | null {
    return contractError(this.body);
  }

  /**
   * The contract's error type (`invalid_notebook`, `not_found`, ...), or
   * `error` when the body is not the contract's (a proxy's HTML page).
   */
  get type(): ErrorType {
    return this.error?.type ?? 'error';
  }
}

/**
 * Why a request failed, condensed for the panel.
 */
export interface IRequestProblem {
  /** HTTP status, 0 when the server could not be reached. */
  status: number;
  /** The contract's error type, `error` for a body that is not the contract's, `network` for no answer. */
  type: ErrorType | 'network';
  message: string;
  /** For `invalid_notebook`: the cells at fault. */
  cells: number[];
}

/**
 * Condense what a request threw: the server's answer, or no answer at all.
 */
export function requestProblem(error: unknown): IRequestProblem {
  if (error instanceof RestifiedRequestError) {
    return {
      status: error.status,
      type: error.type,
      message: error.message,
      cells: error.error?.cells ?? []
    };
  }
  return {
    status: 0,
    type: 'network',
    message: (error as Error).message || 'The server could not be reached.',
    cells: []
  };
}

/**
 * The error type `type` is, or `error` (the contract's type of a failure
 * with no type of its own) for one this client does not know: a newer
 * server's, or no string at all.
 */
export function errorType(type: unknown): ErrorType {
  return typeof type === 'string' &&
    Object.prototype.hasOwnProperty.call(ERROR_KINDS, type)
    ? (type as ErrorType)
    : 'error';
}

/**
 * The contract's `error` object in a body, or null; its `type` is one of
 * `ErrorType` (see `errorType`).
 */
export function contractError(data: unknown): ContractError | null {
  if (typeof data !== 'object' || data === null) {
    return null;
  }
  const { error } = data as { error?: unknown };
  if (typeof error !== 'object' || error === null) {
    return null;
  }
  const fields = error as Partial<Record<keyof IErrorObject, unknown>>;
  if (typeof fields.message !== 'string') {
    return null;
  }
  return {
    ...(error as Omit<IErrorObject, 'type'>),
    type: errorType(fields.type)
  };
}

/**
 * The message to show for an error body: the contract's, a bare `message`
 * (Jupyter Server's own errors), or a non-JSON body's text.
 */
export function errorMessage(data: unknown): string | undefined {
  if (typeof data === 'object' && data !== null) {
    const { error, message } = data as {
      error?: { message?: string };
      message?: string;
    };
    return error?.message ?? message;
  }
  return typeof data === 'string' && data ? data : undefined;
}
