// Policies: the list, a document editor that shows the server's line/column errors as you type,
// and the simulate-policy form. Validation uses the server's own policy parser (simulatePolicy
// of the draft document, which stores nothing), so the words are the CLI's.
import { ApiError, call } from "../api";
import { clearFieldErrors, field, h, replace, section, showFieldError, table, time } from "../dom";
import { IAM } from "../data";
import { guard } from "../permissions";

export interface Policy {
  policyName: string;
  policyCrn: string;
  description: string;
  createdAt: string;
  createdBy: string;
  attachedTo: string[];
  policyDocument?: unknown;
}

const EXAMPLE = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ReadOnly",
      "Effect": "Allow",
      "Action": ["ml:List*", "ml:Describe*"],
      "Resource": "*"
    }
  ]
}`;

// "… (line 4, column 1)" or "line 4, column 1: …" → [4, 1].
export function lineColumn(message: string): [number, number] | null {
  const m = /line (\d+), column (\d+)/.exec(message);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

function offsetOf(text: string, line: number, column: number): number {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", off);
    if (nl < 0) return text.length;
    off = nl + 1;
  }
  return Math.min(text.length, off + Math.max(0, column - 1));
}

export function policiesSection(policies: Policy[], reload: () => void): HTMLElement {
  const viewer = h("pre", { class: "json", id: "policy-view", tabindex: 0, "aria-label": "Policy document" });
  const rows = policies.map((p) =>
    h(
      "tr",
      { "data-policy": p.policyName },
      h("td", {}, p.policyName),
      h("td", {}, p.description || "–"),
      h("td", {}, p.attachedTo.join(", ") || "nobody"),
      h("td", {}, time(p.createdAt)),
      h(
        "td",
        {},
        h(
          "button",
          {
            type: "button",
            "aria-label": `Show policy ${p.policyName}`,
            onclick: async () => {
              try {
                const r = await call<{ policy: Policy }>(IAM, "getPolicy", { policyName: p.policyName });
                viewer.textContent = JSON.stringify(r.policy.policyDocument, null, 2);
              } catch (e) {
                viewer.textContent = (e as ApiError).message;
              }
            },
          },
          "Show",
        ),
      ),
    ),
  );
  return section(
    "Policies",
    table("Policies", ["Name", "Description", "Attached to", "Created", "Document"], rows),
    viewer,
    editor(reload),
  );
}

function editor(reload: () => void): HTMLElement {
  const name = h("input", { spellcheck: "false", required: true });
  const description = h("input", {});
  const doc = h("textarea", { rows: 14, spellcheck: "false", class: "code", value: EXAMPLE });
  doc.value = EXAMPLE;
  const where = h("p", { class: "policy-status", id: "policy-validation", "aria-live": "polite" }, "");
  const submit = h("button", { type: "submit", class: "primary", id: "create-policy" }, "Create policy");
  const out = h("p", { role: "status" });
  const form = h(
    "form",
    { "aria-label": "Create a policy" },
    h("h3", {}, "New policy"),
    field("Policy name", name, "policyName"),
    field("Description", description, "description"),
    field("Policy document (JSON)", doc, "policyDocument", "Checked by the server's policy parser as you type"),
    where,
    submit,
    out,
  );
  let seq = 0;
  let timer = 0;
  const validate = async () => {
    const mine = ++seq;
    try {
      await call(IAM, "simulatePolicy", { policyDocuments: [doc.value], actionNames: ["ml:ListWorkspaces"], resourceCrn: "*" });
      if (mine !== seq) return;
      replace(where, h("span", { class: "ok" }, "The document is valid."));
      doc.removeAttribute("aria-invalid");
    } catch (e) {
      if (mine !== seq) return;
      const err = e as ApiError;
      if (err.status === 403) {
        replace(where, "The server did not let you check documents (", err.message, "); it checks on create.");
        return;
      }
      const lc = lineColumn(err.message);
      doc.setAttribute("aria-invalid", "true");
      replace(
        where,
        h("span", { class: "error" }, err.message),
        lc
          ? h(
              "button",
              {
                type: "button",
                class: "link",
                onclick: () => {
                  const o = offsetOf(doc.value, lc[0], lc[1]);
                  doc.focus();
                  doc.setSelectionRange(o, Math.min(doc.value.length, o + 1));
                },
              },
              "Go there",
            )
          : null,
      );
    }
  };
  doc.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(validate, 350);
  });
  void validate();
  void guard(submit, "iam:CreatePolicy");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    out.textContent = "";
    try {
      const r = await call<{ policy: Policy; warnings: string[] }>(IAM, "createPolicy", {
        policyName: name.value.trim(),
        policyDocument: doc.value,
        description: description.value,
      });
      out.textContent = `Created ${r.policy.policyName}.${r.warnings?.length ? " Warnings: " + r.warnings.join("; ") : ""}`;
      reload();
    } catch (e) {
      const err = e as ApiError;
      if (!(err.field && showFieldError(form, err.field.split(".")[0], err.atField))) {
        if (lineColumn(err.message)) showFieldError(form, "policyDocument", err.message);
        else out.textContent = err.message;
      }
    }
  });
  return form;
}

interface SimAnswer {
  evaluatedPolicies: string[];
  evaluationResults: {
    actionName: string;
    resourceCrn: string;
    decision: string;
    allowed: boolean;
    explanation: string;
    decidingStatement: { policyName: string; statementIndex: number; sid: string; effect: string } | null;
  }[];
}

export function simulateSection(users: { userName: string }[]): HTMLElement {
  const who = h("select", {}, users.map((u) => h("option", { value: u.userName }, u.userName)));
  const actions = h("input", { value: "ml:BackupWorkspace, ml:DeleteBackup", spellcheck: "false" });
  const resource = h("input", { value: "*", spellcheck: "false" });
  const context = h("textarea", { rows: 2, spellcheck: "false" });
  const out = h("div", { id: "simulate-result", "aria-live": "polite" });
  const form = h(
    "form",
    { "aria-label": "Simulate policy" },
    field("User", who, "userName"),
    field("Actions (comma separated)", actions, "actionNames"),
    field("Resource CRN", resource, "resourceCrn", "* for account-wide actions"),
    field("Context (KEY=VALUE[,VALUE], one per line)", context, "context"),
    h("button", { type: "submit" }, "Simulate"),
    out,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const ctx: Record<string, string[]> = {};
    for (const l of context.value.split(/\r?\n/).map((s) => s.trim()).filter(Boolean)) {
      const eq = l.indexOf("=");
      if (eq > 0) ctx[l.slice(0, eq)] = l.slice(eq + 1).split(",");
    }
    try {
      const r = await call<SimAnswer>(IAM, "simulatePolicy", {
        userName: who.value,
        actionNames: actions.value.split(",").map((s) => s.trim()).filter(Boolean),
        resourceCrn: resource.value.trim() || "*",
        context: ctx,
      });
      replace(
        out,
        h("p", {}, `Evaluated: ${r.evaluatedPolicies.join(", ") || "no policies"}`),
        table(
          "Simulation results",
          ["Action", "Decision", "Deciding statement", "Explanation"],
          r.evaluationResults.map((e) =>
            h(
              "tr",
              {},
              h("td", {}, e.actionName),
              h("td", {}, h("span", { class: `badge ${e.allowed ? "s-succeeded" : "s-failed"}` }, e.decision)),
              h("td", {}, e.decidingStatement ? `${e.decidingStatement.policyName} #${e.decidingStatement.statementIndex} ${e.decidingStatement.sid}` : "–"),
              h("td", {}, e.explanation),
            ),
          ),
        ),
      );
    } catch (e) {
      const err = e as ApiError;
      if (!(err.field && showFieldError(form, err.field, err.atField))) replace(out, h("p", { class: "error", role: "alert" }, err.message));
    }
  });
  return section("Simulate policy", form);
}
