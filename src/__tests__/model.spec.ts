/**
 * The model's fetched parts and the try-it form, against the real client and
 * a fake server. The followed notebook (a JupyterLab tracker's, which needs
 * the application) stands in as the one thing they read of it: its path.
 */
import { IEndpointSpec, IParameter } from '../api/types';
import { EndpointResource } from '../model/endpoint';
import { EndpointKeys, madeBy } from '../model/keys';
import { ActiveNotebook } from '../model/notebook';
import { ServerStatus } from '../model/status';
import { TryItState } from '../model/tryIt';
import { BASE_URL, deferred, fakeServer, json } from './fakeServer';

/** The followed notebook: its path, and the `specKey` of its saved content. */
interface IFollowed {
  path: string | null;
  key: string | null;
}

function followed(path: string | null, key: string | null = null): IFollowed {
  return { path, key: key ?? (path ? `key-of-${path}` : null) };
}

function resourceOf(
  server: ReturnType<typeof fakeServer>,
  notebook: IFollowed
): EndpointResource {
  return new EndpointResource(
    server.client,
    asNotebook(notebook),
    () => notebook.key
  );
}

function asNotebook(notebook: { path: string | null }): ActiveNotebook {
  return notebook as unknown as ActiveNotebook;
}

function spec(path: string, parameters: IParameter[] = []): IEndpointSpec {
  return {
    path,
    url: `https://public.example/restified/${path}`,
    kernel: { name: 'python3', language: 'python' },
    parameters,
    parameters_cell: null,
    setup_cells: [],
    body_cells: [],
    skip_cells: [],
    return_cell: null,
    isolation: null,
    cache: null,
    warnings: []
  };
}

/** Count a part's emissions. */
function emissions(part: { changed: { connect(slot: () => void): unknown } }): {
  count: number;
} {
  const counter = { count: 0 };
  part.changed.connect(() => {
    counter.count++;
  });
  return counter;
}

describe('EndpointResource', () => {
  it('loads the spec, saying so while it loads', async () => {
    const server = fakeServer();
    const resource = resourceOf(server, followed('a.ipynb'));
    const states: string[] = [];
    resource.changed.connect(() => states.push(resource.state));
    server.answer(json(spec('a.ipynb')));
    await resource.refresh();
    expect(states).toEqual(['loading', 'ready']);
    expect(resource.spec?.path).toBe('a.ipynb');
    expect(resource.error).toBeNull();
  });

  it('shows the last spec of a notebook followed again at once, then checks it', async () => {
    const server = fakeServer();
    const notebook = followed('a.ipynb');
    const resource = resourceOf(server, notebook);
    server.answer(json(spec('a.ipynb')), json(spec('b.ipynb')));
    await resource.refresh();
    notebook.path = 'b.ipynb';
    resource.clear();
    expect(resource.spec).toBeNull();
    await resource.refresh();
    // Back to a.ipynb: its spec before any answer, then the fresh one.
    notebook.path = 'a.ipynb';
    resource.clear();
    expect(resource.spec?.path).toBe('a.ipynb');
    const late = deferred<Response>();
    server.answer(() => late.promise);
    const refreshed = resource.refresh();
    expect(resource.spec?.path).toBe('a.ipynb');
    late.resolve(
      json(spec('a.ipynb', [{ name: 'n', type: 'int', default: 1, help: '' }]))
    );
    await refreshed;
    expect(resource.spec?.parameters.map(p => p.name)).toEqual(['n']);
    // A notebook whose spec fails is not shown from the cache.
    server.answer(json({ error: { type: 'not_found', message: 'gone' } }, 404));
    await resource.refresh();
    notebook.path = 'b.ipynb';
    resource.clear();
    notebook.path = 'a.ipynb';
    resource.clear();
    expect(resource.spec).toBeNull();
  });

  it('shows a cached spec only for the content it was made of', async () => {
    const server = fakeServer();
    const notebook = followed('a.ipynb', 'k1');
    const resource = resourceOf(server, notebook);
    server.answer(json(spec('a.ipynb')));
    await resource.refresh();
    notebook.path = 'b.ipynb';
    resource.clear();
    // a.ipynb saved elsewhere meanwhile: another content, nothing shown yet.
    notebook.path = 'a.ipynb';
    notebook.key = 'k2';
    resource.clear();
    expect(resource.spec).toBeNull();
    // As it was: shown at once.
    notebook.key = 'k1';
    resource.clear();
    expect(resource.spec?.path).toBe('a.ipynb');
  });

  it('while a save starts, shows the spec of what it writes, asking only for that', async () => {
    const server = fakeServer();
    const notebook = followed('a.ipynb', 'k1');
    const resource = resourceOf(server, notebook);
    server.answer(json(spec('a.ipynb')));
    await resource.refresh();
    const content = {
      nbformat: 4 as const,
      metadata: {},
      cells: [
        {
          cell_type: 'code',
          metadata: { tags: ['parameters'] },
          source: 'n = 2'
        }
      ]
    };
    const edited = spec('a.ipynb', [
      { name: 'n', type: 'int', default: 2, help: '' }
    ]);
    server.answer(json(edited));
    notebook.key = 'k2'; // what the save writes
    const states: string[] = [];
    resource.changed.connect(() => states.push(resource.state));
    await resource.saving(content, 'k2');
    expect(states).toEqual(['loading', 'ready']);
    expect(resource.spec?.parameters.map(p => p.default)).toEqual([2]);
    const request = server.requests[1];
    expect(request.method).toBe('POST');
    expect(new URL(request.url).pathname).toBe(
      '/base/api/restified/spec/a.ipynb'
    );
    expect(await request.json()).toEqual(content);
    // Saved back as it was first, then as edited: both from the cache.
    notebook.key = 'k1';
    await resource.saving(content, 'k1');
    expect(resource.spec?.parameters).toEqual([]);
    notebook.key = 'k2';
    await resource.saving(content, 'k2');
    expect(resource.spec?.parameters.map(p => p.default)).toEqual([2]);
    expect(server.requests).toHaveLength(2);
  });

  it("a save's spec that a newer fetch overtook is dropped", async () => {
    const server = fakeServer();
    const notebook = followed('a.ipynb', 'k1');
    const resource = resourceOf(server, notebook);
    const late = deferred<Response>();
    server.answer(() => late.promise, json(spec('a.ipynb')));
    const saving = resource.saving(
      { nbformat: 4, metadata: {}, cells: [] },
      'k1'
    );
    await resource.refresh();
    late.resolve(
      json(
        spec('a.ipynb', [{ name: 'old', type: 'int', default: 1, help: '' }])
      )
    );
    await saving;
    expect(resource.spec?.parameters).toEqual([]);
  });

  it('a save of content asked for ahead shows its spec with no request of its own', async () => {
    const server = fakeServer();
    const notebook = followed('a.ipynb', 'k1');
    const resource = resourceOf(server, notebook);
    const content = { nbformat: 4 as const, metadata: {}, cells: [] };
    const late = deferred<Response>();
    server.answer(
      json({ error: { type: 'invalid_request', message: 'no' } }, 400),
      () => late.promise
    );
    // A failed ask is dropped: nothing shown, nothing kept.
    await resource.prefetch(content, 'k2');
    expect(resource.spec).toBeNull();
    expect(resource.error).toBeNull();
    // Asked again; the save starts while the answer is under way.
    const asked = resource.prefetch(content, 'k2');
    notebook.key = 'k2';
    const saving = resource.saving(content, 'k2');
    late.resolve(
      json(spec('a.ipynb', [{ name: 'n', type: 'int', default: 3, help: '' }]))
    );
    await Promise.all([asked, saving]);
    expect(resource.spec?.parameters.map(p => p.default)).toEqual([3]);
    expect(server.requests.map(r => r.method)).toEqual(['POST', 'POST']);
    // Asked for once more: known, no request.
    await resource.prefetch(content, 'k2');
    expect(server.requests).toHaveLength(2);
  });

  it("gives the server's URL for its spec, else builds one", async () => {
    const server = fakeServer();
    const notebook = followed('a.ipynb');
    const resource = resourceOf(server, notebook);
    expect(resource.url).toBe(`${BASE_URL}restified/a.ipynb`);
    server.answer(json(spec('a.ipynb')));
    await resource.refresh();
    expect(resource.url).toBe('https://public.example/restified/a.ipynb');
    notebook.path = 'b.ipynb';
    expect(resource.url).toBe(`${BASE_URL}restified/b.ipynb`);
    notebook.path = null;
    expect(resource.url).toBeNull();
  });

  it("keeps the server's error, condensed", async () => {
    const server = fakeServer();
    const resource = resourceOf(server, followed('a.ipynb'));
    server.answer(json(spec('a.ipynb')));
    await resource.refresh();
    server.answer(
      json({ error: { type: 'not_found', message: 'No such notebook.' } }, 404)
    );
    await resource.refresh();
    expect(resource.state).toBe('error');
    expect(resource.spec).toBeNull();
    expect(resource.error).toEqual({
      status: 404,
      type: 'not_found',
      message: 'No such notebook.',
      cells: []
    });
  });

  it('drops an answer that a newer fetch overtook', async () => {
    const server = fakeServer();
    const notebook = followed('old.ipynb');
    const resource = resourceOf(server, notebook);
    const late = deferred<Response>();
    server.answer(() => late.promise, json(spec('new.ipynb')));
    const first = resource.refresh();
    notebook.path = 'new.ipynb';
    await resource.refresh();
    late.resolve(json(spec('old.ipynb')));
    await first;
    expect(resource.spec?.path).toBe('new.ipynb');
    expect(resource.state).toBe('ready');
  });

  it('with no notebook, is idle and asks nothing', async () => {
    const server = fakeServer();
    const resource = resourceOf(server, followed(null));
    await resource.refresh();
    expect(resource.state).toBe('idle');
    expect(server.requests).toHaveLength(0);
  });
});

describe('EndpointKeys', () => {
  const key = {
    id: 'k1',
    path: 'a.ipynb',
    label: 'Alice',
    created: '2026-01-01T00:00:00Z',
    expires: null,
    last_used: null,
    calls: 2,
    creator: { username: 'alice', display_name: 'Alice Liddell' }
  };

  it('says who made each key', () => {
    expect(madeBy(key)).toBe('Alice Liddell (alice)');
    expect(madeBy({ creator: { username: 'bob', display_name: 'bob' } })).toBe(
      'bob'
    );
    expect(madeBy({ creator: { username: 'carol', display_name: ' ' } })).toBe(
      'carol'
    );
    expect(madeBy({ creator: null })).toBe('unknown');
  });

  it('lists, and lists again after creating a key', async () => {
    const server = fakeServer();
    const keys = new EndpointKeys(
      server.client,
      asNotebook(followed('a.ipynb'))
    );
    server.answer(json({ keys: [] }));
    await keys.refresh();
    expect(keys.keys).toEqual([]);

    const listed = deferred<Response>();
    server.answer(
      json({ ...key, secret: 's', url: 'u', link: 'l' }, 201),
      () => listed.promise
    );
    const created = await keys.create('Alice', null);
    expect(created.secret).toBe('s');
    expect(await server.requests[1].json()).toEqual({
      path: 'a.ipynb',
      label: 'Alice',
      expires: null
    });
    expect(keys.state).toBe('loading');
    const refreshed = new Promise(resolve => keys.changed.connect(resolve));
    listed.resolve(json({ keys: [key] }));
    await refreshed;
    expect(keys.keys).toEqual([key]);
  });

  it('lists again after a revoke that failed', async () => {
    const server = fakeServer();
    const keys = new EndpointKeys(
      server.client,
      asNotebook(followed('a.ipynb'))
    );
    server.answer(
      json({ error: { type: 'not_found', message: 'No such key.' } }, 404),
      json({ keys: [] })
    );
    const refreshed = new Promise<void>(resolve =>
      keys.changed.connect(() => {
        if (keys.state === 'ready') {
          resolve();
        }
      })
    );
    await expect(keys.revoke('gone')).rejects.toThrow('No such key.');
    await refreshed;
    expect(server.requests.map(r => r.method)).toEqual(['DELETE', 'GET']);
  });

  it('refuses to create a key with no notebook', async () => {
    const server = fakeServer();
    const keys = new EndpointKeys(server.client, asNotebook(followed(null)));
    await expect(keys.create('x', null)).rejects.toThrow(
      'Open a notebook to share its endpoint.'
    );
    expect(server.requests).toHaveLength(0);
  });
});

describe('ServerStatus', () => {
  it('holds the version, or why there is none', async () => {
    const server = fakeServer();
    const status = new ServerStatus(server.client);
    server.answer(json({ version: '0.1.0', config: {}, pool: {} }));
    await status.refresh();
    expect(status.status?.version).toBe('0.1.0');
    server.answer(new TypeError('fetch failed'));
    await status.refresh();
    expect(status.status).toBeNull();
    expect(status.error).toBe('fetch failed');
  });
});

describe('TryItState', () => {
  const parameters: IParameter[] = [
    { name: 'n', type: 'int', default: 10, help: '' },
    { name: 'tags', type: 'list', default: null, help: '' }
  ];

  function tryIt(): {
    state: TryItState;
    server: ReturnType<typeof fakeServer>;
  } {
    const server = fakeServer();
    const state = new TryItState(server.client);
    state.setParameters(parameters);
    state.setPath('dir/a.ipynb');
    return { state, server };
  }

  it('starts from the defaults and starts over only when the parameters change', () => {
    const { state } = tryIt();
    expect(state.inputs.n.text).toBe('10');
    state.update('n', { text: '3' });
    const counter = emissions(state);
    state.setParameters(parameters.map(p => ({ ...p })));
    expect(state.inputs.n.text).toBe('3');
    expect(counter.count).toBe(0);
    state.setParameters([{ ...parameters[0], default: 20 }]);
    expect(state.inputs.n.text).toBe('20');
    expect(counter.count).toBe(1);
  });

  it('sends the form and keeps the answer', async () => {
    const { state, server } = tryIt();
    state.update('n', { text: '7' });
    state.update('tags', { text: '["a"]' });
    server.answer(json({ result: 13 }));
    const running: boolean[] = [];
    state.changed.connect(() => running.push(state.running));
    await state.send();
    expect(running).toEqual([true, false]);
    expect(await server.requests[0].json()).toEqual({ n: 7, tags: ['a'] });
    expect(state.response?.body).toEqual({
      kind: 'json',
      value: { result: 13 },
      text: '{"result":13}'
    });
    expect(state.failure).toBeNull();
  });

  it('sends a chosen file as multipart/form-data, and JSON again without it', async () => {
    const server = fakeServer();
    const state = new TryItState(server.client);
    state.setParameters([
      ...parameters,
      {
        name: 'data',
        type: 'bytes',
        default: '',
        help: '',
        nullable: false,
        schema: { type: 'string', contentEncoding: 'base64' }
      }
    ]);
    state.setPath('dir/a.ipynb');
    state.update('data', { file: new File(['xyz'], 'in.bin') });
    server.answer(json({ size: 3 }), json({ size: 0 }));
    await state.send();
    const form = await server.requests[0].formData();
    expect(await (form.get('data') as File).text()).toBe('xyz');
    expect(form.get('n')).toBe('10');
    state.update('data', { file: null });
    await state.send();
    expect(server.requests[1].headers.get('Content-Type')).toBe(
      'application/json'
    );
    expect(await server.requests[1].json()).toEqual({ n: 10 });
  });

  it('sends nothing while a field is wrong', async () => {
    const { state, server } = tryIt();
    state.update('n', { text: '1.5' });
    expect(state.form.problems).toEqual({
      n: 'Expected an integer (no decimals), got "1.5".'
    });
    await state.send();
    expect(server.requests).toHaveLength(0);
    expect(state.running).toBe(false);
  });

  it('says why a call got no answer', async () => {
    const { state, server } = tryIt();
    server.answer(new TypeError('fetch failed'));
    await state.send();
    expect(state.response).toBeNull();
    expect(state.failure).toBe('fetch failed');
  });

  it('for another notebook, cancels the call in flight and drops its answer', async () => {
    const { state, server } = tryIt();
    const late = deferred<Response>();
    const seen: { signal?: AbortSignal } = {};
    server.answer(request => {
      seen.signal = request.signal;
      return late.promise;
    });
    const sent = state.send();
    expect(state.running).toBe(true);
    state.update('n', { text: '5' });
    state.setPath('other.ipynb');
    expect(seen.signal?.aborted).toBe(true);
    expect(state.running).toBe(false);
    expect(state.inputs.n.text).toBe('10');
    late.resolve(json({ result: 'stale' }));
    await sent;
    expect(state.response).toBeNull();
    expect(state.failure).toBeNull();
    expect(state.running).toBe(false);
  });

  it('says "Cancelled." when the call is cancelled', async () => {
    const { state, server } = tryIt();
    // fetch rejects with an AbortError, which ServerConnection wraps.
    server.answer(
      request =>
        new Promise<Response>((_, reject) => {
          request.signal.addEventListener('abort', () =>
            reject(new DOMException('The user aborted.', 'AbortError'))
          );
        })
    );
    const sent = state.send();
    expect(state.running).toBe(true);
    state.cancel();
    await sent;
    expect(state.running).toBe(false);
    expect(state.response).toBeNull();
    expect(state.failure).toBe('Cancelled.');
  });

  it('sends nothing without a notebook', async () => {
    const { state, server } = tryIt();
    state.setPath(null);
    await state.send();
    expect(server.requests).toHaveLength(0);
  });
});
