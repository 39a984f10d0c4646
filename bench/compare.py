#!/usr/bin/env python3
"""compare.py RES TOOL... : the mlvault-vs-peers table of one peers.sh run.

Reads RES/results.csv (peers.sh), RES/<tool>.verify.txt and RES/versions.txt; prints a table
and writes RES/compare.csv and RES/compare.md. For every operation it shows each tool's wall
time, CPU (user+sys), peak RSS and repository size after the step, and the ratios
mlvault / faster peer, the faster peer being the successful peer with the lower wall time.
When RES/limits.txt (../shared/bench/limits.sh, run by compare.sh in the same run) is there, it
also shows each mlvault step as a ratio to the machine's limit for it:
  initial backup: reading the dataset with tar -cS | cat (holes
    skipped), cold or warm as the run was;
  unchanged backup: the metadata walk (find -printf), cold or warm;
  full restore: writing the dataset's allocated bytes at dd's fdatasync'ed rate (random data);
and mlvault's CPU seconds per wall second of the initial backup against the machine's cores.
Exit status 1 if any tool failed a step or its restore did not verify.
"""
import csv
import os
import re
import sys

MiB = 1 << 20
OPS = [("b1", "initial backup"), ("b2", "unchanged backup"), ("b3", "backup after mutation"),
       ("restore", "full restore")]


def read_limits(res, cold):
    """{op: (seconds, what)} from RES/limits.txt; {} if it is missing or unreadable."""
    p = os.path.join(res, "limits.txt")
    if not os.path.exists(p):
        return {}
    text = open(p, errors="replace").read()
    temp = "cold" if cold == {"1"} else "warm"

    def wall(label_start):
        for ln in text.splitlines():
            if ln.startswith(label_start):
                m = re.search(r"wall=\s*([0-9.]+)s\s+([0-9.]+) MB/s", ln)
                if m:
                    return float(m.group(1)), float(m.group(2))
        return None

    out = {}
    read = wall(f"read {temp}: tar -cSf - ws-base | cat (holes skipped)")
    if read:
        out["b1"] = (read[0], f"{temp} read, tar -cS | cat: {read[0]:.2f} s")
    walk = wall(f"stat {temp}: find ws-base -printf")
    if walk:
        out["b2"] = (walk[0], f"{temp} metadata walk, find: {walk[0]:.2f} s")
    m = re.search(r"allocated (\d+)", text)
    write = wall("dd write 2 GiB random (from page cache) conv=fdatasync")
    if m and write and write[1] > 0:
        secs = int(m.group(1)) / (write[1] * 1e6)
        out["restore"] = (secs, f"writing {int(m.group(1)) / 1e9:.2f} GB at {write[1]:.0f} MB/s (dd fdatasync): {secs:.2f} s")
    cores = re.search(r"on (\d+) cpus", text)
    if cores:
        out["cores"] = int(cores.group(1))
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    res, tools = sys.argv[1], sys.argv[2:]
    rows = {}
    with open(os.path.join(res, "results.csv")) as f:
        for r in csv.DictReader(f):
            rows[(r["tool"], r["op"])] = r
    verify = {}
    for t in tools:
        p = os.path.join(res, f"{t}.verify.txt")
        lines = open(p, errors="replace").read().splitlines() if os.path.exists(p) else []
        result = [ln.strip() for ln in lines if "RESULT=" in ln]
        verify[t] = result[0] if result else (f"no verification result (see {t}.verify.txt)" if lines else "not run")
    peers = [t for t in tools if t != "mlvault"]
    cold = {r.get("cold", "?") for r in rows.values()}
    limits = read_limits(res, cold)

    def metrics(t, op):
        r = rows.get((t, op))
        if r is None:
            return None
        try:
            return {
                "rc": int(r["rc"]),
                "wall": float(r["wall_s"]),
                "cpu": float(r["user_s"]) + float(r["sys_s"]),
                "rss": int(r["maxrss_kb"]) * 1024,
                "size": int(r["repo_bytes"]),
            }
        except (ValueError, KeyError):
            return {"rc": int(r.get("rc") or 1), "wall": None, "cpu": None, "rss": None, "size": None}

    def last_line(t, op):
        p = os.path.join(res, f"{t}.{op}.log")
        try:
            lines = [ln.strip() for ln in open(p, errors="replace") if ln.strip()]
        except OSError:
            return ""
        return (": " + lines[-1][:200]) if lines else ""

    failed = []
    for t in tools:
        m = metrics(t, "init")
        if m is not None and m["rc"] != 0:
            failed.append(f"{t} init: rc={m['rc']}{last_line(t, 'init')}")
    table = []  # (op label, tool, rc, wall, cpu, rss, size, note)
    for op, label in OPS:
        best = None
        for t in tools:
            m = metrics(t, op)
            if m is None:
                table.append((label, t, None, None, None, None, None, "not run"))
                failed.append(f"{t} {op}: not run")
                continue
            note = "" if m["rc"] == 0 else f"FAILED rc={m['rc']}, see {t}.{op}.log"
            if m["rc"] != 0:
                failed.append(f"{t} {op}: rc={m['rc']}{last_line(t, op)}")
            if op == "restore":
                ok = "RESULT=OK" in verify[t]
                note = (note + "; " if note else "") + ("verified bit-exact" if ok else f"NOT VERIFIED: {verify[t]}")
                if not ok:
                    failed.append(f"{t} restore verification: {verify[t]}")
            table.append((label, t, m["rc"], m["wall"], m["cpu"], m["rss"], None if op == "restore" else m["size"], note))
            if t in peers and m["rc"] == 0 and m["wall"] is not None and (best is None or m["wall"] < best[1]["wall"]):
                best = (t, m)
        mv = metrics("mlvault", op) if "mlvault" in tools else None
        if best and mv and mv["rc"] == 0 and mv["wall"] is not None:
            def ratio(k):
                a, b = mv[k], best[1][k]
                return a / b if a is not None and b else None
            table.append((label, f"mlvault/{best[0]}", None, ratio("wall"), ratio("cpu"), ratio("rss"),
                          None if op == "restore" else ratio("size"), "ratio to the faster peer"))
        if op in limits and mv and mv["rc"] == 0 and mv["wall"] is not None:
            secs, what = limits[op]
            note = f"ratio to the machine's limit ({what})"
            if op == "b1" and mv["cpu"] is not None and "cores" in limits:
                note += f"; mlvault used {mv['cpu'] / mv['wall']:.2f} of {limits['cores']} cores"
            table.append((label, "mlvault/limit", None, mv["wall"] / secs if secs > 0 else None,
                          None, None, None, note))

    def fmt_num(v, kind):
        if v is None:
            return "-"
        if kind == "ratio":
            return f"{v:.2f}x"
        if kind == "s":
            return f"{v:.2f}"
        return f"{v / MiB:.1f}"

    header = ["operation", "tool", "wall s", "CPU s (user+sys)", "peak RSS MiB", "vault MiB", "note"]
    lines = []
    for label, t, rc, wall, cpu, rss, size, note in table:
        is_ratio = "/" in t
        lines.append([label, t,
                      fmt_num(wall, "ratio" if is_ratio else "s"),
                      fmt_num(cpu, "ratio" if is_ratio else "s"),
                      fmt_num(rss, "ratio" if is_ratio else "mib"),
                      fmt_num(size, "ratio" if is_ratio else "mib"),
                      note])

    settings = ""
    sp = os.path.join(res, "compare-settings.txt")
    if os.path.exists(sp):
        settings = open(sp).read().strip()

    # stdout: aligned text table
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    out = [settings, f"page cache: {'cold' if cold == {'1'} else 'warm' if cold == {'0'} else 'mixed ' + str(sorted(cold))}", ""]
    out.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    out.append("  ".join("-" * w for w in widths))
    prev = None
    for ln in lines:
        if prev is not None and ln[0] != prev:
            out.append("")
        prev = ln[0]
        out.append("  ".join(str(x).ljust(w) for x, w in zip(ln, widths)).rstrip())
    if failed:
        out += ["", "FAILURES:"] + [f"  {x}" for x in failed]
    print("\n".join(out))

    with open(os.path.join(res, "compare.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["op", "tool", "rc", "wall_s", "cpu_s", "maxrss_bytes", "vault_bytes", "note"])
        for label, t, rc, wall, cpu, rss, size, note in table:
            op = next(o for o, l in OPS if l == label)
            w.writerow([op, t, "" if rc is None else rc,
                        "" if wall is None else (f"{wall:.4f}" if "/" in t else wall),
                        "" if cpu is None else (f"{cpu:.4f}" if "/" in t else f"{cpu:.2f}"),
                        "" if rss is None else (f"{rss:.4f}" if "/" in t else rss),
                        "" if size is None else (f"{size:.4f}" if "/" in t else size), note])

    with open(os.path.join(res, "compare.md"), "w") as f:
        f.write("# mlvault vs restic and Borg\n\n")
        f.write("```\n" + settings + "\n```\n\n")
        f.write(f"Page cache: {'cold (dropped before every step)' if cold == {'1'} else 'warm' if cold == {'0'} else 'mixed'}. "
                "Vault size is `du -sb` of the repository after the step. Ratios are mlvault / the faster "
                "successful peer of that step (wall time decides which peer); below 1 means mlvault is "
                "better.\n\n")
        f.write("| " + " | ".join(header) + " |\n")
        f.write("|---|---|---:|---:|---:|---:|---|\n")
        for ln in lines:
            cells = list(ln)
            if "/" in cells[1]:
                cells = [f"**{c}**" if c not in ("-", "") else c for c in cells]
            f.write("| " + " | ".join(cells) + " |\n")
        f.write("\nRestore verification (manifest.py compare of every file's type, path, size, sha256, link target):\n\n")
        for t in tools:
            f.write(f"- {t}: `{verify[t]}`\n")
        if failed:
            f.write("\n**Failures:**\n\n" + "".join(f"- {x}\n" for x in failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
