import { describe, expect, it } from "vitest";
import { type SseMessage, SseParser } from "./sse";

function parse(chunks: string[]) {
  const messages: SseMessage[] = [];
  const retries: number[] = [];
  const parser = new SseParser({
    onMessage: (message) => messages.push(message),
    onRetry: (milliseconds) => retries.push(milliseconds),
  });
  for (const chunk of chunks) parser.push(chunk);
  return { messages, retries };
}

const STREAM =
  'retry: 3000\n\nid: 7\nevent: offer_created\ndata: {"id": 7}\n\n: keepalive\n\n' +
  'id: 8\nevent: offer_withdrawn\ndata: {"id": 8}\n\n';

const EXPECTED: SseMessage[] = [
  { event: "offer_created", data: '{"id": 7}', lastEventId: "7" },
  { event: "offer_withdrawn", data: '{"id": 8}', lastEventId: "8" },
];

describe("SseParser", () => {
  it("reads the messages, the retry and skips the keepalive comments", () => {
    expect(parse([STREAM])).toEqual({ messages: EXPECTED, retries: [3000] });
  });

  it("gives the same messages whatever the chunk boundaries", () => {
    for (let size = 1; size <= 7; size += 1) {
      const chunks: string[] = [];
      for (let at = 0; at < STREAM.length; at += size) chunks.push(STREAM.slice(at, at + size));
      expect(parse(chunks)).toEqual({ messages: EXPECTED, retries: [3000] });
    }
  });

  it("dispatches a message only at its blank line", () => {
    const { messages } = parse(["id: 1\nevent: x\ndata: a\n"]);
    expect(messages).toEqual([]);
  });

  it("joins multi-line data with newlines", () => {
    const { messages } = parse(["data: first\ndata:second\ndata\ndata:  indented\n\n"]);
    expect(messages).toEqual([
      { event: "message", data: "first\nsecond\n\n indented", lastEventId: "" },
    ]);
  });

  it("takes CRLF and lone CR line ends, even when a CRLF is split between chunks", () => {
    const { messages, retries } = parse([
      "retry: 500\r",
      "\n\r\nid: 3\r",
      "\nevent: e\rdata: d\r\r",
    ]);
    expect(retries).toEqual([500]);
    expect(messages).toEqual([{ event: "e", data: "d", lastEventId: "3" }]);
  });

  it("keeps the last id for later messages and resets the event type", () => {
    const { messages } = parse(["id: 4\nevent: a\ndata: x\n\ndata: y\n\n"]);
    expect(messages).toEqual([
      { event: "a", data: "x", lastEventId: "4" },
      { event: "message", data: "y", lastEventId: "4" },
    ]);
  });

  it("ignores a retry that is not a number, empty messages and unknown fields", () => {
    const { messages, retries } = parse(["retry: soon\nfoo: bar\n\nid: 9\n\n:x\n\n"]);
    expect(retries).toEqual([]);
    expect(messages).toEqual([]);
  });
});
