/**
 * Reading one's own writes when the API reads from a replica. The answer to a write that
 * committed carries the primary's WAL position (`X-Phresh-Commit-Position: 0/16B3748`); a GET or
 * HEAD that sends a position back (`X-Phresh-Read-After`) is read from the replica only once it
 * has replayed that far, else from the primary. Without it, a page fetched right after posting a
 * cleaning or accepting an offer could show the state from before.
 *
 * The rule: the furthest position seen in the last POSITION_TTL_MS by any tab of this browser
 * (the same person) is sent with every GET and HEAD, never with a write. Each tab keeps its own
 * in memory and copies it to localStorage, where the others read it at each request: a write in
 * one tab is seen by a read in another, and by a tab opened after it. Without storage (disabled,
 * or full) each tab still reads its own writes.
 *
 * Why positions expire: the server reads from a replica only while it is at most
 * PHRESH_REPLICA_MAX_LAG_MS behind (1 s by default), so a write older than that is on any
 * replica it reads from, header or not. A position kept forever would instead send every read
 * of this browser to the primary once the database was rebuilt with a shorter history (a new
 * cluster's WAL starts again from the beginning).
 *
 * Every call to the API goes through fetchWithPosition: the session's (../auth/session.ts: its
 * token refreshes, and the API client's fetch), and the live events' (../live/stream.ts), whose
 * events the server reads from the primary anyway but whose token check may use the replica.
 */

export const COMMIT_POSITION_HEADER = "X-Phresh-Commit-Position";
export const READ_AFTER_HEADER = "X-Phresh-Read-After";
/**
 * Far longer than the lag a replica is read at (PHRESH_REPLICA_MAX_LAG_MS; see above): a budget
 * set above it would need this raised with it.
 */
export const POSITION_TTL_MS = 10 * 60 * 1000;
const STORAGE_KEY = "phresh-commit-position";
const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD"]);
// A pg_lsn as PostgreSQL writes it: two hexadecimal numbers of at most 8 digits around a slash.
const PG_LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** A position, as the server wrote it (to send back) and as a number (to compare). */
type Seen = { position: string; value: bigint; seenAt: number };

let inThisTab: Seen | null = null;

/**
 * A pg_lsn as one number: the high half times 2^32 plus the low one, so that `0/FF` < `1/0` and
 * `0/9` < `0/10` (a bigint: past 2^53 a number loses the low digits). Null when not a pg_lsn.
 */
export function parsePosition(text: string): bigint | null {
  const match = PG_LSN.exec(text);
  if (match === null) return null;
  const [, high = "", low = ""] = match;
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

function seen(position: string, seenAt: number): Seen | null {
  const value = parsePosition(position);
  return value === null ? null : { position, value, seenAt };
}

/** What another tab (or this one) stored; null when nothing valid is. */
function stored(): Seen | null {
  try {
    const text = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (!text) return null;
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) return null;
    const { position, seenAt } = value as Record<string, unknown>;
    if (typeof position !== "string" || typeof seenAt !== "number") return null;
    return seen(position, seenAt);
  } catch {
    return null; // storage refused (disabled by the browser), or not JSON
  }
}

function store({ position, seenAt }: Seen): void {
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, JSON.stringify({ position, seenAt }));
  } catch {
    // Storage refused or full: this tab still has its own in memory.
  }
}

function current(mark: Seen | null, now: number): Seen | null {
  return mark !== null && now - mark.seenAt <= POSITION_TTL_MS ? mark : null;
}

/** Whether `candidate` goes past `known` (a known position that expired is no more). */
function isFurther(candidate: Seen, known: Seen | null, now: number): boolean {
  const mark = current(known, now);
  return mark === null || candidate.value > mark.value;
}

/** The position reads must have replayed: the furthest current one of every tab; or null. */
function readAfter(): string | null {
  const now = Date.now();
  const mine = current(inThisTab, now);
  const shared = current(stored(), now);
  if (mine === null || shared === null) return (mine ?? shared)?.position ?? null;
  return (shared.value > mine.value ? shared : mine).position;
}

/** Keep the position an answer carries when it is a pg_lsn further than any known. */
function notePosition(response: Response): void {
  const header = response.headers.get(COMMIT_POSITION_HEADER);
  if (header === null) return;
  const now = Date.now();
  const mark = seen(header, now);
  if (mark === null) return; // not a pg_lsn: sent back, the API would refuse the read
  if (isFurther(mark, inThisTab, now)) inThisTab = mark;
  if (isFurther(mark, stored(), now)) store(mark);
}

/** Forget every position, this tab's and the stored one (a fresh start, as in tests). */
export function forgetPositions(): void {
  inThisTab = null;
  try {
    globalThis.localStorage?.removeItem(STORAGE_KEY);
  } catch {
    // Nothing stored, or nothing to store in.
  }
}

function methodOf(input: RequestInfo | URL, init?: RequestInit): string {
  return (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
}

/**
 * `fetch` for every call to the API (the session's, hence the API client's, and the live
 * events'): a GET or HEAD asks to see the furthest write known, and each answer's position is
 * kept. Anything else goes out as given.
 */
export async function fetchWithPosition(
  input: RequestInfo | URL,
  init?: RequestInit,
): Promise<Response> {
  const position = SAFE_METHODS.has(methodOf(input, init)) ? readAfter() : null;
  let response: Response;
  if (position === null) {
    response = await fetch(input, init);
  } else {
    // A GET or HEAD has no body: building it again takes nothing from the caller's request.
    const request = new Request(input, init);
    const headers = new Headers(request.headers);
    headers.set(READ_AFTER_HEADER, position);
    response = await fetch(new Request(request, { headers }));
  }
  notePosition(response);
  return response;
}
