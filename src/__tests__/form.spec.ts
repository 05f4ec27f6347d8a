import { IParameter, JSONValue, ParameterType } from '../api/types';
import {
  fieldKind,
  formatDefault,
  IFieldInput,
  initialInput,
  readField,
  readForm
} from '../core/form';

function parameter(
  type: ParameterType,
  defaultValue: JSONValue = null,
  name = 'p'
): IParameter {
  return { name, type, default: defaultValue, help: '' };
}

function typed(text: string, extra: Partial<IFieldInput> = {}): IFieldInput {
  return { text, checked: false, touched: true, ...extra };
}

describe('fieldKind', () => {
  it('gives each declared type its input', () => {
    const kinds = (
      ['int', 'float', 'bool', 'str', 'list', 'dict', 'any'] as ParameterType[]
    ).map(type => fieldKind(parameter(type)));
    expect(kinds).toEqual([
      'integer',
      'number',
      'checkbox',
      'text',
      'json',
      'json',
      'json'
    ]);
  });
});

describe('initialInput', () => {
  it('shows each default as its field edits it', () => {
    expect(initialInput(parameter('int', 10)).text).toBe('10');
    expect(initialInput(parameter('float', 0.5)).text).toBe('0.5');
    expect(initialInput(parameter('str', 'it\'s "x"')).text).toBe('it\'s "x"');
    expect(initialInput(parameter('list', [1, 'a'])).text).toBe('[1,"a"]');
    expect(initialInput(parameter('dict', { k: null })).text).toBe(
      '{"k":null}'
    );
    expect(initialInput(parameter('bool', true)).checked).toBe(true);
    expect(initialInput(parameter('bool', false)).checked).toBe(false);
  });

  it('leaves a null default empty, except for any (where null is a value)', () => {
    expect(initialInput(parameter('int', null)).text).toBe('');
    expect(initialInput(parameter('str', null)).text).toBe('');
    expect(initialInput(parameter('list', null)).text).toBe('');
    expect(initialInput(parameter('any', null)).text).toBe('null');
  });

  it('is untouched', () => {
    expect(initialInput(parameter('int', 1)).touched).toBe(false);
  });
});

describe('readField: int', () => {
  const p = parameter('int', 1);

  it('reads integers, signed', () => {
    expect(readField(p, typed('42'))).toEqual({ ok: true, value: 42 });
    expect(readField(p, typed(' -7 '))).toEqual({ ok: true, value: -7 });
    expect(readField(p, typed('+3'))).toEqual({ ok: true, value: 3 });
  });

  it('leaves an empty field out: the default applies', () => {
    expect(readField(p, typed('  '))).toEqual({ ok: true, value: undefined });
  });

  it('refuses decimals, exponents and words', () => {
    for (const text of ['1.5', '1e3', 'ten', '0x10']) {
      expect(readField(p, typed(text))).toEqual({
        ok: false,
        problem: `Expected an integer (no decimals), got "${text}".`
      });
    }
  });

  it('refuses an integer too large for JSON numbers', () => {
    expect(readField(p, typed('9007199254740993'))).toEqual({
      ok: false,
      problem: 'This integer is too large to send.'
    });
    expect(readField(p, typed('9007199254740991'))).toEqual({
      ok: true,
      value: 9007199254740991
    });
  });

  it('says so when the browser could not read the number', () => {
    expect(readField(p, typed('', { badInput: true }))).toEqual({
      ok: false,
      problem: 'Not a number: enter an integer, e.g. 42.'
    });
  });
});

describe('readField: float', () => {
  const p = parameter('float', 0.5);

  it('reads decimals and exponents', () => {
    expect(readField(p, typed('3.14'))).toEqual({ ok: true, value: 3.14 });
    expect(readField(p, typed('-1e-3'))).toEqual({ ok: true, value: -0.001 });
    expect(readField(p, typed('7'))).toEqual({ ok: true, value: 7 });
  });

  it('leaves an empty field out', () => {
    expect(readField(p, typed(''))).toEqual({ ok: true, value: undefined });
  });

  it('refuses what is not a finite number', () => {
    for (const text of ['abc', 'Infinity', '1,5']) {
      expect(readField(p, typed(text))).toEqual({
        ok: false,
        problem: `Expected a number, got "${text}".`
      });
    }
    expect(readField(p, typed('', { badInput: true }))).toEqual({
      ok: false,
      problem: 'Not a number: enter e.g. 3.14.'
    });
  });
});

describe('readField: bool', () => {
  it('sends the checkbox when the default is a boolean', () => {
    const p = parameter('bool', true);
    expect(readField(p, { text: '', checked: false, touched: false })).toEqual({
      ok: true,
      value: false
    });
    expect(readField(p, { text: '', checked: true, touched: true })).toEqual({
      ok: true,
      value: true
    });
  });

  it('without a boolean default, sends only what the user chose', () => {
    const p = parameter('bool', null);
    expect(readField(p, { text: '', checked: false, touched: false })).toEqual({
      ok: true,
      value: undefined
    });
    expect(readField(p, { text: '', checked: false, touched: true })).toEqual({
      ok: true,
      value: false
    });
  });
});

describe('readField: str', () => {
  it('sends the text as typed, spaces and quotes included', () => {
    expect(readField(parameter('str', 'a'), typed(' "x" \'y\' '))).toEqual({
      ok: true,
      value: ' "x" \'y\' '
    });
  });

  it('sends an empty string when the default is a string', () => {
    expect(readField(parameter('str', 'a'), typed(''))).toEqual({
      ok: true,
      value: ''
    });
  });

  it('leaves an empty field out when the default is null', () => {
    expect(readField(parameter('str', null), typed(''))).toEqual({
      ok: true,
      value: undefined
    });
  });
});

describe('readField: list, dict, any (JSON)', () => {
  it('reads JSON of the declared shape', () => {
    expect(readField(parameter('list', []), typed('[1, "a"]'))).toEqual({
      ok: true,
      value: [1, 'a']
    });
    expect(readField(parameter('dict', {}), typed('{"k": [true]}'))).toEqual({
      ok: true,
      value: { k: [true] }
    });
    expect(readField(parameter('any', 1), typed('"text"'))).toEqual({
      ok: true,
      value: 'text'
    });
  });

  it('refuses JSON that does not parse, with a hint for any', () => {
    expect(readField(parameter('list', []), typed('[1,'))).toEqual({
      ok: false,
      problem: 'Not valid JSON.'
    });
    expect(readField(parameter('any', 1), typed('text'))).toEqual({
      ok: false,
      problem: 'Not valid JSON (put text in "double quotes").'
    });
  });

  it('refuses the wrong shape', () => {
    expect(readField(parameter('list', []), typed('{"a": 1}'))).toEqual({
      ok: false,
      problem: 'Expected a JSON list, e.g. [1, 2, 3].'
    });
    for (const text of ['[1]', '3', 'null']) {
      expect(readField(parameter('dict', {}), typed(text))).toEqual({
        ok: false,
        problem: 'Expected a JSON object, e.g. {"key": "value"}.'
      });
    }
  });

  it('accepts null where the default is null', () => {
    expect(readField(parameter('list', null), typed('null'))).toEqual({
      ok: true,
      value: null
    });
    expect(readField(parameter('dict', null), typed('null'))).toEqual({
      ok: true,
      value: null
    });
  });

  it('leaves an empty field out', () => {
    expect(readField(parameter('dict', {}), typed(' \n'))).toEqual({
      ok: true,
      value: undefined
    });
  });
});

describe('readForm', () => {
  const parameters = [
    parameter('int', 10, 'n'),
    parameter('str', null, 'label'),
    parameter('list', [1], 'items'),
    parameter('bool', false, 'verbose')
  ];

  it('sends the defaults of untouched fields, or leaves them out', () => {
    expect(readForm(parameters, {})).toEqual({
      values: { n: 10, items: [1], verbose: false },
      files: {},
      problems: {}
    });
  });

  it('collects values and problems by name', () => {
    const result = readForm(parameters, {
      n: typed('1.5'),
      label: typed('x'),
      items: typed('{}'),
      verbose: typed('', { checked: true })
    });
    expect(result.values).toEqual({ label: 'x', verbose: true });
    expect(result.problems).toEqual({
      n: 'Expected an integer (no decimals), got "1.5".',
      items: 'Expected a JSON list, e.g. [1, 2, 3].'
    });
  });
});

describe('formatDefault', () => {
  it('shows a default as compact JSON', () => {
    expect(formatDefault(parameter('any', null))).toBe('null');
    expect(formatDefault(parameter('str', 'a"b'))).toBe('"a\\"b"');
    expect(formatDefault(parameter('dict', { a: [1, 2] }))).toBe('{"a":[1,2]}');
  });

  it('shows a default as the server wrote it: a float stays a float', () => {
    const ratio = { ...parameter('float', 2), defaultText: '2.0' };
    expect(formatDefault(ratio)).toBe('2.0');
    const items = { ...parameter('list', [1, 2]), defaultText: '[1.0,2]' };
    expect(formatDefault(items)).toBe('[1.0,2]');
  });
});

describe('initialInput: defaults as the server wrote them', () => {
  it('fills a float field with 2.0, not 2', () => {
    const ratio = { ...parameter('float', 2), defaultText: '2.0' };
    expect(initialInput(ratio).text).toBe('2.0');
    expect(readField(ratio, initialInput(ratio))).toEqual({
      ok: true,
      value: 2
    });
    const items = { ...parameter('list', [1.5, 2]), defaultText: '[1.5,2.0]' };
    expect(initialInput(items).text).toBe('[1.5,2.0]');
  });
});
