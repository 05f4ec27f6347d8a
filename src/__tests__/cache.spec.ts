import { describeCache, formatTtl } from '../core/cache';

describe('formatTtl', () => {
  it('says seconds, minutes and hours as a person would', () => {
    expect(formatTtl(0.5)).toBe('0.5 s');
    expect(formatTtl(45)).toBe('45 s');
    expect(formatTtl(300)).toBe('5 min');
    expect(formatTtl(5400)).toBe('1 h 30 min');
    expect(formatTtl(7200)).toBe('2 h');
  });

  it('says 0 s for what keeps nothing', () => {
    expect(formatTtl(0)).toBe('0 s');
    expect(formatTtl(Number.NaN)).toBe('0 s');
  });
});

describe('describeCache', () => {
  it('says that every call runs when nothing is kept', () => {
    expect(describeCache(null)).toContain('every call runs');
    expect(describeCache(undefined)).toContain('every call runs');
  });

  it('says how long an answer is kept, and for which calls', () => {
    const text = describeCache({ ttl: 300 });
    expect(text).toContain('kept 5 min');
    expect(text).toContain('same call');
    expect(text).toContain('saving the notebook drops it');
  });
});
