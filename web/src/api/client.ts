import createClient from "openapi-fetch";
import { authFetch } from "../auth/session";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

/** The typed client of Phresh's API, generated from its OpenAPI document (`make web-api`). */
// Absolute URLs of this origin: what the browser does with relative ones, and what Node needs.
export const api = createClient<paths>({ baseUrl: globalThis.location.origin, fetch: authFetch });

/** An answer of the API that is not a success, with its problem document. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(status: number, problem: Problem) {
    super(problem.detail || problem.title);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }

  /** The message of the problem for one field, if the API named it, in a person's words. */
  fieldError(field: string): string | undefined {
    const message = this.problem.errors?.find((error) => error.field === field)?.message;
    return message === undefined ? undefined : readable(message);
  }
}

const FIELD_NAMES: Record<string, string> = {
  min_price: "the minimum price",
  max_price: "the maximum price",
};

/**
 * The API's validation messages are written for programmers (pydantic's, with field names and
 * patterns); the ones people meet are said again plainly, the rest capitalised.
 */
export function readable(message: string): string {
  const atLeast = /^String should have at least (\d+) characters?$/.exec(message);
  if (atLeast) return atLeast[1] === "1" ? "Required." : `At least ${atLeast[1]} characters.`;
  const atMost = /^String should have at most (\d+) characters?$/.exec(message);
  if (atMost) return `At most ${atMost[1]} characters.`;
  if (message.startsWith("String should match pattern")) return "Not in the expected form.";
  if (message.startsWith("URL scheme should be")) return "Must start with http:// or https://.";
  const email = /^value is not a valid email address: (.*)$/.exec(message);
  if (email) return `Not a valid email address. ${email[1]}`;
  const named = message.replace(/\b(min_price|max_price)\b/g, (name) => FIELD_NAMES[name] ?? name);
  const sentence = named.charAt(0).toUpperCase() + named.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && "title" in value && "status" in value;
}

function toError(response: Response, error: unknown): ApiError {
  if (isProblem(error)) return new ApiError(response.status, error);
  return new ApiError(response.status, {
    type: "about:blank",
    title: response.statusText || "Request failed",
    status: response.status,
    detail:
      response.status >= 500
        ? "The server could not answer. Try again in a moment."
        : "The request failed.",
  });
}

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The data of a successful answer; an `ApiError` carrying the problem document otherwise. */
export function unwrap<T>(result: Result<T>): T {
  if (result.error !== undefined || !result.response.ok) {
    throw toError(result.response, result.error);
  }
  return result.data as T;
}

/** For answers with no body (204, 202). */
export function ensureOk(result: Result<unknown>): void {
  if (!result.response.ok) throw toError(result.response, result.error);
}

/** A message a person can read, whatever was thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return "Phresh cannot be reached. Check your connection.";
  return "Something went wrong.";
}
