/**
 * A parser of `text/event-stream` (the HTML standard's "Server-sent events", section 9.2.6):
 * text goes in as it arrives, in chunks split anywhere; messages come out at each blank line.
 */

export type SseMessage = {
  /** The `event:` field; "message" when the message has none. */
  event: string;
  /** The `data:` lines, joined with "\n". */
  data: string;
  /** The last `id:` seen so far in the stream (it carries over to later messages). */
  lastEventId: string;
};

export type SseHandlers = {
  onMessage: (message: SseMessage) => void;
  /** A `retry:` field: how long to wait, in milliseconds, before reconnecting. */
  onRetry?: (milliseconds: number) => void;
};

export class SseParser {
  private buffer = "";
  // A chunk that ends with "\r" may be followed by the "\n" of the same line break.
  private afterCarriageReturn = false;
  private data: string[] = [];
  private event = "";
  private lastEventId: string;

  /** `lastEventId`: the id a reconnection resumes from (it carries over, as in EventSource). */
  constructor(
    private readonly handlers: SseHandlers,
    lastEventId = "",
  ) {
    this.lastEventId = lastEventId;
  }

  /** Feed decoded text; every complete line is handled at once. */
  push(chunk: string): void {
    let text = chunk;
    if (this.afterCarriageReturn && text.startsWith("\n")) text = text.slice(1);
    this.afterCarriageReturn = false;
    this.buffer += text;
    let start = 0;
    for (;;) {
      const end = findLineEnd(this.buffer, start);
      if (end === -1) break;
      this.handleLine(this.buffer.slice(start, end));
      if (this.buffer[end] === "\r") {
        if (end + 1 === this.buffer.length) {
          this.afterCarriageReturn = true;
          start = end + 1;
        } else {
          start = this.buffer[end + 1] === "\n" ? end + 2 : end + 1;
        }
      } else {
        start = end + 1;
      }
    }
    this.buffer = this.buffer.slice(start);
  }

  private handleLine(line: string): void {
    if (line === "") {
      this.dispatch();
      return;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        break;
      case "event":
        this.event = value;
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.handlers.onRetry?.(Number(value));
        break;
      default:
        // Unknown fields are ignored, as the standard says; so are comments (": keepalive"),
        // whose field name is empty.
        break;
    }
  }

  private dispatch(): void {
    const data = this.data;
    const event = this.event;
    this.data = [];
    this.event = "";
    if (data.length === 0) return;
    this.handlers.onMessage({
      event: event || "message",
      data: data.join("\n"),
      lastEventId: this.lastEventId,
    });
  }
}

function findLineEnd(text: string, from: number): number {
  for (let index = from; index < text.length; index += 1) {
    const char = text[index];
    if (char === "\n" || char === "\r") return index;
  }
  return -1;
}
