import { execFileSync } from 'child_process';

import { IParameter } from '../api/types';
import {
  buildSnippets,
  CREDENTIAL_PLACEHOLDER,
  curlWithKey,
  exampleValues,
  pythonLiteral,
  queryString,
  shellQuote,
  snippetResultOf
} from '../core/snippets';

const URL = 'http://localhost:8888/restified/dir/fib.ipynb';

function snippet(
  language: string,
  values: Parameters<typeof buildSnippets>[1],
  url = URL
): string {
  const found = buildSnippets(url, values).find(s => s.language === language);
  if (!found) {
    throw new Error(`no ${language} snippet`);
  }
  return found.code;
}

describe('exampleValues', () => {
  it("takes each parameter's default, leaving nulls out", () => {
    const parameters: IParameter[] = [
      { name: 'n', type: 'int', default: 10, help: '' },
      { name: 'x', type: 'float', default: 0.5, help: '' },
      { name: 'on', type: 'bool', default: false, help: '' },
      { name: 's', type: 'str', default: '', help: '' },
      { name: 'l', type: 'list', default: [1], help: '' },
      { name: 'd', type: 'dict', default: { a: 1 }, help: '' },
      { name: 'maybe', type: 'any', default: null, help: '' }
    ];
    expect(exampleValues(parameters)).toEqual({
      n: 10,
      x: 0.5,
      on: false,
      s: '',
      l: [1],
      d: { a: 1 }
    });
  });
});

describe('queryString', () => {
  it('sends strings as they are and other values as JSON, encoded', () => {
    expect(
      queryString({ n: 10, on: true, s: 'a b&c=d', l: [1, 'x'], none: null })
    ).toBe('?n=10&on=true&s=a%20b%26c%3Dd&l=%5B1%2C%22x%22%5D&none=null');
  });

  it('is empty without values', () => {
    expect(queryString({})).toBe('');
  });
});

describe('shellQuote', () => {
  it('quotes for a POSIX shell, single quotes included', () => {
    expect(shellQuote('plain')).toBe("'plain'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });

  it('survives a real shell unchanged', () => {
    const text = `it's "quoted" $HOME \`pwd\` \\ ; & | \n done`;
    const echoed = execFileSync('sh', ['-c', `printf %s ${shellQuote(text)}`], {
      encoding: 'utf-8'
    });
    expect(echoed).toBe(text);
  });
});

describe('pythonLiteral', () => {
  it('writes each JSON value as Python', () => {
    expect(pythonLiteral(null)).toBe('None');
    expect(pythonLiteral(true)).toBe('True');
    expect(pythonLiteral(false)).toBe('False');
    expect(pythonLiteral(1.5)).toBe('1.5');
    expect(pythonLiteral('say "hi"\n')).toBe('"say \\"hi\\"\\n"');
    expect(pythonLiteral([1, null, [true]])).toBe('[1, None, [True]]');
    expect(pythonLiteral({})).toBe('{}');
    expect(pythonLiteral({ 'k"': { on: false } })).toBe(
      '{"k\\"": {"on": False}}'
    );
  });
});

describe('buildSnippets', () => {
  it('gives curl, Python and JavaScript, in that order', () => {
    expect(buildSnippets(URL, {}).map(s => [s.language, s.label])).toEqual([
      ['curl', 'curl'],
      ['python', 'Python'],
      ['javascript', 'JavaScript']
    ]);
  });

  it('curl: a JSON POST with the credential as a bearer token', () => {
    expect(snippet('curl', { n: 10, s: 'a' })).toBe(
      [
        `curl -X POST '${URL}' \\`,
        `  -H 'Authorization: Bearer ${CREDENTIAL_PLACEHOLDER}' \\`,
        `  -H 'Content-Type: application/json' \\`,
        `  -d '{"n":10,"s":"a"}'`
      ].join('\n')
    );
  });

  it('curl: quotes in values and in the URL are escaped for the shell', () => {
    const code = snippet('curl', { s: "it's" }, "http://h/restified/o'k.ipynb");
    expect(code).toContain(`curl -X POST 'http://h/restified/o'\\''k.ipynb'`);
    expect(code).toContain(`-d '{"s":"it'\\''s"}'`);
  });

  it('Python: requests with the values as Python literals', () => {
    expect(snippet('python', { n: 10, on: true, none: null, l: ['a"b'] })).toBe(
      [
        'import requests',
        '',
        'response = requests.post(',
        `    "${URL}",`,
        '    json={"n": 10, "on": True, "none": None, "l": ["a\\"b"]},',
        `    headers={"Authorization": "Bearer ${CREDENTIAL_PLACEHOLDER}"},`,
        ')',
        'response.raise_for_status()',
        'print(response.json())'
      ].join('\n')
    );
  });

  it('JavaScript: fetch with a JSON body', () => {
    const code = snippet('javascript', { x: 0.5, s: 'it\'s "q"' });
    expect(code).toContain(`const response = await fetch("${URL}", {`);
    expect(code).toContain(
      `Authorization: "Bearer ${CREDENTIAL_PLACEHOLDER}",`
    );
    expect(code).toContain(
      `body: JSON.stringify({"x":0.5,"s":"it's \\"q\\""})`
    );
  });

  it('JavaScript: a long body is indented under the call', () => {
    const values = { text: 'x'.repeat(40), items: [1, 2, 3] };
    const code = snippet('javascript', values);
    expect(code).toContain(
      [
        '  body: JSON.stringify({',
        `    "text": "${'x'.repeat(40)}",`,
        '    "items": [',
        '      1,',
        '      2,',
        '      3',
        '    ]',
        '  })'
      ].join('\n')
    );
  });

  it('every snippet carries the body as JSON that parses back', () => {
    const values = { s: 'quote \' and " and \\', n: -1, d: { a: [null] } };
    const curl = snippet('curl', values);
    const body = /-d '(.*)'$/s.exec(curl.replace(/'\\''/g, "'"));
    expect(JSON.parse(body![1])).toEqual(values);
    const js = snippet('javascript', values);
    const jsBody = /JSON\.stringify\((.*)\)\n\}\);/s.exec(js);
    expect(JSON.parse(jsBody![1])).toEqual(values);
  });

  it('uses a given credential', () => {
    expect(buildSnippets(URL, {}, 'abc123')[0].code).toContain(
      "'Authorization: Bearer abc123'"
    );
  });
});

describe('snippets by the kind of result', () => {
  const values = { n: 3 };

  it('an image: curl saves it with -o, Python writes its bytes, fetch takes a blob', () => {
    const [curl, python, js] = buildSnippets(URL, values, '<T>', {}, 'image');
    expect(curl.code).toBe(
      [
        `curl -X POST '${URL}' \\`,
        "  -H 'Authorization: Bearer <T>' \\",
        "  -H 'Content-Type: application/json' \\",
        `  -d '{"n":3}' \\`,
        '  -o result.png'
      ].join('\n')
    );
    expect(python.code).toBe(
      [
        'import requests',
        '',
        'response = requests.post(',
        `    "${URL}",`,
        '    json={"n": 3},',
        '    headers={"Authorization": "Bearer <T>"},',
        ')',
        'response.raise_for_status()',
        'with open("result.png", "wb") as file:',
        '    file.write(response.content)'
      ].join('\n')
    );
    expect(python.code).not.toContain('response.json()');
    expect(js.code).toContain('const image = await response.blob();');
    expect(js.code).toContain(
      "document.querySelector('img').src = URL.createObjectURL(image);"
    );
    expect(js.code).not.toContain('console.log(await response.json())');
  });

  it('a table as CSV: asked for with Accept, read as text', () => {
    const [curl, python, js] = buildSnippets(URL, values, '<T>', {}, 'csv');
    expect(curl.code).toBe(
      [
        `curl -X POST '${URL}' \\`,
        "  -H 'Authorization: Bearer <T>' \\",
        "  -H 'Accept: text/csv' \\",
        "  -H 'Content-Type: application/json' \\",
        `  -d '{"n":3}'`
      ].join('\n')
    );
    expect(python.code).toContain(
      '    headers={"Authorization": "Bearer <T>", "Accept": "text/csv"},'
    );
    expect(python.code.split('\n').slice(-1)).toEqual(['print(response.text)']);
    expect(js.code).toContain("    Accept: 'text/csv',");
    expect(js.code.split('\n').slice(-1)).toEqual([
      'console.log(await response.text());'
    ]);
  });

  it('with files too', () => {
    const files = { data: 'data.bin' };
    const [curl, python, js] = buildSnippets(
      URL,
      values,
      '<T>',
      files,
      'image'
    );
    expect(curl.code.split('\n').slice(-2)).toEqual([
      "  -F 'n=3' \\",
      '  -o result.png'
    ]);
    expect(python.code).toContain('    file.write(response.content)');
    expect(js.code).toContain('await response.blob()');
    const csv = buildSnippets(URL, values, '<T>', files, 'csv');
    expect(csv[0].code).toContain("-H 'Accept: text/csv'");
    expect(csv[1].code).toContain('"Accept": "text/csv"');
    expect(csv[2].code).toContain(
      'headers: { Authorization: "Bearer <T>", Accept: \'text/csv\' },'
    );
  });

  it('JSON unless told', () => {
    expect(buildSnippets(URL, values)).toEqual(
      buildSnippets(URL, values, CREDENTIAL_PLACEHOLDER, {}, 'json')
    );
  });
});

describe('curlWithKey', () => {
  it('an image to its file, a table as CSV', () => {
    expect(curlWithKey(URL, { n: 3 }, 'k', {}, 'image')).toBe(
      `curl -H 'Authorization: Bearer k' '${URL}?n=3' -o result.png`
    );
    expect(curlWithKey(URL, { n: 3 }, 'k', {}, 'csv')).toBe(
      `curl -H 'Authorization: Bearer k' -H 'Accept: text/csv' '${URL}?n=3'`
    );
  });

  it('a GET with the key and the values in the query', () => {
    expect(curlWithKey(URL, { n: 3, s: "o'k" }, 'sec"ret')).toBe(
      `curl -H 'Authorization: Bearer sec"ret' '${URL}?n=3&s=o'\\''k'`
    );
  });

  it('a multipart POST with the key when a bytes parameter takes a file', () => {
    const curl = curlWithKey(URL, { n: 3 }, 'nrk_x', { data: 'data.bin' });
    // One line: the panel shows it in a one-line field.
    expect(curl).toBe(
      `curl -X POST '${URL}' -H 'Authorization: Bearer nrk_x' -F 'data=@data.bin' -F 'n=3'`
    );
  });
});

describe('snippetResultOf', () => {
  const shown = (data: Record<string, unknown>) => ({
    output_type: 'execute_result',
    execution_count: 1,
    metadata: {},
    data
  });

  it('reads the kind from the value the return cell showed', () => {
    expect(
      snippetResultOf([shown({ 'image/png': 'iVBOR', 'text/plain': 'x' })])
    ).toBe('image');
    expect(
      snippetResultOf([
        shown({
          'text/html': ['<table border="1" ', 'class="dataframe">'],
          'text/plain': 'df'
        })
      ])
    ).toBe('csv');
    expect(snippetResultOf([shown({ 'text/plain': '3' })])).toBe('json');
    expect(
      snippetResultOf([shown({ 'text/html': '<b>not a frame</b>' })])
    ).toBe('json');
  });

  it('skips streams and displays; JSON when no value was saved', () => {
    const stream = { output_type: 'stream', name: 'stdout', text: 'hi' };
    const display = {
      output_type: 'display_data',
      metadata: {},
      data: { 'image/png': 'iVBOR' }
    };
    expect(
      snippetResultOf([stream, display, shown({ 'image/png': 'iVBOR' })])
    ).toBe('image');
    expect(snippetResultOf([stream, display])).toBe('json');
    expect(snippetResultOf([])).toBe('json');
    expect(snippetResultOf(undefined)).toBe('json');
    expect(snippetResultOf('not outputs')).toBe('json');
  });
});
