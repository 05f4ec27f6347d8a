/**
 * A notebook's markdown description, for the endpoint's page: a safe subset
 * read into a tree (`parseMarkdown`, pure), then built as DOM nodes
 * (`renderMarkdown`) with `createElement`, `createTextNode` and
 * `setAttribute` only: never parsed as HTML.
 *
 * The subset: ATX headings, paragraphs, *emphasis* and **strong**, `inline
 * code`, fenced code blocks, bullet and numbered lists (nested by
 * indentation), hard line breaks, and links whose address is http:, https:,
 * mailto: or relative (autolinks `<https://…>` too; an image becomes a link
 * to it). Everything else, raw HTML included, is text.
 */

export type Inline =
  | { kind: 'text'; text: string }
  | { kind: 'code'; text: string }
  | { kind: 'em' | 'strong'; children: Inline[] }
  | { kind: 'link'; href: string; children: Inline[] }
  | { kind: 'break' };

export type Block =
  | { kind: 'heading'; level: number; children: Inline[] }
  | { kind: 'paragraph'; children: Inline[] }
  | { kind: 'code'; language: string; text: string }
  | { kind: 'list'; ordered: boolean; start: number; items: Block[][] };

// ---------------------------------------------------------------------------
// Links

const SAFE_SCHEMES = ['http:', 'https:', 'mailto:'];

/**
 * Whether a text holds a C0 or C1 control character (tab and line ends
 * included).
 */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) {
      return true;
    }
  }
  return false;
}

/**
 * Whether a link's address may be followed: http:, https:, mailto: or a
 * relative address (no scheme). Control characters and spaces at either
 * end, which browsers drop from an address before reading its scheme, make
 * it unsafe.
 */
export function isSafeHref(href: string): boolean {
  if (href === '' || href.trim() !== href || hasControl(href)) {
    return false;
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(href);
  if (scheme === null) {
    // A colon before any / ? # would still be read as a scheme by some.
    return !/^[^/?#]*:/.test(href);
  }
  return SAFE_SCHEMES.includes(scheme[1].toLowerCase() + ':');
}

// ---------------------------------------------------------------------------
// Inline

const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/;

function isSpace(char: string | undefined): boolean {
  return char === undefined || /\s/.test(char);
}

function isPunctuation(char: string | undefined): boolean {
  return char !== undefined && PUNCTUATION.test(char);
}

function isWordChar(char: string | undefined): boolean {
  return char !== undefined && !isSpace(char) && !isPunctuation(char);
}

/**
 * How many times `char` repeats in `text` from `from` on.
 */
function runLength(text: string, from: number, char: string): number {
  let run = 0;
  while (text[from + run] === char) {
    run++;
  }
  return run;
}

/**
 * The end (exclusive) of the code span whose opening backticks start at
 * `start`, or -1 when no run of as many backticks closes it.
 */
function codeSpanEnd(text: string, start: number): number {
  const run = runLength(text, start, '`');
  let i = start + run;
  while (i < text.length) {
    if (text[i] === '`') {
      const close = runLength(text, i, '`');
      if (close === run) {
        return i + close;
      }
      i += close;
    } else {
      i++;
    }
  }
  return -1;
}

/**
 * The index of the `]` that closes the `[` at `start` (brackets nest;
 * escapes and code spans are skipped), or -1.
 */
function closingBracket(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const char = text[i];
    if (char === '\\') {
      i++;
    } else if (char === '`') {
      const end = codeSpanEnd(text, i);
      if (end > 0) {
        i = end - 1;
      }
    } else if (char === '[') {
      depth++;
    } else if (char === ']') {
      depth--;
      if (depth === 0) {
        return i;
      }
    }
  }
  return -1;
}

/**
 * A link's destination after `](`: `(<address> "title")`, the title
 * dropped. Its address and where the link ends, or null.
 */
function linkDestination(
  text: string,
  open: number
): { href: string; end: number } | null {
  let i = open + 1;
  while (text[i] === ' ') {
    i++;
  }
  let href = '';
  if (text[i] === '<') {
    const close = text.indexOf('>', i);
    if (close < 0 || text.slice(i + 1, close).includes('\n')) {
      return null;
    }
    href = text.slice(i + 1, close);
    i = close + 1;
  } else {
    let depth = 0;
    const from = i;
    while (i < text.length && !/\s/.test(text[i])) {
      if (text[i] === '\\' && i + 1 < text.length) {
        i += 2;
        continue;
      }
      if (text[i] === '(') {
        depth++;
      } else if (text[i] === ')') {
        if (depth === 0) {
          break;
        }
        depth--;
      }
      i++;
    }
    href = text.slice(from, i).replace(/\\([!-/:-@[-`{-~])/g, '$1');
  }
  while (text[i] === ' ' || text[i] === '\n') {
    i++;
  }
  const quote = text[i];
  if (quote === '"' || quote === "'") {
    let close = i + 1;
    while (close < text.length && text[close] !== quote) {
      close += text[close] === '\\' ? 2 : 1;
    }
    if (close >= text.length) {
      return null;
    }
    i = close + 1;
    while (text[i] === ' ') {
      i++;
    }
  }
  return text[i] === ')' ? { href, end: i + 1 } : null;
}

/**
 * The index where the emphasis opened by the run of `length` `marker`s at
 * `start` closes, or -1: a run of exactly as many, not preceded by a space,
 * and (for `_`) not inside a word; escapes and code spans are skipped.
 */
function emphasisClose(
  text: string,
  start: number,
  marker: string,
  length: number
): number {
  for (let i = start + length; i < text.length; i++) {
    const char = text[i];
    if (char === '\\') {
      i++;
      continue;
    }
    if (char === '`') {
      const end = codeSpanEnd(text, i);
      if (end > 0) {
        i = end - 1;
      }
      continue;
    }
    if (char !== marker) {
      continue;
    }
    const run = runLength(text, i, marker);
    const before = text[i - 1];
    const after = text[i + run];
    const closes =
      run === length &&
      i > start + length &&
      !isSpace(before) &&
      (marker === '*' || !isWordChar(after));
    if (closes) {
      return i;
    }
    i += run - 1;
  }
  return -1;
}

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  ndash: '\u2013',
  mdash: '\u2014',
  hellip: '\u2026',
  copy: '\u00a9'
};

/**
 * The character an entity reference (`&amp;`, `&#233;`, `&#xe9;`) at
 * `start` stands for, and its length; null for anything else.
 */
function entityAt(
  text: string,
  start: number
): { char: string; length: number } | null {
  const found = /^&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-z]{2,8}));/.exec(
    text.slice(start, start + 12)
  );
  if (found === null) {
    return null;
  }
  const [whole, decimal, hex, name] = found;
  if (name !== undefined) {
    const char = ENTITIES[name];
    return char === undefined ? null : { char, length: whole.length };
  }
  const code =
    decimal !== undefined ? parseInt(decimal, 10) : parseInt(hex, 16);
  const valid =
    code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff);
  return {
    char: valid ? String.fromCodePoint(code) : '\ufffd',
    length: whole.length
  };
}

/**
 * Inline markdown as a tree: code spans, emphasis, links, autolinks,
 * escapes, entity references and hard breaks; everything else, `<`
 * included, is text.
 */
export function parseInline(text: string): Inline[] {
  const out: Inline[] = [];
  let buffer = '';
  const flush = () => {
    if (buffer) {
      out.push({ kind: 'text', text: buffer });
      buffer = '';
    }
  };
  let i = 0;
  while (i < text.length) {
    const char = text[i];

    if (char === '\\') {
      const next = text[i + 1];
      if (next === '\n') {
        flush();
        out.push({ kind: 'break' });
        i += 2;
        continue;
      }
      if (isPunctuation(next)) {
        buffer += next;
        i += 2;
        continue;
      }
    }

    if (char === '\n') {
      // Two spaces (or more) before a line's end: a hard break.
      if (/ {2,}$/.test(buffer)) {
        buffer = buffer.replace(/ +$/, '');
        flush();
        out.push({ kind: 'break' });
      } else {
        buffer = buffer.replace(/ +$/, '') + '\n';
      }
      i++;
      while (text[i] === ' ') {
        i++;
      }
      continue;
    }

    if (char === '`') {
      const end = codeSpanEnd(text, i);
      const run = runLength(text, i, '`');
      if (end < 0) {
        buffer += '`'.repeat(run);
        i += run;
        continue;
      }
      let code = text.slice(i + run, end - run).replace(/\n/g, ' ');
      if (/^ .*[^ ].* $/s.test(code)) {
        code = code.slice(1, -1);
      }
      flush();
      out.push({ kind: 'code', text: code });
      i = end;
      continue;
    }

    if (char === '&') {
      const entity = entityAt(text, i);
      if (entity !== null) {
        buffer += entity.char;
        i += entity.length;
        continue;
      }
    }

    if (char === '<') {
      const autolink = /^<([a-z][a-z0-9+.-]{1,31}:[^\s<>]*)>/i.exec(
        text.slice(i)
      );
      if (autolink && isSafeHref(autolink[1])) {
        flush();
        out.push({
          kind: 'link',
          href: autolink[1],
          children: [{ kind: 'text', text: autolink[1] }]
        });
        i += autolink[0].length;
        continue;
      }
    }

    const image = char === '!' && text[i + 1] === '[';
    if (char === '[' || image) {
      const open = image ? i + 1 : i;
      const close = closingBracket(text, open);
      if (close > 0 && text[close + 1] === '(') {
        const destination = linkDestination(text, close + 1);
        if (destination) {
          const label = parseInline(text.slice(open + 1, close));
          flush();
          if (isSafeHref(destination.href)) {
            out.push({ kind: 'link', href: destination.href, children: label });
          } else {
            out.push(...label); // its text only: nothing to follow
          }
          i = destination.end;
          continue;
        }
      }
    }

    if (char === '*' || char === '_') {
      const run = runLength(text, i, char);
      const before = text[i - 1];
      const after = text[i + run];
      const opens =
        run <= 3 && !isSpace(after) && (char === '*' || !isWordChar(before));
      const close = opens ? emphasisClose(text, i, char, run) : -1;
      if (close > 0) {
        const inner = parseInline(text.slice(i + run, close));
        flush();
        if (run === 1) {
          out.push({ kind: 'em', children: inner });
        } else if (run === 2) {
          out.push({ kind: 'strong', children: inner });
        } else {
          out.push({
            kind: 'em',
            children: [{ kind: 'strong', children: inner }]
          });
        }
        i = close + run;
        continue;
      }
      buffer += char.repeat(run);
      i += run;
      continue;
    }

    buffer += char;
    i++;
  }
  flush();
  return out;
}

// ---------------------------------------------------------------------------
// Blocks

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])( {1,4}|$)(.*)$/;

/**
 * A line's indentation in columns (a tab to the next multiple of 4).
 */
function indentOf(line: string): number {
  let columns = 0;
  for (const char of line) {
    if (char === ' ') {
      columns++;
    } else if (char === '\t') {
      columns += 4 - (columns % 4);
    } else {
      break;
    }
  }
  return columns;
}

/**
 * `line` without its first `columns` columns of indentation.
 */
function dedent(line: string, columns: number): string {
  let i = 0;
  let seen = 0;
  while (i < line.length && seen < columns) {
    if (line[i] === ' ') {
      seen++;
    } else if (line[i] === '\t') {
      seen += 4 - (seen % 4);
    } else {
      break;
    }
    i++;
  }
  return line.slice(i);
}

function isBlank(line: string): boolean {
  return line.trim() === '';
}

/**
 * Whether a line starts a block other than a paragraph's next line.
 */
function interrupts(line: string): boolean {
  if (FENCE.test(line) || HEADING.test(line)) {
    return true;
  }
  const item = ITEM.exec(line);
  // An empty item or a numbered one not starting at 1 does not break a paragraph.
  return (
    item !== null &&
    item[4].trim() !== '' &&
    (!/\d/.test(item[2]) || parseInt(item[2], 10) === 1)
  );
}

interface IListMarker {
  ordered: boolean;
  /** The bullet (`-`, `*`, `+`) or the number's delimiter (`.`, `)`). */
  delimiter: string;
  start: number;
  /** Where the item's content starts, in columns. */
  content: number;
  first: string;
}

function listMarker(line: string): IListMarker | null {
  const item = ITEM.exec(line);
  if (item === null) {
    return null;
  }
  const [, indent, marker, spacing, rest] = item;
  const ordered = /\d/.test(marker);
  const content =
    indent.length + marker.length + (rest === '' ? 1 : spacing.length);
  return {
    ordered,
    delimiter: ordered ? marker.slice(-1) : marker,
    start: ordered ? parseInt(marker, 10) : 1,
    content,
    first: rest
  };
}

/**
 * Markdown text as blocks.
 */
export function parseMarkdown(text: string): Block[] {
  return parseBlocks(text.replace(/\r\n?/g, '\n').split('\n'));
}

function parseBlocks(lines: string[]): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      i++;
      continue;
    }

    const fence = FENCE.exec(line);
    if (fence) {
      const [, marks, language] = fence;
      const indent = indentOf(line);
      const body: string[] = [];
      const closing = new RegExp(
        `^ {0,3}${marks[0] === '`' ? '`' : '~'}{${marks.length},}\\s*$`
      );
      i++;
      while (i < lines.length) {
        if (closing.test(lines[i])) {
          i++;
          break;
        }
        body.push(dedent(lines[i], indent));
        i++;
      }
      blocks.push({ kind: 'code', language, text: body.join('\n') });
      continue;
    }

    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({
        kind: 'heading',
        level: heading[1].length,
        children: parseInline(heading[2] ?? '')
      });
      i++;
      continue;
    }

    const marker = listMarker(line);
    if (marker) {
      i = parseList(lines, i, marker, blocks);
      continue;
    }

    // Each line's leading spaces dropped; its trailing ones kept (two or
    // more before a line's end: a hard break).
    const paragraph = [line.trimStart()];
    i++;
    while (i < lines.length && !isBlank(lines[i]) && !interrupts(lines[i])) {
      paragraph.push(lines[i].trimStart());
      i++;
    }
    blocks.push({
      kind: 'paragraph',
      children: parseInline(paragraph.join('\n').replace(/\s+$/, ''))
    });
  }
  return blocks;
}

/**
 * Reads the list that starts at line `start` into `blocks`; where it ends.
 * An item's lines are those indented to its content (or a paragraph's lazy
 * continuation), read as blocks of their own.
 */
function parseList(
  lines: string[],
  start: number,
  first: IListMarker,
  blocks: Block[]
): number {
  const items: Block[][] = [];
  let i = start;
  let marker: IListMarker | null = first;
  while (marker !== null) {
    const body = [marker.first];
    i++;
    let lazy = marker.first.trim() !== '';
    while (i < lines.length) {
      const line = lines[i];
      if (isBlank(line)) {
        // A blank line: the item goes on if what follows is indented to it.
        let next = i + 1;
        while (next < lines.length && isBlank(lines[next])) {
          next++;
        }
        if (next < lines.length && indentOf(lines[next]) >= marker.content) {
          body.push(...lines.slice(i, next).map(() => ''));
          i = next;
          lazy = false;
          continue;
        }
        break;
      }
      if (indentOf(line) >= marker.content) {
        body.push(dedent(line, marker.content));
        i++;
        continue;
      }
      if (lazy && !interrupts(line) && listMarker(line) === null) {
        body.push(line.trimStart());
        i++;
        continue;
      }
      break;
    }
    items.push(parseBlocks(body));
    const next: IListMarker | null =
      i < lines.length ? listMarker(lines[i]) : null;
    marker =
      next !== null &&
      next.ordered === first.ordered &&
      next.delimiter === first.delimiter
        ? next
        : null;
  }
  blocks.push({
    kind: 'list',
    ordered: first.ordered,
    start: first.start,
    items
  });
  return i;
}

// ---------------------------------------------------------------------------
// DOM

/**
 * How headings are placed under the page's own: `headingOffset` is added to
 * each level (a description's `#` under the page's title is an `h2`).
 */
export interface IRenderOptions {
  headingOffset?: number;
}

/**
 * Blocks as DOM nodes, built with `createElement`, `createTextNode` and
 * `setAttribute` only.
 */
export function renderBlocks(
  blocks: Block[],
  doc: Document,
  options: IRenderOptions = {}
): Node[] {
  const offset = options.headingOffset ?? 0;
  return blocks.map(block => {
    switch (block.kind) {
      case 'heading': {
        const level = Math.min(6, Math.max(1, block.level + offset));
        const heading = doc.createElement(`h${level}`);
        heading.append(...renderInline(block.children, doc));
        return heading;
      }
      case 'paragraph': {
        const paragraph = doc.createElement('p');
        paragraph.append(...renderInline(block.children, doc));
        return paragraph;
      }
      case 'code': {
        const pre = doc.createElement('pre');
        const code = doc.createElement('code');
        if (/^[\w+.#-]+$/.test(block.language)) {
          code.setAttribute('data-language', block.language);
        }
        code.append(doc.createTextNode(block.text));
        pre.append(code);
        return pre;
      }
      case 'list': {
        const list = doc.createElement(block.ordered ? 'ol' : 'ul');
        if (block.ordered && block.start !== 1) {
          list.setAttribute('start', String(block.start));
        }
        for (const item of block.items) {
          const li = doc.createElement('li');
          // A one-paragraph item holds its text (a tight list).
          const [only] = item;
          if (item.length === 1 && only.kind === 'paragraph') {
            li.append(...renderInline(only.children, doc));
          } else {
            li.append(...renderBlocks(item, doc, options));
          }
          list.append(li);
        }
        return list;
      }
    }
  });
}

export function renderInline(inlines: Inline[], doc: Document): Node[] {
  return inlines.map(inline => {
    switch (inline.kind) {
      case 'text':
        return doc.createTextNode(inline.text);
      case 'code': {
        const code = doc.createElement('code');
        code.append(doc.createTextNode(inline.text));
        return code;
      }
      case 'em':
      case 'strong': {
        const element = doc.createElement(inline.kind);
        element.append(...renderInline(inline.children, doc));
        return element;
      }
      case 'link': {
        if (!isSafeHref(inline.href)) {
          // Never built by the parser; checked again where the href is set.
          const span = doc.createElement('span');
          span.append(...renderInline(inline.children, doc));
          return span;
        }
        const link = doc.createElement('a');
        link.setAttribute('href', inline.href);
        link.setAttribute('rel', 'noopener noreferrer');
        link.append(...renderInline(inline.children, doc));
        return link;
      }
      case 'break':
        return doc.createElement('br');
    }
  });
}

/**
 * Markdown text as DOM nodes.
 */
export function renderMarkdown(
  text: string,
  doc: Document,
  options: IRenderOptions = {}
): Node[] {
  return renderBlocks(parseMarkdown(text), doc, options);
}
