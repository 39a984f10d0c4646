// Typed shapes of the operation answers the console reads (SPEC.md section 2, the CLI's JSON),
// and a cache of describeWorkspaceBackup for backups that can no longer change.
import { call } from "./api";

export interface Environment {
  crn: string;
  name: string;
  region: string;
  storageRoot: string;
  createdAt: string;
  workspaceCount?: number;
}

export interface WorkspaceSummary {
  crn: string;
  name: string;
  environmentName: string;
  status: string;
  endpoint: string;
  domain: string;
  isRestored: boolean;
  createdAt: string;
}

export interface Workspace extends WorkspaceSummary {
  version: string;
  restoredFromBackupCrn: string | null;
  tags: { key: string; value: string }[];
  volumes: { name: string; kind: string; path?: string }[];
  backupMetadata: {
    vaultName: string;
    backupCount: number;
    lastBackupCrn: string | null;
    lastBackupName?: string | null;
    lastBackupStatus?: string | null;
    lastBackupAt?: string | null;
    lastSucceededBackupCrn?: string | null;
    lastSucceededBackupAt?: string | null;
  };
}

export interface BackupSummary {
  backupCrn: string;
  backupName: string;
  createdAt: string;
  creatorCrn: string;
  workspaceVersionAtBackup: string;
  backupStatus: string;
}

export interface RecoveryPoint {
  volume: string;
  kind: string;
  recoveryPointId: string;
  sourcePath: string;
  bytesTotal: number;
  files: number;
  dirs: number;
  bytesReadAllPasses: number;
  bytesNew: number;
  bytesStored: number;
  filesUnchanged: number;
  durationSeconds: number;
}

export interface Backup extends BackupSummary {
  workspaceCrn: string;
  workspaceName?: string;
  environmentName: string;
  vaultName: string;
  workflowId: string;
  startedAt: string | null;
  finishedAt: string | null;
  quiescedSeconds: number | null;
  durationSeconds?: number | null;
  sizes: { bytesTotal: number; filesTotal: number; bytesStored: number };
  recoveryPoints: RecoveryPoint[];
  timings: Record<string, unknown>;
  progress: unknown;
  warnings: unknown[];
  error: { code: string; message: string } | null;
  deleteWorkflowId?: string;
}

export const ML = "ml";
export const IAM = "iam";
export const ENV = "environments";

export function bytesNew(b: Backup): number {
  return b.recoveryPoints.reduce((s, rp) => s + (rp.bytesNew ?? 0), 0);
}

export function durationOf(b: Backup): number | null {
  if (b.durationSeconds !== undefined && b.durationSeconds !== null) return b.durationSeconds;
  if (!b.startedAt || !b.finishedAt) return null;
  return (Date.parse(b.finishedAt) - Date.parse(b.startedAt)) / 1000;
}

const settled = new Map<string, Backup>();
const FINAL = new Set(["succeeded", "failed", "cancelled", "deleted"]);

export async function describeBackup(crn: string, fresh = false): Promise<Backup> {
  const hit = settled.get(crn);
  if (hit && !fresh) return hit;
  const b = (await call<{ backup: Backup }>(ML, "describeWorkspaceBackup", { backupCrn: crn })).backup;
  if (FINAL.has(b.backupStatus)) settled.set(crn, b);
  else settled.delete(crn);
  return b;
}

export function forgetBackup(crn: string): void {
  settled.delete(crn);
}

// Runs `f` over `items` with at most `limit` calls in flight; results in input order.
export async function pool<T, R>(items: T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

// Every backup of the workspace, deleted ones included (the console shows them as deleted),
// following the API's pages (docs/api.md: nextToken).
export async function listBackups(workspaceCrn: string): Promise<BackupSummary[]> {
  const all: BackupSummary[] = [];
  let startingToken: string | undefined;
  do {
    const page = await call<{ backups: BackupSummary[]; nextToken?: string }>(
      ML, "listWorkspaceBackups",
      { workspaceCrn, includeDeleted: true, ...(startingToken ? { startingToken } : {}) });
    all.push(...page.backups);
    startingToken = page.nextToken;
  } while (startingToken);
  return all;
}

// Most backups per workspace the console describes to sum a vault's size (one call each).
export const VAULT_SIZE_LIMIT = 300;

// Stored size of a workspace's vault as the console can tell it: what each backup that is not
// deleted added when it ran (bytesStored), and the logical bytes they hold; `partial` when the
// workspace has more successful backups than VAULT_SIZE_LIMIT (the newest are counted).
// `cancelled()` true stops the remaining describes (the user left the page).
export async function vaultSize(
  workspaceCrn: string,
  cancelled: () => boolean = () => false,
): Promise<{ stored: number; logical: number; backups: number; partial: boolean }> {
  const live = (await listBackups(workspaceCrn)).filter((b) => b.backupStatus === "succeeded");
  const counted = live.slice(0, VAULT_SIZE_LIMIT);
  const described = await pool(counted, 4, (b) => (cancelled() ? Promise.resolve(null) : describeBackup(b.backupCrn)));
  let stored = 0;
  let logical = 0;
  for (const b of described) {
    if (!b) continue;
    stored += b.sizes.bytesStored;
    logical += b.sizes.bytesTotal;
  }
  return { stored, logical, backups: described.length, partial: live.length > counted.length };
}
