// The console's entry: the session check, the top navigation and the hash router
// (#/overview, #/workspace/<crn>, #/plots/<crn>, #/backup/<crn>, #/restore/<backupCrn>,
// #/workflows[/<id>], #/access). Each page renders into <main>.
import { logout, resumeSession, setSessionLostHandler, user } from "./api";
import { h, replace } from "./dom";
import { renderLogin } from "./login";
import { clearPermissions } from "./permissions";
import { renderAccess } from "./pages/access";
import { renderBackup } from "./pages/backup";
import { renderOverview } from "./pages/overview";
import { renderPlots } from "./pages/plots";
import { renderRestore } from "./pages/restore";
import { renderWorkflows } from "./pages/workflows";
import { renderWorkspace } from "./pages/workspace";
import { leavePage } from "./router";

type Page = (main: HTMLElement, arg: string) => void | Promise<void>;

const pages: Record<string, { title: string; render: Page; nav?: boolean }> = {
  overview: { title: "Overview", render: renderOverview, nav: true },
  workspace: { title: "Workspace", render: renderWorkspace },
  plots: { title: "Plots", render: renderPlots },
  backup: { title: "Backup", render: renderBackup },
  restore: { title: "Restore", render: renderRestore, nav: true },
  workflows: { title: "Workflows", render: renderWorkflows, nav: true },
  access: { title: "Access", render: renderAccess, nav: true },
};

function mainEl(): HTMLElement {
  return document.getElementById("main")!;
}

function renderHeader(): void {
  const top = document.getElementById("top")!;
  const u = user();
  if (!u) {
    replace(top, h("div", { class: "brand" }, "mlvault console"));
    return;
  }
  const current = location.hash.replace(/^#\/?/, "").split("/")[0] || "overview";
  replace(
    top,
    h("div", { class: "brand" }, h("a", { href: "#/overview" }, "mlvault console")),
    h(
      "nav",
      { "aria-label": "Main" },
      h(
        "ul",
        {},
        Object.entries(pages)
          .filter(([, p]) => p.nav)
          .map(([k, p]) =>
            h("li", {}, h("a", { href: `#/${k}`, "aria-current": k === current ? "page" : null }, p.title)),
          ),
      ),
    ),
    h(
      "div",
      { class: "who" },
      h("span", { class: "user-name", title: u.userCrn }, u.userName),
      h(
        "button",
        {
          type: "button",
          id: "logout",
          onclick: async () => {
            await logout();
            clearPermissions();
            location.hash = "#/login";
            route();
          },
        },
        "Log out",
      ),
    ),
  );
}

async function route(): Promise<void> {
  leavePage();
  const main = mainEl();
  if (!user()) {
    renderHeader();
    document.title = "Log in · mlvault console";
    renderLogin(main, () => {
      if (location.hash === "" || location.hash.startsWith("#/login")) location.hash = "#/overview";
      else void route();
    });
    return;
  }
  const raw = location.hash.replace(/^#\/?/, "");
  const slash = raw.indexOf("/");
  let key = slash < 0 ? raw : raw.slice(0, slash);
  const arg = slash < 0 ? "" : decodeURIComponent(raw.slice(slash + 1));
  if (!pages[key]) key = "overview";
  renderHeader();
  document.title = `${pages[key].title} · mlvault console`;
  replace(main, h("p", { class: "loading" }, "Loading…"));
  try {
    await pages[key].render(main, arg);
  } catch (e) {
    replace(main, h("h1", {}, pages[key].title), h("p", { class: "error", role: "alert" }, String((e as Error).message ?? e)));
  }
  main.focus({ preventScroll: true });
}

async function start(): Promise<void> {
  setSessionLostHandler(() => {
    clearPermissions();
    void route();
  });
  await resumeSession().catch(() => null);
  window.addEventListener("hashchange", () => void route());
  await route();
}

void start();
