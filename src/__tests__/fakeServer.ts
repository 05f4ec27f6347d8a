/**
 * A fake server at the one boundary the client has: the `fetch` of its
 * ServerConnection settings. Tests queue answers and read the requests.
 */
import { ServerConnection } from '@jupyterlab/services';

import { RestifiedClient } from '../api/client';

export const BASE_URL = 'http://localhost:8888/base/';

/**
 * An answer to give: a response, an error to throw (no answer), or a
 * function of the request (to answer late, or after looking at it).
 */
export type Answer =
  Response | Error | ((request: Request) => Promise<Response>);

export interface IFakeServer {
  client: RestifiedClient;
  /** Every request, in order. */
  requests: Request[];
  /** Queue answers for the next requests. */
  answer(...answers: Answer[]): void;
}

export function fakeServer(): IFakeServer {
  const requests: Request[] = [];
  const answers: Answer[] = [];
  const fetch = async (input: RequestInfo | URL): Promise<Response> => {
    const request = input as Request;
    requests.push(request);
    const answer = answers.shift();
    if (answer === undefined) {
      throw new Error(`No answer queued for ${request.method} ${request.url}`);
    }
    if (answer instanceof Error) {
      throw answer;
    }
    return typeof answer === 'function' ? answer(request) : answer;
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: BASE_URL,
    token: 'server-token',
    fetch
  });
  return {
    client: new RestifiedClient(settings),
    requests,
    answer: (...more) => answers.push(...more)
  };
}

/**
 * A JSON answer.
 */
export function json(
  body: unknown,
  status = 200,
  headers: Record<string, string> = {}
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers }
  });
}

/**
 * A promise and the functions that settle it, for answers that come late.
 */
export function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
} {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>(r => {
    resolve = r;
  });
  return { promise, resolve };
}
