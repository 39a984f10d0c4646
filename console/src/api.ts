// The console's only way to the server: the console session endpoints and
// POST /api/v1/<service>/<operation> with the session cookie and the CSRF token
// (docs/console.md, "Operations the console uses"). The console never reads the catalog.

export interface User {
  userName: string;
  userCrn: string;
  accountId: string;
}

interface SessionBody {
  user: User;
  csrfToken: string;
}

// An error answer {"error": {"code", "message", "field"}} with its HTTP status.
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public field = "",
  ) {
    super(message);
  }
  // The message without the "<field>: " prefix the server puts before it (shown at the field).
  get atField(): string {
    const p = `${this.field}: `;
    return this.field && this.message.startsWith(p) ? this.message.slice(p.length) : this.message;
  }
}

let csrfToken = "";
let currentUser: User | null = null;
let onSessionLost: () => void = () => {};

export function user(): User | null {
  return currentUser;
}

export function setSessionLostHandler(f: () => void): void {
  onSessionLost = f;
}

async function post(path: string, body: unknown, csrf: boolean): Promise<Response> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (csrf) headers["X-CSRF-Token"] = csrfToken;
  return fetch(path, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
}

async function errorOf(r: Response): Promise<ApiError> {
  let code = `http-${r.status}`;
  let message = `${r.status} ${r.statusText}`;
  let field = "";
  try {
    const j = await r.json();
    if (j && j.error) {
      code = j.error.code ?? code;
      message = j.error.message ?? message;
      field = j.error.field ?? "";
    }
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(r.status, code, message, field);
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

// Calls one operation. Resolves with its JSON answer; rejects with an ApiError. A 429 (rate
// limited) is retried after the server's Retry-After, up to 5 times: reads are safe to repeat,
// and a refused mutating call was not carried out.
export async function call<T = any>(service: string, operation: string, body: object = {}): Promise<T> {
  let r: Response;
  for (let attempt = 0; ; attempt++) {
    try {
      r = await post(`/api/v1/${service}/${operation}`, body, true);
    } catch (e) {
      throw new ApiError(0, "unavailable", `the server did not answer (${String(e)}); check that mlvault server runs`);
    }
    if (r.status !== 429 || attempt >= 5) break;
    await sleep(Math.max(1, Number(r.headers.get("Retry-After")) || 1) * 1000);
  }
  if (r.status === 401) {
    currentUser = null;
    onSessionLost();
    throw await errorOf(r);
  }
  if (!r.ok) throw await errorOf(r);
  return (await r.json()) as T;
}

// ---------------------------------------------------------------- console session

export async function resumeSession(): Promise<User | null> {
  const r = await fetch("/api/v1/console/session", { credentials: "same-origin", cache: "no-store" });
  if (!r.ok) return null;
  const s = (await r.json()) as SessionBody;
  csrfToken = s.csrfToken;
  currentUser = s.user;
  return s.user;
}

export async function challenge(accessKeyId: string): Promise<string> {
  const r = await post("/api/v1/console/challenge", { accessKeyId }, false);
  if (!r.ok) throw await errorOf(r);
  return ((await r.json()) as { challenge: string }).challenge;
}

export async function login(accessKeyId: string, challengeText: string, signature: string): Promise<User> {
  const r = await post("/api/v1/console/login", { accessKeyId, challenge: challengeText, signature }, false);
  if (!r.ok) throw await errorOf(r);
  const s = (await r.json()) as SessionBody;
  csrfToken = s.csrfToken;
  currentUser = s.user;
  return s.user;
}

export async function logout(): Promise<void> {
  await post("/api/v1/console/logout", {}, true).catch(() => undefined);
  csrfToken = "";
  currentUser = null;
}
