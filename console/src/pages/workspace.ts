// Workspace: volumes, endpoint and tags; its backups (paginated, sizes filled in for the
// visible page only, so 1,000 backups load as fast as 50); "Back up now" with live progress
// and cancel.
import { ApiError, call } from "../api";
import { bytes, clearFieldErrors, field, h, link, replace, section, seconds, showFieldError, statusBadge, table, time } from "../dom";
import { Backup, BackupSummary, ML, Workspace, bytesNew, describeBackup, forgetBackup, listBackups, pool } from "../data";
import { guard } from "../permissions";
import { follow } from "../progress";
import { onLeave } from "../router";

const PAGE = 50;

export async function renderWorkspace(main: HTMLElement, crn: string): Promise<void> {
  const w = (await call<{ workspace: Workspace }>(ML, "describeWorkspace", { workspaceCrn: crn })).workspace;
  const backupsRegion = h("div", { id: "backups" });
  const progressBox = h("div", { id: "backup-progress" });

  replace(
    main,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, link("#/overview", "Overview"), " / ", w.name),
    h("h1", {}, `Workspace ${w.name} `, statusBadge(w.status)),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "CRN"),
      h("dd", { class: "mono" }, w.crn),
      h("dt", {}, "Environment"),
      h("dd", {}, w.environmentName),
      h("dt", {}, "Endpoint"),
      h("dd", {}, w.status === "running" ? link(w.endpoint, w.endpoint, { rel: "noopener", target: "_blank", id: "workspace-endpoint" }) : w.endpoint || "–"),
      h("dt", {}, "Domain"),
      h("dd", { class: "mono" }, w.domain),
      h("dt", {}, "Version"),
      h("dd", {}, w.version),
      h("dt", {}, "Created"),
      h("dd", {}, time(w.createdAt)),
      w.isRestored ? [h("dt", {}, "Restored from"), h("dd", {}, link(`#/backup/${encodeURIComponent(w.restoredFromBackupCrn ?? "")}`, "backup"))] : null,
      h("dt", {}, "Tags"),
      h("dd", {}, w.tags.length ? w.tags.map((t) => h("span", { class: "tag" }, `${t.key}=${t.value}`)) : "none"),
      h("dt", {}, "Vault"),
      h("dd", { class: "mono" }, w.backupMetadata.vaultName),
    ),
    section(
      "Volumes",
      table(
        "Volumes",
        ["Name", "Kind"],
        w.volumes.map((v) => h("tr", {}, h("td", {}, v.name), h("td", {}, v.kind))),
      ),
    ),
    section("Back up now", backupForm(w, progressBox, () => void loadBackups()), progressBox),
    section("Backups", h("p", {}, link(`#/plots/${encodeURIComponent(w.crn)}`, "Plots: vault size, durations, quiesce windows")), backupsRegion),
  );

  let page = 0;
  let all: BackupSummary[] = [];
  const loadBackups = async () => {
    try {
      all = await listBackups(w.crn);
    } catch (e) {
      replace(backupsRegion, h("p", { class: "error", role: "alert" }, (e as ApiError).message));
      return;
    }
    showPage();
  };
  const showPage = () => {
    const pages = Math.max(1, Math.ceil(all.length / PAGE));
    page = Math.min(page, pages - 1);
    const slice = all.slice(page * PAGE, page * PAGE + PAGE);
    const rows = slice.map((b) => backupRow(b));
    const pager = h(
      "div",
      { class: "pager", role: "navigation", "aria-label": "Backup pages" },
      h("button", { type: "button", disabled: page === 0, onclick: () => ((page -= 1), showPage()) }, "Previous"),
      h("span", { id: "page-info" }, `Page ${page + 1} of ${pages} · ${all.length} backups`),
      h("button", { type: "button", disabled: page >= pages - 1, onclick: () => ((page += 1), showPage()) }, "Next"),
    );
    replace(
      backupsRegion,
      all.length
        ? [
            table(
              `Backups of ${w.name}, newest first`,
              ["Name", "Status", "Created", "Creator", "Logical", "Stored", "New", "Quiesced", "Warnings"],
              rows.map((r) => r.tr),
            ),
            pager,
          ]
        : h("p", {}, "No backups yet."),
    );
    // Sizes for the visible rows only.
    void pool(rows, 4, async (r) => {
      try {
        r.fill(await describeBackup(r.crn));
      } catch {
        r.fill(null);
      }
    });
  };
  void loadBackups();
}

function backupRow(b: BackupSummary): { tr: HTMLElement; crn: string; fill: (d: Backup | null) => void } {
  const cells = [0, 1, 2, 3, 4].map(() => h("td", { class: "num" }, "…"));
  const tr = h(
    "tr",
    { "data-backup": b.backupName },
    h("td", {}, link(`#/backup/${encodeURIComponent(b.backupCrn)}`, b.backupName)),
    h("td", {}, statusBadge(b.backupStatus)),
    h("td", {}, time(b.createdAt)),
    h("td", { class: "mono", title: b.creatorCrn }, b.creatorCrn.split(":").pop()!.slice(0, 8)),
    cells,
  );
  return {
    tr,
    crn: b.backupCrn,
    fill: (d) => {
      if (!d) {
        cells.forEach((c) => (c.textContent = "?"));
        return;
      }
      cells[0].textContent = bytes(d.sizes.bytesTotal);
      cells[1].textContent = bytes(d.sizes.bytesStored);
      cells[2].textContent = bytes(bytesNew(d));
      cells[3].textContent = seconds(d.quiescedSeconds);
      cells[4].textContent = String(d.warnings?.length ?? 0);
    },
  };
}

function defaultName(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, "0");
  return `console-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

function backupForm(w: Workspace, progressBox: HTMLElement, refresh: () => void): HTMLElement {
  const name = h("input", { name: "backupName", value: defaultName(), required: true, spellcheck: "false" });
  const submit = h("button", { type: "submit", class: "primary", id: "backup-now" }, "Back up now");
  const status = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "inline-form", "aria-label": "Back up now" }, field("Backup name", name, "backupName", "Unique in this workspace"), submit, status);
  if (w.status === "deleted") submit.disabled = true;
  void guard(submit, "ml:BackupWorkspace", w.crn);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    status.textContent = "";
    submit.disabled = true;
    try {
      const r = await call<{ backupCrn: string; workflowId: string }>(ML, "backupWorkspace", {
        workspaceCrn: w.crn,
        backupName: name.value.trim(),
      });
      refresh();
      const stop = follow(progressBox, r.workflowId, {
        onCancel: () => call(ML, "cancelBackup", { backupCrn: r.backupCrn }).then(() => undefined),
        onEnd: () => {
          submit.disabled = false;
          name.value = defaultName();
          forgetBackup(r.backupCrn);
          progressBox.appendChild(h("p", {}, link(`#/backup/${encodeURIComponent(r.backupCrn)}`, "Open the backup", { id: "open-new-backup" })));
          refresh();
        },
      });
      onLeave(stop);
    } catch (e) {
      const err = e as ApiError;
      const where = err.field === "backupName" || /backup name|backup named/i.test(err.message) ? "backupName" : "";
      if (!(where && showFieldError(form, where, err.atField))) status.textContent = err.message;
      submit.disabled = false;
    }
  });
  return form;
}
