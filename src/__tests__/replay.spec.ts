import { execFileSync } from 'child_process';

import { IParameter } from '../api/types';
import {
  isPythonName,
  parametersSource,
  pythonLiteral,
  pythonString
} from '../core/replay';

describe('pythonString', () => {
  it('escapes quotes, backslashes and line ends', () => {
    expect(pythonString('a "b" \\ c\nd\re\tf')).toBe(
      '"a \\"b\\" \\\\ c\\nd\\re\\tf"'
    );
  });

  it('writes only printable ASCII: other characters as escapes', () => {
    expect(pythonString('\u0000\u007f\u00e9\u2028\u{1f600}')).toBe(
      '"\\x00\\x7f\\xe9\\u2028\\U0001f600"'
    );
    // A lone surrogate stays one (Python accepts "\ud800").
    expect(pythonString('\ud800x')).toBe('"\\ud800x"');
  });

  it('cannot be closed early: triple quotes stay inside', () => {
    expect(pythonString('"""; import os')).toBe('"\\"\\"\\"; import os"');
  });
});

describe('pythonLiteral', () => {
  it('writes JSON values as Python literals', () => {
    expect(pythonLiteral(null)).toBe('None');
    expect(pythonLiteral(true)).toBe('True');
    expect(pythonLiteral(false)).toBe('False');
    expect(pythonLiteral(42)).toBe('42');
    expect(pythonLiteral(-0.5)).toBe('-0.5');
    expect(pythonLiteral(1e21)).toBe('1e+21');
    expect(pythonLiteral([1, 'a', null])).toBe('[1, "a", None]');
    expect(pythonLiteral({ 'k"': [true], n: { x: 1.5 } })).toBe(
      '{"k\\"": [True], "n": {"x": 1.5}}'
    );
  });

  it('writes a whole number as a float where the type is float', () => {
    expect(pythonLiteral(2, 'float')).toBe('2.0');
    expect(pythonLiteral(-0, 'float')).toBe('-0.0');
    expect(pythonLiteral(2.5, 'float')).toBe('2.5');
    expect(pythonLiteral(2, 'int')).toBe('2');
  });

  it('refuses what JSON cannot hold, and values nested too deep', () => {
    expect(() => pythonLiteral(NaN)).toThrow('not a JSON number');
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) {
      deep = [deep];
    }
    expect(() => pythonLiteral(deep as never)).toThrow('levels deep');
  });
});

describe('parametersSource', () => {
  it('assigns each parameter, in order, under a comment naming the run', () => {
    expect(
      parametersSource(
        { n: 3, rate: 1, name: 'x\ny' },
        { rate: 'float' },
        'abc'
      )
    ).toBe(
      '# Parameters of run abc (notebook_restified replay)\n' +
        'n = 3\nrate = 1.0\nname = "x\\ny"\n'
    );
  });

  it('refuses a name that is not a Python identifier', () => {
    expect(() => parametersSource({ 'a; import os': 1 })).toThrow(
      'not a Python name'
    );
    expect(() => parametersSource({ class: 1 })).toThrow('not a Python name');
    expect(isPythonName('_x1')).toBe(true);
    expect(isPythonName('1x')).toBe(false);
    expect(isPythonName('é')).toBe(false);
  });
});

describe('parametersSource: the declared types as the kernel got them', () => {
  const declared: Record<string, IParameter> = {
    when: { name: 'when', type: 'date', default: null, help: '' },
    at: {
      name: 'at',
      type: 'datetime',
      default: null,
      help: '',
      schema: { type: 'string', format: 'date-time' }
    },
    clock: { name: 'clock', type: 'time', default: null, help: '' },
    folder: { name: 'folder', type: 'path', default: null, help: '' },
    data: { name: 'data', type: 'bytes', default: null, help: '' },
    size: {
      name: 'size',
      type: 'list',
      default: null,
      help: '',
      schema: {
        type: 'array',
        prefixItems: [{ type: 'integer' }, { type: 'integer' }],
        items: false
      }
    },
    values: {
      name: 'values',
      type: 'list',
      default: null,
      help: '',
      schema: { type: 'array', items: { type: 'number' } }
    },
    days: {
      name: 'days',
      type: 'list',
      default: null,
      help: '',
      schema: { type: 'array', items: { type: 'string', format: 'date' } }
    },
    weights: {
      name: 'weights',
      type: 'dict',
      default: null,
      help: '',
      schema: { type: 'object', additionalProperties: { type: 'number' } }
    },
    keep: {
      name: 'keep',
      type: 'list',
      default: null,
      help: '',
      nullable: true,
      schema: { type: ['array', 'null'], items: { type: 'integer' } }
    }
  };

  it('makes dates, paths, bytes, tuples and floats, and runs in Python', () => {
    const source = parametersSource(
      {
        when: '2024-01-10',
        at: '2024-01-31T08:00:00',
        clock: '07:45:00',
        folder: 'out/report.csv',
        data: 'AAH/',
        size: [640, 480],
        values: [3, 1.5],
        days: ['2024-02-01'],
        weights: { a: 1 },
        keep: null
      },
      declared,
      'r1'
    );
    expect(source).toContain(
      'when = __import__("datetime").date.fromisoformat("2024-01-10")'
    );
    expect(source).toContain('size = (640, 480)');
    expect(source).toContain('values = [3.0, 1.5]');
    const check = [
      source,
      'import datetime, pathlib',
      'assert when == datetime.date(2024, 1, 10)',
      'assert at == datetime.datetime(2024, 1, 31, 8, 0)',
      'assert clock == datetime.time(7, 45)',
      'assert folder == pathlib.Path("out/report.csv")',
      'assert data == b"\\x00\\x01\\xff"',
      'assert size == (640, 480)',
      'assert values == [3.0, 1.5] and isinstance(values[0], float)',
      'assert days == [datetime.date(2024, 2, 1)]',
      'assert weights == {"a": 1.0} and isinstance(weights["a"], float)',
      'assert keep is None',
      'print("ok")'
    ].join('\n');
    expect(
      execFileSync('python3', ['-c', check], { encoding: 'utf-8' }).trim()
    ).toBe('ok');
  });

  it('binds no module name the notebook may use', () => {
    const source = parametersSource({ when: '2024-01-10' }, declared);
    expect(source).not.toMatch(/^import /m);
  });
});
