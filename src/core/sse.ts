/**
 * Server-Sent Events (`text/event-stream`) read incrementally, as the HTML
 * standard's "event stream interpretation" says: text comes in chunks cut
 * anywhere, lines end in CRLF, LF or CR, `:` starts a comment, `data:` lines
 * join with newlines, a blank line dispatches the event. Pure: no DOM, no
 * fetch.
 */

/**
 * One dispatched event.
 */
export interface IServerSentEvent {
  /** The `event:` field, `message` when none was given. */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The last event id seen so far (the stream's, as `Last-Event-ID` sends it). */
  id: string;
  /** A `retry:` value in milliseconds, when one came with this event. */
  retry?: number;
}

/**
 * Feeds on text chunks, returns the events they complete.
 */
export class ServerSentEventParser {
  /** The last event id (kept across events, as the standard says). */
  get lastEventId(): string {
    return this._lastEventId;
  }

  /**
   * The events completed by `chunk` (an incomplete line or event waits for
   * the next chunk).
   */
  push(chunk: string): IServerSentEvent[] {
    let text = chunk;
    if (text.length === 0) {
      return [];
    }
    if (this._start) {
      this._start = false;
      if (text.charCodeAt(0) === 0xfeff) {
        text = text.slice(1);
      }
    }
    if (this._skipLineFeed && text.startsWith('\n')) {
      text = text.slice(1);
    }
    this._skipLineFeed = false;
    const events: IServerSentEvent[] = [];
    let buffer = this._buffer + text;
    for (;;) {
      const end = buffer.search(/[\r\n]/);
      if (end < 0) {
        break;
      }
      const line = buffer.slice(0, end);
      let next = end + 1;
      if (buffer[end] === '\r') {
        if (next === buffer.length) {
          // A CR at the end of the chunk: its LF may come first in the next.
          this._skipLineFeed = true;
        } else if (buffer[next] === '\n') {
          next += 1;
        }
      }
      buffer = buffer.slice(next);
      const event = this._line(line);
      if (event) {
        events.push(event);
      }
    }
    this._buffer = buffer;
    return events;
  }

  /**
   * The stream ended: an event without its blank line is dropped, as the
   * standard says; the parser starts over for a new stream (same last id).
   */
  end(): void {
    this._buffer = '';
    this._data = [];
    this._event = '';
    this._retry = undefined;
    this._skipLineFeed = false;
    this._start = true;
  }

  private _line(line: string): IServerSentEvent | null {
    if (line === '') {
      return this._dispatch();
    }
    if (line.startsWith(':')) {
      return null;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    switch (field) {
      case 'event':
        this._event = value;
        break;
      case 'data':
        this._data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) {
          this._lastEventId = value;
        }
        break;
      case 'retry':
        if (/^\d+$/.test(value)) {
          this._retry = parseInt(value, 10);
        }
        break;
      default:
        // Unknown fields are ignored.
        break;
    }
    return null;
  }

  private _dispatch(): IServerSentEvent | null {
    const data = this._data;
    const event = this._event;
    const retry = this._retry;
    this._data = [];
    this._event = '';
    this._retry = undefined;
    if (data.length === 0) {
      return null;
    }
    const dispatched: IServerSentEvent = {
      event: event || 'message',
      data: data.join('\n'),
      id: this._lastEventId
    };
    if (retry !== undefined) {
      dispatched.retry = retry;
    }
    return dispatched;
  }

  private _buffer = '';
  private _data: string[] = [];
  private _event = '';
  private _retry: number | undefined = undefined;
  private _lastEventId = '';
  private _skipLineFeed = false;
  private _start = true;
}
