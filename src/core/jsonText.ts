/**
 * JSON shown as the server wrote it. `JSON.parse` keeps no trace of how a
 * number was written: the server's `2.0` (a Python float) comes back from
 * `JSON.stringify` as `2`. These functions work on the text instead, so every
 * literal is shown exactly as sent.
 */

/**
 * A JSON value's source text, with the source of its parts.
 */
export type JSONSource =
  | { kind: 'scalar'; text: string }
  | { kind: 'array'; text: string; items: JSONSource[] }
  | { kind: 'object'; text: string; members: Map<string, JSONSource> };

/**
 * Read JSON text into the source text of each value (the text must be valid
 * JSON: parse it with `JSON.parse` first for its values and errors).
 *
 * @throws SyntaxError on text that is not JSON.
 */
export function parseJSONSource(text: string): JSONSource {
  const reader = new Reader(text);
  const value = reader.value();
  reader.space();
  if (reader.position !== text.length) {
    reader.fail();
  }
  return value;
}

/**
 * The JSON text without the whitespace between tokens: `[1.0, 2]` is
 * `[1.0,2]` (what `JSON.stringify` makes of the value, literals kept).
 */
export function compactJSON(text: string): string {
  return tokens(text).join('');
}

/**
 * The JSON text indented as `JSON.stringify(value, null, indent)` would,
 * every literal kept as written (`30.0` stays `30.0`).
 */
export function indentJSON(text: string, indent = 2): string {
  const parts = tokens(text);
  const pad = (depth: number) => '\n' + ' '.repeat(indent * depth);
  let out = '';
  let depth = 0;
  for (let i = 0; i < parts.length; i++) {
    const token = parts[i];
    if (token === '{' || token === '[') {
      const close = token === '{' ? '}' : ']';
      if (parts[i + 1] === close) {
        out += token + close;
        i++;
        continue;
      }
      depth++;
      out += token + pad(depth);
    } else if (token === '}' || token === ']') {
      depth--;
      out += pad(depth) + token;
    } else if (token === ',') {
      out += ',' + pad(depth);
    } else if (token === ':') {
      out += ': ';
    } else {
      out += token;
    }
  }
  return out;
}

/**
 * The tokens of JSON text: punctuation, strings and literals as written.
 */
function tokens(text: string): string[] {
  const found: string[] = [];
  const pattern = /\s+|"(?:[^"\\]|\\.)*"|[{}[\]:,]|[^\s{}[\]:,"]+/gy;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null) {
    if (!/^\s/.test(match[0])) {
      found.push(match[0]);
    }
  }
  return found;
}

/**
 * A recursive-descent reader that records where each value starts and ends.
 */
class Reader {
  constructor(private readonly _text: string) {}

  position = 0;

  value(): JSONSource {
    this.space();
    const start = this.position;
    const char = this._text[start];
    if (char === '{') {
      const members = new Map<string, JSONSource>();
      this.position++;
      this.space();
      if (this._text[this.position] === '}') {
        this.position++;
      } else {
        for (;;) {
          this.space();
          const key = JSON.parse(this.string()) as string;
          this.expect(':');
          members.set(key, this.value());
          if (this.separator('}')) {
            break;
          }
        }
      }
      return { kind: 'object', text: this.since(start), members };
    }
    if (char === '[') {
      const items: JSONSource[] = [];
      this.position++;
      this.space();
      if (this._text[this.position] === ']') {
        this.position++;
      } else {
        for (;;) {
          items.push(this.value());
          if (this.separator(']')) {
            break;
          }
        }
      }
      return { kind: 'array', text: this.since(start), items };
    }
    if (char === '"') {
      this.string();
    } else {
      const literal = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
      literal.lastIndex = start;
      if (!literal.exec(this._text)) {
        this.fail();
      }
      this.position = literal.lastIndex;
    }
    return { kind: 'scalar', text: this.since(start) };
  }

  space(): void {
    while (/\s/.test(this._text[this.position] ?? '')) {
      this.position++;
    }
  }

  fail(): never {
    throw new SyntaxError(`Not JSON at position ${this.position}.`);
  }

  private string(): string {
    const pattern = /"(?:[^"\\]|\\.)*"/y;
    pattern.lastIndex = this.position;
    const match = pattern.exec(this._text);
    if (!match) {
      this.fail();
    }
    this.position = pattern.lastIndex;
    return match[0];
  }

  private expect(char: string): void {
    this.space();
    if (this._text[this.position] !== char) {
      this.fail();
    }
    this.position++;
  }

  /** After a member or item: `,` (more follow) or `close` (true: done). */
  private separator(close: string): boolean {
    this.space();
    const char = this._text[this.position];
    this.position++;
    if (char === close) {
      return true;
    }
    if (char !== ',') {
      this.position--;
      this.fail();
    }
    return false;
  }

  private since(start: number): string {
    return this._text.slice(start, this.position);
  }
}
