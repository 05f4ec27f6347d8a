import { formatRelative } from '../core/time';

const NOW = Date.parse('2026-06-15T12:00:00Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function at(offset: number): string {
  return new Date(NOW + offset).toISOString();
}

describe('formatRelative', () => {
  it('says now within 10 seconds either way', () => {
    expect(formatRelative(at(-9 * SECOND), NOW)).toBe('now');
    expect(formatRelative(at(4 * SECOND), NOW)).toBe('now');
  });

  it('counts seconds past that', () => {
    expect(formatRelative(at(-30 * SECOND), NOW)).toBe('30 seconds ago');
  });

  it('rounds to the largest unit that fits', () => {
    expect(formatRelative(at(-5 * MINUTE), NOW)).toBe('5 minutes ago');
    expect(formatRelative(at(-100 * MINUTE), NOW)).toBe('2 hours ago');
    expect(formatRelative(at(-1 * DAY), NOW)).toBe('yesterday');
    expect(formatRelative(at(7 * DAY), NOW)).toBe('in 7 days');
    expect(formatRelative(at(45 * DAY), NOW)).toBe('in 2 months');
    expect(formatRelative(at(-800 * DAY), NOW)).toBe('2 years ago');
  });

  it('takes a Date as well as ISO text', () => {
    expect(formatRelative(new Date(NOW + 3 * HOUR), NOW)).toBe('in 3 hours');
  });

  it("speaks the page's language", () => {
    expect(formatRelative(at(-5 * MINUTE), NOW, 'fr')).toBe('il y a 5 minutes');
    expect(formatRelative(at(-1 * DAY), NOW, 'de')).toBe('gestern');
  });
});
