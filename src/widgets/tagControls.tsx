/**
 * Tag toggles for the active cell, and where the endpoint's tags are.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import * as React from 'react';

import { IAppliedTagChange, revertTagChange } from '../actions';
import { formatShortcut, TOGGLE_COMMAND } from '../commands';
import {
  describePlan,
  ENDPOINT_TAGS,
  endpointTags,
  EndpointTag,
  TAG_INFO
} from '../core/tags';
import { EndpointModel } from '../model/endpointModel';
import { Callout, CellList } from './common';
import { useSignals } from './useSignals';

/**
 * What the last toggle made from the panel did, when there is more to say
 * than the toggle itself.
 */
interface ILastChange {
  text: string;
  change: IAppliedTagChange;
  path: string;
}

export function TagControls(props: {
  model: EndpointModel;
  commands: JupyterFrontEnd['commands'];
}): JSX.Element {
  const { model, commands } = props;
  const { notebook } = model;
  // The saved spec too: tags that saving would change are marked unsaved.
  useSignals(model.tags.changed, notebook.changed, model.endpoint.changed);
  const [last, setLast] = React.useState<ILastChange | null>(null);
  const index = model.tags.activeCellIndex;
  const cell = model.tags.activeCell;
  const path = notebook.path ?? '';
  const summary = model.tags.summary;
  const tags = cell ? endpointTags(cell.tags) : [];
  const isCode = cell?.type === 'code';
  const goTo = (i: number) => void notebook.goToCell(i);

  // A message is about the cell it was made on: forget it elsewhere.
  const shown =
    last && last.path === path && last.change.plan.index === index
      ? last
      : null;

  const toggle = async (tag: EndpointTag): Promise<void> => {
    const change = (await commands.execute(TOGGLE_COMMAND[tag], {
      origin: 'panel'
    })) as IAppliedTagChange | null;
    const text = change ? describePlan(change.plan) : null;
    setLast(change && text ? { text, change, path } : null);
  };

  const undo = (): void => {
    const panel = notebook.panel;
    if (shown && panel) {
      revertTagChange(panel, shown.change);
    }
    setLast(null);
  };

  const spec = model.endpoint.spec;
  const unsaved = (live: readonly number[], saved: readonly number[]) =>
    model.tags.dirty && spec !== null && live.join() !== saved.join() ? (
      <span className="jp-RestifiedPanel-muted jp-RestifiedPanel-unsavedTag">
        {' '}
        (unsaved)
      </span>
    ) : null;
  const savedCells = (cell: number | null) => (cell === null ? [] : [cell]);

  const untagged =
    summary.parameters.length === 0 &&
    summary.return.length === 0 &&
    summary.skip.length === 0;

  let hint: string;
  if (!cell) {
    hint = 'Select a cell in the notebook to tag it.';
  } else if (tags.length === 1) {
    hint = TAG_INFO[tags[0]].description;
  } else if (!isCode) {
    hint = `This is a ${cell.type} cell: only code cells run in the endpoint.`;
  } else {
    hint = 'An ordinary cell: it runs on every call, in order.';
  }

  return (
    <div className="jp-RestifiedPanel-tags">
      {untagged ? (
        <Callout kind="info" className="jp-RestifiedPanel-start">
          Make this notebook an HTTP endpoint: select the cell that sets the
          inputs and press <strong>Parameters</strong>, select the cell that
          computes the answer and press <strong>Return</strong>, then save.
        </Callout>
      ) : null}
      <div className="jp-RestifiedPanel-cellLabel" id="jp-restified-cell-label">
        {cell ? (
          <>
            Active cell <strong>{index}</strong>
            <span className="jp-RestifiedPanel-muted"> · {cell.type}</span>
          </>
        ) : (
          'No active cell'
        )}
      </div>
      <div
        className="jp-RestifiedPanel-toggles"
        role="group"
        aria-labelledby="jp-restified-cell-label"
        aria-describedby="jp-restified-cell-hint"
      >
        {ENDPOINT_TAGS.map(tag => {
          const pressed = tags.includes(tag);
          return (
            <button
              key={tag}
              type="button"
              className={`jp-RestifiedPanel-toggle jp-mod-${tag}`}
              aria-pressed={pressed}
              disabled={!cell || (!isCode && !pressed)}
              title={withShortcut(
                TAG_INFO[tag].description,
                formatShortcut(commands, tag)
              )}
              onClick={() => void toggle(tag)}
            >
              {TAG_INFO[tag].label}
            </button>
          );
        })}
      </div>
      <p className="jp-RestifiedPanel-hint" id="jp-restified-cell-hint">
        {hint}
      </p>
      <div aria-live="polite">
        {shown ? (
          <div className="jp-RestifiedPanel-message">
            <span className="jp-RestifiedPanel-messageText">{shown.text}</span>{' '}
            <button
              type="button"
              className="jp-RestifiedPanel-link"
              onClick={undo}
            >
              Undo
            </button>
          </div>
        ) : null}
      </div>
      <dl className="jp-RestifiedPanel-overview">
        <dt>Inputs</dt>
        <dd>
          {summary.parameters.length > 0 ? (
            <CellList cells={summary.parameters} onGo={goTo} />
          ) : (
            <span className="jp-RestifiedPanel-muted">
              none: the endpoint takes no inputs
            </span>
          )}
          {unsaved(
            summary.parameters,
            savedCells(spec?.parameters_cell ?? null)
          )}
        </dd>
        <dt>Result</dt>
        <dd>
          {summary.return.length > 0 ? (
            <CellList cells={summary.return} onGo={goTo} />
          ) : (
            <span className="jp-RestifiedPanel-muted">
              none yet: the answer will be null
            </span>
          )}
          {unsaved(summary.return, savedCells(spec?.return_cell ?? null))}
        </dd>
        <dt>Skipped</dt>
        <dd>
          {summary.skip.length > 0 ? (
            <CellList cells={summary.skip} onGo={goTo} />
          ) : (
            <span className="jp-RestifiedPanel-muted">none</span>
          )}
          {unsaved(
            summary.skip,
            [...(spec?.skip_cells ?? [])].sort((a, b) => a - b)
          )}
        </dd>
      </dl>
      {summary.problems.map(problem => (
        <Callout
          key={problem.message}
          kind={problem.severity}
          className="jp-RestifiedPanel-tagProblem"
        >
          {problem.message} Go to <CellList cells={problem.cells} onGo={goTo} />
          .
        </Callout>
      ))}
    </div>
  );
}

/**
 * A tooltip with its shortcut in parentheses, if there is one.
 */
function withShortcut(text: string, shortcut: string): string {
  return shortcut ? `${text} (${shortcut})` : text;
}
