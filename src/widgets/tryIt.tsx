/**
 * Try-it: a form made from the typed parameters, Send through the real
 * endpoint, and the answer (JSON, image, text, or the error).
 */
import * as React from 'react';

import { IEndpointResponse, IParameter } from '../api';
import {
  choices,
  describeType,
  fieldKind,
  IFieldInput,
  initialInput,
  schemaOf
} from '../core/form';
import { indentJSON } from '../core/jsonText';
import { EndpointModel } from '../model/endpointModel';
import { Callout, CellButton, CellList } from './common';
import { RunProgress } from './runs';
import { useSignals } from './useSignals';

export function TryIt(props: { model: EndpointModel }): JSX.Element {
  const { tryIt, endpoint, notebook, tags, runs } = props.model;
  // The form and its call; the spec it is for; the unsaved-changes hint; a
  // background call's run.
  useSignals(
    tryIt.changed,
    endpoint.changed,
    notebook.changed,
    tags.changed,
    runs.changed
  );
  const spec = endpoint.spec;
  const path = notebook.path;
  if (!spec || !path) {
    return (
      <p className="jp-RestifiedPanel-empty">
        {endpoint.state === 'loading'
          ? 'Reading the saved notebook…'
          : 'Fix the endpoint above to try it.'}
      </p>
    );
  }

  const { parameters, inputs, running, response, failure } = tryIt;
  const { problems } = tryIt.form;
  const invalid = Object.keys(problems).length > 0;
  const serverProblems: Record<string, string> = {};
  if (response?.error?.type === 'invalid_parameters') {
    for (const detail of response.error.details ?? []) {
      serverProblems[detail.name] = detail.problem;
    }
  }

  return (
    <div className="jp-RestifiedPanel-tryIt">
      <form
        className="jp-RestifiedPanel-form"
        aria-label="Try the endpoint"
        noValidate
        onSubmit={event => {
          event.preventDefault();
          void tryIt.send();
        }}
      >
        {parameters.length === 0 ? (
          <p className="jp-RestifiedPanel-empty">No parameters to fill in.</p>
        ) : null}
        {parameters.map(parameter => (
          <Field
            key={parameter.name}
            parameter={parameter}
            input={inputs[parameter.name] ?? initialInput(parameter)}
            problem={problems[parameter.name] ?? serverProblems[parameter.name]}
            onChange={change => tryIt.update(parameter.name, change)}
            onSubmit={() => void tryIt.send()}
          />
        ))}
        {tags.dirty ? (
          <p className="jp-RestifiedPanel-hint">
            Unsaved changes are not in the call: it runs the saved notebook.
          </p>
        ) : null}
        <label className="jp-RestifiedPanel-switch">
          <input
            type="checkbox"
            role="switch"
            className="jp-mod-styled"
            checked={tryIt.background}
            onChange={event => (tryIt.background = event.target.checked)}
          />
          Run in background
        </label>
        <div className="jp-RestifiedPanel-actions">
          <button
            type="submit"
            className="jp-RestifiedPanel-button jp-mod-accept jp-RestifiedPanel-send"
            disabled={invalid || running}
            aria-describedby={invalid ? 'jp-restified-form-invalid' : undefined}
          >
            {running ? 'Running…' : 'Send'}
          </button>
          {running ? (
            <button
              type="button"
              className="jp-RestifiedPanel-button"
              onClick={() => tryIt.cancel()}
            >
              Cancel
            </button>
          ) : null}
          {invalid ? (
            <span
              className="jp-RestifiedPanel-muted"
              id="jp-restified-form-invalid"
            >
              Fix the marked field to send.
            </span>
          ) : null}
        </div>
      </form>
      <div aria-live="polite" aria-busy={running}>
        {failure ? <Callout kind="error">{failure}</Callout> : null}
        {tryIt.run && !running ? (
          <RunProgress
            run={runs.run(tryIt.run.id) ?? tryIt.run}
            live={runs.live(tryIt.run.id)}
          />
        ) : null}
        {response && !running ? (
          <Response response={response} onGo={i => void notebook.goToCell(i)} />
        ) : null}
      </div>
    </div>
  );
}

/**
 * One parameter's input, label, help and problem.
 */
function Field(props: {
  parameter: IParameter;
  input: IFieldInput;
  problem: string | undefined;
  onChange: (change: Partial<IFieldInput>) => void;
  onSubmit: () => void;
}): JSX.Element {
  const { parameter, input, problem, onChange } = props;
  const id = `jp-restified-param-${parameter.name}`;
  const helpId = `${id}-help`;
  const problemId = `${id}-problem`;
  const describedBy =
    [parameter.help ? helpId : '', problem ? problemId : '']
      .filter(Boolean)
      .join(' ') || undefined;
  const kind = fieldKind(parameter);
  const common = {
    id,
    name: parameter.name,
    'aria-invalid': problem ? true : undefined,
    'aria-describedby': describedBy
  };

  let control: JSX.Element;
  switch (kind) {
    case 'checkbox':
      control = (
        <input
          {...common}
          type="checkbox"
          className="jp-mod-styled jp-RestifiedPanel-checkbox"
          checked={input.checked}
          onChange={event => onChange({ checked: event.target.checked })}
        />
      );
      break;
    case 'integer':
    case 'number': {
      const schema = schemaOf(parameter);
      control = (
        <input
          {...common}
          type="number"
          step={schema.multipleOf ?? (kind === 'integer' ? 1 : 'any')}
          min={schema.minimum ?? schema.exclusiveMinimum}
          max={schema.maximum ?? schema.exclusiveMaximum}
          inputMode={kind === 'integer' ? 'numeric' : 'decimal'}
          className="jp-mod-styled jp-RestifiedPanel-input"
          value={input.text}
          placeholder={parameter.default === null ? 'default' : undefined}
          // Every input event, not React's onChange: that one skips an edit
          // that leaves the value '' ('-' typed, then deleted), so the stale
          // badInput said "Not a number" for an emptied field.
          onInput={event =>
            onChange({
              text: event.currentTarget.value,
              badInput: event.currentTarget.validity.badInput
            })
          }
          onChange={() => undefined}
        />
      );
      break;
    }
    case 'select':
      control = (
        <select
          {...common}
          className="jp-mod-styled jp-RestifiedPanel-input jp-RestifiedPanel-select"
          value={input.text}
          onChange={event => onChange({ text: event.target.value })}
        >
          {choices(parameter).map(choice => (
            <option key={choice.key} value={choice.key}>
              {choice.label}
            </option>
          ))}
        </select>
      );
      break;
    case 'date':
    case 'datetime':
    case 'time':
      control = (
        <input
          {...common}
          type={kind === 'datetime' ? 'datetime-local' : kind}
          className="jp-mod-styled jp-RestifiedPanel-input jp-RestifiedPanel-date"
          value={input.text}
          onInput={event =>
            onChange({
              text: event.currentTarget.value,
              badInput: event.currentTarget.validity.badInput
            })
          }
          onChange={() => undefined}
        />
      );
      break;
    case 'file':
      control = (
        <FileInput
          common={common}
          input={input}
          onChange={file => onChange({ file })}
        />
      );
      break;
    case 'text':
      control = (
        <input
          {...common}
          type="text"
          className="jp-mod-styled jp-RestifiedPanel-input"
          value={input.text}
          spellCheck={false}
          onChange={event => onChange({ text: event.target.value })}
        />
      );
      break;
    case 'json':
      control = (
        <textarea
          {...common}
          className="jp-mod-styled jp-RestifiedPanel-input jp-RestifiedPanel-json"
          value={input.text}
          rows={Math.min(6, Math.max(2, input.text.split('\n').length))}
          spellCheck={false}
          placeholder={
            parameter.type === 'dict' ? '{"key": "value"}' : '[1, 2]'
          }
          onChange={event => onChange({ text: event.target.value })}
          onKeyDown={event => {
            if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
              event.preventDefault();
              props.onSubmit();
            }
          }}
        />
      );
      break;
  }

  return (
    <div
      className={`jp-RestifiedPanel-param${kind === 'checkbox' ? ' jp-mod-checkbox' : ''}${problem ? ' jp-mod-invalid' : ''}`}
    >
      <label htmlFor={id} className="jp-RestifiedPanel-paramLabel">
        <code>{parameter.name}</code>{' '}
        <span className="jp-RestifiedPanel-type">
          {describeType(parameter)}
        </span>
      </label>
      {control}
      {parameter.help ? (
        <div className="jp-RestifiedPanel-paramHelp" id={helpId}>
          {parameter.help}
        </div>
      ) : null}
      {problem ? (
        <div className="jp-RestifiedPanel-problem" id={problemId}>
          {problem}
        </div>
      ) : null}
    </div>
  );
}

/**
 * A file picker; the chosen file's name and size, and a way to leave it out
 * (the default applies).
 */
function FileInput(props: {
  common: Record<string, unknown>;
  input: IFieldInput;
  onChange: (file: File | null) => void;
}): JSX.Element {
  const { common, input, onChange } = props;
  const ref = React.useRef<HTMLInputElement>(null);
  const file = input.file ?? null;
  React.useEffect(() => {
    // The form started over: the picker forgets its file too.
    if (file === null && ref.current && ref.current.value !== '') {
      ref.current.value = '';
    }
  }, [file]);
  return (
    <div className="jp-RestifiedPanel-file">
      <input
        {...common}
        ref={ref}
        type="file"
        className="jp-RestifiedPanel-fileInput"
        onChange={event => onChange(event.target.files?.[0] ?? null)}
      />
      {file !== null ? (
        <>
          <span className="jp-RestifiedPanel-muted">
            {file.size.toLocaleString()} bytes
          </span>
          <button
            type="button"
            className="jp-RestifiedPanel-button"
            onClick={() => onChange(null)}
          >
            Clear
          </button>
        </>
      ) : (
        <span className="jp-RestifiedPanel-muted">
          No file: the default applies.
        </span>
      )}
    </div>
  );
}

/**
 * The answer: status and time, then the value, the image, or the error.
 */
function Response(props: {
  response: IEndpointResponse;
  onGo: (index: number) => void;
}): JSX.Element {
  const { response, onGo } = props;
  const { body, error } = response;
  const seconds =
    response.duration >= 1000
      ? `${(response.duration / 1000).toFixed(2)} s`
      : `${Math.round(response.duration)} ms`;
  return (
    <div className="jp-RestifiedPanel-response">
      <div className="jp-RestifiedPanel-responseStatus">
        <span
          className={`jp-RestifiedPanel-status ${response.ok ? 'jp-mod-ok' : 'jp-mod-failed'}`}
        >
          {response.status} {response.statusText}
        </span>
        <span
          className="jp-RestifiedPanel-duration"
          title={
            response.serverDuration !== null
              ? `Round trip; the notebook ran in ${response.serverDuration} ms on the server`
              : 'Round trip'
          }
        >
          {seconds}
        </span>
        <span className="jp-RestifiedPanel-muted jp-RestifiedPanel-mediaType">
          {response.contentType.split(';')[0]}
        </span>
      </div>
      {error ? (
        <ErrorView error={error} onGo={onGo} />
      ) : body.kind === 'json' ? (
        <pre
          className="jp-RestifiedPanel-code jp-RestifiedPanel-result"
          aria-label="Result"
          tabIndex={0}
        >
          {indentJSON(body.text)}
        </pre>
      ) : body.kind === 'image' ? (
        <ImageView blob={body.blob} />
      ) : body.kind === 'text' ? (
        <pre
          className="jp-RestifiedPanel-code jp-RestifiedPanel-result"
          aria-label="Result"
          tabIndex={0}
        >
          {body.text}
        </pre>
      ) : (
        <p className="jp-RestifiedPanel-empty">Empty answer.</p>
      )}
    </div>
  );
}

function ImageView(props: { blob: Blob }): JSX.Element {
  const [url, setUrl] = React.useState<string | null>(null);
  React.useEffect(() => {
    const objectUrl = URL.createObjectURL(props.blob);
    setUrl(objectUrl);
    return () => URL.revokeObjectURL(objectUrl);
  }, [props.blob]);
  return url ? (
    <img
      className="jp-RestifiedPanel-image"
      src={url}
      alt={`The endpoint's image result (${props.blob.type})`}
    />
  ) : (
    <></>
  );
}

function ErrorView(props: {
  error: NonNullable<IEndpointResponse['error']>;
  onGo: (index: number) => void;
}): JSX.Element {
  const { error, onGo } = props;
  const cell = typeof error.cell_index === 'number' ? error.cell_index : null;
  return (
    <div className="jp-RestifiedPanel-errorView">
      <Callout kind="error">
        <div className="jp-RestifiedPanel-errorType">{error.type}</div>
        <div className="jp-RestifiedPanel-errorMessage">{error.message}</div>
        {error.details && error.details.length > 0 ? (
          <ul className="jp-RestifiedPanel-details">
            {error.details.map(detail => (
              <li key={`${detail.name}:${detail.problem}`}>
                <code>{detail.name}</code>: {detail.problem}
              </li>
            ))}
          </ul>
        ) : null}
        {cell !== null ? (
          <div className="jp-RestifiedPanel-calloutActions">
            <CellButton index={cell} onGo={onGo}>
              Go to cell {cell}
            </CellButton>
          </div>
        ) : null}
        {error.cells && error.cells.length > 0 ? (
          <div className="jp-RestifiedPanel-calloutActions">
            Go to <CellList cells={error.cells} onGo={onGo} />
          </div>
        ) : null}
      </Callout>
      {error.traceback && error.traceback.length > 0 ? (
        <details className="jp-RestifiedPanel-traceback" open>
          <summary>Traceback</summary>
          <pre className="jp-RestifiedPanel-code" tabIndex={0}>
            {error.traceback.join('\n')}
          </pre>
        </details>
      ) : null}
    </div>
  );
}
