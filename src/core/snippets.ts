/**
 * Ready-to-paste calls of an endpoint (curl, Python requests, JavaScript
 * fetch), built from its real URL and parameters. Pure functions.
 */
import { IParameter, JSONValue } from '../api/types';

/**
 * Stands for the credential in the snippets: the server's token or a key.
 */
export const CREDENTIAL_PLACEHOLDER = '<TOKEN>';

export type SnippetLanguage = 'curl' | 'python' | 'javascript';

export interface ISnippet {
  language: SnippetLanguage;
  label: string;
  code: string;
}

/**
 * Example values for a call: each parameter's default (nulls left out).
 */
export function exampleValues(
  parameters: readonly IParameter[]
): Record<string, JSONValue> {
  const values: Record<string, JSONValue> = {};
  for (const parameter of parameters) {
    if (parameter.default !== null) {
      values[parameter.name] = parameter.default;
    }
  }
  return values;
}

/**
 * `?a=1&b=text` as the endpoint reads a query: strings as they are, other
 * values as JSON text. Empty when there are no values.
 */
export function queryString(values: Record<string, JSONValue>): string {
  const parts = Object.entries(values).map(
    ([name, value]) =>
      `${encodeURIComponent(name)}=${encodeURIComponent(
        typeof value === 'string' ? value : JSON.stringify(value)
      )}`
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
 * The three snippets: a JSON POST with the credential in the
 * `Authorization: Bearer` header.
 */
export function buildSnippets(
  url: string,
  values: Record<string, JSONValue>,
  credential = CREDENTIAL_PLACEHOLDER
): ISnippet[] {
  const body = JSON.stringify(values);
  const auth = `Bearer ${credential}`;
  const curl = [
    `curl -X POST ${shellQuote(url)} \\`,
    `  -H ${shellQuote(`Authorization: ${auth}`)} \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d ${shellQuote(body)}`
  ].join('\n');

  const python = [
    'import requests',
    '',
    'response = requests.post(',
    `    ${JSON.stringify(url)},`,
    `    json=${pythonLiteral(values)},`,
    `    headers={"Authorization": ${JSON.stringify(auth)}},`,
    ')',
    'response.raise_for_status()',
    'print(response.json())'
  ].join('\n');

  const javascript = [
    `const response = await fetch(${JSON.stringify(url)}, {`,
    "  method: 'POST',",
    '  headers: {',
    `    Authorization: ${JSON.stringify(auth)},`,
    "    'Content-Type': 'application/json'",
    '  },',
    `  body: JSON.stringify(${indentJson(values, 2)})`,
    '});',
    'if (!response.ok) {',
    '  throw new Error((await response.json()).error.message);',
    '}',
    'console.log(await response.json());'
  ].join('\n');

  return [
    { language: 'curl', label: 'curl', code: curl },
    { language: 'python', label: 'Python', code: python },
    { language: 'javascript', label: 'JavaScript', code: javascript }
  ];
}

/**
 * A GET call with an endpoint key: what a colleague pastes in a terminal.
 */
export function curlWithKey(
  url: string,
  values: Record<string, JSONValue>,
  secret: string
): string {
  return `curl -H ${shellQuote(`Authorization: Bearer ${secret}`)} ${shellQuote(
    url + queryString(values)
  )}`;
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
