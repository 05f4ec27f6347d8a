import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IErrorBody, JSONValue } from './tokens';

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
  get error(): IErrorBody['error'] | null {
    return contractError(this.body);
  }
}

/**
 * The one place the frontend calls the server extension.
 *
 * @param endPoint path under `<baseUrl>/api/restified/`
 * @param init fetch options
 * @returns the parsed JSON body
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'api', 'restified', endPoint);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }

  const text = await response.text();
  let data: unknown = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // Not JSON: keep the text for the error message.
    }
  }
  if (!response.ok) {
    throw new RestifiedRequestError(
      response.status,
      errorMessage(data) ?? `${response.status} ${response.statusText}`,
      data
    );
  }
  return data as T;
}

/**
 * The URL of a notebook's endpoint, `<baseUrl>/restified/<path>`, built on
 * the client (the spec's `url` is the server's word for it).
 */
export function endpointUrl(path: string): string {
  const settings = ServerConnection.makeSettings();
  return URLExt.join(settings.baseUrl, 'restified', URLExt.encodeParts(path));
}

/**
 * The URL of a notebook's OpenAPI document.
 */
export function openapiUrl(path: string): string {
  const settings = ServerConnection.makeSettings();
  return URLExt.join(
    settings.baseUrl,
    'api',
    'restified',
    'openapi',
    URLExt.encodeParts(path)
  );
}

/**
 * The body of an endpoint's answer, by media type.
 */
export type EndpointBody =
  | { kind: 'json'; value: JSONValue }
  | { kind: 'image'; blob: Blob; mediaType: string }
  | { kind: 'text'; text: string; mediaType: string }
  | { kind: 'empty' };

/**
 * What a call of `/restified/<path>` answered, errors included.
 */
export interface IEndpointResponse {
  status: number;
  statusText: string;
  ok: boolean;
  /** The round trip as the browser saw it, in milliseconds. */
  duration: number;
  /** The run time the server reports (`X-Restified-Duration`), in ms. */
  serverDuration: number | null;
  headers: Record<string, string>;
  contentType: string;
  body: EndpointBody;
  /** The contract's error object when the answer is an error. */
  error: IErrorBody['error'] | null;
}

/**
 * How to call an endpoint.
 */
export interface ICallOptions {
  /** `POST` sends `values` as a JSON object body (the default). */
  method?: 'GET' | 'POST';
  /** The parameters' values. */
  values?: Record<string, JSONValue>;
  /** The `Accept` header. */
  accept?: string;
  /** Aborting cancels the call on the server too. */
  signal?: AbortSignal;
}

/**
 * Call a notebook's endpoint, `<baseUrl>/restified/<path>`, as the signed-in
 * user. Never throws on an HTTP error: the status and the contract's error
 * body are in the answer. Throws `ServerConnection.NetworkError` when the
 * server cannot be reached, and an `AbortError` when aborted.
 */
export async function callEndpoint(
  path: string,
  options: ICallOptions = {}
): Promise<IEndpointResponse> {
  const settings = ServerConnection.makeSettings();
  const method = options.method ?? 'POST';
  let url = endpointUrl(path);
  const init: RequestInit = {
    method,
    headers: {
      Accept: options.accept ?? 'application/json, image/png;q=0.9, */*;q=0.1'
    },
    signal: options.signal,
    // Not 'no-store': ServerConnection would add a cache-busting `?<time>`
    // argument, which the endpoint reads as an unknown parameter (422).
    cache: 'no-cache'
  };
  if (method === 'POST') {
    init.body = JSON.stringify(options.values ?? {});
    (init.headers as Record<string, string>)['Content-Type'] =
      'application/json';
  } else if (options.values) {
    const query: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.values)) {
      query[name] = typeof value === 'string' ? value : JSON.stringify(value);
    }
    url += URLExt.objectToQueryString(query);
  }

  const started = performance.now();
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    if ((error as Error).name === 'AbortError') {
      throw error;
    }
    throw new ServerConnection.NetworkError(error as TypeError);
  }

  const contentType = response.headers.get('Content-Type') ?? '';
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  let body: EndpointBody;
  if (mediaType.startsWith('image/')) {
    body = { kind: 'image', blob: await response.blob(), mediaType };
  } else {
    const text = await response.text();
    body = { kind: 'empty' };
    if (text.length > 0) {
      body = { kind: 'text', text, mediaType };
      if (mediaType === 'application/json' || mediaType === '') {
        try {
          body = { kind: 'json', value: JSON.parse(text) as JSONValue };
        } catch {
          // Keep the text.
        }
      }
    }
  }
  const duration = performance.now() - started;

  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const serverHeader = /^([\d.]+)ms$/.exec(
    response.headers.get('X-Restified-Duration') ?? ''
  );
  return {
    status: response.status,
    statusText: response.statusText,
    ok: response.ok,
    duration,
    serverDuration: serverHeader ? parseFloat(serverHeader[1]) : null,
    headers,
    contentType,
    body,
    error:
      !response.ok && body.kind === 'json' ? contractError(body.value) : null
  };
}

/**
 * The contract's `error` object in a body, or null.
 */
export function contractError(data: unknown): IErrorBody['error'] | null {
  if (typeof data !== 'object' || data === null) {
    return null;
  }
  const { error } = data as Partial<IErrorBody>;
  if (
    typeof error === 'object' &&
    error !== null &&
    typeof error.message === 'string'
  ) {
    return error;
  }
  return null;
}

function errorMessage(data: unknown): string | undefined {
  if (typeof data === 'object' && data !== null) {
    const { error, message } = data as {
      error?: { message?: string };
      message?: string;
    };
    return error?.message ?? message;
  }
  return typeof data === 'string' && data ? data : undefined;
}
