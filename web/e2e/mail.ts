/**
 * The mail Phresh really sent: the e2e stack's SMTP server writes each message it receives to
 * $E2E_DIR/mail as 000001.eml, 000002.eml, ... (sorting the names gives the arrival order).
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repository = fileURLToPath(new URL("../..", import.meta.url));
export const mailDir = path.join(
  path.resolve(repository, process.env.E2E_DIR ?? "var/e2e"),
  "mail",
);

export type Mail = { file: string; to: string; subject: string; text: string };
export type LinkKind = "verify-email" | "reset-password";

/** Headers (unfolded, lower-case names) and body of one MIME entity. */
function splitEntity(raw: string): { headers: Map<string, string>; body: string } {
  const end = raw.indexOf("\n\n");
  const head = end === -1 ? raw : raw.slice(0, end);
  const body = end === -1 ? "" : raw.slice(end + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, " ").split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0)
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function decodeQuotedPrintable(text: string): string {
  const joined = text.replace(/=\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === "=" && /^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i] ?? "", "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

function decodeBody(headers: Map<string, string>, body: string): string {
  const encoding = (headers.get("content-transfer-encoding") ?? "").toLowerCase();
  if (encoding === "quoted-printable") return decodeQuotedPrintable(body);
  if (encoding === "base64") return Buffer.from(body.replace(/\s/g, ""), "base64").toString("utf8");
  return body;
}

/** The text/plain part of a message (the whole body when it is not multipart). */
function textPart(headers: Map<string, string>, body: string): string {
  const type = headers.get("content-type") ?? "text/plain";
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!type.toLowerCase().startsWith("multipart/") || boundary === undefined) {
    return decodeBody(headers, body);
  }
  for (const chunk of body.split(`--${boundary}`).slice(1)) {
    if (chunk.startsWith("--")) break;
    const part = splitEntity(chunk.replace(/^\n/, ""));
    const partType = part.headers.get("content-type") ?? "text/plain";
    if (partType.toLowerCase().startsWith("multipart/")) {
      const nested = textPart(part.headers, part.body);
      if (nested) return nested;
    } else if (partType.toLowerCase().startsWith("text/plain")) {
      return decodeBody(part.headers, part.body);
    }
  }
  return "";
}

export function parseMail(file: string, raw: string): Mail {
  const { headers, body } = splitEntity(raw.replace(/\r\n/g, "\n"));
  return {
    file,
    to: headers.get("to") ?? "",
    subject: headers.get("subject") ?? "",
    text: textPart(headers, body),
  };
}

async function mailsNewestFirst(): Promise<string[]> {
  try {
    const names = await readdir(mailDir);
    return names
      .filter((name) => name.endsWith(".eml"))
      .sort()
      .reverse();
  } catch {
    return [];
  }
}

function linkIn(mail: Mail, kind: LinkKind, publicUrl: string): string | undefined {
  const escaped = publicUrl.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`${escaped}/${kind}\\?token=[\\w-]+`).exec(mail.text)?.[0];
}

/**
 * The link of the newest mail to `recipient` that holds a `kind` link to `publicUrl`, as
 * its text part says; polled for up to `timeoutMs` (the worker delivers within a second).
 */
export async function mailLink(
  recipient: string,
  kind: LinkKind,
  publicUrl: string,
  { timeoutMs = 10_000, skip = new Set<string>() }: { timeoutMs?: number; skip?: Set<string> } = {},
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const wanted = recipient.toLowerCase();
  for (;;) {
    for (const file of await mailsNewestFirst()) {
      if (skip.has(file)) continue;
      const mail = parseMail(file, await readFile(path.join(mailDir, file), "utf8"));
      if (!mail.to.toLowerCase().includes(wanted)) continue;
      const link = linkIn(mail, kind, publicUrl);
      if (link !== undefined) return link;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `no mail to ${recipient} with a ${kind} link in ${mailDir} within ${timeoutMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The names of the mails received so far (to wait for a newer one than these). */
export async function mailsSoFar(): Promise<Set<string>> {
  return new Set(await mailsNewestFirst());
}
