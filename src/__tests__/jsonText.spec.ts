import { compactJSON, indentJSON, parseJSONSource } from '../core/jsonText';

describe('indentJSON', () => {
  it('keeps every literal as written', () => {
    expect(indentJSON('30.0')).toBe('30.0');
    expect(indentJSON('{"a": [1.0, 2e+20], "b": -0.50}')).toBe(
      '{\n  "a": [\n    1.0,\n    2e+20\n  ],\n  "b": -0.50\n}'
    );
  });

  it('indents as JSON.stringify does', () => {
    const texts = [
      '55',
      '"hellohello"',
      'null',
      '[]',
      '{}',
      '{"a": {}, "b": [], "c": [[1], {"d": null}]}',
      '[{"region": "south", "units": 435, "s": "a, b: [c] {d} \\" e"}]',
      ' { "x" : true ,"y":false } '
    ];
    for (const text of texts) {
      expect(indentJSON(text)).toBe(JSON.stringify(JSON.parse(text), null, 2));
    }
  });
});

describe('compactJSON', () => {
  it('drops the whitespace between tokens only', () => {
    expect(compactJSON('[1.0, 2, "a b"]')).toBe('[1.0,2,"a b"]');
    expect(compactJSON('{"k": {"s": " : , "}}')).toBe('{"k":{"s":" : , "}}');
  });
});

describe('parseJSONSource', () => {
  it('gives the text of each value', () => {
    const source = parseJSONSource(
      '{"parameters": [{"name": "r", "default": 2.0}, {"default": [1.0, {"a": 3.50}]}], "x": "}"}'
    );
    expect(source.kind).toBe('object');
    if (source.kind !== 'object') {
      return;
    }
    const parameters = source.members.get('parameters');
    expect(parameters?.kind).toBe('array');
    if (parameters?.kind !== 'array') {
      return;
    }
    const defaults = parameters.items.map(item =>
      item.kind === 'object' ? item.members.get('default')?.text : undefined
    );
    expect(defaults).toEqual(['2.0', '[1.0, {"a": 3.50}]']);
    expect(source.members.get('x')?.text).toBe('"}"');
  });

  it('refuses text that is not JSON', () => {
    for (const text of ['', '[1,', '{"a" 1}', '[1 2]', 'nope', '1 2']) {
      expect(() => parseJSONSource(text)).toThrow(SyntaxError);
    }
  });
});
