/**
 * The one client of the server extension: every request the frontend makes,
 * to the REST API (`<baseUrl>/api/restified/...`) and to the endpoints
 * themselves (`<baseUrl>/restified/<path>`), goes through a RestifiedClient,
 * with the ServerConnection settings it was made with.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { formText, IChosenFile, multipartBody } from '../core/form';
import { compactJSON, parseJSONSource } from '../core/jsonText';
import { ServerSentEventParser } from '../core/sse';
import { ISpecContent } from '../core/specContent';
import {
  ContractError,
  contractError,
  errorMessage,
  RestifiedRequestError
} from './errors';
import {
  ICreatedEndpointKey,
  ICreateEndpointKey,
  IEndpointKey,
  IEndpointKeyList,
  IEndpointSpec,
  IRun,
  IRunList,
  IServerStatus,
  JSONValue,
  RunEvent
} from './types';

/**
 * The body of an endpoint's answer, by media type.
 */
export type EndpointBody =
  | { kind: 'json'; value: JSONValue; text: string }
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
  error: ContractError | null;
}

/**
 * How to call an endpoint.
 */
export interface ICallOptions {
  /** `POST` sends `values` as a JSON object body (the default). */
  method?: 'GET' | 'POST';
  /** The parameters' values. */
  values?: Record<string, JSONValue>;
  /**
   * Files for bytes parameters, by name: with any, a `POST` is sent as
   * `multipart/form-data` (each file a file part, every value a text field).
   */
  files?: Record<string, IChosenFile>;
  /** The `Accept` header. */
  accept?: string;
  /** Aborting cancels the call on the server too. */
  signal?: AbortSignal;
  /**
   * Run in the background (`Prefer: respond-async`): the answer is `202`
   * with the run object, and the run goes on after the request.
   */
  background?: boolean;
}

/**
 * How to follow a run's events.
 */
export interface IRunEventsOptions {
  /** Resume after this event id (`Last-Event-ID`). */
  lastEventId?: number;
  /** Stop following (the run goes on). */
  signal?: AbortSignal;
}

/**
 * Talks to the server extension as the signed-in user.
 */
export class RestifiedClient {
  /**
   * @param serverSettings made once (the application's, by default new
   *   ones): its base URL, token and `fetch` serve every request.
   */
  constructor(
    readonly serverSettings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /**
   * A request to the REST API, `<baseUrl>/api/restified/<endPoint>`.
   *
   * @returns the parsed JSON body
   * @throws RestifiedRequestError when the server answers an error status;
   *   ServerConnection.NetworkError when it cannot be reached.
   */
  async request<T>(endPoint = '', init: RequestInit = {}): Promise<T> {
    return (await this._request<T>(endPoint, init)).data;
  }

  /** `request`, with the body's text too. */
  private async _request<T>(
    endPoint: string,
    init: RequestInit = {}
  ): Promise<{ data: T; text: string }> {
    const url = URLExt.join(
      this.serverSettings.baseUrl,
      'api',
      'restified',
      endPoint
    );
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        url,
        init,
        this.serverSettings
      );
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
    return { data: data as T, text };
  }

  /** `GET status`: the server extension's version, configuration and pool. */
  getStatus(): Promise<IServerStatus> {
    return this.request<IServerStatus>('status');
  }

  /** `GET spec/<path>`: the saved notebook's endpoint. */
  async getSpec(path: string): Promise<IEndpointSpec> {
    const { data, text } = await this._request<IEndpointSpec>(
      `spec/${URLExt.encodeParts(path)}`
    );
    return withDefaultTexts(data, text);
  }

  /**
   * `POST spec/<path>`: the endpoint the notebook `content` makes (the part
   * of a notebook its spec reads: `specContent`), for the notebook at `path`.
   */
  async postSpec(path: string, content: ISpecContent): Promise<IEndpointSpec> {
    const { data, text } = await this._request<IEndpointSpec>(
      `spec/${URLExt.encodeParts(path)}`,
      { method: 'POST', body: JSON.stringify(content) }
    );
    return withDefaultTexts(data, text);
  }

  /** `GET keys?path=`: a notebook's keys, without their secrets. */
  async listKeys(path: string): Promise<IEndpointKey[]> {
    const { keys } = await this.request<IEndpointKeyList>(
      `keys${URLExt.objectToQueryString({ path })}`
    );
    return keys;
  }

  /** `POST keys`: a new key; the answer holds its secret, only this once. */
  createKey(key: ICreateEndpointKey): Promise<ICreatedEndpointKey> {
    return this.request<ICreatedEndpointKey>('keys', {
      method: 'POST',
      body: JSON.stringify(key)
    });
  }

  /** `DELETE keys/<id>`: calls with the key are refused from now on. */
  async revokeKey(id: string): Promise<void> {
    await this.request<void>(`keys/${encodeURIComponent(id)}`, {
      method: 'DELETE'
    });
  }

  /**
   * The URL of a notebook's endpoint, `<baseUrl>/restified/<path>`, built on
   * the client (the spec's `url` is the server's word for it).
   */
  endpointUrl(path: string): string {
    return URLExt.join(
      this.serverSettings.baseUrl,
      'restified',
      URLExt.encodeParts(path)
    );
  }

  /**
   * The URL of a notebook's OpenAPI document.
   */
  openapiUrl(path: string): string {
    return URLExt.join(
      this.serverSettings.baseUrl,
      'api',
      'restified',
      'openapi',
      URLExt.encodeParts(path)
    );
  }

  /**
   * Call a notebook's endpoint, `<baseUrl>/restified/<path>`. Never throws
   * on an HTTP error: the status and the contract's error body are in the
   * answer. Throws `ServerConnection.NetworkError` when the server cannot be
   * reached, and when the call is aborted (ServerConnection wraps the fetch's
   * AbortError in one).
   */
  async callEndpoint(
    path: string,
    options: ICallOptions = {}
  ): Promise<IEndpointResponse> {
    const method = options.method ?? 'POST';
    let url = this.endpointUrl(path);
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
    if (options.background) {
      (init.headers as Record<string, string>)['Prefer'] = 'respond-async';
    }
    const multipart =
      method === 'POST'
        ? multipartBody({
            values: options.values ?? {},
            files: options.files ?? {}
          })
        : null;
    if (multipart !== null) {
      // The browser writes the Content-Type, with the parts' boundary.
      init.body = multipart;
    } else if (method === 'POST') {
      init.body = JSON.stringify(options.values ?? {});
      (init.headers as Record<string, string>)['Content-Type'] =
        'application/json';
    } else if (options.values) {
      const query: Record<string, string> = {};
      for (const [name, value] of Object.entries(options.values)) {
        query[name] = formText(value);
      }
      url += URLExt.objectToQueryString(query);
    }

    const started = performance.now();
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        url,
        init,
        this.serverSettings
      );
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
            body = {
              kind: 'json',
              value: JSON.parse(text) as JSONValue,
              text
            };
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

  /** `GET runs?path=&limit=`: a notebook's recent runs, newest first. */
  async listRuns(path: string, limit = 50): Promise<IRun[]> {
    const { runs } = await this.request<IRunList>(
      `runs${URLExt.objectToQueryString({ path, limit: String(limit) })}`
    );
    return runs;
  }

  /** `GET runs/<id>`: the run object. */
  getRun(id: string): Promise<IRun> {
    return this.request<IRun>(`runs/${encodeURIComponent(id)}`);
  }

  /** `DELETE runs/<id>`: cancel a run; the answer is the run, `cancelled` (or as it ended). */
  cancelRun(id: string): Promise<IRun> {
    return this.request<IRun>(`runs/${encodeURIComponent(id)}`, {
      method: 'DELETE'
    });
  }

  /** The URL of a run's executed notebook, `runs/<id>/notebook`. */
  runNotebookUrl(id: string): string {
    return URLExt.join(
      this.serverSettings.baseUrl,
      'api',
      'restified',
      'runs',
      encodeURIComponent(id),
      'notebook'
    );
  }

  /** `GET runs/<id>/notebook`: the executed notebook's JSON (409 until the run is over). */
  getRunNotebook(id: string): Promise<Record<string, JSONValue>> {
    return this.request<Record<string, JSONValue>>(
      `runs/${encodeURIComponent(id)}/notebook`
    );
  }

  /**
   * `GET runs/<id>/events`: the run's Server-Sent Events as they come,
   * through the same fetch and credentials as every request (an
   * EventSource could not send them). Ends after `done`, when the server
   * closes the stream, or when `signal` aborts (then throws its AbortError).
   *
   * @throws RestifiedRequestError when the server refuses (404, 403);
   *   ServerConnection.NetworkError when it cannot be reached.
   */
  async *runEvents(
    id: string,
    options: IRunEventsOptions = {}
  ): AsyncGenerator<RunEvent, void, undefined> {
    const url = URLExt.join(
      this.serverSettings.baseUrl,
      'api',
      'restified',
      'runs',
      encodeURIComponent(id),
      'events'
    );
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (options.lastEventId) {
      headers['Last-Event-ID'] = String(options.lastEventId);
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        url,
        { headers, signal: options.signal },
        this.serverSettings
      );
    } catch (error) {
      if ((error as Error).name === 'AbortError') {
        throw error;
      }
      throw new ServerConnection.NetworkError(error as TypeError);
    }
    if (!response.ok || !response.body) {
      const text = await response.text();
      let data: unknown = text;
      try {
        data = JSON.parse(text);
      } catch {
        // Not JSON.
      }
      throw new RestifiedRequestError(
        response.status,
        errorMessage(data) ?? `${response.status} ${response.statusText}`,
        data
      );
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parser = new ServerSentEventParser();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        const text = done
          ? decoder.decode()
          : decoder.decode(value, { stream: true });
        for (const event of parser.push(text)) {
          let data: unknown;
          try {
            data = JSON.parse(event.data);
          } catch {
            continue; // Not the server's JSON: not an event of the contract.
          }
          const parsed = {
            id: parseInt(event.id, 10) || 0,
            event: event.event,
            data
          } as RunEvent;
          yield parsed;
          if (parsed.event === 'done') {
            return;
          }
        }
        if (done) {
          return;
        }
      }
    } finally {
      // Leaving early (a break, an abort, done): close the stream.
      void reader.cancel().catch(() => undefined);
    }
  }
}

/**
 * Each parameter's default as the server wrote it (`2.0` stays `2.0`, which
 * `JSON.parse` makes `2`), from the spec's text.
 */
function withDefaultTexts(spec: IEndpointSpec, text: string): IEndpointSpec {
  let parameters;
  try {
    const source = parseJSONSource(text);
    parameters =
      source.kind === 'object' ? source.members.get('parameters') : undefined;
  } catch {
    return spec;
  }
  if (parameters?.kind !== 'array' || !Array.isArray(spec.parameters)) {
    return spec;
  }
  spec.parameters.forEach((parameter, i) => {
    const item = parameters.items[i];
    const value = item?.kind === 'object' ? item.members.get('default') : null;
    if (value) {
      parameter.defaultText = compactJSON(value.text);
    }
  });
  return spec;
}
