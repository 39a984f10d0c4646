// Backup: recovery points, statistics, timings, warnings; verify (optionally reading every
// chunk back) with the result; delete, confirmed by typing the backup name; restore.
import { ApiError, call } from "../api";
import { bytes, field, h, link, replace, section, seconds, statusBadge, table, time } from "../dom";
import { Backup, ML, bytesNew, describeBackup, durationOf, forgetBackup } from "../data";
import { guard } from "../permissions";
import { follow } from "../progress";
import { onLeave } from "../router";

interface VerifyAnswer {
  ok: boolean;
  readData: boolean;
  recoveryPoints: { volume: string; recoveryPointId: string; ok: boolean }[];
  packs: number;
  chunks: number;
  bytesRead: number;
  damaged: { object: string; problem: string; affected: string[] }[];
  durationSeconds: number;
}

export async function renderBackup(main: HTMLElement, crn: string): Promise<void> {
  const b = await describeBackup(crn, true);
  const wsHref = `#/workspace/${encodeURIComponent(b.workspaceCrn)}`;
  const live = h("div", { id: "backup-live" });
  const restore = h("a", { href: `#/restore/${encodeURIComponent(b.backupCrn)}`, class: "button primary", id: "restore-link" }, "Restore into a new workspace");
  replace(
    main,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, link("#/overview", "Overview"), " / ", link(wsHref, b.workspaceName ?? "workspace"), " / ", b.backupName),
    h("h1", {}, `Backup ${b.backupName} `, statusBadge(b.backupStatus)),
    b.backupStatus === "succeeded" ? h("p", {}, restore) : null,
    live,
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "CRN"),
      h("dd", { class: "mono" }, b.backupCrn),
      h("dt", {}, "Created"),
      h("dd", {}, time(b.createdAt)),
      h("dt", {}, "Creator"),
      h("dd", { class: "mono" }, b.creatorCrn),
      h("dt", {}, "Environment"),
      h("dd", {}, b.environmentName),
      h("dt", {}, "Vault"),
      h("dd", { class: "mono" }, b.vaultName),
      h("dt", {}, "Workspace version"),
      h("dd", {}, b.workspaceVersionAtBackup),
      h("dt", {}, "Duration"),
      h("dd", {}, seconds(durationOf(b))),
      h("dt", {}, "Quiesce window"),
      h("dd", { id: "quiesce-window" }, seconds(b.quiescedSeconds)),
      h("dt", {}, "Logical size"),
      h("dd", {}, `${bytes(b.sizes.bytesTotal)} in ${b.sizes.filesTotal} files`),
      h("dt", {}, "Added to the vault"),
      h("dd", {}, `${bytes(b.sizes.bytesStored)} stored (${bytes(bytesNew(b))} new data before compression)`),
      h("dt", {}, "Workflow"),
      h("dd", {}, link(`#/workflows/${b.workflowId}`, b.workflowId, { class: "mono" })),
    ),
    b.error ? h("p", { class: "error", role: "alert" }, `${b.error.code}: ${b.error.message}`) : null,
    section(
      "Warnings",
      b.warnings?.length ? h("ul", { class: "warnings" }, b.warnings.map((x) => h("li", {}, typeof x === "string" ? x : JSON.stringify(x)))) : h("p", {}, "None."),
    ),
    section(
      "Recovery points",
      table(
        "Recovery points, one per volume",
        ["Volume", "Kind", "Id", "Logical", "Files", "Read (all passes)", "New", "Stored", "Unchanged files", "Duration"],
        b.recoveryPoints.map((rp) =>
          h(
            "tr",
            {},
            h("td", {}, rp.volume),
            h("td", {}, rp.kind),
            h("td", { class: "mono", title: rp.recoveryPointId }, rp.recoveryPointId.slice(0, 12)),
            h("td", { class: "num" }, bytes(rp.bytesTotal)),
            h("td", { class: "num" }, String(rp.files)),
            h("td", { class: "num" }, bytes(rp.bytesReadAllPasses)),
            h("td", { class: "num" }, bytes(rp.bytesNew)),
            h("td", { class: "num" }, bytes(rp.bytesStored)),
            h("td", { class: "num" }, String(rp.filesUnchanged)),
            h("td", { class: "num" }, seconds(rp.durationSeconds)),
          ),
        ),
      ),
    ),
    section("Timings", h("pre", { class: "json" }, JSON.stringify(b.timings ?? {}, null, 2))),
    section("Verify", verifyForm(b)),
    section("Delete", deleteForm(b, wsHref)),
  );
  if (!["succeeded", "failed", "cancelled", "deleted"].includes(b.backupStatus)) {
    const wf = b.backupStatus === "deleting" && b.deleteWorkflowId ? b.deleteWorkflowId : b.workflowId;
    onLeave(
      follow(live, wf, {
        onCancel: b.backupStatus === "deleting" ? undefined : () => call(ML, "cancelBackup", { backupCrn: b.backupCrn }).then(() => undefined),
        onEnd: () => {
          forgetBackup(b.backupCrn);
          void renderBackup(main, crn);
        },
      }),
    );
  }
}

function verifyForm(b: Backup): HTMLElement {
  const readData = h("input", { type: "checkbox", name: "readData", id: "verify-read-data" });
  const button = h("button", { type: "button", id: "verify" }, "Verify");
  const out = h("div", { id: "verify-result", "aria-live": "polite" });
  void guard(button, "ml:VerifyBackup", b.backupCrn);
  if (b.backupStatus !== "succeeded") button.disabled = true;
  button.addEventListener("click", async () => {
    button.disabled = true;
    replace(out, h("p", {}, readData.checked ? "Reading every chunk back…" : "Checking the manifests and index…"));
    try {
      const v = await call<VerifyAnswer>(ML, "verifyBackup", { backupCrn: b.backupCrn, readData: readData.checked });
      replace(
        out,
        h("p", { class: v.ok ? "ok" : "error", role: "status" }, v.ok ? "Verified: the backup is restorable." : "Damaged: see below."),
        h(
          "p",
          {},
          `${v.recoveryPoints.length} recovery points, ${v.packs} packs, ${v.chunks} chunks, ${bytes(v.bytesRead)} read${v.readData ? " (data read back)" : ""} in ${seconds(v.durationSeconds)}.`,
        ),
        v.damaged.length
          ? table(
              "Damaged objects",
              ["Object", "Problem", "Affected"],
              v.damaged.map((d) => h("tr", {}, h("td", { class: "mono" }, d.object), h("td", {}, d.problem), h("td", {}, d.affected.join(", ")))),
            )
          : null,
      );
    } catch (e) {
      replace(out, h("p", { class: "error", role: "alert" }, (e as ApiError).message));
    } finally {
      button.disabled = false;
    }
  });
  return h(
    "div",
    {},
    h("div", { class: "check" }, readData, h("label", { for: "verify-read-data" }, "Read the data back (--read-data): slower, proves every byte")),
    button,
    out,
  );
}

function deleteForm(b: Backup, wsHref: string): HTMLElement {
  const confirmInput = h("input", { name: "confirmBackupName", autocomplete: "off", spellcheck: "false" });
  const button = h("button", { type: "submit", class: "danger", id: "delete-backup", disabled: true }, "Delete backup");
  const out = h("div", { id: "delete-result", "aria-live": "polite" });
  const form = h(
    "form",
    { "aria-label": "Delete backup" },
    h("p", {}, "Deleting removes this backup's recovery points and reclaims space no other backup uses."),
    field(`Type the backup name (${b.backupName}) to confirm`, confirmInput, "confirmBackupName"),
    button,
    out,
  );
  const deletable = !["deleting", "deleted", "running", "pending", "queued"].includes(b.backupStatus);
  confirmInput.addEventListener("input", () => {
    button.disabled = !deletable || confirmInput.value !== b.backupName || button.classList.contains("denied");
  });
  void guard(button, "ml:DeleteBackup", b.backupCrn);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (confirmInput.value !== b.backupName) return;
    button.disabled = true;
    try {
      const r = await call<{ workflowId: string }>(ML, "deleteBackup", { backupCrn: b.backupCrn });
      forgetBackup(b.backupCrn);
      const box = h("div");
      replace(out, box);
      onLeave(
        follow(box, r.workflowId, {
          onEnd: (w) => {
            if (w.status === "succeeded") out.appendChild(h("p", { class: "ok", role: "status" }, "Deleted. ", link(wsHref, "Back to the workspace")));
          },
        }),
      );
    } catch (e) {
      replace(out, h("p", { class: "error", role: "alert" }, (e as ApiError).message));
      button.disabled = false;
    }
  });
  return form;
}
