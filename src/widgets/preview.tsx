/**
 * The endpoint as the saved notebook makes it: URL, parameters, warnings,
 * snippets, OpenAPI document.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { launchIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { notebookRestifiedMetadata, setWarmup } from '../actions';
import { IEndpointSpec } from '../api';
import { CommandIDs } from '../commands';
import { describeCache } from '../core/cache';
import { describeType, formatDefault } from '../core/form';
import {
  buildSnippets,
  CREDENTIAL_PLACEHOLDER,
  exampleFiles,
  exampleValues,
  SnippetLanguage,
  SnippetResult,
  snippetResultOf
} from '../core/snippets';
import { cellsInMessage, unsavedTagChanges } from '../core/tags';
import { describeWarmup, readWarmup } from '../core/warmup';
import { EndpointModel } from '../model/endpointModel';
import { Callout, CellList, CopyButton } from './common';
import { useSignals } from './useSignals';

export function Preview(props: {
  model: EndpointModel;
  commands: JupyterFrontEnd['commands'];
}): JSX.Element {
  const { model, commands } = props;
  const { endpoint, notebook, tags } = model;
  // The URL follows the path; the warnings, unsaved changes.
  useSignals(endpoint.changed, notebook.changed, tags.changed);
  const spec = endpoint.spec;
  const error = endpoint.error;
  const url = endpoint.url ?? '';
  const goTo = (i: number) => void notebook.goToCell(i);

  return (
    <div className="jp-RestifiedPanel-preview">
      <Warnings model={model} />
      <div className="jp-RestifiedPanel-field">
        <span className="jp-RestifiedPanel-label" id="jp-restified-url-label">
          URL
        </span>
        <div className="jp-RestifiedPanel-urlRow">
          <code
            className="jp-RestifiedPanel-url"
            aria-labelledby="jp-restified-url-label"
          >
            {breakableUrl(url)}
          </code>
          <CopyButton
            label="Copy endpoint URL"
            onCopy={() =>
              commands.execute(CommandIDs.copyUrl, { origin: 'panel' })
            }
          />
          {url ? (
            <a
              className="jp-RestifiedPanel-iconButton jp-RestifiedPanel-openPage"
              href={url}
              target="_blank"
              rel="noopener noreferrer"
              aria-label="Open endpoint page"
              title="Open endpoint page (a form to run it, for anyone you share it with)"
            >
              <launchIcon.react
                tag="span"
                className="jp-RestifiedPanel-buttonIcon"
              />
            </a>
          ) : null}
        </div>
      </div>
      {error ? (
        <Callout kind="error" className="jp-RestifiedPanel-specError">
          <SpecErrorText model={model} />
          {error.cells.length > 0 ? (
            <div className="jp-RestifiedPanel-calloutActions">
              Go to <CellList cells={error.cells} onGo={goTo} />
            </div>
          ) : null}
        </Callout>
      ) : null}
      {spec ? (
        <>
          <Parameters spec={spec} />
          <Warmup model={model} spec={spec} />
          <p className="jp-RestifiedPanel-hint jp-RestifiedPanel-cache">
            {describeCache(spec.cache)}
          </p>
          <Snippets
            spec={spec}
            result={snippetResultOf(notebook.outputsOf(spec.return_cell))}
          />
          <a
            className="jp-RestifiedPanel-link jp-RestifiedPanel-openapi"
            href={endpoint.openapiUrl(spec.path)}
            target="_blank"
            rel="noopener noreferrer"
          >
            OpenAPI document
            <launchIcon.react
              tag="span"
              className="jp-RestifiedPanel-buttonIcon"
            />
            <span className="jp-RestifiedPanel-srOnly"> (opens a new tab)</span>
          </a>
        </>
      ) : endpoint.state === 'loading' ? (
        <p className="jp-RestifiedPanel-empty">Reading the saved notebook…</p>
      ) : null}
    </div>
  );
}

/**
 * Why the endpoint is not what the notebook shows.
 */
function Warnings(props: { model: EndpointModel }): JSX.Element {
  const { endpoint, notebook, tags } = props.model;
  const spec = endpoint.spec;
  const goTo = (i: number) => void notebook.goToCell(i);
  // Before saving, the spec is the saved version's: say so, and what the
  // unsaved tags change, rather than contradict the tags section.
  const changes =
    tags.dirty && spec ? unsavedTagChanges(spec, tags.summary) : [];
  return (
    <div className="jp-RestifiedPanel-warnings">
      {tags.dirty ? (
        <Callout kind="warning" className="jp-RestifiedPanel-unsaved">
          Unsaved changes: the endpoint runs the saved version; save to update
          it.
          {changes.length > 0 ? (
            <ul className="jp-RestifiedPanel-tagChanges">
              {changes.map(line => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          ) : null}
          <div className="jp-RestifiedPanel-calloutActions">
            <button
              type="button"
              className="jp-RestifiedPanel-button"
              onClick={() => void notebook.save()}
            >
              Save notebook
            </button>
          </div>
        </Callout>
      ) : null}
      {spec?.warnings.map(warning => {
        const cells = cellsInMessage(warning).filter(
          i => i < tags.cells.length
        );
        return (
          <Callout
            key={warning}
            kind="warning"
            className="jp-RestifiedPanel-specWarning"
          >
            {tags.dirty ? 'In the saved version: ' : ''}
            {warning}
            {cells.length > 0 ? (
              <div className="jp-RestifiedPanel-calloutActions">
                Go to <CellList cells={cells} onGo={goTo} />
              </div>
            ) : null}
          </Callout>
        );
      })}
    </div>
  );
}

function SpecErrorText(props: { model: EndpointModel }): JSX.Element {
  const error = props.model.endpoint.error;
  if (!error) {
    return <></>;
  }
  if (error.type === 'invalid_notebook') {
    return (
      <>
        The saved tags make no endpoint: {error.message}
        {props.model.tags.dirty ? ' (Save to check your changes.)' : ''}
      </>
    );
  }
  if (error.status === 404) {
    return <>The notebook is not saved on the server yet: save it first.</>;
  }
  if (error.status === 0) {
    return <>The server could not be reached: {error.message}</>;
  }
  return <>{error.message}</>;
}

/**
 * The parameters table: name, type (with its bounds, lengths or choices),
 * default, help.
 */
function Parameters(props: { spec: IEndpointSpec }): JSX.Element {
  const { parameters } = props.spec;
  return (
    <div className="jp-RestifiedPanel-field">
      <span className="jp-RestifiedPanel-label" id="jp-restified-params-label">
        Parameters
      </span>
      {parameters.length === 0 ? (
        <p className="jp-RestifiedPanel-empty">
          None: the endpoint takes no inputs.
        </p>
      ) : (
        <table
          className="jp-RestifiedPanel-table jp-RestifiedPanel-params"
          aria-labelledby="jp-restified-params-label"
        >
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Default</th>
            </tr>
          </thead>
          <tbody>
            {parameters.map(parameter => (
              <React.Fragment key={parameter.name}>
                <tr
                  className={`jp-RestifiedPanel-paramRow${parameter.help ? ' jp-mod-withHelp' : ''}`}
                >
                  <td>
                    <code>{parameter.name}</code>
                  </td>
                  <td>
                    <span className="jp-RestifiedPanel-type">
                      {describeType(parameter)}
                    </span>
                  </td>
                  <td>
                    <code className="jp-RestifiedPanel-default">
                      {formatDefault(parameter)}
                    </code>
                  </td>
                </tr>
                {parameter.help ? (
                  <tr className="jp-RestifiedPanel-helpRow">
                    <td colSpan={3} className="jp-RestifiedPanel-help">
                      {parameter.help}
                    </td>
                  </tr>
                ) : null}
              </React.Fragment>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/**
 * The declared warm-up: a switch that writes `metadata.restified.warmup`
 * (one undo step; saved with the notebook), and what the saved version's
 * kernel made of it.
 */
function Warmup(props: {
  model: EndpointModel;
  spec: IEndpointSpec;
}): JSX.Element {
  const { model, spec } = props;
  const panel = model.notebook.panel;
  const notebookModel = panel?.content.model ?? null;
  const [, rerender] = React.useReducer((count: number) => count + 1, 0);
  // The switch shows the notebook's metadata as it is now (undo included).
  React.useLayoutEffect(() => {
    if (!notebookModel) {
      return;
    }
    const slot = (): void => rerender();
    notebookModel.metadataChanged.connect(slot);
    return () => {
      notebookModel.metadataChanged.disconnect(slot);
    };
  }, [notebookModel]);
  const declared = readWarmup(notebookRestifiedMetadata(panel));
  return (
    <div className="jp-RestifiedPanel-field jp-RestifiedPanel-warmup">
      <label
        className="jp-RestifiedPanel-switch"
        title="After setup, run the body once with the parameters' defaults in a scratch namespace, so that what libraries build on first use is built once in the kernel every call starts from"
      >
        <input
          type="checkbox"
          role="switch"
          className="jp-mod-styled"
          checked={declared !== 'none'}
          disabled={!panel || declared === 'list'}
          onChange={event => {
            if (panel) {
              setWarmup(panel, event.target.checked);
            }
          }}
        />
        Warm up with the defaults
      </label>
      {declared === 'list' ? (
        <p className="jp-RestifiedPanel-hint">
          The notebook's metadata lists its warm-up runs; edit them there.
        </p>
      ) : null}
      <p className="jp-RestifiedPanel-hint jp-RestifiedPanel-warmupState">
        {describeWarmup(spec.warmup, spec.warmup_state)}
      </p>
    </div>
  );
}

/**
 * curl / Python / JavaScript, as tabs (arrow keys move between them).
 */
function Snippets(props: {
  spec: IEndpointSpec;
  result: SnippetResult;
}): JSX.Element {
  const { spec, result } = props;
  const [language, setLanguage] = React.useState<SnippetLanguage>('curl');
  const snippets = buildSnippets(
    spec.url,
    exampleValues(spec.parameters),
    CREDENTIAL_PLACEHOLDER,
    exampleFiles(spec.parameters),
    result
  );
  const current = snippets.find(s => s.language === language) ?? snippets[0];
  const tabs = React.useRef<(HTMLButtonElement | null)[]>([]);

  const onKeyDown = (event: React.KeyboardEvent, i: number): void => {
    const step =
      event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0) {
      return;
    }
    event.preventDefault();
    const next = (i + step + snippets.length) % snippets.length;
    setLanguage(snippets[next].language);
    tabs.current[next]?.focus();
  };

  return (
    <div className="jp-RestifiedPanel-field jp-RestifiedPanel-snippets">
      <span className="jp-RestifiedPanel-label">Call it</span>
      <div className="jp-RestifiedPanel-tabsRow">
        <div
          className="jp-RestifiedPanel-tabs"
          role="tablist"
          aria-label="Code to call the endpoint"
        >
          {snippets.map((snippet, i) => {
            const selected = snippet.language === current.language;
            return (
              <button
                key={snippet.language}
                ref={node => {
                  tabs.current[i] = node;
                }}
                type="button"
                role="tab"
                id={`jp-restified-snippet-tab-${snippet.language}`}
                aria-selected={selected}
                aria-controls="jp-restified-snippet"
                tabIndex={selected ? 0 : -1}
                className="jp-RestifiedPanel-tab"
                onClick={() => setLanguage(snippet.language)}
                onKeyDown={event => onKeyDown(event, i)}
              >
                {snippet.label}
              </button>
            );
          })}
        </div>
        <CopyButton
          label={`Copy the ${current.label} snippet`}
          text={current.code}
          className="jp-RestifiedPanel-codeCopy"
        />
      </div>
      <div
        className="jp-RestifiedPanel-codeBlock"
        role="tabpanel"
        id="jp-restified-snippet"
        aria-labelledby={`jp-restified-snippet-tab-${current.language}`}
      >
        <pre
          className="jp-RestifiedPanel-code"
          data-language={current.language}
          tabIndex={0}
        >
          {current.code}
        </pre>
      </div>
      <p className="jp-RestifiedPanel-hint">
        Replace <code>{CREDENTIAL_PLACEHOLDER}</code> with your server token, or
        with a key from <em>Share</em> below.
      </p>
    </div>
  );
}

/**
 * The URL with line-break opportunities after '/', '?' and '&', so that a
 * narrow panel wraps it between path segments, not mid-word.
 */
function breakableUrl(url: string): React.ReactNode[] {
  return url.split(/(?<=[/?&])/).map((part, i) => (
    <React.Fragment key={i}>
      {i > 0 ? <wbr /> : null}
      {part}
    </React.Fragment>
  ));
}
