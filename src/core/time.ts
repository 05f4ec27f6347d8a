/**
 * Relative times for the panel. Pure: the caller passes the clock and the
 * page's language, so it runs (and is tested) without a DOM.
 */
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600 * 1000],
  ['month', 30 * 24 * 3600 * 1000],
  ['day', 24 * 3600 * 1000],
  ['hour', 3600 * 1000],
  ['minute', 60 * 1000],
  ['second', 1000]
];

/**
 * "5 minutes ago", "in 7 days": a moment relative to `now`, rounded to the
 * largest unit that fits (JupyterLab's `Time.formatHuman` rounds future
 * moments up to "next year"); under 10 seconds is "now".
 */
export function formatRelative(
  value: string | Date,
  now = Date.now(),
  lang = 'en'
): string {
  const formatter = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });
  const delta = new Date(value).getTime() - now;
  for (const [unit, milliseconds] of UNITS) {
    if (Math.abs(delta) >= milliseconds || unit === 'second') {
      const amount = Math.round(delta / milliseconds);
      if (unit === 'second' && Math.abs(amount) < 10) {
        return formatter.format(0, 'second');
      }
      return formatter.format(amount, unit);
    }
  }
  return formatter.format(0, 'second');
}
