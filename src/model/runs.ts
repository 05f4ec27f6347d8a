/**
 * The followed notebook's runs: the recent ones (asynchronous runs and
 * recorded calls), and the live state of those not over yet, followed
 * through their event streams: the cell running, cells done, printed output.
 */
import { ISignal, Signal } from '@lumino/signaling';

import {
  FINISHED_STATUSES,
  IRun,
  RestifiedClient,
  RunEvent,
  RunStatus
} from '../api';
import { ActiveNotebook } from './notebook';
import { IResource, LoadState } from './resource';

/** How many runs are listed. */
export const RUNS_LIMIT = 50;
/** The most printed output kept per run in the panel (characters). */
export const OUTPUT_LIMIT = 100_000;
/** Reconnections of an event stream that broke before its `done`. */
const RECONNECTS = 5;
/** Wait before reconnecting, in ms. */
const RECONNECT_DELAY = 1000;

/**
 * Whether a run is over.
 */
export function isFinished(status: RunStatus): boolean {
  return FINISHED_STATUSES.includes(status);
}

/**
 * What the panel knows of a run as it happens.
 */
export interface ILiveRun {
  /** The call's cell running now (`position`, 0: the injected parameters), or null. */
  position: number | null;
  /** The notebook's index of that cell (null for the injected parameters). */
  index: number | null;
  /** Cells finished. */
  done: number;
  /** Cells the call runs (from the run object). */
  cells: number;
  /** Printed output so far, stdout and stderr in order. */
  output: string;
  /** Whether output past OUTPUT_LIMIT was dropped. */
  truncated: boolean;
  /** Whether the event stream is being read. */
  following: boolean;
  /** Why following stopped, if it broke. */
  problem: string | null;
}

/**
 * Apply one event to a run and its live state (pure: returns new objects).
 */
export function applyRunEvent(
  run: IRun,
  live: ILiveRun,
  event: RunEvent
): { run: IRun; live: ILiveRun } {
  switch (event.event) {
    case 'status':
      return {
        run: {
          ...run,
          status: event.data.status,
          started: event.data.started ?? run.started
        },
        live
      };
    case 'cell': {
      const { position, index, state } = event.data;
      if (state === 'started') {
        return { run, live: { ...live, position, index } };
      }
      const done = Math.max(live.done, position + 1);
      return {
        run: { ...run, progress: { ...run.progress, cell: done } },
        live: { ...live, done }
      };
    }
    case 'output': {
      let output = live.output + event.data.text;
      let truncated = live.truncated;
      if (output.length > OUTPUT_LIMIT) {
        output = output.slice(0, OUTPUT_LIMIT);
        truncated = true;
      }
      return { run, live: { ...live, output, truncated } };
    }
    case 'done':
      return {
        run: event.data,
        live: {
          ...live,
          position: null,
          index: null,
          done: event.data.progress.cell,
          cells: event.data.progress.cells
        }
      };
    default:
      return { run, live };
  }
}

/**
 * A new live state for a run.
 */
export function newLiveRun(run: IRun): ILiveRun {
  return {
    position: null,
    index: null,
    done: run.progress.cell,
    cells: run.progress.cells,
    output: '',
    truncated: false,
    following: false,
    problem: null
  };
}

/**
 * The followed notebook's runs.
 */
export class RunsState implements IResource {
  constructor(
    private readonly _client: RestifiedClient,
    private readonly _notebook: ActiveNotebook
  ) {}

  /**
   * Emitted when the list, a run, a live state, the load state or the error
   * changes.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The notebook's recent runs, newest first; null until fetched. */
  get runs(): readonly IRun[] | null {
    return this._runs;
  }

  get state(): LoadState {
    return this._state;
  }

  get error(): string | null {
    return this._error;
  }

  /** The live state of a run followed in this session. */
  live(id: string): ILiveRun | null {
    return this._live.get(id) ?? null;
  }

  /**
   * Forget everything (another notebook is followed): stop following.
   */
  clear(): void {
    this._stopAll();
    this._runs = null;
    this._error = null;
    this._state = 'idle';
    this._changed.emit();
  }

  /**
   * Fetch the list again, and follow each run that is not over.
   */
  async refresh(): Promise<void> {
    const path = this._notebook.path;
    const request = ++this._request;
    if (!path) {
      this.clear();
      return;
    }
    this._state = 'loading';
    this._changed.emit();
    try {
      const runs = await this._client.listRuns(path, RUNS_LIMIT);
      if (request !== this._request) {
        return;
      }
      // A run followed live is as fresh as its stream says.
      this._runs = runs.map(run =>
        this._follows.has(run.id) ? (this._byId(run.id) ?? run) : run
      );
      this._error = null;
      this._state = 'ready';
      for (const run of runs) {
        if (!isFinished(run.status)) {
          this._follow(run);
        }
      }
    } catch (error) {
      if (request !== this._request) {
        return;
      }
      this._error = (error as Error).message;
      this._state = 'error';
    }
    this._changed.emit();
  }

  /**
   * A run just made (a background call): list it first and follow it.
   */
  track(run: IRun): void {
    if (run.path !== this._notebook.path) {
      return;
    }
    const others = (this._runs ?? []).filter(r => r.id !== run.id);
    this._runs = [run, ...others];
    if (!isFinished(run.status)) {
      this._follow(run);
    }
    this._changed.emit();
  }

  /** A run of the list, by id. */
  run(id: string): IRun | null {
    return this._byId(id);
  }

  /**
   * Cancel a run (its processes are killed on the server).
   */
  async cancel(id: string): Promise<void> {
    const run = await this._client.cancelRun(id);
    this._replace(run);
    this._changed.emit();
  }

  dispose(): void {
    this._stopAll();
    Signal.clearData(this);
  }

  private _byId(id: string): IRun | null {
    return this._runs?.find(r => r.id === id) ?? null;
  }

  private _replace(run: IRun): void {
    if (this._runs) {
      this._runs = this._runs.map(r => (r.id === run.id ? run : r));
    }
  }

  private _follow(run: IRun): void {
    if (this._follows.has(run.id)) {
      return;
    }
    const controller = new AbortController();
    this._follows.set(run.id, controller);
    const live = this._live.get(run.id) ?? newLiveRun(run);
    this._live.set(run.id, { ...live, following: true, problem: null });
    void this._read(run.id, controller);
  }

  /** Read the run's events to its `done`, reconnecting where it broke. */
  private async _read(id: string, controller: AbortController): Promise<void> {
    let lastEventId = 0;
    let problem: string | null = null;
    let finished = false;
    for (let attempt = 0; attempt <= RECONNECTS && !finished; attempt++) {
      if (attempt > 0) {
        await new Promise(resolve => setTimeout(resolve, RECONNECT_DELAY));
      }
      if (controller.signal.aborted) {
        return;
      }
      try {
        for await (const event of this._client.runEvents(id, {
          lastEventId,
          signal: controller.signal
        })) {
          if (this._follows.get(id) !== controller) {
            return;
          }
          lastEventId = event.id || lastEventId;
          const run = this._byId(id);
          const live = this._live.get(id);
          if (!run || !live) {
            continue;
          }
          const next = applyRunEvent(run, live, event);
          this._replace(next.run);
          this._live.set(id, next.live);
          this._changed.emit();
          if (event.event === 'done') {
            finished = true;
          }
        }
        if (!finished) {
          // The stream ended without `done`: ask for the run itself.
          const run = await this._client.getRun(id);
          if (this._follows.get(id) !== controller) {
            return;
          }
          this._replace(run);
          finished = isFinished(run.status);
        }
        problem = null;
      } catch (error) {
        if (controller.signal.aborted) {
          return;
        }
        problem = (error as Error).message;
        // A refusal (404, 403) will not change by asking again.
        if ((error as { status?: number }).status !== undefined) {
          break;
        }
      }
    }
    if (this._follows.get(id) === controller) {
      this._follows.delete(id);
      const live = this._live.get(id);
      if (live) {
        this._live.set(id, { ...live, following: false, problem });
      }
      this._changed.emit();
    }
  }

  private _stopAll(): void {
    for (const controller of this._follows.values()) {
      controller.abort();
    }
    this._follows.clear();
    this._live.clear();
  }

  private _changed = new Signal<this, void>(this);
  private _runs: IRun[] | null = null;
  private _state: LoadState = 'idle';
  private _error: string | null = null;
  private _request = 0;
  private _follows = new Map<string, AbortController>();
  private _live = new Map<string, ILiveRun>();
}
