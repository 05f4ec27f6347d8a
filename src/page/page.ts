/**
 * The endpoint's page and the index of endpoints, outside JupyterLab: plain
 * DOM, no framework. Every text that comes from a notebook or a result is set
 * with `textContent` (never parsed as HTML).
 *
 * Built by `jlpm build:page` (tsconfig.page.json) into
 * notebook_restified/static/js/, served by the server extension.
 */
import type {
  IParameter,
  IParameterSchema,
  JSONValue,
  ParameterType
} from '../api/types.js';
import {
  choices,
  describeType,
  fieldKind,
  formatDefault,
  IFieldInput,
  IFormReading,
  initialInput,
  multipartBody,
  readForm,
  schemaOf
} from '../core/form.js';
import {
  buildSnippets,
  exampleFiles,
  queryString,
  SnippetResult
} from '../core/snippets.js';
import { parseMarkdown, renderBlocks, renderMarkdown } from './markdown.js';
import { cellText, columnsOf, isRowList, toCsv } from './rows.js';

/**
 * What kind of result an endpoint answers: a JSON value, a table (a list of
 * rows, which programs may ask for as CSV) or an image (PNG).
 */
type ResultKind = 'json' | 'table' | 'image';

/**
 * A parameter as the page data gives it: the spec's parameter, with the
 * form hints older servers sent (`input`, `choices`) in place of `schema`.
 */
interface IField {
  name: string;
  type: string;
  default: JSONValue;
  help: string;
  nullable?: boolean;
  schema?: IParameterSchema;
  input?: string;
  choices?: JSONValue[];
}

interface IPageData {
  path: string;
  url: string;
  title: string;
  description: string;
  parameters: IField[];
  /** The kind the notebook's saved return value shows; null: not saved. */
  result_kind?: ResultKind | null;
  caller: { kind: 'user' | 'key'; label?: string; can_read: boolean };
  openapi: string | null;
  index: string | null;
  warnings: string[];
  cells: Record<string, string> | null;
}

interface IIndexEntry {
  path: string;
  url: string;
  title: string;
  description: string;
  parameters: IField[];
  error?: string;
}

interface IErrorBody {
  type?: string;
  message?: string;
  details?: { name: string; problem: string }[];
  cell_index?: number | null;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

const KEY_STORE = 'notebook_restified.key:';

/**
 * An element with attributes and children; strings become text nodes.
 */
function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string | null)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null) {
      element.append(child);
    }
  }
  return element;
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/**
 * The key this page was opened with: from the fragment (shared links) or the
 * query (`?key=`, older links), then removed from the address bar; kept in
 * this tab's session storage so a reload still works.
 */
function takeKey(path: string): string | null {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const query = new URLSearchParams(window.location.search);
  const given = fragment.get('key') || query.get('key');
  if (fragment.has('key') || query.has('key')) {
    query.delete('key');
    const rest = query.toString().replace(/=(&|$)/g, '$1');
    window.history.replaceState(
      null,
      '',
      window.location.pathname + (rest ? `?${rest}` : '')
    );
  }
  try {
    if (given) {
      window.sessionStorage.setItem(KEY_STORE + path, given);
      return given;
    }
    return window.sessionStorage.getItem(KEY_STORE + path);
  } catch {
    return given; // storage refused: this load only
  }
}

function headers(key: string | null, accept: string): Record<string, string> {
  const result: Record<string, string> = { Accept: accept };
  if (key) {
    result.Authorization = `Bearer ${key}`;
  }
  return result;
}

async function errorOf(response: Response): Promise<IErrorBody> {
  try {
    const body = await response.json();
    if (body && typeof body === 'object' && body.error) {
      return body.error as IErrorBody;
    }
  } catch {
    // not JSON: the status says it
  }
  return { message: `${response.status} ${response.statusText}` };
}

function errorBox(
  title: string,
  message: string,
  ...more: Node[]
): HTMLElement {
  return h(
    'div',
    { class: 'rp-error', role: 'alert' },
    h('strong', {}, title),
    message ? h('div', {}, message) : null,
    ...more
  );
}

// ---------------------------------------------------------------------------
// The form

/**
 * The parameter the form is for, read as the panel's try-it reads it
 * (src/core/form.ts).
 */
function toParameter(field: IField): IParameter {
  let type = field.type as ParameterType;
  let schema = field.schema;
  if (schema === undefined && field.choices) {
    schema = { enum: field.choices };
  }
  if (
    schema === undefined &&
    (field.input === 'date' || field.input === 'datetime')
  ) {
    type = field.input; // a str annotated as a date, on an older server
  }
  return {
    name: field.name,
    type,
    default: field.default,
    help: field.help,
    nullable: field.nullable,
    schema
  };
}

function fieldControl(parameter: IParameter, id: string): HTMLElement {
  const initial = initialInput(parameter);
  const kind = fieldKind(parameter);
  switch (kind) {
    case 'checkbox': {
      const box = h('input', { type: 'checkbox', id, name: parameter.name });
      box.checked = initial.checked;
      return box;
    }
    case 'select': {
      const select = h('select', { id, name: parameter.name });
      for (const choice of choices(parameter)) {
        select.append(h('option', { value: choice.key }, choice.label));
      }
      select.value = initial.text;
      return select;
    }
    case 'json': {
      const area = h('textarea', {
        id,
        name: parameter.name,
        spellcheck: 'false'
      });
      area.value = initial.text;
      return area;
    }
    case 'file':
      return h('input', { type: 'file', id, name: parameter.name });
    default: {
      const types: Record<string, string> = {
        integer: 'number',
        number: 'number',
        date: 'date',
        datetime: 'datetime-local',
        time: 'time'
      };
      const input = h('input', {
        type: types[kind] ?? 'text',
        id,
        name: parameter.name
      });
      if (kind === 'integer' || kind === 'number') {
        const schema = schemaOf(parameter);
        input.step =
          schema.multipleOf !== undefined
            ? String(schema.multipleOf)
            : kind === 'integer'
              ? '1'
              : 'any';
        const low = schema.minimum ?? schema.exclusiveMinimum;
        const high = schema.maximum ?? schema.exclusiveMaximum;
        if (low !== undefined) {
          input.min = String(low);
        }
        if (high !== undefined) {
          input.max = String(high);
        }
      }
      input.value = initial.text;
      return input;
    }
  }
}

/**
 * What the user entered in each field, as the shared form logic reads it.
 */
function formInputs(
  form: HTMLFormElement,
  parameters: IParameter[],
  touched: Set<string>
): Record<string, IFieldInput> {
  const inputs: Record<string, IFieldInput> = {};
  for (const parameter of parameters) {
    const control = form.elements.namedItem(parameter.name) as
      HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement | null;
    if (!control) {
      continue;
    }
    const input: IFieldInput = {
      text: control.value,
      checked: control instanceof HTMLInputElement && control.checked,
      touched: touched.has(parameter.name),
      badInput: control.validity.badInput
    };
    if (control instanceof HTMLInputElement && control.type === 'file') {
      input.text = '';
      input.file = control.files?.[0] ?? null;
    }
    inputs[parameter.name] = input;
  }
  return inputs;
}

/**
 * The snippets' files: the chosen ones by their names, the others as
 * `<name>.bin`.
 */
function snippetFiles(
  parameters: IParameter[],
  reading: IFormReading
): Record<string, string> {
  const files = exampleFiles(parameters);
  for (const [name, file] of Object.entries(reading.files)) {
    files[name] = file.name || files[name];
  }
  return files;
}

function clearFieldErrors(form: HTMLFormElement): void {
  for (const node of Array.from(form.querySelectorAll('.rp-field-error'))) {
    node.remove();
  }
  for (const field of Array.from(form.querySelectorAll('[data-invalid]'))) {
    field.removeAttribute('data-invalid');
    field.querySelector('[aria-invalid]')?.removeAttribute('aria-invalid');
  }
}

function showFieldErrors(
  form: HTMLFormElement,
  details: { name: string; problem: string }[]
): boolean {
  let first: HTMLElement | null = null;
  for (const detail of details) {
    const wrapper = form.querySelector<HTMLElement>(
      `.rp-field[data-name="${CSS.escape(detail.name)}"]`
    );
    if (!wrapper) {
      continue;
    }
    const id = `${wrapper.dataset.control}-error`;
    wrapper.setAttribute('data-invalid', '');
    wrapper.append(h('div', { class: 'rp-field-error', id }, detail.problem));
    const control = wrapper.querySelector<HTMLElement>(
      'input, select, textarea'
    );
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      control.setAttribute('aria-describedby', id);
      first = first ?? control;
    }
  }
  first?.focus();
  return first !== null;
}

// ---------------------------------------------------------------------------
// Results

function table(
  rows: Record<string, JSONValue>[],
  fileStem: string
): HTMLElement {
  const columns = columnsOf(rows);
  const head = h('tr', {}, ...columns.map(c => h('th', { scope: 'col' }, c)));
  const body = h('tbody');
  for (const row of rows) {
    body.append(
      h(
        'tr',
        {},
        ...columns.map(c =>
          h(
            'td',
            typeof row[c] === 'number' ? { class: 'rp-num' } : {},
            cellText(row[c])
          )
        )
      )
    );
  }
  const download = h(
    'button',
    { type: 'button', class: 'rp-secondary rp-csv' },
    'Download CSV'
  );
  download.addEventListener('click', () => {
    const url = URL.createObjectURL(
      new Blob([toCsv(rows)], { type: 'text/csv' })
    );
    const link = h('a', { href: url, download: `${fileStem}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
  return h(
    'div',
    {},
    h(
      'p',
      { class: 'rp-status' },
      `${rows.length} row${rows.length === 1 ? '' : 's'} · `,
      download
    ),
    h(
      'div',
      { class: 'rp-table-wrap', tabindex: '0', 'aria-label': 'Result table' },
      h('table', { class: 'rp-table' }, h('thead', {}, head), body)
    )
  );
}

function treeNode(
  label: string | null,
  value: JSONValue,
  depth: number
): HTMLElement {
  const item = h('li');
  const key =
    label === null ? null : h('span', { class: 'rp-key' }, `${label}: `);
  if (value !== null && typeof value === 'object') {
    const entries: [string, JSONValue][] = Array.isArray(value)
      ? value.map((v, i) => [String(i), v])
      : Object.entries(value);
    const summary = Array.isArray(value)
      ? `[${value.length}]`
      : `{${entries.length}}`;
    const details = h('details', {}, h('summary', {}, key ?? '', summary));
    details.open = depth < 2;
    const list = h('ul');
    for (const [name, child] of entries) {
      list.append(treeNode(name, child, depth + 1));
    }
    details.append(list);
    item.append(details);
  } else {
    const shown = h(
      'span',
      { class: typeof value === 'string' ? 'rp-string' : 'rp-value' },
      JSON.stringify(value)
    );
    item.append(key ?? '', shown);
  }
  return item;
}

function jsonTree(value: JSONValue): HTMLElement {
  return h(
    'ul',
    { class: 'rp-tree', 'aria-label': 'Result' },
    treeNode(null, value, 0)
  );
}

// ---------------------------------------------------------------------------
// The endpoint's page

/**
 * How the snippets take an answer of this kind: a table as CSV text, an
 * image as a PNG file, anything else as JSON.
 */
const SNIPPET_RESULT: Record<ResultKind, SnippetResult> = {
  json: 'json',
  table: 'csv',
  image: 'image'
};

function snippetsSection(
  data: IPageData,
  values: Record<string, JSONValue>,
  files: Record<string, string>,
  kind: ResultKind
): HTMLElement {
  const placeholder = data.caller.kind === 'key' ? '<YOUR_KEY>' : '<TOKEN>';
  const section = h(
    'section',
    { 'aria-labelledby': 'rp-code', 'data-result': kind },
    h('h2', { id: 'rp-code' }, 'From a program')
  );
  const snippets = buildSnippets(
    data.url,
    values,
    placeholder,
    files,
    SNIPPET_RESULT[kind]
  );
  for (const snippet of snippets) {
    if (snippet.language === 'javascript') {
      continue;
    }
    section.append(
      h('h3', { class: 'rp-status' }, snippet.label),
      h(
        'pre',
        { class: `rp-snippet rp-snippet-${snippet.language}`, tabindex: '0' },
        snippet.code
      )
    );
  }
  const saved =
    kind === 'image'
      ? ' The image is saved as result.png.'
      : kind === 'table'
        ? ' The table comes as CSV.'
        : '';
  section.append(
    h(
      'p',
      { class: 'rp-muted' },
      (data.caller.kind === 'key'
        ? 'Replace <YOUR_KEY> with the key you were given.'
        : "Replace <TOKEN> with this server's token.") + saved
    )
  );
  return section;
}

function renderEndpoint(
  root: HTMLElement,
  data: IPageData,
  key: string | null
): void {
  document.title = `${data.title} — notebook endpoint`;
  root.replaceChildren();
  root.append(h('h1', {}, data.title), h('p', { class: 'rp-path' }, data.url));
  if (data.description) {
    // Markdown built as DOM nodes (never parsed as HTML); its headings under
    // the title.
    root.append(
      h(
        'div',
        { class: 'rp-description rp-markdown' },
        ...renderMarkdown(data.description, document, { headingOffset: 1 })
      )
    );
  }
  const links = h('p', { class: 'rp-links' });
  if (data.openapi) {
    links.append(
      h('a', { href: data.openapi, class: 'rp-openapi' }, 'OpenAPI document')
    );
  }
  if (data.index) {
    links.append(
      h('a', { href: data.index, class: 'rp-index' }, 'All endpoints')
    );
  }
  if (data.caller.kind === 'key') {
    links.append(
      h(
        'span',
        { class: 'rp-muted' },
        `Shared with you${data.caller.label ? ` (${data.caller.label})` : ''}`
      )
    );
  }
  if (links.childNodes.length > 0) {
    root.append(links);
  }
  for (const warning of data.warnings) {
    root.append(h('p', { class: 'rp-muted rp-warning' }, `⚠ ${warning}`));
  }

  const form = h('form', {
    class: 'rp-form',
    novalidate: '',
    'aria-labelledby': 'rp-form-title'
  });
  form.append(
    h(
      'h2',
      { id: 'rp-form-title' },
      data.parameters.length ? 'Parameters' : 'Run'
    )
  );
  const parameters = data.parameters.map(toParameter);
  parameters.forEach((parameter, i) => {
    const id = `rp-param-${i}`;
    const label = h(
      'label',
      { for: id },
      parameter.name,
      h(
        'span',
        { class: 'rp-type' },
        `${describeType(parameter)} · default ${formatDefault(parameter)}`
      )
    );
    const wrapper = h(
      'div',
      { class: 'rp-field', 'data-name': parameter.name, 'data-control': id },
      label
    );
    if (parameter.help) {
      wrapper.append(
        h('div', { class: 'rp-help', id: `${id}-help` }, parameter.help)
      );
    }
    const control = fieldControl(parameter, id);
    if (parameter.help) {
      control.setAttribute('aria-describedby', `${id}-help`);
    }
    wrapper.append(control);
    form.append(wrapper);
  });
  const run = h('button', { type: 'submit', class: 'rp-run' }, 'Run');
  form.append(run);
  root.append(form);

  const result = h('section', {
    class: 'rp-result',
    'aria-live': 'polite',
    'aria-label': 'Result'
  });
  root.append(result);
  const code = h('div');
  root.append(code);
  const touched = new Set<string>();
  // The snippets take the answer as the saved output shows it, then as the
  // last call here answered.
  let kind: ResultKind = data.result_kind ?? 'json';
  const reading = () =>
    readForm(parameters, formInputs(form, parameters, touched));
  const refreshSnippets = () => {
    const read = reading();
    code.replaceChildren(
      snippetsSection(data, read.values, snippetFiles(parameters, read), kind)
    );
  };
  refreshSnippets();
  const edited = (event: Event) => {
    const name = (event.target as HTMLInputElement | null)?.name;
    if (name) {
      touched.add(name);
    }
    refreshSnippets();
  };
  form.addEventListener('input', edited);
  form.addEventListener('change', edited);

  form.addEventListener('submit', event => {
    event.preventDefault();
    if (run.getAttribute('aria-disabled') === 'true') {
      return; // a call is on its way
    }
    void runCall(form, data, reading(), key, result, run).then(answered => {
      if (answered !== null && answered !== kind) {
        kind = answered;
        refreshSnippets();
      }
    });
  });
}

/**
 * The `_xsrf` cookie's value: what a POST with the login cookie must repeat
 * in `X-XSRFToken`.
 */
function xsrfToken(): string | null {
  for (const part of document.cookie.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === '_xsrf') {
      return decodeURIComponent(value.join('='));
    }
  }
  return null;
}

/**
 * Calls the endpoint with the form's values and shows the answer; the kind
 * of result it answered, or null when there was none.
 */
async function runCall(
  form: HTMLFormElement,
  data: IPageData,
  reading: IFormReading,
  key: string | null,
  result: HTMLElement,
  run: HTMLButtonElement
): Promise<ResultKind | null> {
  clearFieldErrors(form);
  const problems = Object.entries(reading.problems).map(([name, problem]) => ({
    name,
    problem
  }));
  if (problems.length > 0) {
    // Checked here as the server would: nothing is sent.
    showFieldErrors(form, problems);
    result.replaceChildren(
      errorBox(
        'Some values are not right',
        'See the fields above.',
        h(
          'ul',
          {},
          ...problems.map(p => h('li', {}, `${p.name}: ${p.problem}`))
        )
      )
    );
    return null;
  }
  const base = document.body.dataset.baseUrl ?? '/';
  const endpoint = `${base}restified/${encodePath(data.path)}`;
  // A file goes as multipart/form-data; else the values go in the query.
  const body = multipartBody(reading);
  const init: RequestInit = {
    headers: headers(key, 'application/json, image/png;q=0.9'),
    credentials: 'same-origin'
  };
  let url = endpoint;
  if (body !== null) {
    init.method = 'POST';
    init.body = body;
    const xsrf = key ? null : xsrfToken();
    if (xsrf) {
      (init.headers as Record<string, string>)['X-XSRFToken'] = xsrf;
    }
  } else {
    url += queryString(reading.values);
  }
  // Marked busy, not disabled: a disabled button would lose the keyboard's
  // focus, which would go back to the page's top.
  run.setAttribute('aria-disabled', 'true');
  result.replaceChildren(h('p', { class: 'rp-status' }, 'Running…'));
  const started = performance.now();
  try {
    const response = await fetch(url, init);
    const took = `${Math.round(performance.now() - started)} ms`;
    if (!response.ok) {
      showCallError(
        form,
        data,
        result,
        response.status,
        await errorOf(response)
      );
      return null;
    }
    const status = h('p', { class: 'rp-status' }, `Done in ${took}.`);
    const type = response.headers.get('Content-Type') ?? '';
    if (type.startsWith('image/')) {
      const image = h('img', {
        class: 'rp-image',
        alt: `The image ${data.title} returned`,
        src: URL.createObjectURL(await response.blob())
      });
      result.replaceChildren(status, image);
      return 'image';
    }
    const value = (await response.json()) as JSONValue;
    const stem =
      data.path
        .split('/')
        .pop()
        ?.replace(/\.ipynb$/, '') ?? 'result';
    const rows = isRowList(value);
    result.replaceChildren(status, rows ? table(value, stem) : jsonTree(value));
    return rows ? 'table' : 'json';
  } catch (error) {
    result.replaceChildren(
      errorBox('The call did not complete', String(error))
    );
    return null;
  } finally {
    run.removeAttribute('aria-disabled');
  }
}

function showCallError(
  form: HTMLFormElement,
  data: IPageData,
  result: HTMLElement,
  status: number,
  error: IErrorBody
): void {
  const message = error.message ?? `${status}`;
  const title = `${status} ${error.type ?? 'error'}`;
  if (error.type === 'invalid_parameters' && error.details) {
    const marked = showFieldErrors(form, error.details);
    const list = h(
      'ul',
      {},
      ...error.details.map(d => h('li', {}, `${d.name}: ${d.problem}`))
    );
    result.replaceChildren(
      errorBox(
        title,
        marked ? 'Some values are not right: see the fields above.' : message,
        list
      )
    );
    return;
  }
  const more: Node[] = [];
  let shown = message;
  if (error.type === 'execution_error') {
    shown = ''; // the line below says it all
    const where =
      error.cell_index === null || error.cell_index === undefined
        ? ''
        : ` in cell ${error.cell_index}`;
    more.push(
      h('p', {}, `${error.ename ?? 'Error'}${where}: ${error.evalue ?? ''}`)
    );
    const source =
      error.cell_index !== null && error.cell_index !== undefined
        ? data.cells?.[String(error.cell_index)]
        : undefined;
    if (source !== undefined) {
      more.push(
        h('h3', { class: 'rp-status' }, 'The failing cell'),
        h('pre', { class: 'rp-cell', tabindex: '0' }, source)
      );
    }
    if (error.traceback && error.traceback.length > 0) {
      more.push(
        h(
          'details',
          {},
          h('summary', {}, 'Traceback'),
          h(
            'pre',
            { class: 'rp-traceback', tabindex: '0' },
            error.traceback.join('\n')
          )
        )
      );
    }
  }
  result.replaceChildren(errorBox(title, shown, ...more));
}

// ---------------------------------------------------------------------------
// The index

function renderIndex(root: HTMLElement, entries: IIndexEntry[]): void {
  root.replaceChildren(h('h1', {}, 'Notebook endpoints'));
  if (entries.length === 0) {
    root.append(
      h(
        'p',
        { class: 'rp-muted' },
        'No notebook under this server has an endpoint yet (tag a cell parameters or return).'
      )
    );
    return;
  }
  const base = document.body.dataset.baseUrl ?? '/';
  const list = h('ul', { class: 'rp-index-list' });
  for (const entry of entries) {
    const item = h(
      'li',
      { class: 'rp-index-entry' },
      h(
        'h2',
        {},
        h(
          'a',
          { href: `${base}restified/${encodePath(entry.path)}` },
          entry.title
        )
      ),
      h('div', { class: 'rp-path' }, entry.path)
    );
    if (entry.description) {
      // The first block (a paragraph, mostly), as markdown built as DOM
      // nodes: the page has the rest.
      const first = parseMarkdown(entry.description).slice(0, 1);
      item.append(
        h(
          'div',
          { class: 'rp-description rp-markdown' },
          ...renderBlocks(first, document, { headingOffset: 2 })
        )
      );
    }
    if (entry.error) {
      item.append(h('p', { class: 'rp-field-error' }, entry.error));
    }
    if (entry.parameters.length > 0) {
      item.append(
        h(
          'ul',
          { class: 'rp-params', 'aria-label': 'Parameters' },
          ...entry.parameters
            .map(toParameter)
            .map(p =>
              h(
                'li',
                {},
                h('code', {}, p.name),
                ` (${describeType(p)}, default ${formatDefault(p)})`,
                p.help ? ` — ${p.help}` : ''
              )
            )
        )
      );
    }
    list.append(item);
  }
  root.append(list);
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const root = document.getElementById('restified-page');
  if (!root) {
    return;
  }
  const { view, baseUrl = '/', path = '' } = document.body.dataset;
  if (view === 'index') {
    const response = await fetch(`${baseUrl}restified/`, {
      headers: headers(null, 'application/json'),
      credentials: 'same-origin'
    });
    if (!response.ok) {
      const error = await errorOf(response);
      root.replaceChildren(
        errorBox(
          `${response.status} ${error.type ?? 'error'}`,
          error.message ?? ''
        )
      );
      return;
    }
    renderIndex(
      root,
      ((await response.json()) as { endpoints: IIndexEntry[] }).endpoints
    );
    return;
  }
  const key = takeKey(path);
  const response = await fetch(
    `${baseUrl}api/restified/page/${encodePath(path)}`,
    {
      headers: headers(key, 'application/json'),
      credentials: 'same-origin'
    }
  );
  if (!response.ok) {
    const error = await errorOf(response);
    const hint =
      response.status === 403 && !key
        ? 'This page needs a key: open the full link you were given (it ends with #key=…), or log in to the server.'
        : (error.message ?? '');
    root.replaceChildren(
      h('h1', {}, path),
      errorBox(`${response.status} ${error.type ?? 'error'}`, hint)
    );
    return;
  }
  renderEndpoint(root, (await response.json()) as IPageData, key);
}

void main();
