import { JSONValue } from '../api/types';
import { cellText, columnsOf, isRowList, toCsv } from '../page/rows';

describe('rows', () => {
  it('knows a list of row objects', () => {
    expect(isRowList([{ a: 1 }, { b: 2 }])).toBe(true);
    expect(isRowList([])).toBe(false);
    expect(isRowList([{ a: 1 }, [1]])).toBe(false);
    expect(isRowList([{ a: 1 }, null])).toBe(false);
    expect(isRowList({ a: 1 })).toBe(false);
  });

  it('takes every column in order of first appearance', () => {
    expect(
      columnsOf([
        { b: 1, a: 2 },
        { c: 3, a: 4 }
      ])
    ).toEqual(['b', 'a', 'c']);
  });

  it('shows cells as text', () => {
    expect(cellText('x')).toBe('x');
    expect(cellText(null)).toBe('');
    expect(cellText(undefined)).toBe('');
    expect(cellText(1.5)).toBe('1.5');
    expect(cellText({ a: [1] })).toBe('{"a":[1]}');
  });

  it('writes CSV, quoted where needed', () => {
    const rows: Record<string, JSONValue>[] = [
      { name: 'a, b', note: 'say "hi"', n: 1 },
      { name: 'line\nbreak', n: null }
    ];
    expect(toCsv(rows)).toBe(
      'name,note,n\r\n"a, b","say ""hi""",1\r\n"line\nbreak",,\r\n'
    );
  });
});
