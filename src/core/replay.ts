/**
 * Replay a run in the editor: its parameters as the Python assignments the
 * server injected (`notebook_restified/inject.py`), literals only. Pure.
 */
import type {
  IParameter,
  IParameterSchema,
  JSONValue,
  ParameterType
} from '../api/types';

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
 * The JSON Schema a declared type implies, for a spec without `schema`.
 */
function impliedSchema(type: ParameterType | null): IParameterSchema {
  switch (type) {
    case 'float':
      return { type: 'number' };
    case 'date':
      return { type: 'string', format: 'date' };
    case 'datetime':
      return { type: 'string', format: 'date-time' };
    case 'time':
      return { type: 'string', format: 'time' };
    case 'path':
      return { type: 'string', format: 'path' };
    case 'bytes':
      return { type: 'string', contentEncoding: 'base64' };
    default:
      return {};
  }
}

/** Python's constructors for the JSON forms of dates, paths and bytes. */
const TEXT_CONSTRUCTORS: Record<string, string> = {
  date: '__import__("datetime").date.fromisoformat',
  'date-time': '__import__("datetime").datetime.fromisoformat',
  time: '__import__("datetime").time.fromisoformat',
  path: '__import__("pathlib").Path'
};

function allows(schema: IParameterSchema, kind: string): boolean {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  return types.includes(kind as never);
}

/**
 * A Python expression for a run's recorded value (its JSON form) that makes
 * the object the kernel got: a date from its ISO text, a `Path`, bytes from
 * base64, a tuple, a float; by the parameter's JSON Schema. Names no module
 * (`__import__`), so no variable of the notebook is rebound.
 */
export function pythonValue(
  value: JSONValue,
  schema: IParameterSchema | boolean | undefined,
  depth = 0
): string {
  if (depth > MAX_DEPTH) {
    throw new Error(`The value nests more than ${MAX_DEPTH} levels deep.`);
  }
  if (schema === undefined || typeof schema === 'boolean') {
    return pythonLiteral(value, null, depth);
  }
  if (typeof value === 'string') {
    const constructor = schema.format
      ? TEXT_CONSTRUCTORS[schema.format]
      : undefined;
    if (constructor) {
      return `${constructor}(${pythonString(value)})`;
    }
    if (schema.contentEncoding === 'base64') {
      return `__import__("base64").b64decode(${pythonString(value)})`;
    }
  }
  if (typeof value === 'number' && allows(schema, 'number')) {
    return pythonLiteral(value, 'float', depth);
  }
  if (Array.isArray(value)) {
    const prefix = schema.prefixItems;
    const items = value.map((item, i) =>
      pythonValue(
        item,
        prefix && i < prefix.length ? prefix[i] : schema.items,
        depth + 1
      )
    );
    if (prefix) {
      return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
    }
    return `[${items.join(', ')}]`;
  }
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(
        ([key, item]) =>
          `${pythonString(key)}: ${pythonValue(item, schema.additionalProperties, depth + 1)}`
      )
      .join(', ')}}`;
  }
  return pythonLiteral(value, null, depth);
}

/**
 * The source that sets a run's parameters in a kernel: one assignment per
 * parameter, in the given order, after a comment naming the run.
 *
 * @param types the declared parameters (or their types) by name: floats are
 *   written as floats, dates, paths, bytes and tuples made as the kernel got
 *   them.
 * @throws Error when a name is not a Python identifier.
 */
export function parametersSource(
  parameters: Record<string, JSONValue>,
  types: Record<string, ParameterType | IParameter> = {},
  runId = ''
): string {
  const lines = [
    `# Parameters of run ${runId || '(unknown)'} (notebook_restified replay)`
  ];
  for (const [name, value] of Object.entries(parameters)) {
    if (!isPythonName(name)) {
      throw new Error(`${JSON.stringify(name)} is not a Python name.`);
    }
    const declared = types[name];
    const schema =
      declared === undefined
        ? undefined
        : typeof declared === 'string'
          ? impliedSchema(declared)
          : { ...impliedSchema(declared.type), ...declared.schema };
    lines.push(`${name} = ${pythonValue(value, schema)}`);
  }
  return lines.join('\n') + '\n';
}
