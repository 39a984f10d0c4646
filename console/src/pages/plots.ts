// Plots of one workspace's backups (uPlot): vault size over time (logical vs stored, and the
// dedup ratio), backup duration and quiesce window per backup, bytes new per backup.
import uPlot from "uplot";
import { call } from "../api";
import { bytes, h, link, replace, section, seconds } from "../dom";
import { Backup, ML, Workspace, bytesNew, describeBackup, durationOf, listBackups, pool } from "../data";
import { onLeave } from "../router";

const MAX = 300; // newest backups plotted (one describe each)

function width(el: HTMLElement): number {
  return Math.max(300, Math.min(1100, el.clientWidth || 800));
}

function bytesAxis(): uPlot.Axis {
  return { values: (_u, vals) => vals.map((v) => bytes(v)), size: 80 };
}

export async function renderPlots(main: HTMLElement, crn: string): Promise<void> {
  const w = (await call<{ workspace: Workspace }>(ML, "describeWorkspace", { workspaceCrn: crn })).workspace;
  const list = (await listBackups(crn)).filter((b) => b.backupStatus === "succeeded").slice(0, MAX).reverse();
  const status = h("p", { "aria-live": "polite" }, `Reading ${list.length} backups…`);
  replace(
    main,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, link("#/overview", "Overview"), " / ", link(`#/workspace/${encodeURIComponent(crn)}`, w.name), " / plots"),
    h("h1", {}, `Plots of ${w.name}`),
    status,
  );
  let left = false;
  onLeave(() => (left = true));
  const got = await pool(list, 4, (b) => (left ? Promise.resolve(null) : describeBackup(b.backupCrn)));
  if (left) return;
  const backups = got.filter((b): b is Backup => b !== null);
  if (!backups.length) {
    status.textContent = "No successful backups yet: nothing to plot.";
    return;
  }
  status.textContent = `${backups.length} successful backups${list.length === MAX ? ` (the newest ${MAX})` : ""}. Sizes are what each backup added to the vault when it ran, summed over the backups kept.`;

  const x = backups.map((b) => Date.parse(b.createdAt) / 1000);
  let cumStored = 0;
  let cumLogical = 0;
  const stored: number[] = [];
  const logical: number[] = [];
  const ratio: number[] = [];
  for (const b of backups) {
    cumStored += b.sizes.bytesStored;
    cumLogical += b.sizes.bytesTotal;
    stored.push(cumStored);
    logical.push(cumLogical);
    ratio.push(cumStored > 0 ? cumLogical / cumStored : 0);
  }
  const plots: uPlot[] = [];
  const box = (id: string, title: string, summary: string) => {
    const div = h("div", { class: "plot", id, role: "img", "aria-label": `${title}. ${summary}` });
    main.appendChild(section(title, h("p", { class: "plot-summary" }, summary), div));
    return div;
  };
  const last = backups[backups.length - 1];

  const sizeBox = box(
    "plot-vault-size",
    "Vault size over time",
    `Now ${bytes(cumLogical)} logical in ${bytes(cumStored)} stored: dedup and compression ratio ${ratio[ratio.length - 1].toFixed(1)}×.`,
  );
  plots.push(
    new uPlot(
      {
        width: width(sizeBox),
        height: 260,
        series: [
          {},
          { label: "Logical", stroke: "#2b6cb0", width: 2, value: (_u, v) => bytes(v) },
          { label: "Stored", stroke: "#c05621", width: 2, value: (_u, v) => bytes(v) },
          { label: "Dedup ratio", stroke: "#2f855a", dash: [4, 4], scale: "ratio", value: (_u, v) => (v === null ? "–" : `${v.toFixed(2)}×`) },
        ],
        axes: [{}, bytesAxis(), { scale: "ratio", side: 1, grid: { show: false }, values: (_u, vals) => vals.map((v) => `${v}×`) }],
      },
      [x, logical, stored, ratio],
      sizeBox,
    ),
  );

  const durBox = box(
    "plot-durations",
    "Backup duration and quiesce window",
    `Last backup: ${seconds(durationOf(last))}, quiesced ${seconds(last.quiescedSeconds)}.`,
  );
  plots.push(
    new uPlot(
      {
        width: width(durBox),
        height: 220,
        series: [
          {},
          { label: "Duration (s)", stroke: "#2b6cb0", width: 2, points: { show: true } },
          { label: "Quiesce window (s)", stroke: "#c53030", width: 2, points: { show: true } },
        ],
      },
      [x, backups.map((b) => durationOf(b)), backups.map((b) => b.quiescedSeconds)],
      durBox,
    ),
  );

  const newBox = box("plot-bytes-new", "Bytes new per backup", `Last backup added ${bytes(bytesNew(last))} of new data.`);
  plots.push(
    new uPlot(
      {
        width: width(newBox),
        height: 220,
        series: [{}, { label: "New bytes", stroke: "#6b46c1", fill: "rgba(107,70,193,0.15)", width: 2, points: { show: true }, value: (_u, v) => bytes(v) }],
        axes: [{}, bytesAxis()],
      },
      [x, backups.map((b) => bytesNew(b))],
      newBox,
    ),
  );

  const resize = () => plots.forEach((p) => p.setSize({ width: width(p.root.parentElement as HTMLElement), height: p.height }));
  window.addEventListener("resize", resize);
  onLeave(() => {
    window.removeEventListener("resize", resize);
    plots.forEach((p) => p.destroy());
  });
}
