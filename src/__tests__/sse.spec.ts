import { IServerSentEvent, ServerSentEventParser } from '../core/sse';

/** Every event of `chunks` fed in order. */
function parse(...chunks: string[]): IServerSentEvent[] {
  const parser = new ServerSentEventParser();
  return chunks.flatMap(chunk => parser.push(chunk));
}

const STREAM =
  'id: 1\nevent: status\ndata: {"status": "queued"}\n\n' +
  ': keep-alive\n\n' +
  'id: 2\nevent: output\ndata: {"stream": "stdout", "text": "a\\n"}\n\n' +
  'id: 3\nevent: done\ndata: {"status": "succeeded"}\n\n';

describe('ServerSentEventParser', () => {
  it('reads events with their type, data and id; comments are skipped', () => {
    expect(parse(STREAM)).toEqual([
      { event: 'status', data: '{"status": "queued"}', id: '1' },
      {
        event: 'output',
        data: '{"stream": "stdout", "text": "a\\n"}',
        id: '2'
      },
      { event: 'done', data: '{"status": "succeeded"}', id: '3' }
    ]);
  });

  it('gives the same events however the text is cut into chunks', () => {
    const whole = parse(STREAM);
    for (let size = 1; size <= 7; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < STREAM.length; i += size) {
        chunks.push(STREAM.slice(i, i + size));
      }
      expect(parse(...chunks)).toEqual(whole);
    }
  });

  it('waits for the blank line: an event split across chunks comes once', () => {
    const parser = new ServerSentEventParser();
    expect(parser.push('event: cell\ndata: {"a"')).toEqual([]);
    expect(parser.push(': 1}\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([
      { event: 'cell', data: '{"a": 1}', id: '' }
    ]);
  });

  it('joins data lines with newlines, and reads a field without a space', () => {
    expect(
      parse('data: first\ndata:second\ndata\ndata:  two spaces\n\n')
    ).toEqual([
      { event: 'message', data: 'first\nsecond\n\n two spaces', id: '' }
    ]);
  });

  it('ends lines at CRLF, LF or CR, a CRLF cut between chunks included', () => {
    expect(parse('data: a\r\ndata: b\rdata: c\n\r\n')).toEqual([
      { event: 'message', data: 'a\nb\nc', id: '' }
    ]);
    expect(parse('data: a\r', '\n', '\r', '\n')).toEqual([
      { event: 'message', data: 'a', id: '' }
    ]);
    // An empty chunk between the CR and its LF changes nothing.
    expect(parse('data: a\r', '', '\ndata: b\n\n')).toEqual([
      { event: 'message', data: 'a\nb', id: '' }
    ]);
  });

  it('keeps the last id across events; an id with NUL is ignored', () => {
    const parser = new ServerSentEventParser();
    const events = parser.push(
      'id: 7\ndata: x\n\ndata: y\n\nid: 8\u0000\ndata: z\n\n'
    );
    expect(events.map(e => e.id)).toEqual(['7', '7', '7']);
    expect(parser.lastEventId).toBe('7');
  });

  it('dispatches nothing for an event without data, and resets its type', () => {
    expect(parse('event: cell\nid: 4\n\ndata: x\n\n')).toEqual([
      { event: 'message', data: 'x', id: '4' }
    ]);
  });

  it('reads retry, ignores unknown fields and a leading BOM', () => {
    expect(parse('\ufeffretry: 250\nfoo: bar\ndata: x\n\n')).toEqual([
      { event: 'message', data: 'x', id: '', retry: 250 }
    ]);
    expect(parse('retry: soon\ndata: x\n\n')).toEqual([
      { event: 'message', data: 'x', id: '' }
    ]);
  });

  it('drops an unterminated event at the end of the stream', () => {
    const parser = new ServerSentEventParser();
    expect(parser.push('id: 3\ndata: half')).toEqual([]);
    parser.end();
    expect(parser.push('data: next\n\n')).toEqual([
      { event: 'message', data: 'next', id: '3' }
    ]);
  });
});
