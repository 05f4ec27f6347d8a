import { ServerConnection } from '@jupyterlab/services';

import {
  contractError,
  errorType,
  RestifiedRequestError,
  requestProblem
} from '../api/errors';
import { IEndpointSpec } from '../api/types';
import { BASE_URL, fakeServer, json } from './fakeServer';

const SPEC: IEndpointSpec = {
  path: 'dir/a b.ipynb',
  url: `${BASE_URL}restified/dir/a%20b.ipynb`,
  kernel: { name: 'python3', language: 'python' },
  parameters: [{ name: 'n', type: 'int', default: 10, help: '' }],
  parameters_cell: 1,
  setup_cells: [0],
  body_cells: [2],
  skip_cells: [],
  return_cell: 3,
  isolation: null,
  cache: null,
  warnings: []
};

/** What a request threw (fails the test if it did not throw). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('Expected the request to fail.');
}

describe('RestifiedClient: values as the server wrote them', () => {
  it("keeps each default's text: a float's 2.0 is not 2", async () => {
    const server = fakeServer();
    // What Python's json.dumps writes for float and list defaults.
    const text = JSON.stringify({
      ...SPEC,
      parameters: [
        { name: 'ratio', type: 'float', default: 0, help: '' },
        { name: 'items', type: 'list', default: 0, help: '' }
      ]
    })
      .replace('"default":0', '"default": 2.0')
      .replace('"default":0', '"default": [1.0, 2, "a"]');
    server.answer(
      new Response(text, { headers: { 'Content-Type': 'application/json' } })
    );
    const spec = await server.client.getSpec('a.ipynb');
    expect(spec.parameters.map(p => [p.default, p.defaultText])).toEqual([
      [2, '2.0'],
      [[1, 2, 'a'], '[1.0,2,"a"]']
    ]);
  });

  it("keeps a result's text: 30.0 is not 30", async () => {
    const server = fakeServer();
    server.answer(
      new Response('30.0', { headers: { 'Content-Type': 'application/json' } })
    );
    const answer = await server.client.callEndpoint('a.ipynb');
    expect(answer.body).toEqual({ kind: 'json', value: 30, text: '30.0' });
  });
});

describe('RestifiedClient: the REST API', () => {
  it('asks <baseUrl>/api/restified/ with the server token', async () => {
    const server = fakeServer();
    server.answer(json(SPEC));
    await expect(server.client.getSpec('dir/a b.ipynb')).resolves.toEqual({
      ...SPEC,
      parameters: [{ ...SPEC.parameters[0], defaultText: '10' }]
    });
    const [request] = server.requests;
    expect(request.method).toBe('GET');
    expect(new URL(request.url).pathname).toBe(
      '/base/api/restified/spec/dir/a%20b.ipynb'
    );
    expect(request.headers.get('Authorization')).toBe('token server-token');
  });

  it('makes no new settings per request: every call uses the ones it has', async () => {
    const server = fakeServer();
    const makeSettings = jest.spyOn(ServerConnection, 'makeSettings');
    try {
      server.answer(
        json({ version: '1', config: {}, pool: {} }),
        json({ keys: [] }),
        json({ ok: true })
      );
      await server.client.getStatus();
      await server.client.listKeys('a.ipynb');
      await server.client.callEndpoint('a.ipynb');
      expect(makeSettings).not.toHaveBeenCalled();
      expect(server.requests).toHaveLength(3);
      expect(server.requests.every(r => r.url.startsWith(BASE_URL))).toBe(true);
    } finally {
      makeSettings.mockRestore();
    }
  });

  it("lists a notebook's keys by path", async () => {
    const server = fakeServer();
    const key = {
      id: 'k1',
      path: 'dir/a.ipynb',
      label: 'Alice',
      created: '2026-01-01T00:00:00Z',
      expires: null,
      last_used: null,
      calls: 0
    };
    server.answer(json({ keys: [key] }));
    await expect(server.client.listKeys('dir/a.ipynb')).resolves.toEqual([key]);
    const url = new URL(server.requests[0].url);
    expect(url.pathname).toBe('/base/api/restified/keys');
    expect(url.searchParams.get('path')).toBe('dir/a.ipynb');
  });

  it('creates a key with a JSON POST', async () => {
    const server = fakeServer();
    server.answer(json({ id: 'k2', secret: 's3cret' }, 201));
    const created = await server.client.createKey({
      path: 'a.ipynb',
      label: 'Bob "B"',
      expires: null
    });
    expect(created.secret).toBe('s3cret');
    const [request] = server.requests;
    expect(request.method).toBe('POST');
    expect(await request.json()).toEqual({
      path: 'a.ipynb',
      label: 'Bob "B"',
      expires: null
    });
  });

  it('revokes a key with a DELETE of its encoded id', async () => {
    const server = fakeServer();
    server.answer(new Response(null, { status: 204 }));
    await expect(server.client.revokeKey('a/b c')).resolves.toBeUndefined();
    const [request] = server.requests;
    expect(request.method).toBe('DELETE');
    expect(new URL(request.url).pathname).toBe(
      '/base/api/restified/keys/a%2Fb%20c'
    );
  });

  it('builds the endpoint and OpenAPI URLs on its base URL', () => {
    const { client } = fakeServer();
    expect(client.endpointUrl('dir/a b.ipynb')).toBe(
      `${BASE_URL}restified/dir/a%20b.ipynb`
    );
    expect(client.openapiUrl('dir/a b.ipynb')).toBe(
      `${BASE_URL}api/restified/openapi/dir/a%20b.ipynb`
    );
  });
});

describe('RestifiedClient: errors', () => {
  it("turns the contract's error body into a RestifiedRequestError", async () => {
    const server = fakeServer();
    server.answer(
      json(
        {
          error: {
            type: 'invalid_notebook',
            message: "Cells 2 and 3 are all tagged 'parameters'.",
            cells: [2, 3]
          }
        },
        409
      )
    );
    const error = await rejection(server.client.getSpec('a.ipynb'));
    expect(error).toBeInstanceOf(RestifiedRequestError);
    const answered = error as RestifiedRequestError;
    expect(answered.status).toBe(409);
    expect(answered.type).toBe('invalid_notebook');
    expect(answered.message).toBe("Cells 2 and 3 are all tagged 'parameters'.");
    expect(answered.error?.cells).toEqual([2, 3]);
    expect(requestProblem(error)).toEqual({
      status: 409,
      type: 'invalid_notebook',
      message: "Cells 2 and 3 are all tagged 'parameters'.",
      cells: [2, 3]
    });
  });

  it("reads Jupyter Server's own error body ({message, reason})", async () => {
    const server = fakeServer();
    server.answer(json({ message: 'Forbidden', reason: null }, 403));
    const error = (await rejection(
      server.client.getStatus()
    )) as RestifiedRequestError;
    expect(error).toBeInstanceOf(RestifiedRequestError);
    expect(error.status).toBe(403);
    expect(error.message).toBe('Forbidden');
    expect(error.error).toBeNull();
    expect(error.type).toBe('error');
  });

  it('keeps the text of a 5xx that is not JSON (a proxy page)', async () => {
    const server = fakeServer();
    server.answer(
      new Response('<html>502 Bad Gateway</html>', {
        status: 502,
        statusText: 'Bad Gateway',
        headers: { 'Content-Type': 'text/html' }
      })
    );
    const error = (await rejection(
      server.client.getSpec('a.ipynb')
    )) as RestifiedRequestError;
    expect(error).toBeInstanceOf(RestifiedRequestError);
    expect(error.status).toBe(502);
    expect(error.message).toBe('<html>502 Bad Gateway</html>');
    expect(error.body).toBe('<html>502 Bad Gateway</html>');
    expect(requestProblem(error)).toEqual({
      status: 502,
      type: 'error',
      message: '<html>502 Bad Gateway</html>',
      cells: []
    });
  });

  it('says the status of an empty 5xx', async () => {
    const server = fakeServer();
    server.answer(
      new Response('', { status: 500, statusText: 'Internal Server Error' })
    );
    const error = await rejection(server.client.getStatus());
    expect(error).toBeInstanceOf(RestifiedRequestError);
    expect(error.message).toBe('500 Internal Server Error');
  });

  it('turns a network failure into a ServerConnection.NetworkError', async () => {
    const server = fakeServer();
    server.answer(new TypeError('fetch failed'));
    const error = await rejection(server.client.getSpec('a.ipynb'));
    expect(error).toBeInstanceOf(ServerConnection.NetworkError);
    expect(error).not.toBeInstanceOf(RestifiedRequestError);
    expect(error.message).toBe('fetch failed');
    expect(requestProblem(error)).toEqual({
      status: 0,
      type: 'network',
      message: 'fetch failed',
      cells: []
    });
  });

  it('names the problem when a failure has no message', () => {
    expect(requestProblem(new TypeError(''))).toEqual({
      status: 0,
      type: 'network',
      message: 'The server could not be reached.',
      cells: []
    });
  });

  it('finds the contract error only in a contract body', () => {
    expect(contractError(null)).toBeNull();
    expect(contractError('error')).toBeNull();
    expect(contractError({ error: 'busy' })).toBeNull();
    expect(contractError({ error: { type: 'busy' } })).toBeNull();
    expect(
      contractError({ error: { type: 'busy', message: 'Wait.' } })
    ).toEqual({ type: 'busy', message: 'Wait.' });
  });

  it("reads a type it does not know (a newer server's) as `error`", () => {
    expect(
      contractError({
        error: { type: 'brand_new', message: 'Later.', retry_after: 3 }
      })
    ).toEqual({ type: 'error', message: 'Later.', retry_after: 3 });
    expect(contractError({ error: { type: 7, message: 'x' } })?.type).toBe(
      'error'
    );
    expect(contractError({ error: { message: 'x' } })?.type).toBe('error');
    expect(errorType('toString')).toBe('error');
    expect(errorType('rate_limited')).toBe('rate_limited');
  });
});

describe('RestifiedClient.callEndpoint', () => {
  it('POSTs a form with a file as multipart/form-data', async () => {
    const server = fakeServer();
    server.answer(json({ size: 3 }));
    await server.client.callEndpoint('scan.ipynb', {
      values: { n: 3, items: [1, 2], when: '2024-01-31' },
      files: { data: new File(['abc'], 'scan.bin') }
    });
    const [request] = server.requests;
    expect(request.method).toBe('POST');
    // The boundary is the browser's: no JSON Content-Type was forced on it.
    expect(request.headers.get('Content-Type')).toMatch(
      /^multipart\/form-data; boundary=/
    );
    const form = await request.formData();
    const file = form.get('data') as File;
    expect(file.name).toBe('scan.bin');
    expect(await file.text()).toBe('abc');
    expect(form.get('n')).toBe('3');
    expect(form.get('items')).toBe('[1,2]');
    expect(form.get('when')).toBe('2024-01-31');
  });

  it('POSTs the values as JSON and reads a JSON answer', async () => {
    const server = fakeServer();
    server.answer(
      json({ result: 55 }, 200, { 'X-Restified-Duration': '12.5ms' })
    );
    const answer = await server.client.callEndpoint('dir/a b.ipynb', {
      values: { n: 10, s: 'x' }
    });
    expect(answer).toMatchObject({
      status: 200,
      ok: true,
      serverDuration: 12.5,
      body: { kind: 'json', value: { result: 55 } },
      error: null
    });
    expect(answer.headers['x-restified-duration']).toBe('12.5ms');
    const [request] = server.requests;
    expect(request.method).toBe('POST');
    // No cache-busting argument: the endpoint would read it as a parameter.
    expect(request.url).toBe(`${BASE_URL}restified/dir/a%20b.ipynb`);
    expect(request.headers.get('Content-Type')).toBe('application/json');
    expect(request.headers.get('Accept')).toBe(
      'application/json, image/png;q=0.9, */*;q=0.1'
    );
    expect(await request.json()).toEqual({ n: 10, s: 'x' });
  });

  it('GET sends strings as they are and other values as JSON', async () => {
    const server = fakeServer();
    server.answer(json(1));
    await server.client.callEndpoint('a.ipynb', {
      method: 'GET',
      values: { s: 'a b', l: [1, 2], on: true }
    });
    const url = new URL(server.requests[0].url);
    expect(url.searchParams.get('s')).toBe('a b');
    expect(url.searchParams.get('l')).toBe('[1,2]');
    expect(url.searchParams.get('on')).toBe('true');
  });

  it('answers an error status with the contract error, without throwing', async () => {
    const server = fakeServer();
    const details = [{ name: 'n', problem: 'expected int, got "x"' }];
    server.answer(
      json(
        {
          error: {
            type: 'invalid_parameters',
            message: 'Invalid parameters.',
            details
          }
        },
        422
      )
    );
    const answer = await server.client.callEndpoint('a.ipynb');
    expect(answer.ok).toBe(false);
    expect(answer.status).toBe(422);
    expect(answer.error).toEqual({
      type: 'invalid_parameters',
      message: 'Invalid parameters.',
      details
    });
  });

  it('reads text, image and empty answers by media type', async () => {
    const server = fakeServer();
    server.answer(
      new Response('hello', { headers: { 'Content-Type': 'text/plain' } }),
      new Response(new Uint8Array([137, 80, 78, 71]), {
        headers: { 'Content-Type': 'image/png' }
      }),
      new Response(null, { status: 204 }),
      new Response('not json', {
        status: 500,
        headers: { 'Content-Type': 'application/json' }
      })
    );
    const text = await server.client.callEndpoint('a.ipynb');
    expect(text.body).toEqual({
      kind: 'text',
      text: 'hello',
      mediaType: 'text/plain'
    });
    const image = await server.client.callEndpoint('a.ipynb');
    expect(image.body.kind).toBe('image');
    expect(image.body.kind === 'image' && image.body.blob.size).toBe(4);
    const empty = await server.client.callEndpoint('a.ipynb');
    expect(empty.body).toEqual({ kind: 'empty' });
    const broken = await server.client.callEndpoint('a.ipynb');
    expect(broken.body.kind).toBe('text');
    expect(broken.error).toBeNull();
  });

  it('throws a NetworkError when the server cannot be reached', async () => {
    const server = fakeServer();
    server.answer(new TypeError('connect ECONNREFUSED'));
    const error = await rejection(server.client.callEndpoint('a.ipynb'));
    expect(error).toBeInstanceOf(ServerConnection.NetworkError);
    expect(error.message).toBe('connect ECONNREFUSED');
  });
});

describe('RestifiedClient: runs', () => {
  it('asks for a background call with Prefer: respond-async', async () => {
    const server = fakeServer();
    const run = { id: 'f'.repeat(32), status: 'queued' };
    server.answer(json(run, 202, { Location: 'x' }));
    const answer = await server.client.callEndpoint('a.ipynb', {
      values: { n: 1 },
      background: true
    });
    expect(server.requests[0].headers.get('Prefer')).toBe('respond-async');
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({
      kind: 'json',
      value: run,
      text: JSON.stringify(run)
    });
    server.answer(json(1));
    await server.client.callEndpoint('a.ipynb', { values: { n: 1 } });
    expect(server.requests[1].headers.get('Prefer')).toBeNull();
  });

  it('reads events of a stream cut anywhere, to done', async () => {
    const server = fakeServer();
    const text =
      'id: 1\nevent: status\ndata: {"status": "running"}\n\n: keep-alive\n\n' +
      'id: 2\nevent: done\ndata: {"id": "r", "status": "succeeded"}\n\n' +
      'id: 3\nevent: output\ndata: {"text": "after done"}\n\n';
    const bytes = new TextEncoder().encode(text);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 5) {
          controller.enqueue(bytes.slice(i, i + 5));
        }
        controller.close();
      }
    });
    server.answer(
      new Response(body, { headers: { 'Content-Type': 'text/event-stream' } })
    );
    const events = [];
    for await (const event of server.client.runEvents('r', {
      lastEventId: 0
    })) {
      events.push(event);
    }
    expect(events).toEqual([
      { id: 1, event: 'status', data: { status: 'running' } },
      { id: 2, event: 'done', data: { id: 'r', status: 'succeeded' } }
    ]);
    expect(server.requests[0].headers.get('Last-Event-ID')).toBeNull();
  });

  it('throws the contract error when the events are refused', async () => {
    const server = fakeServer();
    server.answer(
      json({ error: { type: 'not_found', message: 'no run' } }, 404)
    );
    const iterator = server.client.runEvents('r', { lastEventId: 4 });
    const error = await rejection(iterator.next());
    expect(error).toBeInstanceOf(RestifiedRequestError);
    expect((error as RestifiedRequestError).status).toBe(404);
    expect(server.requests[0].headers.get('Last-Event-ID')).toBe('4');
  });

  it('lists, gets and cancels runs', async () => {
    const server = fakeServer();
    server.answer(json({ runs: [] }), json({ id: 'r' }), json({ id: 'r' }));
    await expect(server.client.listRuns('d/a b.ipynb', 5)).resolves.toEqual([]);
    await server.client.getRun('r');
    await server.client.cancelRun('r');
    expect(
      server.requests.map(r => `${r.method} ${r.url.replace(/[?&]\d+$/, '')}`)
    ).toEqual([
      `GET ${BASE_URL}api/restified/runs?path=d%2Fa%20b.ipynb&limit=5`,
      `GET ${BASE_URL}api/restified/runs/r`,
      `DELETE ${BASE_URL}api/restified/runs/r`
    ]);
    expect(server.client.runNotebookUrl('r')).toBe(
      `${BASE_URL}api/restified/runs/r/notebook`
    );
  });
});
