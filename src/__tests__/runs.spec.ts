import { IRun, RunEvent } from '../api/types';
import { ActiveNotebook } from '../model/notebook';
import { applyRunEvent, newLiveRun, RunsState } from '../model/runs';
import { BASE_URL, deferred, fakeServer, json } from './fakeServer';

function asNotebook(notebook: { path: string | null }): ActiveNotebook {
  return notebook as unknown as ActiveNotebook;
}

function makeRun(change: Partial<IRun> = {}): IRun {
  const id = change.id ?? 'a'.repeat(32);
  const self = `${BASE_URL}api/restified/runs/${id}`;
  return {
    id,
    path: 'dir/slow.ipynb',
    status: 'running',
    asynchronous: true,
    parameters: { n: 3 },
    notebook_sha256: '0'.repeat(64),
    created: '2026-11-01T10:00:00.000+00:00',
    started: '2026-11-01T10:00:00.100+00:00',
    finished: null,
    duration: null,
    progress: { cell: 0, cells: 4 },
    error: null,
    result_kind: null,
    key: null,
    links: {
      self,
      result: `${self}/result`,
      events: `${self}/events`,
      notebook: `${self}/notebook`
    },
    ...change
  };
}

/** An event stream answer whose chunks come when pushed. */
function eventStream(): {
  response: Response;
  push: (text: string) => void;
  close: () => void;
} {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start: c => {
      controller = c;
    }
  });
  const encoder = new TextEncoder();
  return {
    response: new Response(body, {
      headers: { 'Content-Type': 'text/event-stream; charset=utf-8' }
    }),
    push: text => controller.enqueue(encoder.encode(text)),
    close: () => controller.close()
  };
}

function sse(id: number, event: string, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A request's URL without ServerConnection's cache-busting argument. */
function bare(request: Request): string {
  return request.url.replace(/[?&]\d+$/, '');
}

/** Resolve once `check` holds (polled). */
async function eventually(check: () => boolean): Promise<void> {
  while (!check()) {
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}

/** Resolve when `check` holds after a change of `state`. */
function until(state: RunsState, check: () => boolean): Promise<void> {
  return new Promise(resolve => {
    if (check()) {
      resolve();
      return;
    }
    const slot = (): void => {
      if (check()) {
        state.changed.disconnect(slot);
        resolve();
      }
    };
    state.changed.connect(slot);
  });
}

describe('applyRunEvent', () => {
  const run = makeRun();
  const live = newLiveRun(run);

  it('follows the cell running and counts cells finished', () => {
    const started: RunEvent = {
      id: 3,
      event: 'cell',
      data: { position: 1, index: 2, id: 'c', state: 'started', at: 0.1 }
    };
    let next = applyRunEvent(run, live, started);
    expect(next.live).toMatchObject({ position: 1, index: 2, done: 0 });
    next = applyRunEvent(next.run, next.live, {
      id: 4,
      event: 'cell',
      data: {
        position: 1,
        index: 2,
        id: 'c',
        state: 'finished',
        at: 1.1,
        seconds: 1,
        ok: true
      }
    });
    expect(next.live.done).toBe(2);
    expect(next.run.progress).toEqual({ cell: 2, cells: 4 });
    // The inputs are left as they were.
    expect(run.progress.cell).toBe(0);
    expect(live.done).toBe(0);
  });

  it('appends output, up to the limit', () => {
    let next = applyRunEvent(run, live, {
      id: 5,
      event: 'output',
      data: { stream: 'stdout', text: 'step 1\n' }
    });
    next = applyRunEvent(next.run, next.live, {
      id: 6,
      event: 'output',
      data: { stream: 'stderr', text: 'warn\n' }
    });
    expect(next.live.output).toBe('step 1\nwarn\n');
    const big = applyRunEvent(run, live, {
      id: 7,
      event: 'output',
      data: { stream: 'stdout', text: 'x'.repeat(100_010) }
    });
    expect(big.live.output.length).toBe(100_000);
    expect(big.live.truncated).toBe(true);
  });

  it('takes the run object of done and the status of status', () => {
    const queued = makeRun({ status: 'queued', started: null });
    const running = applyRunEvent(queued, live, {
      id: 1,
      event: 'status',
      data: { status: 'running', started: '2026-11-01T10:00:01.000+00:00' }
    });
    expect(running.run.status).toBe('running');
    expect(running.run.started).toBe('2026-11-01T10:00:01.000+00:00');
    const final = makeRun({
      status: 'succeeded',
      duration: 2,
      progress: { cell: 4, cells: 4 }
    });
    const done = applyRunEvent(running.run, live, {
      id: 9,
      event: 'done',
      data: final
    });
    expect(done.run).toBe(final);
    expect(done.live).toMatchObject({ position: null, done: 4, cells: 4 });
  });
});

describe('RunsState', () => {
  it('lists the notebook runs and follows the one running to its end', async () => {
    const server = fakeServer();
    const runs = new RunsState(
      server.client,
      asNotebook({ path: 'dir/slow.ipynb' })
    );
    const running = makeRun();
    const over = makeRun({ id: 'b'.repeat(32), status: 'failed' });
    const stream = eventStream();
    server.answer(json({ runs: [running, over] }), stream.response);
    await runs.refresh();

    const [list, events] = server.requests;
    expect(bare(list)).toBe(
      `${BASE_URL}api/restified/runs?path=dir%2Fslow.ipynb&limit=50`
    );
    expect(runs.runs?.map(r => r.status)).toEqual(['running', 'failed']);
    expect(bare(events)).toBe(
      `${BASE_URL}api/restified/runs/${running.id}/events`
    );
    expect(events.headers.get('Accept')).toBe('text/event-stream');
    expect(runs.live(running.id)?.following).toBe(true);
    expect(runs.live(over.id)).toBeNull();

    stream.push(
      sse(1, 'cell', {
        position: 1,
        index: 2,
        id: 'c',
        state: 'started',
        at: 0
      }) + 'id: 2\nevent: output\ndata: {"stream": "stdout", '
    );
    await until(runs, () => runs.live(running.id)?.position === 1);
    stream.push('"text": "working\\n"}\n\n');
    await until(runs, () => runs.live(running.id)?.output === 'working\n');

    const done = makeRun({
      status: 'succeeded',
      duration: 1.5,
      progress: { cell: 4, cells: 4 }
    });
    stream.push(sse(3, 'done', done));
    await until(runs, () => runs.live(running.id)?.following === false);
    expect(runs.runs?.[0]).toEqual(done);
    expect(runs.live(running.id)).toMatchObject({
      output: 'working\n',
      done: 4,
      problem: null
    });
    runs.dispose();
  });

  it('reconnects after the last event id when the stream breaks', async () => {
    const server = fakeServer();
    const runs = new RunsState(
      server.client,
      asNotebook({ path: 'dir/slow.ipynb' })
    );
    const running = makeRun();
    const first = eventStream();
    const second = eventStream();
    server.answer(json({ runs: [running] }), first.response);
    await runs.refresh();
    first.push(sse(5, 'output', { stream: 'stdout', text: 'a' }));
    await until(runs, () => runs.live(running.id)?.output === 'a');
    // Ended without done: the run is asked for, then the events again.
    server.answer(json(running), second.response);
    first.close();
    await eventually(() => server.requests.length === 4);
    expect(bare(server.requests[2])).toBe(
      `${BASE_URL}api/restified/runs/${running.id}`
    );
    expect(server.requests[3].headers.get('Last-Event-ID')).toBe('5');
    second.push(
      sse(6, 'done', makeRun({ status: 'cancelled', duration: 0.5 }))
    );
    await until(runs, () => runs.live(running.id)?.following === false);
    expect(runs.runs?.[0].status).toBe('cancelled');
    runs.dispose();
  });

  it('tracks a run just made, and cancels it', async () => {
    const server = fakeServer();
    const runs = new RunsState(
      server.client,
      asNotebook({ path: 'dir/slow.ipynb' })
    );
    const stream = eventStream();
    const later = deferred<Response>();
    server.answer(stream.response);
    const queued = makeRun({ status: 'queued' });
    runs.track(queued);
    expect(runs.runs).toEqual([queued]);
    // A run of another notebook is not this list's.
    runs.track(makeRun({ id: 'c'.repeat(32), path: 'other.ipynb' }));
    expect(runs.runs?.length).toBe(1);

    server.answer(() => later.promise);
    const cancelling = runs.cancel(queued.id);
    const cancelled = makeRun({ status: 'cancelled' });
    later.resolve(json(cancelled));
    await cancelling;
    const request = server.requests[1];
    expect(request.method).toBe('DELETE');
    expect(bare(request)).toBe(`${BASE_URL}api/restified/runs/${queued.id}`);
    expect(runs.runs?.[0].status).toBe('cancelled');
    runs.dispose();
  });

  it('says why the list could not be read', async () => {
    const server = fakeServer();
    const runs = new RunsState(
      server.client,
      asNotebook({ path: 'dir/slow.ipynb' })
    );
    server.answer(
      json({ error: { type: 'forbidden', message: 'no access' } }, 403)
    );
    await runs.refresh();
    expect(runs.state).toBe('error');
    expect(runs.error).toBe('no access');
    runs.dispose();
  });
});
