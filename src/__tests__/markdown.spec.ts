/**
 * The page's markdown subset, built as DOM nodes: here with a stand-in
 * document that records every element made and refuses HTML parsing, its
 * nodes written out as HTML (text escaped) to compare.
 */
import {
  isSafeHref,
  parseMarkdown,
  renderMarkdown,
  IRenderOptions
} from '../page/markdown';

class FakeText {
  constructor(readonly text: string) {}
}

class FakeElement {
  readonly attributes: [string, string][] = [];
  readonly children: (FakeElement | FakeText)[] = [];

  constructor(readonly tag: string) {}

  setAttribute(name: string, value: string): void {
    this.attributes.push([name, value]);
  }

  append(...nodes: (FakeElement | FakeText)[]): void {
    for (const node of nodes) {
      if (!(node instanceof FakeElement || node instanceof FakeText)) {
        throw new Error(`not a node: ${String(node)}`);
      }
      this.children.push(node);
    }
  }

  set innerHTML(_: string) {
    throw new Error('innerHTML');
  }

  set outerHTML(_: string) {
    throw new Error('outerHTML');
  }

  insertAdjacentHTML(): void {
    throw new Error('insertAdjacentHTML');
  }
}

/**
 * A document that makes the stand-in nodes and records each element's tag.
 */
function fakeDocument(): { doc: Document; made: string[] } {
  const made: string[] = [];
  const doc = {
    createElement: (tag: string) => {
      made.push(tag);
      return new FakeElement(tag);
    },
    createTextNode: (text: string) => new FakeText(text)
  };
  return { doc: doc as unknown as Document, made };
}

function escape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function serialize(node: FakeElement | FakeText): string {
  if (node instanceof FakeText) {
    return escape(node.text);
  }
  const attributes = node.attributes
    .map(([name, value]) => ` ${name}="${escape(value)}"`)
    .join('');
  const inner = node.children.map(serialize).join('');
  return node.tag === 'br'
    ? '<br>'
    : `<${node.tag}${attributes}>${inner}</${node.tag}>`;
}

function html(markdown: string, options?: IRenderOptions): string {
  const { doc } = fakeDocument();
  return (renderMarkdown(markdown, doc, options) as unknown as FakeElement[])
    .map(serialize)
    .join('');
}

function tagsMade(markdown: string): string[] {
  const { doc, made } = fakeDocument();
  renderMarkdown(markdown, doc);
  return made;
}

const REL = 'rel="noopener noreferrer"';

describe('blocks', () => {
  it('headings, placed under the page by an offset', () => {
    expect(html('# One\n## Two ##\n###### Six')).toBe(
      '<h1>One</h1><h2>Two</h2><h6>Six</h6>'
    );
    expect(html('# One\n### Three\n###### Six', { headingOffset: 1 })).toBe(
      '<h2>One</h2><h4>Three</h4><h6>Six</h6>'
    );
    expect(html('#hashtag')).toBe('<p>#hashtag</p>');
    expect(html('####### seven')).toBe('<p>####### seven</p>');
  });

  it('paragraphs apart by blank lines; lines within kept as text', () => {
    expect(html('one\ntwo\n\n  three')).toBe('<p>one\ntwo</p><p>three</p>');
  });

  it('a hard break: two spaces or a backslash at a line end', () => {
    expect(html('one  \ntwo\\\nthree')).toBe('<p>one<br>two<br>three</p>');
  });

  it('fenced code: its text as it is, the language noted', () => {
    expect(html('```python\nif a < b:\n    print("<b>")\n```\nafter')).toBe(
      '<pre><code data-language="python">if a &lt; b:\n    print(&quot;&lt;b&gt;&quot;)</code></pre><p>after</p>'
    );
    expect(html('~~~\n**not bold**\n~~~')).toBe(
      '<pre><code>**not bold**</code></pre>'
    );
    // Unclosed: to the end.
    expect(html('````\na\n```\nb')).toBe('<pre><code>a\n```\nb</code></pre>');
    // An odd language is not kept as an attribute.
    expect(html('```"><x\ncode\n```')).toBe('<pre><code>code</code></pre>');
  });

  it('bullet lists, tight', () => {
    expect(html('- one\n- **two**\n* other list')).toBe(
      '<ul><li>one</li><li><strong>two</strong></li></ul><ul><li>other list</li></ul>'
    );
  });

  it('numbered lists, from their first number', () => {
    expect(html('1. one\n2. two')).toBe('<ol><li>one</li><li>two</li></ol>');
    expect(html('3) three\n4) four')).toBe(
      '<ol start="3"><li>three</li><li>four</li></ol>'
    );
  });

  it('nested lists and an item on several lines', () => {
    expect(html('- a\n  - b\n  - c\n- d\ncontinued')).toBe(
      '<ul><li><p>a</p><ul><li>b</li><li>c</li></ul></li><li>d\ncontinued</li></ul>'
    );
    expect(html('1. a\n\n   more of a\n2. b')).toBe(
      '<ol><li><p>a</p><p>more of a</p></li><li>b</li></ol>'
    );
  });

  it('a list after a paragraph, and a number that does not start one', () => {
    expect(html('Steps:\n- first\n- second')).toBe(
      '<p>Steps:</p><ul><li>first</li><li>second</li></ul>'
    );
    expect(html('Founded in\n1999. Since then')).toBe(
      '<p>Founded in\n1999. Since then</p>'
    );
  });

  it('what is not in the subset stays text', () => {
    expect(html('> quoted\n\n| a | b |\n|---|---|')).toBe(
      '<p>&gt; quoted</p><p>| a | b |\n|---|---|</p>'
    );
  });

  it('reads into a tree', () => {
    expect(parseMarkdown('# T\n\n*x* `y`')).toEqual([
      { kind: 'heading', level: 1, children: [{ kind: 'text', text: 'T' }] },
      {
        kind: 'paragraph',
        children: [
          { kind: 'em', children: [{ kind: 'text', text: 'x' }] },
          { kind: 'text', text: ' ' },
          { kind: 'code', text: 'y' }
        ]
      }
    ]);
  });
});

describe('inline', () => {
  it('emphasis and strong, with * and _', () => {
    expect(html('*a* _b_ **c** __d__ ***e***')).toBe(
      '<p><em>a</em> <em>b</em> <strong>c</strong> <strong>d</strong> <em><strong>e</strong></em></p>'
    );
    expect(html('*an **inner** one*')).toBe(
      '<p><em>an <strong>inner</strong> one</em></p>'
    );
  });

  it('no emphasis where markdown has none', () => {
    expect(html('2 * 3 * 4')).toBe('<p>2 * 3 * 4</p>');
    expect(html('snake_case_name and __init__.py')).toBe(
      '<p>snake_case_name and <strong>init</strong>.py</p>'
    );
    expect(html('a_b_c')).toBe('<p>a_b_c</p>');
    expect(html('**unclosed')).toBe('<p>**unclosed</p>');
    expect(html('\\*escaped\\*')).toBe('<p>*escaped*</p>');
  });

  it('code spans keep their text', () => {
    expect(html('use `<b>` and `` a`b ``')).toBe(
      '<p>use <code>&lt;b&gt;</code> and <code>a`b</code></p>'
    );
    expect(html('`**x**` ``unclosed`')).toBe(
      '<p><code>**x**</code> ``unclosed`</p>'
    );
  });

  it('entity references as their characters, still text', () => {
    expect(html('a&nbsp;b &amp; &#233; &#x263A; &lt;script&gt; &bogus;')).toBe(
      '<p>a\u00a0b &amp; é ☺ &lt;script&gt; &amp;bogus;</p>'
    );
  });
});

describe('links', () => {
  it('http, https, mailto and relative addresses', () => {
    expect(html('[site](https://example.org/a?b=1#c "Title")')).toBe(
      `<p><a href="https://example.org/a?b=1#c" ${REL}>site</a></p>`
    );
    expect(html('[x](http://h/) [m](mailto:a@b.org) [r](other.ipynb)')).toBe(
      `<p><a href="http://h/" ${REL}>x</a> <a href="mailto:a@b.org" ${REL}>m</a> <a href="other.ipynb" ${REL}>r</a></p>`
    );
    expect(html('[up](../data/) [root](/restified/) [*em*](<a b.html>)')).toBe(
      `<p><a href="../data/" ${REL}>up</a> <a href="/restified/" ${REL}>root</a> <a href="a b.html" ${REL}><em>em</em></a></p>`
    );
    expect(html('[wiki](https://en.wikipedia.org/wiki/A_(b))')).toBe(
      `<p><a href="https://en.wikipedia.org/wiki/A_(b)" ${REL}>wiki</a></p>`
    );
  });

  it('autolinks, and an image as a link to it', () => {
    expect(html('see <https://example.org>')).toBe(
      `<p>see <a href="https://example.org" ${REL}>https://example.org</a></p>`
    );
    expect(html('![a chart](chart.png)')).toBe(
      `<p><a href="chart.png" ${REL}>a chart</a></p>`
    );
  });

  it('other schemes: their text only, nothing to follow', () => {
    for (const href of [
      'javascript:alert(1)',
      'JavaScript:alert(1)',
      ' javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox',
      'file:///etc/passwd'
    ]) {
      const shown = html(`[click](${href.replace(/ /g, '')})`);
      expect(shown).toBe('<p>click</p>');
    }
    expect(html('[click](<java\tscript:alert(1)>)')).toBe('<p>click</p>');
    expect(html('<javascript:alert(1)>')).toBe(
      '<p>&lt;javascript:alert(1)&gt;</p>'
    );
    expect(html('![x](javascript:alert(1))')).toBe('<p>x</p>');
    expect(tagsMade('[click](javascript:alert(1))')).toEqual(['p']);
  });

  it('isSafeHref', () => {
    for (const safe of [
      'https://a',
      'HTTP://a',
      'mailto:x@y',
      'page.html',
      '#part',
      '?q=1',
      '/abs',
      '../up',
      'a/b:c',
      'my notebook.ipynb'
    ]) {
      expect([safe, isSafeHref(safe)]).toEqual([safe, true]);
    }
    for (const unsafe of [
      '',
      'javascript:x',
      'jav\tascript:x',
      'java\nscript:x',
      '\u0001javascript:x',
      'data:x',
      'blob:x',
      ' a',
      'a\u00a0',
      'java script:x',
      '1x:y'
    ]) {
      expect([unsafe, isSafeHref(unsafe)]).toEqual([unsafe, false]);
    }
  });
});

describe('HTML in markdown stays text', () => {
  it('<script> and <img onerror>: text, and no such element is made', () => {
    const text =
      '# Hi <script>window.pwned = 1</script>\n\n<img src=x onerror="window.pwned = 2">\n\n' +
      '- <iframe src="javascript:alert(1)"></iframe>\n\n' +
      '[<b>label</b>](https://x/ "a\\" onmouseover=alert(1)")';
    expect(html(text)).toBe(
      '<h1>Hi &lt;script&gt;window.pwned = 1&lt;/script&gt;</h1>' +
        '<p>&lt;img src=x onerror=&quot;window.pwned = 2&quot;&gt;</p>' +
        '<ul><li>&lt;iframe src=&quot;javascript:alert(1)&quot;&gt;&lt;/iframe&gt;</li></ul>' +
        `<p><a href="https://x/" ${REL}>&lt;b&gt;label&lt;/b&gt;</a></p>`
    );
    const made = tagsMade(text);
    expect(
      made.filter(tag => !['h1', 'p', 'ul', 'li', 'a'].includes(tag))
    ).toEqual([]);
  });

  it('an attribute is only ever href, rel, start or data-language', () => {
    const { doc } = fakeDocument();
    const nodes = renderMarkdown(
      '```js\nx\n```\n\n3. [a](b)\n\n<x onclick=y>',
      doc
    ) as unknown as FakeElement[];
    const names = new Set<string>();
    const walk = (node: FakeElement | FakeText) => {
      if (node instanceof FakeElement) {
        node.attributes.forEach(([name]) => names.add(name));
        node.children.forEach(walk);
      }
    };
    nodes.forEach(walk);
    expect([...names].sort()).toEqual([
      'data-language',
      'href',
      'rel',
      'start'
    ]);
  });
});
