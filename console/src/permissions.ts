// What the signed-in user may do, from the server's own policy simulation (iam simulatePolicy
// for the user themself). Buttons for denied actions are disabled with the simulation's reason;
// the server still authorises every call, so this is a courtesy, not the protection.
import { call, user } from "./api";
import { h, uid } from "./dom";

export interface Decision {
  allowed: boolean;
  reason: string;
}

interface SimulationAnswer {
  evaluationResults: { actionName: string; allowed: boolean; explanation: string }[];
}

const cache = new Map<string, Promise<Decision>>();

export function clearPermissions(): void {
  cache.clear();
}

// Decisions for several actions on one resource, in one simulatePolicy call.
export async function decide(actions: string[], resource = "*"): Promise<Map<string, Decision>> {
  const out = new Map<string, Decision>();
  const missing = actions.filter((a) => !cache.has(`${a} ${resource}`));
  if (missing.length) {
    const me = user();
    const batch = call<SimulationAnswer>("iam", "simulatePolicy", {
      userCrn: me?.userCrn,
      actionNames: missing,
      resourceCrn: resource,
    }).then(
      (r) => new Map(r.evaluationResults.map((e) => [e.actionName, { allowed: e.allowed, reason: e.explanation }])),
      // The user may not be allowed to simulate: then the buttons stay enabled and the server decides.
      () => new Map<string, Decision>(),
    );
    for (const a of missing)
      cache.set(
        `${a} ${resource}`,
        batch.then((m) => m.get(a) ?? { allowed: true, reason: "" }),
      );
  }
  for (const a of actions) out.set(a, await cache.get(`${a} ${resource}`)!);
  return out;
}

// Disables `button` (and says why beside it) when the user may not do `action` on `resource`.
export async function guard(button: HTMLButtonElement, action: string, resource = "*"): Promise<void> {
  const d = (await decide([action], resource)).get(action)!;
  if (d.allowed) return;
  button.disabled = true;
  button.classList.add("denied");
  const id = uid("why");
  const why = h("span", { class: "denied-reason", id }, `Not allowed: ${d.reason || action + " is denied"}`);
  button.setAttribute("aria-describedby", id);
  button.title = why.textContent ?? "";
  button.insertAdjacentElement("afterend", why);
}
