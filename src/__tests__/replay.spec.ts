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
