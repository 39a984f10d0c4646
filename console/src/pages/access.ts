// Access: users, access keys (a new key's private key is shown once), policies with the
// editor, attach/detach, simulate-policy, and the audit log with filters.
import { ApiError, call } from "../api";
import { field, h, replace, section, table, time } from "../dom";
import { IAM } from "../data";
import { guard } from "../permissions";
import { Policy, policiesSection, simulateSection } from "./policies";

interface IamUser {
  userName: string;
  userCrn: string;
  createdAt: string;
  attachedPolicies: string[];
  activeAccessKeys: number;
}

interface AccessKey {
  accessKeyId: string;
  userName: string;
  status: string;
  createdAt: string;
  privateKey?: string;
  secretAccessKey?: string;
}

function errorBox(e: unknown): HTMLElement {
  return h("p", { class: "error", role: "alert" }, (e as ApiError).message);
}

export async function renderAccess(main: HTMLElement): Promise<void> {
  const usersRegion = h("div", { id: "users" });
  const keysRegion = h("div", { id: "access-keys" });
  const policiesRegion = h("div", { id: "policies" });
  const simulateRegion = h("div");
  const auditRegion = h("div", { id: "audit" });
  replace(main, h("h1", {}, "Access"), usersRegion, keysRegion, policiesRegion, simulateRegion, auditRegion);

  let users: IamUser[] = [];
  let policies: Policy[] = [];
  const load = async () => {
    const [u, p] = await Promise.allSettled([
      call<{ users: IamUser[] }>(IAM, "listUsers"),
      call<{ policies: Policy[] }>(IAM, "listPolicies"),
    ]);
    users = u.status === "fulfilled" ? u.value.users : [];
    policies = p.status === "fulfilled" ? p.value.policies : [];
    replace(usersRegion, u.status === "fulfilled" ? usersSection(users, policies, load) : section("Users", errorBox(u.reason)));
    replace(policiesRegion, p.status === "fulfilled" ? policiesSection(policies, load) : section("Policies", errorBox(p.reason)));
    replace(simulateRegion, simulateSection(users));
  };
  await load();
  replace(keysRegion, keysSection());
  replace(auditRegion, auditSection());
}

function usersSection(users: IamUser[], policies: Policy[], reload: () => Promise<void>): HTMLElement {
  const name = h("input", { spellcheck: "false" });
  const create = h("button", { type: "submit" }, "Create user");
  const out = h("p", { role: "status" });
  void guard(create, "iam:CreateUser");
  const form = h("form", { class: "inline-form", "aria-label": "Create a user" }, field("New user name", name, "userName"), create, out);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await call(IAM, "createUser", { userName: name.value.trim() });
      await reload();
    } catch (e) {
      out.textContent = (e as ApiError).message;
    }
  });

  const who = h("select", {}, users.map((u) => h("option", { value: u.userName }, u.userName)));
  const pol = h("select", {}, policies.map((p) => h("option", { value: p.policyName }, p.policyName)));
  const attach = h("button", { type: "button", id: "attach-policy" }, "Attach");
  const detach = h("button", { type: "button", id: "detach-policy" }, "Detach");
  const attachOut = h("p", { role: "status" });
  void guard(attach, "iam:AttachUserPolicy");
  void guard(detach, "iam:DetachUserPolicy");
  const act = (op: string) => async () => {
    try {
      await call(IAM, op, { userName: who.value, policyName: pol.value });
      await reload();
    } catch (e) {
      attachOut.textContent = (e as ApiError).message;
    }
  };
  attach.addEventListener("click", act("attachPolicy"));
  detach.addEventListener("click", act("detachPolicy"));

  return section(
    "Users",
    table(
      "Users",
      ["Name", "Policies", "Active keys", "Created", "CRN"],
      users.map((u) =>
        h(
          "tr",
          { "data-user": u.userName },
          h("td", {}, u.userName),
          h("td", {}, u.attachedPolicies.join(", ") || "none"),
          h("td", { class: "num" }, String(u.activeAccessKeys)),
          h("td", {}, time(u.createdAt)),
          h("td", { class: "mono" }, u.userCrn),
        ),
      ),
    ),
    form,
    h("div", { class: "inline-form", role: "group", "aria-label": "Attach or detach a policy" }, field("User", who, "userName"), field("Policy", pol, "policyName"), attach, detach),
    attachOut,
  );
}

function keysSection(): HTMLElement {
  const userName = h("input", { spellcheck: "false", placeholder: "yourself" });
  const list = h("div");
  const once = h("div", { id: "new-key", "aria-live": "polite" });
  const create = h("button", { type: "button", id: "create-access-key" }, "Create access key");
  const show = h("button", { type: "button" }, "List keys");
  void guard(create, "iam:CreateAccessKey");
  const ref = () => (userName.value.trim() ? { userName: userName.value.trim() } : {});
  const load = async () => {
    try {
      const r = await call<{ accessKeys: AccessKey[] }>(IAM, "listAccessKeys", ref());
      replace(
        list,
        table(
          "Access keys",
          ["Key id", "User", "Status", "Created", ""],
          r.accessKeys.map((k) => {
            const del = h("button", { type: "button", class: "danger", "aria-label": `Delete access key ${k.accessKeyId}` }, "Delete");
            if (k.status !== "active") del.disabled = true;
            else void guard(del, "iam:DeleteAccessKey");
            del.addEventListener("click", async () => {
              if (!window.confirm(`Delete access key ${k.accessKeyId}? It stops working at once.`)) return;
              try {
                await call(IAM, "deleteAccessKey", { accessKeyId: k.accessKeyId });
                await load();
              } catch (e) {
                list.appendChild(errorBox(e));
              }
            });
            return h("tr", {}, h("td", { class: "mono" }, k.accessKeyId), h("td", {}, k.userName), h("td", {}, k.status), h("td", {}, time(k.createdAt)), h("td", {}, del));
          }),
        ),
      );
    } catch (e) {
      replace(list, errorBox(e));
    }
  };
  show.addEventListener("click", load);
  create.addEventListener("click", async () => {
    try {
      const k = (await call<{ accessKey: AccessKey }>(IAM, "createAccessKey", ref())).accessKey;
      const secret = k.privateKey ?? k.secretAccessKey ?? "";
      const text = h("textarea", { readonly: true, rows: 3, id: "new-key-text", class: "code" });
      text.value = `access_key_id = ${k.accessKeyId}\nprivate_key = ${secret}\n`;
      replace(
        once,
        h("p", { class: "warning" }, `Access key ${k.accessKeyId} for ${k.userName}. Save the private key now: it is shown only this once.`),
        h("label", { for: "new-key-text" }, "Credentials (paste into $MLVAULT_HOME/credentials)"),
        text,
        h(
          "button",
          {
            type: "button",
            onclick: () => {
              replace(once, h("p", {}, "The private key was removed from this page."));
            },
          },
          "I saved it: hide",
        ),
      );
      await load();
    } catch (e) {
      replace(once, errorBox(e));
    }
  });
  void load();
  return section("Access keys", h("div", { class: "inline-form" }, field("User (empty: yourself)", userName, "userName"), show, create), once, list);
}

interface AuditEvent {
  eventId: string;
  time: string;
  principalName: string;
  action: string;
  resource: string;
  outcome: string;
  source: string;
  sourceIp: string;
  errorCode?: string;
  detail?: string;
}

function auditSection(): HTMLElement {
  const principal = h("input", { spellcheck: "false" });
  const action = h("input", { spellcheck: "false", placeholder: "ml:* or iam:CreateUser" });
  const outcome = h("select", {}, ["", "succeeded", "failed", "denied"].map((o) => h("option", { value: o }, o || "any")));
  const since = h("input", { value: "24h", spellcheck: "false" });
  const max = h("input", { value: "200", inputmode: "numeric" });
  const out = h("div", { id: "audit-events" });
  const form = h(
    "form",
    { class: "inline-form filters", "aria-label": "Audit log filters" },
    field("User", principal, "principal"),
    field("Action", action, "action"),
    field("Outcome", outcome, "outcome"),
    field("Since (time or 30m, 2h, 7d)", since, "since"),
    field("At most", max, "maxItems"),
    h("button", { type: "submit" }, "Show"),
  );
  const load = async () => {
    const body: Record<string, unknown> = { maxItems: Number(max.value) || 200 };
    if (principal.value.trim()) body.principal = principal.value.trim();
    if (action.value.trim()) body.action = action.value.trim();
    if (outcome.value) body.outcome = outcome.value;
    if (since.value.trim()) body.since = since.value.trim();
    try {
      const r = await call<{ auditEvents: AuditEvent[] }>(IAM, "listAuditEvents", body);
      const events = [...r.auditEvents].reverse();
      replace(
        out,
        h("p", {}, `${events.length} events, newest first.`),
        table(
          "Audit events",
          ["Time", "User", "Action", "Resource", "Outcome", "Source", "Detail"],
          events.map((e) =>
            h(
              "tr",
              {},
              h("td", {}, time(e.time)),
              h("td", {}, e.principalName),
              h("td", {}, e.action),
              h("td", { class: "mono", title: e.resource }, e.resource.split(":").slice(-2).join(":")),
              h("td", {}, h("span", { class: `badge s-${e.outcome === "succeeded" ? "succeeded" : "failed"}` }, e.outcome)),
              h("td", {}, `${e.source} ${e.sourceIp}`),
              h("td", {}, [e.errorCode, e.detail].filter(Boolean).join(": ")),
            ),
          ),
        ),
      );
    } catch (e) {
      replace(out, errorBox(e));
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void load();
  });
  void load();
  return section("Audit log", form, out);
}
