// Overview: environments, workspaces with status, last successful backup and its age,
// protected / at risk for a chosen period, and the total vault size.
import { call } from "../api";
import { age, bytes, h, link, replace, section, statusBadge, table, time } from "../dom";
import { onLeave } from "../router";
import { ENV, Environment, ML, VAULT_SIZE_LIMIT, Workspace, WorkspaceSummary, pool, vaultSize } from "../data";

const PERIODS: [string, number][] = [
  ["24 hours", 24],
  ["7 days", 24 * 7],
  ["30 days", 24 * 30],
];

export async function renderOverview(main: HTMLElement): Promise<void> {
  const [envs, list] = await Promise.all([
    call<{ environments: Environment[] }>(ENV, "listEnvironments"),
    call<{ workspaces: WorkspaceSummary[] }>(ML, "listWorkspaces"),
  ]);
  const live = list.workspaces.filter((w) => w.status !== "deleted");
  const described = await pool(live, 6, (w) =>
    call<{ workspace: Workspace }>(ML, "describeWorkspace", { workspaceCrn: w.crn }).then((r) => r.workspace),
  );

  const period = h(
    "select",
    { id: "period", name: "period" },
    PERIODS.map(([label, hours]) => h("option", { value: hours, selected: hours === 24 }, label)),
  );
  const summary = h("p", { class: "summary", id: "protection-summary", "aria-live": "polite" });
  const wsRegion = h("div");
  const sizeOut = h("output", { id: "total-vault-size", for: "" }, "computing…");

  const renderWorkspaces = () => {
    const hours = Number(period.value);
    const cutoff = Date.now() - hours * 3600 * 1000;
    let atRisk = 0;
    const rows = described.map((w) => {
      const last = w.backupMetadata.lastSucceededBackupAt ?? null;
      const ok = last !== null && Date.parse(last) >= cutoff;
      if (!ok) atRisk++;
      return h(
        "tr",
        { "data-workspace": w.name },
        h("td", {}, link(`#/workspace/${encodeURIComponent(w.crn)}`, w.name)),
        h("td", {}, w.environmentName),
        h("td", {}, statusBadge(w.status)),
        h("td", {}, last ? h("time", { datetime: last, title: time(last) }, age(last)) : "never"),
        h("td", {}, String(w.backupMetadata.backupCount)),
        h("td", {}, h("span", { class: ok ? "badge s-succeeded" : "badge s-failed" }, ok ? "protected" : "at risk")),
      );
    });
    summary.textContent = `${described.length - atRisk} of ${described.length} workspaces protected; ${atRisk} at risk (no successful backup in the last ${period.selectedOptions[0].textContent}).`;
    replace(
      wsRegion,
      described.length
        ? table("Workspaces", ["Workspace", "Environment", "Status", "Last successful backup", "Backups", "Protection"], rows)
        : h("p", {}, "No workspaces yet. Create one with mlvault create-workspace."),
    );
  };
  period.addEventListener("change", renderWorkspaces);
  renderWorkspaces();

  replace(
    main,
    h("h1", {}, "Overview"),
    h(
      "div",
      { class: "cards" },
      h("div", { class: "card" }, h("span", { class: "k" }, "Environments"), h("span", { class: "v" }, String(envs.environments.length))),
      h("div", { class: "card" }, h("span", { class: "k" }, "Workspaces"), h("span", { class: "v" }, String(described.length))),
      h("div", { class: "card" }, h("label", { class: "k", for: "total-vault-size" }, "Total vault size (stored)"), h("span", { class: "v" }, sizeOut)),
    ),
    section(
      "Workspaces",
      h("div", { class: "toolbar" }, h("label", { for: "period" }, "At risk when no successful backup in the last"), period),
      summary,
      wsRegion,
    ),
    section(
      "Environments",
      table(
        "Environments",
        ["Name", "Region", "Workspaces", "Storage root", "Created"],
        envs.environments.map((e) =>
          h(
            "tr",
            {},
            h("td", {}, e.name),
            h("td", {}, e.region),
            h("td", {}, String(e.workspaceCount ?? live.filter((w) => w.environmentName === e.name).length)),
            h("td", { class: "mono" }, e.storageRoot),
            h("td", {}, time(e.createdAt)),
          ),
        ),
      ),
    ),
  );

  // Vault sizes take one describe per backup: fill them in after the page is shown.
  const all = list.workspaces;
  let stored = 0;
  let logical = 0;
  let done = 0;
  let partial = false;
  let left = false;
  onLeave(() => (left = true));
  await pool(all, 2, async (w) => {
    if (left) return;
    try {
      const s = await vaultSize(w.crn, () => left);
      stored += s.stored;
      logical += s.logical;
      partial ||= s.partial;
    } catch {
      // A workspace whose backups the user may not list adds nothing.
    }
    done++;
    sizeOut.textContent = `${partial ? "at least " : ""}${bytes(stored)}${done < all.length ? ` (${done} of ${all.length} vaults counted)` : ""}`;
    sizeOut.title = `${bytes(logical)} logical in the backups kept${partial ? `; the newest ${VAULT_SIZE_LIMIT} backups of each workspace counted` : ""}`;
  });
  if (!all.length) sizeOut.textContent = bytes(0);
}
