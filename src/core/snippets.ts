/**
 * Ready-to-paste calls of an endpoint (curl, Python requests, JavaScript
 * fetch), built from its real URL and parameters. Pure functions.
 */
import { IParameter, JSONValue } from '../api/types';
import { formText, schemaOf } from './form.js';

/**
 * Stands for the credential in the snippets: the server's token or a key.
 */
export const CREDENTIAL_PLACEHOLDER = '<TOKEN>';

export type SnippetLanguage = 'curl' | 'python' | 'javascript';

/**
 * What a snippet does with the answer, by the kind of result the endpoint
 * returns: prints its JSON (`json`), saves its PNG to `result.png`
 * (`image`), or asks for CSV (`Accept: text/csv`) and prints it as text
 * (`csv`, a table).
 */
export type SnippetResult = 'json' | 'image' | 'csv';

/**
 * How snippets read the answer of a return cell whose saved outputs are
 * these: the first value it showed (`execute_result`) as a PNG is an image,
 * as a pandas DataFrame's HTML a table (asked for as CSV), anything else,
 * or no value saved, JSON. A hint from the notebook as last run, as the
 * endpoint's page takes it from the saved file.
 */
export function snippetResultOf(outputs: unknown): SnippetResult {
  if (!Array.isArray(outputs)) {
    return 'json';
  }
  for (const output of outputs) {
    if (
      typeof output !== 'object' ||
      output === null ||
      (output as { output_type?: unknown }).output_type !== 'execute_result'
    ) {
      continue;
    }
    const data = (output as { data?: unknown }).data;
    if (typeof data !== 'object' || data === null) {
      return 'json';
    }
    const bundle = data as Record<string, unknown>;
    if ('image/png' in bundle) {
      return 'image';
    }
    const html = bundle['text/html'];
    const text = Array.isArray(html) ? html.join('') : String(html ?? '');
    return text.includes('class="dataframe') ? 'csv' : 'json';
  }
  return 'json';
}

/**
 * The file an image's snippets write.
 */
export const IMAGE_FILE = 'result.png';

export interface ISnippet {
  language: SnippetLanguage;
  label: string;
  code: string;
}

/**
 * Example values for a call: each parameter's default (nulls left out), or
 * for a null default the first of its choices, or its lower bound. Files
 * (bytes) are left out: see `exampleFiles`.
 */
export function exampleValues(
  parameters: readonly IParameter[]
): Record<string, JSONValue> {
  const values: Record<string, JSONValue> = {};
  for (const parameter of parameters) {
    if (parameter.type === 'bytes') {
      continue;
    }
    const value = exampleValue(parameter);
    if (value !== null) {
      values[parameter.name] = value;
    }
  }
  return values;
}

function exampleValue(parameter: IParameter): JSONValue {
  if (parameter.default !== null) {
    return parameter.default;
  }
  const schema = schemaOf(parameter);
  const choice = schema.enum?.find(value => value !== null);
  if (choice !== undefined) {
    return choice;
  }
  if (parameter.type === 'int' || parameter.type === 'float') {
    const low = schema.minimum ?? schema.exclusiveMinimum;
    if (low !== undefined) {
      const step = parameter.type === 'int' ? 1 : 0.5;
      return schema.minimum !== undefined ? low : low + step;
    }
  }
  return null;
}

/**
 * The files of an example call: each bytes parameter's file name
 * (`<name>.bin`), by parameter name.
 */
export function exampleFiles(
  parameters: readonly IParameter[]
): Record<string, string> {
  const files: Record<string, string> = {};
  for (const parameter of parameters) {
    if (parameter.type === 'bytes') {
      files[parameter.name] = `${parameter.name}.bin`;
    }
  }
  return files;
}

/**
 * `?a=1&b=text` as the endpoint reads a query: strings as they are, other
 * values as JSON text. Empty when there are no values.
 */
export function queryString(values: Record<string, JSONValue>): string {
  const parts = Object.entries(values).map(
    ([name, value]) =>
      `${encodeURIComponent(name)}=${encodeURIComponent(formText(value))}`
  );
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/**
 * A string in POSIX shell single quotes.
 */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The three snippets: a POST with the credential in the `Authorization:
 * Bearer` header; the values as a JSON body, or, with files (bytes
 * parameters, by name: the file name to upload), as `multipart/form-data`;
 * the answer read as `result` says (JSON unless told).
 */
export function buildSnippets(
  url: string,
  values: Record<string, JSONValue>,
  credential = CREDENTIAL_PLACEHOLDER,
  files: Record<string, string> = {},
  result: SnippetResult = 'json'
): ISnippet[] {
  if (Object.keys(files).length > 0) {
    return multipartSnippets(url, values, credential, files, result);
  }
  const body = JSON.stringify(values);
  const auth = `Bearer ${credential}`;
  const curl = [
    `curl -X POST ${shellQuote(url)}`,
    `-H ${shellQuote(`Authorization: ${auth}`)}`,
    ...curlAccept(result),
    `-H 'Content-Type: application/json'`,
    `-d ${shellQuote(body)}`,
    ...curlOutput(result)
  ].join(' \\\n  ');

  const python = [
    'import requests',
    '',
    'response = requests.post(',
    `    ${JSON.stringify(url)},`,
    `    json=${pythonLiteral(values)},`,
    `    headers=${pythonHeaders(auth, result)},`,
    ')',
    ...pythonAnswer(result)
  ].join('\n');

  const javascript = [
    `const response = await fetch(${JSON.stringify(url)}, {`,
    "  method: 'POST',",
    '  headers: {',
    `    Authorization: ${JSON.stringify(auth)},`,
    ...(result === 'csv' ? ["    Accept: 'text/csv',"] : []),
    "    'Content-Type': 'application/json'",
    '  },',
    `  body: JSON.stringify(${indentJson(values, 2)})`,
    '});',
    ...javascriptAnswer(result)
  ].join('\n');

  return [
    { language: 'curl', label: 'curl', code: curl },
    { language: 'python', label: 'Python', code: python },
    { language: 'javascript', label: 'JavaScript', code: javascript }
  ];
}

/**
 * curl's header that asks for the result's form: CSV for a table (JSON is
 * what any other `Accept` gets).
 */
function curlAccept(result: SnippetResult): string[] {
  return result === 'csv' ? ["-H 'Accept: text/csv'"] : [];
}

/**
 * curl's output: an image to its file (a PNG is no text for a terminal).
 */
function curlOutput(result: SnippetResult): string[] {
  return result === 'image' ? [`-o ${IMAGE_FILE}`] : [];
}

function pythonHeaders(auth: string, result: SnippetResult): string {
  const accept = result === 'csv' ? ', "Accept": "text/csv"' : '';
  return `{"Authorization": ${JSON.stringify(auth)}${accept}}`;
}

/**
 * The Python lines after the call: an error raised, then the JSON printed,
 * the PNG written to its file, or the CSV printed as text.
 */
function pythonAnswer(result: SnippetResult): string[] {
  const lines = ['response.raise_for_status()'];
  switch (result) {
    case 'image':
      return [
        ...lines,
        `with open(${JSON.stringify(IMAGE_FILE)}, "wb") as file:`,
        '    file.write(response.content)'
      ];
    case 'csv':
      return [...lines, 'print(response.text)'];
    default:
      return [...lines, 'print(response.json())'];
  }
}

/**
 * The JavaScript lines after the call: an error thrown (errors are JSON),
 * then the JSON logged, the PNG as a blob shown in an `<img>`, or the CSV
 * logged as text.
 */
function javascriptAnswer(result: SnippetResult): string[] {
  const lines = [
    'if (!response.ok) {',
    '  throw new Error((await response.json()).error.message);',
    '}'
  ];
  switch (result) {
    case 'image':
      return [
        ...lines,
        'const image = await response.blob();',
        "document.querySelector('img').src = URL.createObjectURL(image);"
      ];
    case 'csv':
      return [...lines, 'console.log(await response.text());'];
    default:
      return [...lines, 'console.log(await response.json());'];
  }
}

/**
 * Each value as a form field's text (lists and dicts as JSON text).
 */
function formTexts(values: Record<string, JSONValue>): [string, string][] {
  return Object.entries(values).map(([name, value]) => [name, formText(value)]);
}

/**
 * A curl command's words for a multipart call with files: the POST, the key,
 * each file as a file part, every other value as a text field.
 */
function multipartCurlArgs(
  url: string,
  values: Record<string, JSONValue>,
  credential: string,
  files: Record<string, string>,
  result: SnippetResult
): string[] {
  return [
    `curl -X POST ${shellQuote(url)}`,
    `-H ${shellQuote(`Authorization: Bearer ${credential}`)}`,
    ...curlAccept(result),
    ...Object.entries(files).map(
      ([name, file]) => `-F ${shellQuote(`${name}=@${file}`)}`
    ),
    // --form-string: a text that starts with @ or < or holds ; is no file.
    ...formTexts(values).map(([name, text]) =>
      /^[@<]|;/.test(text)
        ? `--form-string ${shellQuote(`${name}=${text}`)}`
        : `-F ${shellQuote(`${name}=${text}`)}`
    ),
    ...curlOutput(result)
  ];
}

/**
 * The snippets of a call with files: `multipart/form-data`, each file a file
 * part, every other value a text field (lists and dicts as JSON text).
 */
function multipartSnippets(
  url: string,
  values: Record<string, JSONValue>,
  credential: string,
  files: Record<string, string>,
  result: SnippetResult
): ISnippet[] {
  const auth = `Bearer ${credential}`;
  const texts = formTexts(values);
  const curl = multipartCurlArgs(url, values, credential, files, result).join(
    ' \\\n  '
  );

  const python = [
    'import requests',
    '',
    'response = requests.post(',
    `    ${JSON.stringify(url)},`,
    `    files={${Object.entries(files)
      .map(
        ([name, file]) =>
          `${JSON.stringify(name)}: open(${JSON.stringify(file)}, "rb")`
      )
      .join(', ')}},`,
    `    data={${texts
      .map(([name, text]) => `${JSON.stringify(name)}: ${JSON.stringify(text)}`)
      .join(', ')}},`,
    `    headers=${pythonHeaders(auth, result)},`,
    ')',
    ...pythonAnswer(result)
  ].join('\n');

  const javascript = [
    'const form = new FormData();',
    ...Object.keys(files).map(
      name =>
        `form.append(${JSON.stringify(name)}, document.querySelector(${JSON.stringify(
          `input[type=file][name=${name}]`
        )}).files[0]);`
    ),
    ...texts.map(
      ([name, text]) =>
        `form.append(${JSON.stringify(name)}, ${JSON.stringify(text)});`
    ),
    `const response = await fetch(${JSON.stringify(url)}, {`,
    "  method: 'POST',",
    `  headers: { Authorization: ${JSON.stringify(auth)}${
      result === 'csv' ? ", Accept: 'text/csv'" : ''
    } },`,
    '  body: form',
    '});',
    ...javascriptAnswer(result)
  ].join('\n');

  return [
    { language: 'curl', label: 'curl', code: curl },
    { language: 'python', label: 'Python', code: python },
    { language: 'javascript', label: 'JavaScript', code: javascript }
  ];
}

/**
 * A call with an endpoint key: what a colleague pastes in a terminal (a GET
 * with the values in the query; a multipart POST when bytes parameters take
 * files, named in `files`), the answer taken as `result` says.
 */
export function curlWithKey(
  url: string,
  values: Record<string, JSONValue>,
  secret: string,
  files: Record<string, string> = {},
  result: SnippetResult = 'json'
): string {
  if (Object.keys(files).length > 0) {
    // Files go in a multipart form (a GET has no body), on one line as the
    // panel's field shows it.
    return multipartCurlArgs(url, values, secret, files, result).join(' ');
  }
  return [
    'curl',
    `-H ${shellQuote(`Authorization: Bearer ${secret}`)}`,
    ...curlAccept(result),
    shellQuote(url + queryString(values)),
    ...curlOutput(result)
  ].join(' ');
}

/**
 * A JSON value as a Python literal (None, True, False).
 */
export function pythonLiteral(value: JSONValue): string {
  if (value === null) {
    return 'None';
  }
  if (value === true) {
    return 'True';
  }
  if (value === false) {
    return 'False';
  }
  if (typeof value === 'number' || typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map(item => pythonLiteral(item)).join(', ')}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) {
    return '{}';
  }
  return `{${entries
    .map(([key, item]) => `${JSON.stringify(key)}: ${pythonLiteral(item)}`)
    .join(', ')}}`;
}

function indentJson(value: JSONValue, by: number): string {
  const text = JSON.stringify(value);
  return text.length <= 60
    ? text
    : JSON.stringify(value, null, 2).replace(/\n/g, `\n${' '.repeat(by)}`);
}
