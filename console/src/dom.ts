// DOM building and formatting helpers shared by every page. No framework: h() makes an element,
// pages rebuild their region when data changes.

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

// h("button", {class: "primary", onclick: f}, "Back up now")
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v as EventListener);
    } else if (k === "value" && "value" in el) {
      (el as HTMLInputElement).value = String(v);
    } else if (v === true) {
      el.setAttribute(k, "");
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

let idCounter = 0;
export function uid(prefix: string): string {
  return `${prefix}-${++idCounter}`;
}

// A labelled form control: <div class=field><label for>…</label>control<p class=error></div>.
// `name` is the request field path the server's errors name (error.field).
export function field(label: string, control: HTMLElement, name: string, hint?: string): HTMLElement {
  const id = control.id || uid("f");
  control.id = id;
  control.setAttribute("data-field", name);
  const err = h("p", { class: "field-error", id: `${id}-error`, "aria-live": "polite" });
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  control.setAttribute("aria-describedby", [hintEl ? `${id}-hint` : "", `${id}-error`].join(" ").trim());
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl, err);
}

// Shows `message` at the control whose data-field is `name` (or the closest enclosing path).
// Returns false when no control names that field.
export function showFieldError(root: Element, name: string, message: string): boolean {
  let path = name;
  for (;;) {
    const control = root.querySelector<HTMLElement>(`[data-field="${CSS.escape(path)}"]`);
    if (control) {
      control.setAttribute("aria-invalid", "true");
      const err = document.getElementById(`${control.id}-error`);
      if (err) err.textContent = message;
      control.focus();
      return true;
    }
    const cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
    if (cut <= 0) return false;
    path = path.slice(0, cut);
  }
}

export function clearFieldErrors(root: Element): void {
  root.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
  root.querySelectorAll(".field-error").forEach((e) => (e.textContent = ""));
}

export function toast(message: string): void {
  const t = document.getElementById("toast");
  if (t) t.textContent = message;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined || Number.isNaN(s)) return "–";
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, (now - t) / 1000);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return "–";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function statusBadge(status: string): HTMLElement {
  return h("span", { class: `badge s-${status}` }, status);
}

export function link(href: string, text: string, attrs: Attrs = {}): HTMLAnchorElement {
  return h("a", { href, ...attrs }, text);
}

// A table with a caption (for screen readers) and a header row.
export function table(caption: string, headers: string[], rows: Node[]): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", { class: "sr-only" }, caption),
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows),
    ),
  );
}

export function section(title: string, ...children: Child[]): HTMLElement {
  const id = uid("s");
  return h("section", { "aria-labelledby": id }, h("h2", { id }, title), ...children);
}
