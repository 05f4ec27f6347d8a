import {
  cellsInMessage,
  cellsPhrase,
  describePlan,
  endpointTags,
  ICellTags,
  planToggle,
  readTags,
  summarizeTags,
  unsavedTagChanges
} from '../core/tags';

function code(...tags: string[]): ICellTags {
  return { type: 'code', tags };
}

function markdown(...tags: string[]): ICellTags {
  return { type: 'markdown', tags };
}

describe('readTags', () => {
  it('keeps the strings of a list', () => {
    expect(readTags(['parameters', 3, null, 'x', { a: 1 }])).toEqual([
      'parameters',
      'x'
    ]);
  });

  it('reads anything that is not a list as no tags', () => {
    expect(readTags(undefined)).toEqual([]);
    expect(readTags('parameters')).toEqual([]);
    expect(readTags({ 0: 'parameters' })).toEqual([]);
  });
});

describe('endpointTags', () => {
  it("keeps only the endpoint's tags, in panel order", () => {
    expect(endpointTags(['return', 'mine', 'parameters', 'skip'])).toEqual([
      'parameters',
      'skip',
      'return'
    ]);
    expect(endpointTags(['Parameters', 'hide-input'])).toEqual([]);
  });
});

describe('cellsPhrase', () => {
  it('names one, two or more cells', () => {
    expect(cellsPhrase([3])).toBe('cell 3');
    expect(cellsPhrase([3, 5])).toBe('cells 3 and 5');
    expect(cellsPhrase([1, 2, 4])).toBe('cells 1, 2 and 4');
  });
});

describe('cellsInMessage', () => {
  it('finds the cells a server message names', () => {
    expect(cellsInMessage('Cell 4 raised ValueError.')).toEqual([4]);
    expect(
      cellsInMessage("Cells 4, 0 and 2 are all tagged 'parameters'.")
    ).toEqual([0, 2, 4]);
    expect(
      cellsInMessage(
        'The return cell (3) comes before the parameters cell (1).'
      )
    ).toEqual([1, 3]);
  });

  it('reads back what cellsPhrase wrote', () => {
    expect(cellsInMessage(`See ${cellsPhrase([7, 2, 5])}.`)).toEqual([2, 5, 7]);
    expect(cellsInMessage(cellsPhrase([9]))).toEqual([9]);
  });

  it('finds none where no cell is named', () => {
    expect(cellsInMessage('The kernel died; 2 cells ran.')).toEqual([]);
    expect(cellsInMessage('Parameter n has no default.')).toEqual([]);
  });
});

describe('summarizeTags', () => {
  it('finds where each tag is, with no problem in a valid notebook', () => {
    const summary = summarizeTags([
      code('imports'),
      code('parameters'),
      code('skip'),
      code(),
      code('return', 'other')
    ]);
    expect(summary.parameters).toEqual([1]);
    expect(summary.skip).toEqual([2]);
    expect(summary.return).toEqual([4]);
    expect(summary.ignored).toEqual([]);
    expect(summary.problems).toEqual([]);
  });

  it('ignores the tags of cells that are not code, with a warning', () => {
    const summary = summarizeTags([markdown('parameters', 'skip'), code()]);
    expect(summary.parameters).toEqual([]);
    expect(summary.ignored).toEqual([0]);
    expect(summary.problems).toEqual([
      {
        message:
          "Cell 0 is a markdown cell: its tag 'parameters', 'skip' is ignored, only code cells run.",
        cells: [0],
        severity: 'warning'
      }
    ]);
  });

  it('refuses a cell tagged with two endpoint tags', () => {
    const summary = summarizeTags([code('skip', 'parameters')]);
    expect(summary.problems).toEqual([
      {
        message:
          "Cell 0 is tagged both 'parameters' and 'skip'; a cell can be only one of them.",
        cells: [0],
        severity: 'error'
      }
    ]);
  });

  it('refuses two parameters cells and two return cells', () => {
    const summary = summarizeTags([
      code('parameters'),
      code('return'),
      code('parameters'),
      code('return'),
      code('parameters')
    ]);
    expect(summary.problems.map(p => [p.message, p.cells])).toEqual([
      [
        "Cells 0, 2 and 4 are all tagged 'parameters'; a notebook may have only one.",
        [0, 2, 4]
      ],
      [
        "Cells 1 and 3 are all tagged 'return'; a notebook may have only one.",
        [1, 3]
      ]
    ]);
    expect(summary.problems.every(p => p.severity === 'error')).toBe(true);
  });

  it('refuses a return cell before the parameters cell', () => {
    const summary = summarizeTags([code('return'), code(), code('parameters')]);
    expect(summary.problems).toEqual([
      {
        message:
          'The return cell (0) comes before the parameters cell (2), so the result could not depend on the parameters.',
        cells: [0, 2],
        severity: 'error'
      }
    ]);
  });

  it('allows skip on many cells', () => {
    expect(
      summarizeTags([code('skip'), code('skip'), code('skip')]).problems
    ).toEqual([]);
  });
});

describe('planToggle', () => {
  it('adds a tag, keeping the cell’s other tags in order', () => {
    const plan = planToggle([code('a', 'b')], 0, 'skip');
    expect(plan).toEqual({
      tag: 'skip',
      index: 0,
      added: true,
      edits: [{ index: 0, tags: ['a', 'b', 'skip'] }],
      movedFrom: [],
      replaced: []
    });
  });

  it('removes a tag the cell has', () => {
    const plan = planToggle([code('a', 'return', 'b')], 0, 'return');
    expect(plan.added).toBe(false);
    expect(plan.edits).toEqual([{ index: 0, tags: ['a', 'b'] }]);
  });

  it('moves an exclusive tag from the other cells', () => {
    const cells = [code('parameters'), code(), code('x', 'parameters')];
    const plan = planToggle(cells, 1, 'parameters');
    expect(plan.added).toBe(true);
    expect(plan.movedFrom).toEqual([0, 2]);
    expect(plan.edits).toEqual([
      { index: 1, tags: ['parameters'] },
      { index: 0, tags: [] },
      { index: 2, tags: ['x'] }
    ]);
    expect(describePlan(plan)).toBe(
      "Moved the 'parameters' tag from cells 0 and 2 to cell 1: a notebook has only one parameters cell."
    );
  });

  it('does not move skip, which many cells may carry', () => {
    const plan = planToggle([code('skip'), code()], 1, 'skip');
    expect(plan.movedFrom).toEqual([]);
    expect(plan.edits).toEqual([{ index: 1, tags: ['skip'] }]);
    expect(describePlan(plan)).toBeNull();
  });

  it("replaces the cell's other endpoint tags", () => {
    const plan = planToggle([code('skip', 'mine')], 0, 'return');
    expect(plan.replaced).toEqual(['skip']);
    expect(plan.edits).toEqual([{ index: 0, tags: ['mine', 'return'] }]);
    expect(describePlan(plan)).toBe(
      "Cell 0 is no longer 'skip': a cell is only one of parameters, skip or return."
    );
  });

  it('force true on a tagged cell changes nothing else', () => {
    const plan = planToggle([code('parameters')], 0, 'parameters', true);
    expect(plan.added).toBe(true);
    expect(plan.edits).toEqual([]);
  });

  it('force true still drops a second endpoint tag', () => {
    const plan = planToggle(
      [code('parameters', 'skip')],
      0,
      'parameters',
      true
    );
    expect(plan.replaced).toEqual(['skip']);
    expect(plan.edits).toEqual([{ index: 0, tags: ['parameters'] }]);
  });

  it('force false on an untagged cell changes nothing', () => {
    const plan = planToggle([code('a')], 0, 'return', false);
    expect(plan.added).toBe(false);
    expect(plan.edits).toEqual([]);
  });

  it('refuses a cell that does not exist', () => {
    expect(() => planToggle([code()], 1, 'skip')).toThrow(
      new RangeError('No cell 1 (the notebook has 1).')
    );
    expect(() => planToggle([code()], -1, 'skip')).toThrow(RangeError);
  });

  it('does not change the cells it was given', () => {
    const cells = [code('parameters'), code('skip')];
    const before = JSON.stringify(cells);
    planToggle(cells, 1, 'parameters');
    expect(JSON.stringify(cells)).toBe(before);
  });

  it('applied, moves the tag; the summary still sees the return cell first', () => {
    const cells = [code('return'), code('skip'), code('parameters')];
    const plan = planToggle(cells, 1, 'parameters');
    const after = cells.map((cell, index) => {
      const edit = plan.edits.find(e => e.index === index);
      return edit ? code(...edit.tags) : cell;
    });
    const summary = summarizeTags(after);
    expect(summary.parameters).toEqual([1]);
    expect(summary.skip).toEqual([]);
    expect(summary.problems.map(p => p.cells)).toEqual([[0, 1]]);
    expect(describePlan(plan)).toBe(
      "Moved the 'parameters' tag from cell 2 to cell 1: a notebook has only one parameters cell. Cell 1 is no longer 'skip': a cell is only one of parameters, skip or return."
    );
  });
});

describe('unsavedTagChanges', () => {
  const saved = { parameters_cell: 1, return_cell: null, skip_cells: [2] };
  const cells = (...tags: string[][]) =>
    tags.map(t => ({ type: 'code', tags: t }));

  it('says what the saved endpoint does and what saving makes of it', () => {
    const live = summarizeTags(cells([], ['parameters'], ['skip'], ['return']));
    expect(unsavedTagChanges(saved, live)).toEqual([
      "Result: the saved endpoint answers null (no return cell); after saving, cell 3's value."
    ]);
    const moved = summarizeTags(cells(['parameters'], [], [], []));
    expect(unsavedTagChanges(saved, moved)).toEqual([
      'Inputs: the saved endpoint reads them from cell 1; after saving, from cell 0.',
      'Skipped: cell 2 in the saved endpoint; after saving, none.'
    ]);
  });

  it('says nothing when the tags are the saved ones', () => {
    const live = summarizeTags(cells([], ['parameters'], ['skip'], []));
    expect(unsavedTagChanges(saved, live)).toEqual([]);
  });

  it('says when the unsaved tags make no endpoint', () => {
    const live = summarizeTags(cells(['return'], ['return'], [], []));
    expect(unsavedTagChanges(saved, live)).toEqual([
      "After saving, the tags make no endpoint: Cells 0 and 1 are all tagged 'return'; a notebook may have only one."
    ]);
  });
});
