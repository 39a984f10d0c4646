// Restore wizard: a backup → newWorkspaceParameters in a form → follow the workflow → a link
// to the new workspace's endpoint. The server validates the document (the same validation as
// the CLI) and its error names the field, which is shown at that field. The equivalent
// --cli-input-json document is shown as the form changes.
import { ApiError, call } from "../api";
import { clearFieldErrors, field, h, link, replace, section, showFieldError, statusBadge } from "../dom";
import { ENV, Environment, ML, Workspace, WorkspaceSummary, describeBackup, listBackups } from "../data";
import { guard } from "../permissions";
import { follow } from "../progress";
import { onLeave } from "../router";

const P = "newWorkspaceParameters";
const K8S = `${P}.provisionK8sRequest`;
const IG = `${K8S}.instanceGroups[0]`;

const FLAGS: [string, string, boolean][] = [
  ["usePublicLoadBalancer", "Use a public load balancer (listen on all interfaces)", false],
  ["disableTLS", "Disable TLS", false],
  ["disableSSO", "Disable SSO", false],
  ["enableMonitoring", "Enable monitoring", true],
  ["enableGovernance", "Enable governance", false],
  ["enableModelMetrics", "Enable model metrics", true],
  ["whitelistAuthorizedIPRanges", "Only allow the authorized IP ranges", false],
  ["skipValidation", "Skip the pre-flight checks (quota, disk space)", false],
];

// A number field's value: the number, or the text as typed (the server then names the field).
function num(input: HTMLInputElement): number | string {
  const t = input.value.trim();
  return t !== "" && !Number.isNaN(Number(t)) ? Number(t) : t;
}

function lines(t: HTMLTextAreaElement): string[] {
  return t.value
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
}

// The field path an error is about: error.field, or the "<path>: " its message starts with.
export function errorField(e: ApiError): string {
  if (e.field) return e.field;
  const m = /^((?:newWorkspaceParameters|backupCrn)[\w.[\]]*): /.exec(e.message);
  return m ? m[1] : "";
}

export async function renderRestore(main: HTMLElement, backupCrn: string): Promise<void> {
  if (!backupCrn) return chooseBackup(main);
  const [b, envs] = await Promise.all([describeBackup(backupCrn), call<{ environments: Environment[] }>(ENV, "listEnvironments")]);

  const env = h("select", {}, envs.environments.map((e) => h("option", { value: e.name, selected: e.name === b.environmentName }, e.name)));
  const name = h("input", { value: `${b.workspaceName ?? "restored"}-restored`.slice(0, 40), required: true, spellcheck: "false" });
  const instanceType = h("input", { value: "m5.4xlarge" });
  const rootSize = h("input", { inputmode: "numeric", value: "128" });
  const minI = h("input", { inputmode: "numeric", value: "1" });
  const maxI = h("input", { inputmode: "numeric", value: "5" });
  const autoscale = h("input", { type: "checkbox", checked: true });
  const tags = h("textarea", { rows: 2, spellcheck: "false" });
  const ranges = h("textarea", { rows: 2, spellcheck: "false" });
  const lbList = h("textarea", { rows: 2, spellcheck: "false" });
  const flags = FLAGS.map(([k, label, def]) => ({ k, label, input: h("input", { type: "checkbox", checked: def }) }));

  const doc = () => ({
    [P]: {
      environmentName: env.value,
      workspaceName: name.value.trim(),
      ...Object.fromEntries(flags.slice(0, 2).map((f) => [f.k, f.input.checked])),
      provisionK8sRequest: {
        instanceGroups: [
          {
            instanceType: instanceType.value.trim(),
            rootVolume: { size: num(rootSize) },
            autoscaling: { minInstances: num(minI), maxInstances: num(maxI), enabled: autoscale.checked },
          },
        ],
        environmentName: env.value,
        tags: lines(tags).map((l) => {
          const eq = l.indexOf("=");
          return eq < 0 ? { key: l, value: "" } : { key: l.slice(0, eq).trim(), value: l.slice(eq + 1).trim() };
        }),
        network: { topology: { subnets: [] } },
        useLegacyNodeLabel: false,
        xEntitlements: [],
      },
      ...Object.fromEntries(flags.slice(2).map((f) => [f.k, f.input.checked])),
      loadBalancerIPWhitelists: lines(lbList),
      authorizedIPRanges: lines(ranges),
    },
    backupCrn: b.backupCrn,
  });

  const json = h("pre", { class: "json", id: "cli-input-json", tabindex: 0, "aria-label": "Equivalent --cli-input-json document" });
  const status = h("p", { class: "error", role: "alert", id: "restore-error" });
  const submit = h("button", { type: "submit", class: "primary", id: "restore-submit" }, "Restore");
  const progress = h("div", { id: "restore-progress" });
  const result = h("div", { id: "restore-result", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "wizard", "aria-label": "New workspace parameters" },
    h(
      "fieldset",
      {},
      h("legend", {}, "New workspace"),
      field("Environment", env, `${P}.environmentName`, `The backup is from ${b.environmentName}`),
      field("Workspace name", name, `${P}.workspaceName`, "Lowercase letters, digits and dashes"),
      field("Tags (key=value, one per line)", tags, `${K8S}.tags`),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Instance group"),
      field("Instance type", instanceType, `${IG}.instanceType`),
      field("Root volume size (GiB)", rootSize, `${IG}.rootVolume.size`, "A quota: the restore is refused if the backup is larger"),
      field("Minimum instances", minI, `${IG}.autoscaling.minInstances`),
      field("Maximum instances", maxI, `${IG}.autoscaling.maxInstances`),
      h("div", { class: "check" }, autoscale, h("label", { for: (autoscale.id = "f-autoscaling") }, "Autoscaling enabled")),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Network and features"),
      field("Authorized IP ranges (CIDR, one per line)", ranges, `${P}.authorizedIPRanges`),
      field("Load balancer IP allow-list (one per line)", lbList, `${P}.loadBalancerIPWhitelists`),
      flags.map((f) => {
        f.input.id = `f-${f.k}`;
        f.input.setAttribute("data-field", `${P}.${f.k}`);
        return h("div", { class: "check" }, f.input, h("label", { for: f.input.id }, f.label), h("p", { class: "field-error", id: `f-${f.k}-error` }));
      }),
    ),
    submit,
    status,
  );
  autoscale.setAttribute("data-field", `${IG}.autoscaling.enabled`);
  const update = () => (json.textContent = JSON.stringify(doc(), null, 2));
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
  void guard(submit, "ml:RestoreWorkspace", b.backupCrn);

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    status.textContent = "";
    submit.disabled = true;
    try {
      const r = await call<{ workspaceCrn: string; workflowId: string }>(ML, "restoreWorkspace", doc());
      form.querySelectorAll("input,select,textarea").forEach((c) => c.setAttribute("disabled", ""));
      onLeave(
        follow(progress, r.workflowId, {
          onEnd: async (wf) => {
            if (wf.status !== "succeeded") {
              replace(result, h("p", { class: "error", role: "alert" }, `The restore ${wf.status}.`));
              return;
            }
            const w = (await call<{ workspace: Workspace }>(ML, "describeWorkspace", { workspaceCrn: r.workspaceCrn })).workspace;
            replace(
              result,
              h("p", { class: "ok" }, `Workspace ${w.name} is `, statusBadge(w.status), "."),
              h(
                "p",
                {},
                "Endpoint: ",
                link(w.endpoint, w.endpoint, { id: "new-endpoint", target: "_blank", rel: "noopener" }),
                " · ",
                link(`#/workspace/${encodeURIComponent(w.crn)}`, "Open the workspace"),
              ),
            );
          },
        }),
      );
    } catch (e) {
      const err = e as ApiError;
      const path = errorField(err);
      const msg = path && err.message.startsWith(`${path}: `) ? err.message.slice(path.length + 2) : err.message;
      if (!(path && showFieldError(form, path, msg))) status.textContent = err.message;
      else status.textContent = `Check ${path}.`;
      submit.disabled = false;
    }
  });

  replace(
    main,
    h(
      "nav",
      { class: "crumbs", "aria-label": "Breadcrumb" },
      link("#/overview", "Overview"),
      " / ",
      link(`#/backup/${encodeURIComponent(b.backupCrn)}`, b.backupName),
      " / restore",
    ),
    h("h1", {}, `Restore backup ${b.backupName}`),
    h("ol", { class: "steps" }, h("li", {}, "Backup chosen"), h("li", { "aria-current": "step" }, "New workspace parameters"), h("li", {}, "Restore runs"), h("li", {}, "Open the new workspace")),
    h("div", { class: "two-col" }, form, section("The same from the CLI", h("p", {}, "Save as restore.json and run ", h("code", {}, "mlvault restore-workspace --cli-input-json file://restore.json")), json)),
    progress,
    result,
  );
}

// Step 1 without a backup in the address: a workspace (deleted ones too: their backups stay
// restorable), then one of its successful backups.
async function chooseBackup(main: HTMLElement): Promise<void> {
  const ws = (await call<{ workspaces: WorkspaceSummary[] }>(ML, "listWorkspaces")).workspaces;
  const wsSelect = h(
    "select",
    {},
    h("option", { value: "" }, "choose…"),
    ws.map((w) => h("option", { value: w.crn }, `${w.name} (${w.environmentName}${w.status === "deleted" ? ", deleted" : ""})`)),
  );
  const list = h("div", { "aria-live": "polite" });
  wsSelect.addEventListener("change", async () => {
    if (!wsSelect.value) return replace(list);
    try {
      const ok = (await listBackups(wsSelect.value)).filter((b) => b.backupStatus === "succeeded");
      replace(
        list,
        ok.length
          ? h("ul", { class: "choices" }, ok.slice(0, 100).map((b) => h("li", {}, link(`#/restore/${encodeURIComponent(b.backupCrn)}`, `${b.backupName} (${new Date(b.createdAt).toLocaleString()})`))))
          : h("p", {}, "This workspace has no successful backup."),
      );
    } catch (e) {
      replace(list, h("p", { class: "error", role: "alert" }, (e as ApiError).message));
    }
  });
  replace(
    main,
    h("h1", {}, "Restore"),
    h("ol", { class: "steps" }, h("li", { "aria-current": "step" }, "Choose a backup"), h("li", {}, "New workspace parameters"), h("li", {}, "Restore runs"), h("li", {}, "Open the new workspace")),
    field("Workspace", wsSelect, "workspaceCrn"),
    list,
  );
}
