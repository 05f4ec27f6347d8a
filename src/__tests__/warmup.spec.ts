import { describeWarmup, readWarmup, withWarmup } from '../core/warmup';

describe('readWarmup', () => {
  it('reads true as a run with the defaults', () => {
    expect(readWarmup({ warmup: true })).toBe('defaults');
  });

  it('reads a list as declared runs', () => {
    expect(readWarmup({ warmup: [{ n: 1 }, {}] })).toBe('list');
  });

  it('reads anything else as none', () => {
    for (const restified of [
      undefined,
      null,
      'warmup',
      [],
      {},
      { warmup: false },
      { warmup: 'yes' },
      { warmup: 1 }
    ]) {
      expect(readWarmup(restified)).toBe('none');
    }
  });
});

describe('withWarmup', () => {
  it('sets warmup and keeps the other keys', () => {
    const before = { isolation: 'kernel', warmup: [{ n: 2 }] };
    expect(withWarmup(before, true)).toEqual({
      isolation: 'kernel',
      warmup: true
    });
    expect(withWarmup(before, false)).toEqual({
      isolation: 'kernel',
      warmup: false
    });
    expect(before).toEqual({ isolation: 'kernel', warmup: [{ n: 2 }] });
  });

  it('makes the object when there is none (or not an object)', () => {
    expect(withWarmup(undefined, true)).toEqual({ warmup: true });
    expect(withWarmup(['x'], true)).toEqual({ warmup: true });
  });

  it('round-trips through readWarmup', () => {
    expect(readWarmup(withWarmup({}, true))).toBe('defaults');
    expect(readWarmup(withWarmup({ warmup: true }, false))).toBe('none');
  });
});

describe('describeWarmup', () => {
  it('says when none is declared', () => {
    expect(describeWarmup([], null)).toMatch(/no warm-up/);
    expect(describeWarmup(undefined, undefined)).toMatch(/no warm-up/);
  });

  it('says it runs when the kernel warms', () => {
    expect(describeWarmup([{}], null)).toBe(
      'Saved version: one run of the body after setup, when its kernel warms.'
    );
  });

  it('counts the runs done', () => {
    expect(describeWarmup([{}, { n: 3 }], { runs: 2, done: 2 })).toBe(
      'Saved version: 2 runs of the body after setup, done (2 of 2).'
    );
  });

  it("says when it runs on copies of setup's values", () => {
    const text = describeWarmup([{}], { runs: 1, done: 1, on: 'copies' });
    expect(text).toMatch(/done \(1 of 1\) on copies of setup's values/);
    expect(text).toMatch(/stay cold/);
    expect(describeWarmup([{}], { runs: 1, done: 1, on: 'setup' })).not.toMatch(
      /copies/
    );
  });

  it('says a failure and that calls run without it', () => {
    const text = describeWarmup([{}], {
      runs: 1,
      done: 0,
      error: { type: 'execution_error', message: 'ValueError: boom' }
    });
    expect(text).toMatch(/failed \(ValueError: boom\)/);
    expect(text).toMatch(/calls run without it/);
  });
});
