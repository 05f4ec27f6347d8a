/**
 * The try-it form's fields: what each declared type shows and accepts.
 * Pure functions, checked before anything is sent; the panel's try-it and the
 * endpoint's page (src/page/) both read their forms with them.
 */
import type { IParameter, IParameterSchema, JSONValue } from '../api/types';

/**
 * A file the user chose (a `File` in a browser): its name and its bytes.
 */
export interface IChosenFile extends Blob {
  readonly name: string;
}

/**
 * What the user entered in a field.
 */
export interface IFieldInput {
  /** The text (every type but bool and bytes); a select's choice key. */
  text: string;
  /** The checkbox (bool). */
  checked: boolean;
  /** Whether the user changed the field. */
  touched: boolean;
  /** The browser could not read the number or date (`validity.badInput`). */
  badInput?: boolean;
  /** The chosen file (bytes). */
  file?: IChosenFile | null;
}

/**
 * A field read: a value to send (undefined: leave it out, the default
 * applies), a file to upload, or a problem to show.
 */
export type FieldResult =
  | { ok: true; value: JSONValue | undefined; file?: IChosenFile }
  | { ok: false; problem: string };

/**
 * How a parameter is edited.
 */
export type FieldKind =
  | 'integer'
  | 'number'
  | 'checkbox'
  | 'text'
  | 'json'
  | 'select'
  | 'date'
  | 'datetime'
  | 'time'
  | 'file';

/**
 * The parameter's JSON Schema; empty when the server sent none.
 */
export function schemaOf(parameter: IParameter): IParameterSchema {
  return parameter.schema ?? {};
}

/**
 * Whether `null` is a value the parameter accepts.
 */
export function isNullable(parameter: IParameter): boolean {
  if (parameter.nullable !== undefined) {
    return parameter.nullable;
  }
  // An older server's spec: a None default or `any` accepted null.
  return parameter.default === null || parameter.type === 'any';
}

export function fieldKind(parameter: IParameter): FieldKind {
  if (Array.isArray(schemaOf(parameter).enum)) {
    return 'select';
  }
  switch (parameter.type) {
    case 'int':
      return 'integer';
    case 'float':
      return 'number';
    case 'bool':
      return 'checkbox';
    case 'str':
    case 'path':
      return 'text';
    case 'date':
      return 'date';
    case 'datetime':
      return 'datetime';
    case 'time':
      return 'time';
    case 'bytes':
      return 'file';
    default:
      return 'json';
  }
}

/**
 * One choice of a select: `key` is the input's text for it ('' for the
 * parameter's default, which leaves the field out).
 */
export interface IChoice {
  key: string;
  label: string;
  value: JSONValue | undefined;
}

/**
 * A select's choices: the default first (nothing sent), then every allowed
 * value, `null` among them when the parameter accepts it.
 */
export function choices(parameter: IParameter): IChoice[] {
  const allowed = [...(schemaOf(parameter).enum ?? [])];
  if (isNullable(parameter) && !allowed.includes(null)) {
    allowed.push(null);
  }
  return [
    {
      key: '',
      label: `default (${choiceLabel(parameter.default)})`,
      value: undefined
    },
    ...allowed.map(value => ({
      key: JSON.stringify(value),
      label: choiceLabel(value),
      value
    }))
  ];
}

function choiceLabel(value: JSONValue): string {
  return typeof value === 'string' ? value : compact(value);
}

/**
 * What a date, date-time or time input can show of an ISO text: the input
 * knows no time zone and no more than milliseconds.
 */
function dateInputText(kind: FieldKind, value: JSONValue): string {
  if (typeof value !== 'string') {
    return '';
  }
  const pattern =
    kind === 'date'
      ? /^\d{4}-\d{2}-\d{2}/
      : kind === 'datetime'
        ? /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?/
        : /^\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?/;
  return pattern.exec(value)?.[0] ?? '';
}

/**
 * The field as first shown: the parameter's default.
 */
export function initialInput(parameter: IParameter): IFieldInput {
  const value = parameter.default;
  const kind = fieldKind(parameter);
  let text = '';
  switch (kind) {
    case 'integer':
    case 'number':
      text =
        typeof value === 'number'
          ? (parameter.defaultText ?? String(value))
          : '';
      break;
    case 'text':
      text = typeof value === 'string' ? value : '';
      break;
    case 'date':
    case 'datetime':
    case 'time':
      text = dateInputText(kind, value);
      break;
    case 'json':
      text =
        value === null && parameter.type !== 'any'
          ? ''
          : (parameter.defaultText ?? compact(value));
      break;
    case 'select':
    case 'checkbox':
    case 'file':
      break;
  }
  return { text, checked: value === true, touched: false };
}

const DATE_FORMS: Record<'date' | 'datetime' | 'time', [RegExp, string]> = {
  date: [/^\d{4}-\d{2}-\d{2}$/, 'a date, e.g. 2024-01-31'],
  datetime: [
    /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/,
    'a date and time, e.g. 2024-01-31T09:30'
  ],
  time: [
    /^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/,
    'a time, e.g. 09:30'
  ]
};

/**
 * Read a field; an empty field leaves the parameter out (its default applies).
 */
export function readField(
  parameter: IParameter,
  input: IFieldInput
): FieldResult {
  const text = input.text.trim();
  const schema = schemaOf(parameter);
  const kind = fieldKind(parameter);
  switch (kind) {
    case 'select': {
      const choice = choices(parameter).find(c => c.key === input.text);
      if (choice === undefined) {
        return { ok: false, problem: `Choose one of: ${allowedText(schema)}.` };
      }
      return { ok: true, value: choice.value };
    }
    case 'integer': {
      if (input.badInput) {
        return {
          ok: false,
          problem: 'Not a number: enter an integer, e.g. 42.'
        };
      }
      if (text === '') {
        return { ok: true, value: undefined };
      }
      if (!/^[+-]?\d+$/.test(text)) {
        return {
          ok: false,
          problem: `Expected an integer (no decimals), got "${input.text}".`
        };
      }
      if (!Number.isSafeInteger(Number(text))) {
        return { ok: false, problem: 'This integer is too large to send.' };
      }
      return checked(Number(text), schema);
    }
    case 'number': {
      if (input.badInput) {
        return { ok: false, problem: 'Not a number: enter e.g. 3.14.' };
      }
      if (text === '') {
        return { ok: true, value: undefined };
      }
      const value = Number(text);
      if (!Number.isFinite(value)) {
        return {
          ok: false,
          problem: `Expected a number, got "${input.text}".`
        };
      }
      return checked(value, schema);
    }
    case 'checkbox':
      if (parameter.default !== true && parameter.default !== false) {
        // No boolean default: send only what the user chose.
        return { ok: true, value: input.touched ? input.checked : undefined };
      }
      return { ok: true, value: input.checked };
    case 'text':
      if (input.text === '' && parameter.default === null) {
        return { ok: true, value: undefined };
      }
      return checked(input.text, schema);
    case 'date':
    case 'datetime':
    case 'time': {
      const [pattern, example] = DATE_FORMS[kind];
      if (input.badInput) {
        return { ok: false, problem: `Incomplete: enter ${example}.` };
      }
      // Untouched: the default applies (the input may not show all of it).
      if (text === '' || !input.touched) {
        return { ok: true, value: undefined };
      }
      if (!pattern.test(text)) {
        return {
          ok: false,
          problem: `Expected ${example}, got "${input.text}".`
        };
      }
      return { ok: true, value: text };
    }
    case 'file':
      return input.file
        ? { ok: true, value: undefined, file: input.file }
        : { ok: true, value: undefined };
    case 'json': {
      if (text === '') {
        return { ok: true, value: undefined };
      }
      let value: JSONValue;
      try {
        value = JSON.parse(text) as JSONValue;
      } catch (error) {
        const hint =
          parameter.type === 'any' ? ' (put text in "double quotes")' : '';
        return { ok: false, problem: `Not valid JSON${hint}.` };
      }
      if (value === null && isNullable(parameter)) {
        return { ok: true, value };
      }
      if (parameter.type === 'list' && !Array.isArray(value)) {
        return { ok: false, problem: 'Expected a JSON list, e.g. [1, 2, 3].' };
      }
      if (
        parameter.type === 'dict' &&
        (typeof value !== 'object' || value === null || Array.isArray(value))
      ) {
        return {
          ok: false,
          problem: 'Expected a JSON object, e.g. {"key": "value"}.'
        };
      }
      return checked(value, schema);
    }
  }
}

/**
 * The value, or the first way it breaks the schema.
 */
function checked(value: JSONValue, schema: IParameterSchema): FieldResult {
  const problem = schemaProblem(value, schema);
  return problem === null ? { ok: true, value } : { ok: false, problem };
}

function allowedText(schema: IParameterSchema): string {
  return (schema.enum ?? []).map(choiceLabel).join(', ');
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function schemaTypes(schema: IParameterSchema): string[] | null {
  if (schema.type === undefined) {
    return null;
  }
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

function jsonTypeOf(value: JSONValue): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'array';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? 'integer' : 'number';
  }
  return typeof value; // boolean, string, object
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  string: 'a string',
  array: 'a list',
  object: 'an object',
  null: 'null'
};

/**
 * Where a value breaks a JSON Schema (the keys the server writes: type, enum,
 * bounds, lengths, items, prefixItems, additionalProperties, anyOf), as a
 * sentence; null when it does not. Unknown keys are left to the server.
 */
export function schemaProblem(
  value: JSONValue,
  schema: IParameterSchema | boolean,
  where = ''
): string | null {
  const at = where ? `${where}: ` : '';
  if (schema === true) {
    return null;
  }
  if (schema === false) {
    return `${at}not allowed here.`;
  }
  if (schema.anyOf) {
    const problems = schema.anyOf.map(s => schemaProblem(value, s, where));
    if (problems.every(p => p !== null)) {
      return problems[0];
    }
  }
  const types = schemaTypes(schema);
  const actual = jsonTypeOf(value);
  if (
    types !== null &&
    !types.includes(actual) &&
    !(actual === 'integer' && types.includes('number'))
  ) {
    const expected = types.map(t => TYPE_WORDS[t] ?? t).join(' or ');
    return `${at}expected ${expected}, got ${compact(value)}.`;
  }
  if (schema.enum && !schema.enum.some(item => sameJSON(item, value))) {
    return `${at}must be one of: ${allowedText(schema)}.`;
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) {
      return `${at}must be at least ${schema.minimum}.`;
    }
    if (schema.maximum !== undefined && value > schema.maximum) {
      return `${at}must be at most ${schema.maximum}.`;
    }
    if (
      schema.exclusiveMinimum !== undefined &&
      value <= schema.exclusiveMinimum
    ) {
      return `${at}must be more than ${schema.exclusiveMinimum}.`;
    }
    if (
      schema.exclusiveMaximum !== undefined &&
      value >= schema.exclusiveMaximum
    ) {
      return `${at}must be less than ${schema.exclusiveMaximum}.`;
    }
    if (schema.multipleOf !== undefined && schema.multipleOf > 0) {
      const ratio = value / schema.multipleOf;
      if (
        Math.abs(ratio - Math.round(ratio)) >
        1e-9 * Math.max(1, Math.abs(ratio))
      ) {
        return `${at}must be a multiple of ${schema.multipleOf}.`;
      }
    }
  }
  if (typeof value === 'string') {
    // JSON Schema counts characters (code points), not UTF-16 units.
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) {
      return `${at}must have at least ${plural(schema.minLength, 'character')}.`;
    }
    if (schema.maxLength !== undefined && length > schema.maxLength) {
      return `${at}must have at most ${plural(schema.maxLength, 'character')}.`;
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      return `${at}must have at least ${plural(schema.minItems, 'item')}.`;
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      return `${at}must have at most ${plural(schema.maxItems, 'item')}.`;
    }
    const prefix = schema.prefixItems ?? [];
    for (let i = 0; i < value.length; i++) {
      const itemSchema = i < prefix.length ? prefix[i] : schema.items;
      if (itemSchema === undefined) {
        continue;
      }
      const problem = schemaProblem(
        value[i],
        itemSchema,
        `${where}[${i}]`.replace(/^\[/, 'item [')
      );
      if (problem !== null) {
        return problem;
      }
    }
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (
      schema.minProperties !== undefined &&
      entries.length < schema.minProperties
    ) {
      return `${at}must have at least ${plural(schema.minProperties, 'key')}.`;
    }
    if (
      schema.maxProperties !== undefined &&
      entries.length > schema.maxProperties
    ) {
      return `${at}must have at most ${plural(schema.maxProperties, 'key')}.`;
    }
    if (schema.additionalProperties !== undefined) {
      for (const [key, item] of entries) {
        const problem = schemaProblem(
          item,
          schema.additionalProperties,
          `${where ? where : 'key'}[${JSON.stringify(key)}]`
        );
        if (problem !== null) {
          return problem;
        }
      }
    }
  }
  return null;
}

function sameJSON(a: JSONValue, b: JSONValue): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Every field read: the JSON values to send, the files to upload, and the
 * problems, by name.
 */
export interface IFormReading {
  values: Record<string, JSONValue>;
  files: Record<string, IChosenFile>;
  problems: Record<string, string>;
}

/**
 * Read every field: the values to send, the files, and the problems by name.
 */
export function readForm(
  parameters: readonly IParameter[],
  inputs: Record<string, IFieldInput>
): IFormReading {
  const values: Record<string, JSONValue> = {};
  const files: Record<string, IChosenFile> = {};
  const problems: Record<string, string> = {};
  for (const parameter of parameters) {
    const input = inputs[parameter.name] ?? initialInput(parameter);
    const result = readField(parameter, input);
    if (!result.ok) {
      problems[parameter.name] = result.problem;
    } else if (result.file !== undefined) {
      files[parameter.name] = result.file;
    } else if (result.value !== undefined) {
      values[parameter.name] = result.value;
    }
  }
  return { values, files, problems };
}

/**
 * A value as a form field or a query reads it: strings as they are, other
 * values as JSON text (`[1, 2]`, `true`, `3`).
 */
export function formText(value: JSONValue): string {
  return typeof value === 'string' ? value : compact(value);
}

/**
 * A form with files as `multipart/form-data`: each file as a file part, every
 * other value as text (lists and dicts as JSON text). Null without files: the
 * values go as JSON.
 */
export function multipartBody(reading: {
  values: Record<string, JSONValue>;
  files: Record<string, IChosenFile>;
}): FormData | null {
  const names = Object.keys(reading.files);
  if (names.length === 0) {
    return null;
  }
  const body = new FormData();
  for (const [name, value] of Object.entries(reading.values)) {
    body.append(name, formText(value));
  }
  for (const name of names) {
    const file = reading.files[name];
    body.append(name, file, file.name || name);
  }
  return body;
}

/**
 * A default as the parameters table shows it: as the server wrote it.
 */
export function formatDefault(parameter: IParameter): string {
  if (parameter.type === 'bytes' && typeof parameter.default === 'string') {
    return parameter.default === ''
      ? 'empty'
      : `${Math.floor((parameter.default.length * 3) / 4)} bytes`;
  }
  return parameter.defaultText ?? compact(parameter.default);
}

const SCHEMA_TYPE_NAMES: Record<string, string> = {
  integer: 'int',
  number: 'float',
  boolean: 'bool',
  string: 'str',
  array: 'list',
  object: 'dict'
};

const FORMAT_NAMES: Record<string, string> = {
  date: 'date',
  'date-time': 'datetime',
  time: 'time',
  path: 'path'
};

/**
 * An element's type as Python writes it: `int`, `date`, `list[int]`.
 */
function elementName(schema: IParameterSchema | boolean | undefined): string {
  if (schema === undefined || typeof schema === 'boolean') {
    return 'any';
  }
  if (schema.enum) {
    return `Literal[${schema.enum.map(v => compact(v)).join(', ')}]`;
  }
  if (schema.anyOf) {
    return schema.anyOf.map(elementName).join(' | ');
  }
  if (schema.format && FORMAT_NAMES[schema.format]) {
    return FORMAT_NAMES[schema.format];
  }
  if (schema.contentEncoding === 'base64') {
    return 'bytes';
  }
  const types = (schemaTypes(schema) ?? []).filter(t => t !== 'null');
  if (types.length !== 1) {
    return 'any';
  }
  const name = SCHEMA_TYPE_NAMES[types[0]] ?? types[0];
  if (types[0] === 'array') {
    if (schema.prefixItems) {
      return `tuple[${schema.prefixItems.map(elementName).join(', ')}]`;
    }
    return schema.items === undefined || typeof schema.items === 'boolean'
      ? name
      : `list[${elementName(schema.items)}]`;
  }
  if (types[0] === 'object') {
    return schema.additionalProperties === undefined ||
      typeof schema.additionalProperties === 'boolean'
      ? name
      : `dict[str, ${elementName(schema.additionalProperties)}]`;
  }
  return name;
}

function range(
  low: number | undefined,
  high: number | undefined,
  unit = ''
): string | null {
  if (low !== undefined && high !== undefined) {
    return low === high ? `${unit}${low}` : `${unit}${low}..${high}`;
  }
  if (low !== undefined) {
    return `${unit}≥ ${low}`;
  }
  if (high !== undefined) {
    return `${unit}≤ ${high}`;
  }
  return null;
}

/**
 * The parameter's type as the parameters table shows it: the type with its
 * elements, then its bounds, lengths or choices: `int, 0..100`,
 * `one of: mean, median`, `list[int]`, `date`, `bytes (a file)`.
 */
export function describeType(parameter: IParameter): string {
  const schema = schemaOf(parameter);
  const orNull = isNullable(parameter) && parameter.type !== 'any';
  if (schema.enum) {
    const allowed = schema.enum.filter(v => v !== null).map(choiceLabel);
    return `one of: ${allowed.join(', ')}${orNull ? ', or null' : ''}`;
  }
  let name: string = parameter.type;
  if (parameter.type === 'list' || parameter.type === 'dict') {
    name = elementName(schema);
    if (name === 'any') {
      name = parameter.type;
    }
  }
  if (parameter.type === 'bytes') {
    name = 'bytes (a file)';
  }
  const parts = [orNull ? `${name} or null` : name];
  if (
    schema.exclusiveMinimum === undefined &&
    schema.exclusiveMaximum === undefined
  ) {
    const bounds = range(schema.minimum, schema.maximum);
    if (bounds !== null) {
      parts.push(bounds);
    }
  } else {
    const bounds: [number | undefined, string][] = [
      [schema.minimum, '≥'],
      [schema.exclusiveMinimum, '>'],
      [schema.maximum, '≤'],
      [schema.exclusiveMaximum, '<']
    ];
    parts.push(
      bounds
        .filter(([bound]) => bound !== undefined)
        .map(([bound, sign]) => `${sign} ${bound}`)
        .join(' and ')
    );
  }
  if (schema.multipleOf !== undefined) {
    parts.push(`multiple of ${schema.multipleOf}`);
  }
  for (const [low, high, unit] of [
    [schema.minLength, schema.maxLength, 'length '],
    [schema.minItems, schema.maxItems, 'items '],
    [schema.minProperties, schema.maxProperties, 'keys ']
  ] as [number | undefined, number | undefined, string][]) {
    // A tuple's item count is in its type already.
    if (unit === 'items ' && schema.prefixItems) {
      continue;
    }
    const text = range(low, high, unit);
    if (text !== null) {
      parts.push(text);
    }
  }
  return parts.join(', ');
}

function compact(value: JSONValue): string {
  return JSON.stringify(value) ?? 'null';
}
