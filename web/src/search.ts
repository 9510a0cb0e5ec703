/** Typed search parameters of the routes: anything malformed in the URL is dropped, never thrown. */

export function optionalString(value: unknown): string | undefined {
  // The router reads `?min=50` as the number 50 and `?q=true` as a boolean: a typed or
  // shared URL keeps what it says.
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return String(value);
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

export function optionalEnum<T extends string>(
  value: unknown,
  allowed: readonly T[],
): T | undefined {
  return typeof value === "string" && (allowed as readonly string[]).includes(value)
    ? (value as T)
    : undefined;
}

/** Where to go after logging in: only a path of this site, never another origin. */
export function safeNext(value: unknown): string | undefined {
  // Browsers read a backslash as a slash and drop tabs: "/\host" and "/<tab>/host" are "//host".
  if (typeof value !== "string" || !value.startsWith("/") || value.startsWith("//")) {
    return undefined;
  }
  const unsafe = [...value].some((char) => char === "\\" || char.charCodeAt(0) < 0x20);
  return unsafe ? undefined : value;
}
