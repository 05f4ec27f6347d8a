import { hash53, ISpecSource, specContent, specKey } from '../core/specContent';

interface ICell {
  type: string;
  source: string;
  tags?: unknown;
}

/** A live notebook over plain cells, counting the sources read. */
function notebook(
  cells: ICell[],
  metadata: Record<string, unknown> = {
    kernelspec: {
      name: 'python3',
      display_name: 'Python 3',
      language: 'python'
    },
    language_info: { name: 'python', version: '3.11.7' }
  }
): ISpecSource & { read: number[] } {
  const read: number[] = [];
  return {
    read,
    metadata: key => metadata[key],
    cellCount: cells.length,
    cell: index => ({
      type: cells[index].type,
      tags: cells[index].tags,
      source: () => {
        read.push(index);
        return cells[index].source;
      }
    })
  };
}

const code = (source: string, ...tags: string[]): ICell => ({
  type: 'code',
  source,
  ...(tags.length ? { tags } : {})
});

function tagged(): ICell[] {
  return [
    code('import math'),
    { type: 'markdown', source: '# Title' },
    code('n: int = 10', 'parameters'),
    code('print(n)', 'skip'),
    code('total = n * 2'),
    code('total', 'return'),
    code('print("after")'),
    { type: 'markdown', source: 'notes', tags: ['return'] }
  ];
}

describe('specContent', () => {
  it('sends each cell type and tags, and only the sources a spec reads', () => {
    const live = notebook(tagged());
    const content = specContent(live);
    expect(content).toEqual({
      nbformat: 4,
      metadata: {
        kernelspec: { name: 'python3', language: 'python' },
        language_info: { name: 'python' }
      },
      cells: [
        { cell_type: 'code', metadata: {} },
        { cell_type: 'markdown', metadata: {} },
        {
          cell_type: 'code',
          metadata: { tags: ['parameters'] },
          source: 'n: int = 10'
        },
        { cell_type: 'code', metadata: { tags: ['skip'] } },
        { cell_type: 'code', metadata: {} },
        { cell_type: 'code', metadata: { tags: ['return'] }, source: 'total' },
        { cell_type: 'code', metadata: {}, source: 'print("after")' },
        // A markdown cell's source is never read (its tags are, for a warning).
        { cell_type: 'markdown', metadata: { tags: ['return'] } }
      ]
    });
    // The other sources are not even read from the notebook.
    expect(live.read).toEqual([2, 5, 6]);
  });

  it('keeps tags as stored, so the server warns about them as for a file', () => {
    const content = specContent(
      notebook([{ type: 'code', source: 'x', tags: 'return' }])
    );
    expect(content.cells[0]).toEqual({
      cell_type: 'code',
      metadata: { tags: 'return' }
    });
  });

  it('sends metadata.restified, and no kernel when the notebook names none', () => {
    const content = specContent(
      notebook([code('x')], { restified: { isolation: 'kernel' } })
    );
    expect(content.metadata).toEqual({ restified: { isolation: 'kernel' } });
  });

  it('without a return cell, reads only the parameters cell', () => {
    const live = notebook([code('a = 1', 'parameters'), code('b'), code('c')]);
    specContent(live);
    expect(live.read).toEqual([0]);
  });
});

describe('specKey', () => {
  const key = (cells: ICell[], metadata?: Record<string, unknown>) =>
    specKey(specContent(notebook(cells, metadata)));

  it('is the same for the same content, and ignores sources a spec does not read', () => {
    const before = key(tagged());
    expect(key(tagged())).toBe(before);
    const edited = tagged();
    edited[0].source = 'import numpy';
    edited[4].source = 'total = n * 3';
    edited[1].source = '# Another title';
    expect(key(edited)).toBe(before);
  });

  it('changes with what a spec reads', () => {
    const before = key(tagged());
    const changes: ((cells: ICell[]) => void)[] = [
      cells => (cells[2].source = 'n: int = 11'),
      cells => (cells[5].source = 'total + 1'),
      cells => (cells[6].source = ''),
      cells => (cells[4].tags = ['skip']),
      cells => (cells[1].type = 'raw'),
      cells => cells.push(code(''))
    ];
    const seen = new Set([before]);
    for (const change of changes) {
      const cells = tagged();
      change(cells);
      const after = key(cells);
      expect(seen.has(after)).toBe(false);
      seen.add(after);
    }
    expect(
      key(tagged(), { kernelspec: { name: 'ir', language: 'R' } })
    ).not.toBe(before);
  });
});

describe('hash53', () => {
  it('is stable, seeded, and spreads near inputs apart', () => {
    expect(hash53('a')).toBe(hash53('a'));
    expect(hash53('a')).not.toBe(hash53('b'));
    expect(hash53('a', 1)).not.toBe(hash53('a'));
    expect(Number.isSafeInteger(hash53('x'.repeat(10000)))).toBe(true);
    const hashes = new Set<number>();
    for (let i = 0; i < 10000; i++) {
      hashes.add(hash53(`n: int = ${i}`));
    }
    expect(hashes.size).toBe(10000);
  });
});
