/**
 * Replay a run in the editor: its parameters as the Python assignments the
 * server injected (`notebook_restified/inject.py`), literals only. Pure.
 */
import type { JSONValue, ParameterType } from '../api/types';

/** Python's keywords: never a parameter name. */
const KEYWORDS = new Set([
  'False',
  'None',
  'True',
  'and',
  'as',
  'assert',
  'async',
  'await',
  'break',
  'class',
  'continue',
  'def',
  'del',
  'elif',
  'else',
  'except',
  'finally',
  'for',
  'from',
  'global',
  'if',
  'import',
  'in',
  'is',
  'lambda',
  'nonlocal',
  'not',
  'or',
  'pass',
  'raise',
  'return',
  'try',
  'while',
  'with',
  'yield'
]);

/** How deep a value may nest (the server's `MAX_DEPTH`). */
const MAX_DEPTH = 32;

/**
 * Whether `name` can be assigned to in Python (an ASCII identifier, not a
 * keyword; the server's names come from the notebook's own code).
 */
export function isPythonName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !KEYWORDS.has(name);
}

/**
 * A Python string literal for `text`, ASCII only: quotes, backslashes and
 * every character outside printable ASCII escaped (so no character can end
 * the literal or the line, whatever the kernel's tokenizer makes of it).
 */
export function pythonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    // A surrogate pair is one code point; a lone surrogate stays as it is.
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = (code - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000;
        i += 1;
      }
    }
    if (code === 0x22) {
      out += '\\"';
    } else if (code === 0x5c) {
      out += '\\\\';
    } else if (code === 0x0a) {
      out += '\\n';
    } else if (code === 0x0d) {
      out += '\\r';
    } else if (code === 0x09) {
      out += '\\t';
    } else if (code >= 0x20 && code < 0x7f) {
      out += String.fromCharCode(code);
    } else if (code < 0x100) {
      out += '\\x' + code.toString(16).padStart(2, '0');
    } else if (code < 0x10000) {
      out += '\\u' + code.toString(16).padStart(4, '0');
    } else {
      out += '\\U' + code.toString(16).padStart(8, '0');
    }
  }
  return out + '"';
}

/**
 * A Python literal for a JSON value; `float` writes a whole number as a
 * float (`2.0`), as the server's coerced `float` parameter is one.
 *
 * @throws Error for a value JSON cannot hold (a function, NaN, too deep).
 */
export function pythonLiteral(
  value: JSONValue,
  type: ParameterType | null = null,
  depth = 0
): string {
  if (depth > MAX_DEPTH) {
    throw new Error(`The value nests more than ${MAX_DEPTH} levels deep.`);
  }
  if (value === null) {
    return 'None';
  }
  switch (typeof value) {
    case 'boolean':
      return value ? 'True' : 'False';
    case 'number':
      if (!Number.isFinite(value)) {
        throw new Error(`${value} is not a JSON number.`);
      }
      if (type === 'float' && Number.isInteger(value)) {
        return Object.is(value, -0) ? '-0.0' : `${value}.0`;
      }
      // JavaScript's shortest round-trip form is a Python literal too
      // (`1e+21`, `5e-324`, `0.1`).
      return String(value);
    case 'string':
      return pythonString(value);
    case 'object':
      if (Array.isArray(value)) {
        return `[${value.map(item => pythonLiteral(item, null, depth + 1)).join(', ')}]`;
      }
      return `{${Object.entries(value)
        .map(
          ([key, item]) =>
            `${pythonString(key)}: ${pythonLiteral(item, null, depth + 1)}`
        )
        .join(', ')}}`;
    default:
      throw new Error(`A ${typeof value} is not a JSON value.`);
  }
}

/**
 * The source that sets a run's parameters in a kernel: one assignment per
 * parameter, in the given order, after a comment naming the run.
 *
 * @param types the declared types by name (to write floats as floats).
 * @throws Error when a name is not a Python identifier.
 */
export function parametersSource(
  parameters: Record<string, JSONValue>,
  types: Record<string, ParameterType> = {},
  runId = ''
): string {
  const lines = [
    `# Parameters of run ${runId || '(unknown)'} (notebook_restified replay)`
  ];
  for (const [name, value] of Object.entries(parameters)) {
    if (!isPythonName(name)) {
      throw new Error(`${JSON.stringify(name)} is not a Python name.`);
    }
    lines.push(`${name} = ${pythonLiteral(value, types[name] ?? null)}`);
  }
  return lines.join('\n') + '\n';
}
