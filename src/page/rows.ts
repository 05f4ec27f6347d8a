/**
 * A result that is a list of row objects (a DataFrame as JSON), as a table's
 * columns and cells, and as CSV. Pure functions.
 */
import type { JSONValue } from '../api/types';

/**
 * Whether a result is a non-empty list of objects (rows).
 */
export function isRowList(
  value: JSONValue
): value is Record<string, JSONValue>[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      row => row !== null && typeof row === 'object' && !Array.isArray(row)
    )
  );
}

/**
 * The columns of rows: every key, in order of first appearance.
 */
export function columnsOf(rows: Record<string, JSONValue>[]): string[] {
  const columns: string[] = [];
  for (const row of rows) {
    for (const name of Object.keys(row)) {
      if (!columns.includes(name)) {
        columns.push(name);
      }
    }
  }
  return columns;
}

/**
 * A cell as text: strings as they are, null or missing empty, others as JSON.
 */
export function cellText(value: JSONValue | undefined): string {
  if (value === undefined || value === null) {
    return '';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Rows as CSV (RFC 4180: quoted when needed, CRLF line ends).
 */
export function toCsv(rows: Record<string, JSONValue>[]): string {
  const columns = columnsOf(rows);
  const quote = (text: string) =>
    /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  const lines = [columns.map(quote).join(',')];
  for (const row of rows) {
    lines.push(columns.map(c => quote(cellText(row[c]))).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}
