// Workflows: a live list with progress, and a timeline per workflow (phases with durations).
// The server has no list-workflows operation yet (docs/console.md): the list is built from the
// workspaces' backups that are active or recent, and the workflows started in this browser.
import { ApiError, call } from "../api";
import { age, bytes, h, link, replace, section, seconds, statusBadge, table, time } from "../dom";
import { ML, WorkspaceSummary, describeBackup, listBackups, pool } from "../data";
import { FINAL, Workflow, follow, knownWorkflows } from "../progress";
import { onLeave } from "../router";

const RECENT = 5; // newest backups per workspace whose workflows are listed

async function collect(): Promise<string[]> {
  const ids = new Set(knownWorkflows());
  try {
    const r = await call<{ workflows: Workflow[] }>(ML, "listWorkflows", {});
    r.workflows.forEach((w) => ids.add(w.workflowId));
    return [...ids];
  } catch (e) {
    if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 400)) throw e;
  }
  const ws = (await call<{ workspaces: WorkspaceSummary[] }>(ML, "listWorkspaces")).workspaces;
  await pool(ws, 3, async (w) => {
    try {
      const bs = await listBackups(w.crn);
      const pick = bs.filter((b, i) => i < RECENT || !["succeeded", "failed", "cancelled", "deleted"].includes(b.backupStatus));
      for (const b of pick) {
        const d = await describeBackup(b.backupCrn);
        ids.add(d.workflowId);
        if (d.deleteWorkflowId) ids.add(d.deleteWorkflowId);
      }
    } catch {
      // Backups this user may not list are left out.
    }
  });
  return [...ids];
}

export async function renderWorkflows(main: HTMLElement, id: string): Promise<void> {
  if (id) return renderTimeline(main, id);
  const region = h("div", { id: "workflow-list" });
  replace(
    main,
    h("h1", {}, "Workflows"),
    h("p", { class: "hint" }, "Active and recent backup, restore and delete workflows; refreshed every 2 seconds."),
    region,
  );
  const ids = await collect();
  let stopped = false;
  onLeave(() => (stopped = true));
  const refresh = async () => {
    if (stopped) return;
    const flows = (
      await pool(ids, 4, (wid) =>
        call<{ workflow: Workflow }>(ML, "describeWorkflow", { workflowId: wid }).then(
          (r) => r.workflow,
          () => null,
        ),
      )
    ).filter((w): w is Workflow => w !== null);
    flows.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    replace(
      region,
      flows.length
        ? table(
            "Workflows, newest first",
            ["Workflow", "Kind", "Status", "Phase", "Progress", "Created", "Resource"],
            flows.map((w) => {
              const p = w.progress;
              const pct = p?.percent ?? (p?.bytesTotal ? (100 * p.bytesDone) / p.bytesTotal : w.status === "succeeded" ? 100 : 0);
              return h(
                "tr",
                { "data-workflow": w.workflowId },
                h("td", {}, link(`#/workflows/${w.workflowId}`, w.workflowId.slice(0, 8), { class: "mono", "aria-label": `Workflow ${w.workflowId}` })),
                h("td", {}, w.kind),
                h("td", {}, statusBadge(w.status)),
                h("td", {}, p?.phase || "–"),
                h("td", {}, h("progress", { max: 100, value: pct.toFixed(1), "aria-label": `${w.kind} ${w.workflowId.slice(0, 8)} progress` }), ` ${bytes(p?.bytesDone)}`),
                h("td", {}, h("time", { datetime: w.createdAt, title: time(w.createdAt) }, age(w.createdAt))),
                h("td", { class: "mono", title: w.resourceCrn }, w.resourceCrn.split(":").slice(-2).join(":")),
              );
            }),
          )
        : h("p", {}, "No workflows to show."),
    );
    if (!stopped) setTimeout(refresh, flows.some((w) => !FINAL.has(w.status)) ? 2000 : 5000);
  };
  await refresh();
}

interface Span {
  name: string;
  seconds: number;
}

// Phase durations: the queue wait and the run from the workflow's timestamps, and for backups
// the phases the backup recorded in its timings (numbers named *Seconds or {seconds}).
function spans(w: Workflow, timings: Record<string, unknown> | null): Span[] {
  const out: Span[] = [];
  const t = (s: string | null) => (s ? Date.parse(s) : NaN);
  const c = t(w.createdAt);
  const s = t(w.startedAt);
  const f = t(w.finishedAt ?? (FINAL.has(w.status) ? w.updatedAt : null));
  if (!Number.isNaN(s)) out.push({ name: "queued", seconds: (s - c) / 1000 });
  if (timings) {
    for (const [k, v] of Object.entries(timings)) {
      if (typeof v === "number") out.push({ name: k.replace(/Seconds$/, ""), seconds: v });
      else if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        const sec = o.seconds ?? o.durationSeconds;
        if (typeof sec === "number") out.push({ name: k, seconds: sec });
      }
    }
  }
  if (!Number.isNaN(s)) out.push({ name: FINAL.has(w.status) ? "run (total)" : "running so far", seconds: ((Number.isNaN(f) ? Date.now() : f) - s) / 1000 });
  return out;
}

async function renderTimeline(main: HTMLElement, id: string): Promise<void> {
  const w = (await call<{ workflow: Workflow }>(ML, "describeWorkflow", { workflowId: id })).workflow;
  let timings: Record<string, unknown> | null = null;
  let backupLink: Node | null = null;
  if (w.resourceCrn.includes(":workspace_backup:")) {
    try {
      const b = await describeBackup(w.resourceCrn);
      if (b.workflowId === id) timings = b.timings;
      backupLink = link(`#/backup/${encodeURIComponent(b.backupCrn)}`, `backup ${b.backupName}`);
    } catch {
      // No access to the backup: the workflow's own timestamps still make a timeline.
    }
  }
  const sp = spans(w, timings);
  const max = Math.max(...sp.map((x) => x.seconds), 0.001);
  const live = h("div", { id: "workflow-live" });
  replace(
    main,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, link("#/workflows", "Workflows"), " / ", id.slice(0, 8)),
    h("h1", {}, `Workflow ${w.kind} `, statusBadge(w.status)),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Id"),
      h("dd", { class: "mono" }, w.workflowId),
      h("dt", {}, "Resource"),
      h("dd", { class: "mono" }, backupLink ?? w.resourceCrn),
      h("dt", {}, "Created"),
      h("dd", {}, time(w.createdAt)),
      h("dt", {}, "Started"),
      h("dd", {}, time(w.startedAt)),
      h("dt", {}, "Finished"),
      h("dd", {}, time(w.finishedAt)),
    ),
    live,
    section(
      "Timeline",
      h(
        "ol",
        { class: "timeline" },
        sp.map((x) =>
          h(
            "li",
            {},
            h("span", { class: "tl-name" }, x.name),
            h("meter", { min: 0, max: max, value: Math.max(0, x.seconds), "aria-label": `${x.name}: ${seconds(x.seconds)}` }),
            h("span", { class: "tl-dur" }, seconds(x.seconds)),
          ),
        ),
      ),
    ),
    w.error ? h("p", { class: "error", role: "alert" }, `${w.error.code}: ${w.error.message}`) : null,
    w.warnings?.length ? section("Warnings", h("ul", {}, w.warnings.map((x) => h("li", {}, typeof x === "string" ? x : JSON.stringify(x))))) : null,
    section("Output", h("pre", { class: "json" }, JSON.stringify(w.output ?? {}, null, 2))),
  );
  if (!FINAL.has(w.status)) onLeave(follow(live, id, { onEnd: () => void renderTimeline(main, id) }));
}
