/**
 * The snippets for the declared types of issue #15, run for real: curl,
 * Python requests and Node's fetch call a local HTTP server, which reads the
 * request as the endpoint would (a JSON body, or multipart/form-data with a
 * file part) and answers JSON, a PNG or CSV, which each snippet takes as its
 * kind of result says.
 */
import { execFile } from 'child_process';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'fs';
import { createServer, IncomingMessage, Server } from 'http';
import { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';

import { IParameter, JSONValue } from '../api/types';
import {
  buildSnippets,
  exampleFiles,
  exampleValues,
  SnippetLanguage,
  SnippetResult
} from '../core/snippets';

const parameters: IParameter[] = [
  {
    name: 'statistic',
    type: 'str',
    default: null,
    help: '',
    nullable: true,
    schema: { type: ['string', 'null'], enum: ['median', 'mean', null] }
  },
  {
    name: 'percent',
    type: 'int',
    default: null,
    help: '',
    nullable: true,
    schema: { type: ['integer', 'null'], minimum: 5, maximum: 100 }
  },
  {
    name: 'ratio',
    type: 'float',
    default: null,
    help: '',
    nullable: true,
    schema: { type: ['number', 'null'], exclusiveMinimum: 1 }
  },
  {
    name: 'when',
    type: 'date',
    default: '2024-01-31',
    help: '',
    nullable: false,
    schema: { type: 'string', format: 'date' }
  },
  {
    name: 'at',
    type: 'datetime',
    default: '2024-01-31T09:30:00',
    help: '',
    nullable: false,
    schema: { type: 'string', format: 'date-time' }
  },
  {
    name: 'clock',
    type: 'time',
    default: '09:30:00',
    help: '',
    nullable: false,
    schema: { type: 'string', format: 'time' }
  },
  {
    name: 'folder',
    type: 'path',
    default: 'data/in',
    help: '',
    nullable: false,
    schema: { type: 'string', format: 'path' }
  },
  {
    name: 'counts',
    type: 'list',
    default: [1, 2],
    help: '',
    nullable: false,
    schema: { type: 'array', items: { type: 'integer' } }
  },
  {
    name: 'weights',
    type: 'dict',
    default: { north: 1.5, south: -2 },
    help: '',
    nullable: false,
    schema: { type: 'object', additionalProperties: { type: 'number' } }
  },
  {
    name: 'pair',
    type: 'list',
    default: [3, 'x'],
    help: '',
    nullable: false,
    schema: {
      type: 'array',
      prefixItems: [{ type: 'integer' }, { type: 'string' }],
      items: false,
      minItems: 2,
      maxItems: 2
    }
  }
];

const data: IParameter = {
  name: 'data',
  type: 'bytes',
  default: '',
  help: '',
  nullable: false,
  schema: { type: 'string', contentEncoding: 'base64' }
};

describe('example values for each type', () => {
  it('takes defaults, else the first choice or the lower bound; no files', () => {
    expect(exampleValues([...parameters, data])).toEqual({
      statistic: 'median',
      percent: 5,
      ratio: 1.5,
      when: '2024-01-31',
      at: '2024-01-31T09:30:00',
      clock: '09:30:00',
      folder: 'data/in',
      counts: [1, 2],
      weights: { north: 1.5, south: -2 },
      pair: [3, 'x']
    });
  });

  it('names a file for each bytes parameter', () => {
    expect(exampleFiles([...parameters, data])).toEqual({ data: 'data.bin' });
    expect(exampleFiles(parameters)).toEqual({});
  });
});

describe('multipart snippets', () => {
  const url = 'http://localhost:1/restified/scan.ipynb';

  it('curl: the file with -F name=@file, each value as a text field', () => {
    const [curl] = buildSnippets(url, { n: 3 }, '<TOKEN>', {
      data: 'data.bin'
    });
    expect(curl.code).toBe(
      [
        `curl -X POST '${url}' \\`,
        "  -H 'Authorization: Bearer <TOKEN>' \\",
        "  -F 'data=@data.bin' \\",
        "  -F 'n=3'"
      ].join('\n')
    );
  });

  it('Python: files= and data=', () => {
    const python = buildSnippets(url, { n: 3 }, '<TOKEN>', {
      data: 'data.bin'
    })[1].code;
    expect(python).toContain('files={"data": open("data.bin", "rb")},');
    expect(python).toContain('data={"n": "3"},');
    expect(python).not.toContain('json=');
  });

  it("JavaScript: FormData with an <input type=file>'s file", () => {
    const js = buildSnippets(url, { n: 3 }, '<TOKEN>', {
      data: 'data.bin'
    })[2].code;
    expect(js).toContain(
      'form.append("data", document.querySelector("input[type=file][name=data]").files[0]);'
    );
    expect(js).toContain('form.append("n", "3");');
    expect(js).toContain('body: form');
    expect(js).not.toContain('Content-Type');
  });
});

interface IReceived {
  method: string;
  authorization: string | undefined;
  accept: string | undefined;
  json?: JSONValue;
  fields?: Record<string, string>;
  files?: Record<string, { name: string; hex: string }>;
}

/**
 * An answer of the local server: its type and body, by the request's
 * `Accept`.
 */
type Answer = (accept: string) => {
  status: number;
  type: string;
  body: Buffer;
};

const JSON_ANSWER: Answer = () => ({
  status: 200,
  type: 'application/json',
  body: Buffer.from('{"ok": true}')
});

/**
 * A local server that records each request's body as the endpoint reads it.
 */
async function recordingServer(answer: Answer = JSON_ANSWER): Promise<{
  url: string;
  received: IReceived[];
  server: Server;
}> {
  const received: IReceived[] = [];
  const server = createServer((message: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    message.on('data', chunk => chunks.push(chunk as Buffer));
    message.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const type = message.headers['content-type'] ?? '';
        const record: IReceived = {
          method: message.method ?? '',
          authorization: message.headers.authorization,
          accept: message.headers.accept
        };
        if (type.startsWith('application/json')) {
          record.json = JSON.parse(body.toString('utf-8')) as JSONValue;
        } else if (type.startsWith('multipart/form-data')) {
          const form = await new Request('http://x/', {
            method: 'POST',
            headers: { 'Content-Type': type },
            body
          }).formData();
          record.fields = {};
          record.files = {};
          for (const [name, value] of form.entries()) {
            if (typeof value === 'string') {
              record.fields[name] = value;
            } else {
              record.files[name] = {
                name: value.name,
                hex: Buffer.from(await value.arrayBuffer()).toString('hex')
              };
            }
          }
        }
        received.push(record);
        const {
          status,
          type: answered,
          body: sent
        } = answer(message.headers.accept ?? '');
        response.statusCode = status;
        response.setHeader('Content-Type', answered);
        response.end(sent);
      })();
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/restified/x.ipynb`,
    received,
    server
  };
}

function run(
  command: string,
  args: string[],
  cwd: string
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile(
      command,
      args,
      { cwd, timeout: 60_000 },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`${error.message}\n${stderr}`))
          : resolve({ stdout, stderr })
    )
  );
}

/**
 * Node stands in for the browser: its fetch, FormData, Blob and object URLs
 * are the browser's own API; the page's file input and `<img>` are what it
 * lacks.
 */
const BROWSER_PRELUDE = `
import { readFileSync } from 'fs';
import { resolveObjectURL } from 'buffer';
const imageElement = {};
globalThis.document = {
  querySelector: selector => {
    if (selector === 'img') {
      return imageElement;
    }
    const name = /name=([^\\]]+)/.exec(selector)[1];
    return { files: [new File([readFileSync(name + '.bin')], name + '.bin')] };
  }
};
`;

/**
 * After the snippet: the bytes of the image it showed, in hex on stdout.
 */
const SHOWN_IMAGE = `
const shown = resolveObjectURL(imageElement.src);
process.stdout.write(Buffer.from(await shown.arrayBuffer()).toString('hex'));
`;

/**
 * Runs a snippet as its language does; what it printed.
 */
async function runSnippet(
  language: SnippetLanguage,
  code: string,
  cwd: string,
  result: SnippetResult = 'json'
): Promise<string> {
  if (language === 'curl') {
    return (await run('sh', ['-c', code.replace('curl ', 'curl -sf ')], cwd))
      .stdout;
  } else if (language === 'python') {
    return (await run('python3', ['-c', code], cwd)).stdout;
  }
  const after = result === 'image' ? SHOWN_IMAGE : '';
  return (
    await run(
      process.execPath,
      ['--input-type=module', '-e', BROWSER_PRELUDE + code + after],
      cwd
    )
  ).stdout;
}

/**
 * A PNG's first bytes (the signature and a header chunk's start): binary, with
 * a zero byte and a byte over 0x7f that no text decoding keeps.
 */
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200ff', 'hex');

const CSV = 'n,total\r\n1,"2,5"\r\n';

describe('the snippets call for real', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'snippets-'));
    writeFileSync(join(dir, 'data.bin'), Buffer.from([0, 1, 2, 255]));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const values = exampleValues(parameters);

  for (const language of ['curl', 'python', 'javascript'] as const) {
    it(`${language}: a JSON body with each type's example`, async () => {
      const { url, received, server } = await recordingServer();
      try {
        const snippet = buildSnippets(url, values).find(
          s => s.language === language
        )!;
        await runSnippet(language, snippet.code, dir);
        expect(received).toEqual([
          {
            method: 'POST',
            authorization: 'Bearer <TOKEN>',
            accept: '*/*',
            json: values
          }
        ]);
      } finally {
        server.close();
      }
    }, 60_000);

    it(`${language}: multipart/form-data with a file`, async () => {
      const { url, received, server } = await recordingServer();
      try {
        const snippet = buildSnippets(
          url,
          {
            n: 3,
            counts: [1, 2],
            label: '@not-a-file;x',
            when: '2024-01-31',
            weights: { north: 1.5 },
            pair: [3, 'x']
          },
          '<TOKEN>',
          { data: 'data.bin' }
        ).find(s => s.language === language)!;
        await runSnippet(language, snippet.code, dir);
        expect(received).toHaveLength(1);
        expect(received[0].authorization).toBe('Bearer <TOKEN>');
        expect(received[0].fields).toEqual({
          n: '3',
          counts: '[1,2]',
          label: '@not-a-file;x',
          when: '2024-01-31',
          weights: '{"north":1.5}',
          pair: '[3,"x"]'
        });
        expect(received[0].files).toEqual({
          data: { name: 'data.bin', hex: '000102ff' }
        });
      } finally {
        server.close();
      }
    }, 60_000);

    it(`${language}: an image's PNG is kept whole`, async () => {
      const { url, received, server } = await recordingServer(() => ({
        status: 200,
        type: 'image/png',
        body: PNG
      }));
      const saved = join(dir, 'result.png');
      rmSync(saved, { force: true });
      try {
        const snippet = buildSnippets(url, values, '<TOKEN>', {}, 'image').find(
          s => s.language === language
        )!;
        const printed = await runSnippet(language, snippet.code, dir, 'image');
        expect(received).toHaveLength(1);
        expect(received[0].json).toEqual(values);
        if (language === 'javascript') {
          expect(printed).toBe(PNG.toString('hex')); // the <img>'s blob
        } else {
          expect(existsSync(saved)).toBe(true);
          expect(readFileSync(saved).toString('hex')).toBe(PNG.toString('hex'));
          expect(printed).toBe('');
        }
      } finally {
        server.close();
      }
    }, 60_000);

    it(`${language}: a table asked for as CSV, printed as text`, async () => {
      // As the endpoint: CSV only to a caller that asks for it.
      const { url, received, server } = await recordingServer(accept =>
        accept === 'text/csv'
          ? {
              status: 200,
              type: 'text/csv; charset=utf-8',
              body: Buffer.from(CSV)
            }
          : { status: 200, type: 'application/json', body: Buffer.from('[]') }
      );
      try {
        const snippet = buildSnippets(url, values, '<TOKEN>', {}, 'csv').find(
          s => s.language === language
        )!;
        const printed = await runSnippet(language, snippet.code, dir, 'csv');
        expect(received).toHaveLength(1);
        expect(received[0].accept).toBe('text/csv');
        expect(received[0].json).toEqual(values);
        expect(printed.replace(/\r/g, '').trimEnd()).toBe('n,total\n1,"2,5"');
      } finally {
        server.close();
      }
    }, 60_000);
  }
});
