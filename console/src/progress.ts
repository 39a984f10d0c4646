// Live progress of a workflow: polls describeWorkflow once a second and shows phase, bytes,
// files, rate and ETA until the workflow ends; a cancel button where the workflow can be
// cancelled. Used by "Back up now", the restore wizard and the workflows page.
import { ApiError, call } from "./api";
import { bytes, h, replace, seconds, statusBadge } from "./dom";

export interface WorkflowProgress {
  phase: string;
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  percent: number | null;
}

export interface Workflow {
  workflowId: string;
  kind: string;
  status: string;
  resourceCrn: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
  progress: WorkflowProgress;
  warnings: unknown[];
  error: { code: string; message: string } | null;
  output: Record<string, unknown>;
}

export const FINAL = new Set(["succeeded", "failed", "cancelled"]);

export interface Options {
  onCancel?: () => Promise<void>;
  onEnd?: (w: Workflow) => void;
  intervalMs?: number;
}

// Follows `workflowId` in `box`. Returns a function that stops polling.
// Workflow ids started or watched in this browser tab (the workflows page lists them).
export function knownWorkflows(): string[] {
  try {
    return JSON.parse(sessionStorage.getItem("mlvault.workflows") ?? "[]") as string[];
  } catch {
    return [];
  }
}

function remember(id: string): void {
  const ids = knownWorkflows().filter((x) => x !== id);
  ids.unshift(id);
  sessionStorage.setItem("mlvault.workflows", JSON.stringify(ids.slice(0, 50)));
}

export function follow(box: HTMLElement, workflowId: string, opts: Options = {}): () => void {
  let stopped = false;
  remember(workflowId);
  let last: { t: number; bytes: number } | null = null;
  let rate = 0;
  box.classList.add("progress-box");
  box.setAttribute("aria-live", "polite");
  box.setAttribute("data-workflow-id", workflowId);
  const tick = async () => {
    if (stopped) return;
    let w: Workflow;
    try {
      w = (await call<{ workflow: Workflow }>("ml", "describeWorkflow", { workflowId })).workflow;
    } catch (e) {
      replace(box, h("p", { class: "error" }, `Cannot follow workflow ${workflowId}: ${(e as ApiError).message}`));
      if (!stopped) setTimeout(tick, (opts.intervalMs ?? 1000) * 3);
      return;
    }
    const now = Date.now();
    const p = w.progress ?? ({} as WorkflowProgress);
    if (last && p.bytesDone >= last.bytes && now > last.t) {
      const r = ((p.bytesDone - last.bytes) * 1000) / (now - last.t);
      rate = rate ? 0.6 * rate + 0.4 * r : r;
    }
    last = { t: now, bytes: p.bytesDone };
    render(box, w, rate, opts, () => {
      stopped = true;
    });
    if (FINAL.has(w.status)) {
      stopped = true;
      opts.onEnd?.(w);
      return;
    }
    setTimeout(tick, opts.intervalMs ?? 1000);
  };
  void tick();
  return () => {
    stopped = true;
  };
}

function render(box: HTMLElement, w: Workflow, rate: number, opts: Options, stop: () => void): void {
  const p = w.progress ?? ({} as WorkflowProgress);
  const pct =
    p.percent ?? (p.bytesTotal > 0 ? Math.min(100, (100 * p.bytesDone) / p.bytesTotal) : w.status === "succeeded" ? 100 : 0);
  const eta = rate > 0 && p.bytesTotal > p.bytesDone ? (p.bytesTotal - p.bytesDone) / rate : null;
  const done = FINAL.has(w.status);
  const cancel =
    opts.onCancel && !done
      ? h(
          "button",
          {
            type: "button",
            class: "danger",
            onclick: async (ev: Event) => {
              (ev.target as HTMLButtonElement).disabled = true;
              try {
                await opts.onCancel!();
              } catch (e) {
                box.appendChild(h("p", { class: "error", role: "alert" }, (e as ApiError).message));
              }
            },
          },
          "Cancel",
        )
      : null;
  replace(
    box,
    h("div", { class: "progress-head" }, statusBadge(w.status), h("strong", { class: "phase" }, p.phase || "–"), cancel),
    h("progress", { max: 100, value: pct.toFixed(1), "aria-label": `Progress of ${w.kind} workflow` }),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Bytes"),
      h("dd", { class: "bytes" }, `${bytes(p.bytesDone)} of ${bytes(p.bytesTotal)}`),
      h("dt", {}, "Files"),
      h("dd", {}, `${p.filesDone ?? 0} of ${p.filesTotal ?? 0}`),
      h("dt", {}, "Rate"),
      h("dd", {}, done ? "–" : `${bytes(rate)}/s`),
      h("dt", {}, "ETA"),
      h("dd", {}, done ? "–" : eta === null ? "unknown" : seconds(eta)),
      h("dt", {}, "Percent"),
      h("dd", { class: "percent" }, `${pct.toFixed(0)} %`),
    ),
    w.error ? h("p", { class: "error", role: "alert" }, `${w.error.code}: ${w.error.message}`) : null,
  );
  if (done) stop();
}
