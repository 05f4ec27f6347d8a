/**
 * The endpoint's page and the index of endpoints, outside JupyterLab: plain
 * DOM, no framework. Every text that comes from a notebook or a result is set
 * with `textContent` (never parsed as HTML).
 *
 * Built by `jlpm build:page` (tsconfig.page.json) into
 * notebook_restified/static/js/, served by the server extension.
 */
import type { JSONValue } from '../api/types.js';
import { buildSnippets } from '../core/snippets.js';
import { cellText, columnsOf, isRowList, toCsv } from './rows.js';

interface IField {
  name: string;
  type: string;
  default: JSONValue;
  help: string;
  nullable: boolean;
  input: string;
  choices?: JSONValue[];
}

interface IPageData {
  path: string;
  url: string;
  title: string;
  description: string;
  parameters: IField[];
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

function defaultText(field: IField): string {
  const value = field.default;
  if (value === null || value === undefined) {
    return '';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function fieldControl(field: IField, id: string): HTMLElement {
  const text = defaultText(field);
  switch (field.input) {
    case 'checkbox': {
      const box = h('input', { type: 'checkbox', id, name: field.name });
      box.checked = field.default === true;
      return box;
    }
    case 'select': {
      const select = h('select', { id, name: field.name });
      for (const choice of field.choices ?? []) {
        const label =
          typeof choice === 'string' ? choice : JSON.stringify(choice);
        const option = h('option', { value: label }, label);
        option.selected = label === text;
        select.append(option);
      }
      return select;
    }
    case 'json': {
      const area = h('textarea', { id, name: field.name, spellcheck: 'false' });
      area.value = text;
      return area;
    }
    default: {
      const types: Record<string, string> = {
        integer: 'number',
        number: 'number',
        date: 'date',
        datetime: 'datetime-local'
      };
      const input = h('input', {
        type: types[field.input] ?? 'text',
        id,
        name: field.name
      });
      if (field.input === 'number') {
        input.step = 'any';
      }
      if (field.input === 'integer') {
        input.step = '1';
      }
      input.value = text;
      return input;
    }
  }
}

/**
 * The form's values as the endpoint's query reads them (empty non-text
 * fields left out: their default applies).
 */
function formValues(form: HTMLFormElement, fields: IField[]): URLSearchParams {
  const values = new URLSearchParams();
  for (const field of fields) {
    const control = form.elements.namedItem(field.name) as
      HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement | null;
    if (!control) {
      continue;
    }
    if (field.input === 'checkbox') {
      values.set(
        field.name,
        (control as HTMLInputElement).checked ? 'true' : 'false'
      );
    } else if (control.value !== '' || field.type === 'str') {
      values.set(field.name, control.value);
    }
  }
  return values;
}

function snippetValues(
  values: URLSearchParams,
  fields: IField[]
): Record<string, JSONValue> {
  const result: Record<string, JSONValue> = {};
  for (const field of fields) {
    const text = values.get(field.name);
    if (text === null) {
      continue;
    }
    if (field.type === 'str') {
      result[field.name] = text;
      continue;
    }
    try {
      result[field.name] = JSON.parse(text) as JSONValue;
    } catch {
      result[field.name] = text;
    }
  }
  return result;
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

function snippetsSection(
  data: IPageData,
  values: Record<string, JSONValue>
): HTMLElement {
  const placeholder = data.caller.kind === 'key' ? '<YOUR_KEY>' : '<TOKEN>';
  const section = h(
    'section',
    { 'aria-labelledby': 'rp-code' },
    h('h2', { id: 'rp-code' }, 'From a program')
  );
  for (const snippet of buildSnippets(data.url, values, placeholder)) {
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
  section.append(
    h(
      'p',
      { class: 'rp-muted' },
      data.caller.kind === 'key'
        ? 'Replace <YOUR_KEY> with the key you were given.'
        : "Replace <TOKEN> with this server's token."
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
    root.append(h('p', { class: 'rp-description' }, data.description));
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
  data.parameters.forEach((field, i) => {
    const id = `rp-param-${i}`;
    const label = h(
      'label',
      { for: id },
      field.name,
      h(
        'span',
        { class: 'rp-type' },
        `${field.type} · default ${JSON.stringify(field.default)}`
      )
    );
    const wrapper = h(
      'div',
      { class: 'rp-field', 'data-name': field.name, 'data-control': id },
      label
    );
    if (field.help) {
      wrapper.append(
        h('div', { class: 'rp-help', id: `${id}-help` }, field.help)
      );
    }
    const control = fieldControl(field, id);
    if (field.help) {
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
  const refreshSnippets = () =>
    code.replaceChildren(
      snippetsSection(
        data,
        snippetValues(formValues(form, data.parameters), data.parameters)
      )
    );
  refreshSnippets();
  form.addEventListener('input', refreshSnippets);
  form.addEventListener('change', refreshSnippets);

  form.addEventListener('submit', event => {
    event.preventDefault();
    void runCall(form, data, key, result, run);
  });
}

async function runCall(
  form: HTMLFormElement,
  data: IPageData,
  key: string | null,
  result: HTMLElement,
  run: HTMLButtonElement
): Promise<void> {
  clearFieldErrors(form);
  const query = formValues(form, data.parameters).toString();
  const base = document.body.dataset.baseUrl ?? '/';
  const url = `${base}restified/${encodePath(data.path)}${query ? `?${query}` : ''}`;
  run.disabled = true;
  result.replaceChildren(h('p', { class: 'rp-status' }, 'Running…'));
  const started = performance.now();
  try {
    const response = await fetch(url, {
      headers: headers(key, 'application/json, image/png;q=0.9'),
      credentials: 'same-origin'
    });
    const took = `${Math.round(performance.now() - started)} ms`;
    if (!response.ok) {
      showCallError(
        form,
        data,
        result,
        response.status,
        await errorOf(response)
      );
      return;
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
      return;
    }
    const value = (await response.json()) as JSONValue;
    const stem =
      data.path
        .split('/')
        .pop()
        ?.replace(/\.ipynb$/, '') ?? 'result';
    result.replaceChildren(
      status,
      isRowList(value) ? table(value, stem) : jsonTree(value)
    );
  } catch (error) {
    result.replaceChildren(
      errorBox('The call did not complete', String(error))
    );
  } finally {
    run.disabled = false;
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
      // The first paragraph: the page has the rest.
      const first = entry.description.split(/\n\s*\n/)[0];
      item.append(h('p', { class: 'rp-description' }, first));
    }
    if (entry.error) {
      item.append(h('p', { class: 'rp-field-error' }, entry.error));
    }
    if (entry.parameters.length > 0) {
      item.append(
        h(
          'ul',
          { class: 'rp-params', 'aria-label': 'Parameters' },
          ...entry.parameters.map(p =>
            h(
              'li',
              {},
              h('code', {}, p.name),
              ` (${p.type}, default ${JSON.stringify(p.default)})`,
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
