/**
 * The try-it form's fields: what each declared type shows and accepts.
 * Pure functions, checked before anything is sent.
 */
import { IParameter, JSONValue } from '../api/types';

/**
 * What the user entered in a field.
 */
export interface IFieldInput {
  /** The text (every type but bool). */
  text: string;
  /** The checkbox (bool). */
  checked: boolean;
  /** Whether the user changed the field. */
  touched: boolean;
  /** The browser could not read the number (`validity.badInput`). */
  badInput?: boolean;
}

/**
 * A field read: a value to send (undefined: leave it out, the default
 * applies), or a problem to show.
 */
export type FieldResult =
  { ok: true; value: JSONValue | undefined } | { ok: false; problem: string };

/**
 * How a parameter is edited.
 */
export type FieldKind = 'integer' | 'number' | 'checkbox' | 'text' | 'json';

export function fieldKind(parameter: IParameter): FieldKind {
  switch (parameter.type) {
    case 'int':
      return 'integer';
    case 'float':
      return 'number';
    case 'bool':
      return 'checkbox';
    case 'str':
      return 'text';
    default:
      return 'json';
  }
}

/**
 * The field as first shown: the parameter's default.
 */
export function initialInput(parameter: IParameter): IFieldInput {
  const value = parameter.default;
  let text = '';
  switch (fieldKind(parameter)) {
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
    case 'json':
      text =
        value === null && parameter.type !== 'any'
          ? ''
          : (parameter.defaultText ?? compact(value));
      break;
    case 'checkbox':
      break;
  }
  return { text, checked: value === true, touched: false };
}

/**
 * Read a field; an empty field leaves the parameter out (its default applies).
 */
export function readField(
  parameter: IParameter,
  input: IFieldInput
): FieldResult {
  const text = input.text.trim();
  switch (fieldKind(parameter)) {
    case 'integer':
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
      return { ok: true, value: Number(text) };
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
      return { ok: true, value };
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
      return { ok: true, value: input.text };
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
      const nullable = value === null && parameter.default === null;
      if (parameter.type === 'list' && !Array.isArray(value) && !nullable) {
        return { ok: false, problem: 'Expected a JSON list, e.g. [1, 2, 3].' };
      }
      if (
        parameter.type === 'dict' &&
        !nullable &&
        (typeof value !== 'object' || value === null || Array.isArray(value))
      ) {
        return {
          ok: false,
          problem: 'Expected a JSON object, e.g. {"key": "value"}.'
        };
      }
      return { ok: true, value };
    }
  }
}

/**
 * Read every field: the values to send, and the problems by name.
 */
export function readForm(
  parameters: readonly IParameter[],
  inputs: Record<string, IFieldInput>
): { values: Record<string, JSONValue>; problems: Record<string, string> } {
  const values: Record<string, JSONValue> = {};
  const problems: Record<string, string> = {};
  for (const parameter of parameters) {
    const input = inputs[parameter.name] ?? initialInput(parameter);
    const result = readField(parameter, input);
    if (!result.ok) {
      problems[parameter.name] = result.problem;
    } else if (result.value !== undefined) {
      values[parameter.name] = result.value;
    }
  }
  return { values, problems };
}

/**
 * A default as the parameters table shows it: as the server wrote it.
 */
export function formatDefault(parameter: IParameter): string {
  return parameter.defaultText ?? compact(parameter.default);
}

function compact(value: JSONValue): string {
  return JSON.stringify(value) ?? 'null';
}
