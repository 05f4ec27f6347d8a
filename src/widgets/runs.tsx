/**
 * Runs: the followed notebook's recent runs (status, when, duration,
 * parameters), the live progress and output of those not over, Cancel, Open
 * executed notebook and, for a failed run, Replay in editor.
 */
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { IRun, JSONValue } from '../api';
import { formatRelative } from '../core/time';
import { EndpointModel } from '../model/endpointModel';
import { ILiveRun, isFinished, RunsState } from '../model/runs';
import { Callout } from './common';
import { useSignals } from './useSignals';

/** The commands the section's buttons run (registered in runCommands.ts). */
export const RUN_COMMANDS = {
  open: 'notebook-restified:open-run-notebook',
  replay: 'notebook-restified:replay-run'
} as const;

const STATUS_LABEL: Record<IRun['status'], string> = {
  queued: 'Queued',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
  timed_out: 'Timed out'
};

/**
 * "1.2 s", "250 ms", "3 min 4 s".
 */
export function formatSeconds(seconds: number): string {
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

/**
 * `n=20, name="x"`: a run's parameters on one line.
 */
export function formatParameters(
  parameters: Record<string, JSONValue>
): string {
  const entries = Object.entries(parameters);
  if (entries.length === 0) {
    return 'no parameters';
  }
  return entries
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(', ');
}

export function Runs(props: {
  model: EndpointModel;
  commands: CommandRegistry;
}): JSX.Element {
  const { runs } = props.model;
  useSignals(runs.changed);
  const list = runs.runs;
  if (list === null) {
    return (
      <div className="jp-RestifiedPanel-runs">
        {runs.error ? (
          <Callout kind="error">{runs.error}</Callout>
        ) : (
          <p className="jp-RestifiedPanel-empty">
            {runs.state === 'loading' ? 'Reading the runs…' : 'No runs yet.'}
          </p>
        )}
      </div>
    );
  }
  return (
    <div className="jp-RestifiedPanel-runs">
      {runs.error ? <Callout kind="error">{runs.error}</Callout> : null}
      {list.length === 0 ? (
        <p className="jp-RestifiedPanel-empty">
          No runs yet. Call the endpoint with <code>Prefer: respond-async</code>
          , or Send in the background from Try it.
        </p>
      ) : (
        <ul className="jp-RestifiedPanel-runList" aria-label="Runs">
          {list.map(run => (
            <RunItem
              key={run.id}
              run={run}
              runs={runs}
              commands={props.commands}
            />
          ))}
        </ul>
      )}
    </div>
  );
}

/**
 * One run: a summary line; its details (progress, output, error, actions)
 * open for a run not over yet, and on demand.
 */
function RunItem(props: {
  run: IRun;
  runs: RunsState;
  commands: CommandRegistry;
}): JSX.Element {
  const { run, runs, commands } = props;
  const live = runs.live(run.id);
  const finished = isFinished(run.status);
  const [open, setOpen] = React.useState(!finished);
  const [problem, setProblem] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const detailsId = `jp-restified-run-${run.id}`;

  const act = async (action: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    setProblem(null);
    try {
      await action();
    } catch (error) {
      setProblem((error as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <li
      className={`jp-RestifiedPanel-run jp-mod-${run.status}`}
      data-run-id={run.id}
      aria-label={`Run ${run.id.slice(0, 8)}, ${STATUS_LABEL[run.status]}`}
    >
      <button
        type="button"
        className="jp-RestifiedPanel-runSummary"
        aria-expanded={open}
        aria-controls={detailsId}
        onClick={() => setOpen(!open)}
      >
        <span
          className={`jp-RestifiedPanel-runStatus jp-mod-${run.status}`}
          title={run.asynchronous ? 'Background run' : 'Recorded call'}
        >
          {STATUS_LABEL[run.status]}
        </span>
        <span
          className="jp-RestifiedPanel-runWhen"
          title={new Date(run.created).toLocaleString()}
        >
          {formatRelative(run.created)}
        </span>
        <span className="jp-RestifiedPanel-runDuration">
          {run.duration !== null ? formatSeconds(run.duration) : ''}
        </span>
        <span
          className="jp-RestifiedPanel-runParameters"
          title={formatParameters(run.parameters)}
        >
          {formatParameters(run.parameters)}
        </span>
      </button>
      <div
        id={detailsId}
        className="jp-RestifiedPanel-runDetails"
        hidden={!open}
      >
        <RunProgress run={run} live={live} />
        {run.error ? (
          <div className="jp-RestifiedPanel-runError">
            <span className="jp-RestifiedPanel-errorType">
              {run.error.ename ?? run.error.type}
            </span>{' '}
            {run.error.evalue ?? run.error.message}
            {typeof run.error.cell_index === 'number'
              ? ` (cell ${run.error.cell_index})`
              : ''}
          </div>
        ) : null}
        <div className="jp-RestifiedPanel-actions">
          {!finished ? (
            <button
              type="button"
              className="jp-RestifiedPanel-button"
              disabled={busy}
              onClick={() => void act(() => runs.cancel(run.id))}
            >
              Cancel
            </button>
          ) : null}
          {finished && run.links.notebook ? (
            <button
              type="button"
              className="jp-RestifiedPanel-button"
              disabled={busy}
              onClick={() =>
                void act(() =>
                  commands.execute(RUN_COMMANDS.open, { id: run.id })
                )
              }
            >
              Open executed notebook
            </button>
          ) : null}
          {run.status === 'failed' &&
          typeof run.error?.cell_index === 'number' ? (
            <button
              type="button"
              className="jp-RestifiedPanel-button"
              disabled={busy}
              title="Run this run's parameters in the notebook's kernel and select the cell that failed"
              onClick={() =>
                void act(() =>
                  commands.execute(RUN_COMMANDS.replay, { id: run.id })
                )
              }
            >
              Replay in editor
            </button>
          ) : null}
        </div>
        {problem ? <Callout kind="error">{problem}</Callout> : null}
      </div>
    </li>
  );
}

/**
 * A run's progress (cell i of n, a bar) and its printed output.
 */
export function RunProgress(props: {
  run: IRun;
  live: ILiveRun | null;
}): JSX.Element {
  const { run, live } = props;
  const finished = isFinished(run.status);
  const cells = live?.cells || run.progress.cells;
  const done = live
    ? Math.max(live.done, run.progress.cell)
    : run.progress.cell;
  let text: string;
  if (run.status === 'queued') {
    text = 'Waiting for a run slot…';
  } else if (
    !finished &&
    live?.position !== null &&
    live?.position !== undefined
  ) {
    const where =
      live.index === null
        ? 'injected parameters'
        : `notebook cell ${live.index}`;
    text = `Cell ${live.position + 1} of ${cells} (${where})`;
  } else if (!finished) {
    text = `${done} of ${cells} cells done`;
  } else {
    text = `${done} of ${cells} cells ran`;
  }
  return (
    <div className="jp-RestifiedPanel-runProgress">
      <div className="jp-RestifiedPanel-runProgressText" aria-live="polite">
        {text}
      </div>
      {!finished ? (
        <progress
          className="jp-RestifiedPanel-progressBar"
          max={Math.max(cells, 1)}
          value={done}
          aria-label="Cells done"
        />
      ) : null}
      {live && live.output ? (
        <pre
          className="jp-RestifiedPanel-code jp-RestifiedPanel-runOutput"
          aria-label="Output"
          tabIndex={0}
        >
          {live.output}
          {live.truncated ? '\n… (more in the executed notebook)' : ''}
        </pre>
      ) : null}
      {live?.problem ? (
        <div className="jp-RestifiedPanel-muted">
          Lost the live events: {live.problem}
        </div>
      ) : null}
    </div>
  );
}
