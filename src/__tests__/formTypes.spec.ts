/**
 * The form for the declared types of issue #15: choices, bounds, lengths,
 * element types, dates and times, paths and files, and null where the spec
 * says the parameter takes it. Each parameter is written as the server's spec
 * JSON describes it (`nullable`, `schema`).
 */
import {
  IParameter,
  IParameterSchema,
  JSONValue,
  ParameterType
} from '../api/types';
import {
  choices,
  describeType,
  fieldKind,
  IFieldInput,
  initialInput,
  multipartBody,
  readField,
  readForm,
  schemaProblem
} from '../core/form';

function parameter(
  type: ParameterType,
  defaultValue: JSONValue,
  schema: IParameterSchema,
  nullable = false,
  name = 'p'
): IParameter {
  return { name, type, default: defaultValue, help: '', nullable, schema };
}

function typed(text: string, extra: Partial<IFieldInput> = {}): IFieldInput {
  return { text, checked: false, touched: true, ...extra };
}

const statistic = parameter('str', 'mean', {
  type: 'string',
  enum: ['mean', 'median'],
  default: 'mean'
});
const optionalLevel = parameter(
  'int',
  null,
  { type: ['integer', 'null'], enum: [1, 2, 3, null], default: null },
  true
);
const percent = parameter('int', 50, {
  type: 'integer',
  minimum: 0,
  maximum: 100,
  default: 50
});
const ratio = parameter('float', 0.5, {
  type: 'number',
  exclusiveMinimum: 0,
  exclusiveMaximum: 1,
  default: 0.5
});
const label = parameter('str', 'x', {
  type: 'string',
  minLength: 1,
  maxLength: 3,
  default: 'x'
});
const when = parameter('date', '2024-01-01', {
  type: 'string',
  format: 'date',
  default: '2024-01-01'
});
const at = parameter('datetime', '2024-01-01T12:30:00+00:00', {
  type: 'string',
  format: 'date-time',
  default: '2024-01-01T12:30:00+00:00'
});
const clock = parameter('time', '12:30:00', {
  type: 'string',
  format: 'time',
  default: '12:30:00'
});
const folder = parameter('path', 'data/in', {
  type: 'string',
  format: 'path',
  default: 'data/in'
});
const data = parameter(
  'bytes',
  '',
  { type: 'string', contentEncoding: 'base64', default: '' },
  false,
  'data'
);
const counts = parameter('list', [1, 2], {
  type: 'array',
  items: { type: 'integer' },
  default: [1, 2]
});
const optionalCounts = parameter(
  'list',
  [1],
  { type: ['array', 'null'], items: { type: 'integer' }, default: [1] },
  true
);
const pair = parameter('list', [0, 0], {
  type: 'array',
  prefixItems: [{ type: 'integer' }, { type: 'string' }],
  items: false,
  minItems: 2,
  maxItems: 2,
  default: [0, 0]
});
const weights = parameter(
  'dict',
  {},
  {
    type: 'object',
    additionalProperties: { type: 'number' },
    default: {}
  }
);

function file(name: string, text: string): File {
  return new File([text], name, { type: 'application/octet-stream' });
}

describe('fieldKind: the new types', () => {
  it('gives each its input', () => {
    expect(
      [statistic, percent, when, at, clock, folder, data, pair].map(fieldKind)
    ).toEqual([
      'select',
      'integer',
      'date',
      'datetime',
      'time',
      'text',
      'file',
      'json'
    ]);
  });

  it('works on a spec without schema or nullable (an older server)', () => {
    const old: IParameter = { name: 'n', type: 'int', default: 1, help: '' };
    expect(fieldKind(old)).toBe('integer');
    expect(readField(old, typed('5'))).toEqual({ ok: true, value: 5 });
    expect(describeType(old)).toBe('int');
  });
});

describe('a select for choices (Literal)', () => {
  it('offers the default first, then each allowed value', () => {
    expect(choices(statistic).map(c => [c.key, c.label])).toEqual([
      ['', 'default (mean)'],
      ['"mean"', 'mean'],
      ['"median"', 'median']
    ]);
    expect(initialInput(statistic).text).toBe('');
  });

  it('offers null when the parameter takes it', () => {
    expect(choices(optionalLevel).map(c => c.label)).toEqual([
      'default (null)',
      '1',
      '2',
      '3',
      'null'
    ]);
  });

  it('sends the chosen value as its own JSON type, or nothing for the default', () => {
    expect(readField(statistic, typed('"median"'))).toEqual({
      ok: true,
      value: 'median'
    });
    expect(readField(optionalLevel, typed('2'))).toEqual({
      ok: true,
      value: 2
    });
    expect(readField(optionalLevel, typed('null'))).toEqual({
      ok: true,
      value: null
    });
    expect(readField(statistic, typed(''))).toEqual({
      ok: true,
      value: undefined
    });
  });

  it('refuses a value that is no choice', () => {
    expect(readField(statistic, typed('"mode"'))).toEqual({
      ok: false,
      problem: 'Choose one of: mean, median.'
    });
  });
});

describe('bounds on numbers', () => {
  it('accepts the bounds themselves and refuses past them', () => {
    expect(readField(percent, typed('0'))).toEqual({ ok: true, value: 0 });
    expect(readField(percent, typed('100'))).toEqual({ ok: true, value: 100 });
    expect(readField(percent, typed('101'))).toEqual({
      ok: false,
      problem: 'must be at most 100.'
    });
    expect(readField(percent, typed('-1'))).toEqual({
      ok: false,
      problem: 'must be at least 0.'
    });
  });

  it('refuses exclusive bounds themselves', () => {
    expect(readField(ratio, typed('0.25'))).toEqual({ ok: true, value: 0.25 });
    expect(readField(ratio, typed('0'))).toEqual({
      ok: false,
      problem: 'must be more than 0.'
    });
    expect(readField(ratio, typed('1'))).toEqual({
      ok: false,
      problem: 'must be less than 1.'
    });
  });
});

describe('multiples', () => {
  const step = parameter('float', 0.5, { type: 'number', multipleOf: 0.25 });

  it('accepts multiples, floats included, and says the step otherwise', () => {
    expect(readField(step, typed('0.75'))).toEqual({ ok: true, value: 0.75 });
    expect(readField(step, typed('0.3'))).toEqual({
      ok: false,
      problem: 'must be a multiple of 0.25.'
    });
    expect(describeType(step)).toBe('float, multiple of 0.25');
  });
});

describe('lengths of text', () => {
  it('counts characters, not UTF-16 units', () => {
    expect(readField(label, typed('😀😀😀'))).toEqual({
      ok: true,
      value: '😀😀😀'
    });
    expect(readField(label, typed('abcd'))).toEqual({
      ok: false,
      problem: 'must have at most 3 characters.'
    });
    expect(readField(label, typed(''))).toEqual({
      ok: false,
      problem: 'must have at least 1 character.'
    });
  });
});

describe('dates and times', () => {
  it('shows the default as the input can (no time zone)', () => {
    expect(initialInput(when).text).toBe('2024-01-01');
    expect(initialInput(at).text).toBe('2024-01-01T12:30:00');
    expect(initialInput(clock).text).toBe('12:30:00');
  });

  it('leaves an untouched field out: the default applies, time zone included', () => {
    expect(readField(at, initialInput(at))).toEqual({
      ok: true,
      value: undefined
    });
  });

  it('sends the ISO text the input gives', () => {
    expect(readField(when, typed('2025-02-28'))).toEqual({
      ok: true,
      value: '2025-02-28'
    });
    expect(readField(at, typed('2025-02-28T09:05'))).toEqual({
      ok: true,
      value: '2025-02-28T09:05'
    });
    expect(readField(clock, typed('09:05'))).toEqual({
      ok: true,
      value: '09:05'
    });
  });

  it('refuses what is not ISO text, and an incomplete input', () => {
    expect(readField(when, typed('28/02/2025'))).toEqual({
      ok: false,
      problem: 'Expected a date, e.g. 2024-01-31, got "28/02/2025".'
    });
    expect(readField(clock, typed('', { badInput: true }))).toEqual({
      ok: false,
      problem: 'Incomplete: enter a time, e.g. 09:30.'
    });
  });
});

describe('paths and files', () => {
  it('edits a path as text', () => {
    expect(initialInput(folder).text).toBe('data/in');
    expect(readField(folder, typed('out/x.csv'))).toEqual({
      ok: true,
      value: 'out/x.csv'
    });
  });

  it('takes a chosen file, or leaves the parameter out', () => {
    const chosen = file('scan.bin', 'abc');
    expect(readField(data, typed('', { file: chosen }))).toEqual({
      ok: true,
      value: undefined,
      file: chosen
    });
    expect(readField(data, typed('', { file: null }))).toEqual({
      ok: true,
      value: undefined
    });
  });

  it('reads a form with a file: the file apart from the values', () => {
    const chosen = file('scan.bin', 'abc');
    const n = parameter('int', 3, { type: 'integer' }, false, 'n');
    const reading = readForm([data, n, counts], {
      data: typed('', { file: chosen }),
      n: typed('4')
    });
    expect(reading).toEqual({
      values: { n: 4, p: [1, 2] },
      files: { data: chosen },
      problems: {}
    });
  });
});

describe('multipartBody', () => {
  it('is null without files: the values go as JSON', () => {
    expect(multipartBody({ values: { n: 1 }, files: {} })).toBeNull();
  });

  it('puts the file as a file part and every value as text', async () => {
    const body = multipartBody({
      values: { n: 4, name: 'x', items: [1, 2], flag: true },
      files: { data: file('scan.bin', 'abc') }
    });
    expect(body).not.toBeNull();
    const part = body!.get('data') as File;
    expect(part.name).toBe('scan.bin');
    expect(await part.text()).toBe('abc');
    expect(body!.get('n')).toBe('4');
    expect(body!.get('name')).toBe('x');
    expect(body!.get('items')).toBe('[1,2]');
    expect(body!.get('flag')).toBe('true');
  });
});

describe('JSON fields: null and element types', () => {
  it('accepts null for an Optional list whose default is not null', () => {
    expect(readField(optionalCounts, typed('null'))).toEqual({
      ok: true,
      value: null
    });
  });

  it('refuses null where the parameter does not take it', () => {
    expect(readField(counts, typed('null'))).toEqual({
      ok: false,
      problem: 'Expected a JSON list, e.g. [1, 2, 3].'
    });
  });

  it('checks list items', () => {
    expect(readField(counts, typed('[1, 2, 3]'))).toEqual({
      ok: true,
      value: [1, 2, 3]
    });
    expect(readField(counts, typed('[1, "two"]'))).toEqual({
      ok: false,
      problem: 'item [1]: expected an integer, got "two".'
    });
  });

  it("checks a tuple's items and their count", () => {
    expect(readField(pair, typed('[1, "a"]'))).toEqual({
      ok: true,
      value: [1, 'a']
    });
    expect(readField(pair, typed('["a", "a"]'))).toEqual({
      ok: false,
      problem: 'item [0]: expected an integer, got "a".'
    });
    expect(readField(pair, typed('[1, "a", 2]'))).toEqual({
      ok: false,
      problem: 'must have at most 2 items.'
    });
  });

  it("checks a dict's values", () => {
    expect(readField(weights, typed('{"a": 1, "b": 0.5}'))).toEqual({
      ok: true,
      value: { a: 1, b: 0.5 }
    });
    expect(readField(weights, typed('{"a": "heavy"}'))).toEqual({
      ok: false,
      problem: 'key["a"]: expected a number, got "heavy".'
    });
  });

  it('leaves keys it does not know to the server', () => {
    expect(
      schemaProblem('x', { type: 'string', pattern: '^a' } as IParameterSchema)
    ).toBeNull();
  });
});

describe('describeType: the parameters table', () => {
  it('shows bounds, choices, formats and elements', () => {
    expect(describeType(percent)).toBe('int, 0..100');
    expect(describeType(ratio)).toBe('float, > 0 and < 1');
    expect(describeType(statistic)).toBe('one of: mean, median');
    expect(describeType(optionalLevel)).toBe('one of: 1, 2, 3, or null');
    expect(describeType(label)).toBe('str, length 1..3');
    expect(describeType(when)).toBe('date');
    expect(describeType(at)).toBe('datetime');
    expect(describeType(folder)).toBe('path');
    expect(describeType(data)).toBe('bytes (a file)');
    expect(describeType(counts)).toBe('list[int]');
    expect(describeType(optionalCounts)).toBe('list[int] or null');
    expect(describeType(pair)).toBe('tuple[int, str]');
    expect(describeType(weights)).toBe('dict[str, float]');
    expect(
      describeType(
        parameter('int', 1, { type: 'integer', minimum: 1, default: 1 })
      )
    ).toBe('int, ≥ 1');
  });
});
