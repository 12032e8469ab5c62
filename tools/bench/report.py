"""Turns the raw results of a run into figures (medians, ranges, ratios), the pass/fail lines of
the issue's targets, and the three artifacts: results.json, results.md and smtp.png."""
import json
import pathlib
import shutil
import statistics
import subprocess

from clients import BenchError

SMTP_TARGETS = ["ActorMail", "Postfix", "aiosmtpd", "smtp4dev", "MailDev", "smtp-sink"]
# The servers a developer would pick instead: the "best peer" of a round is the fastest of these.
PEERS = ["Postfix", "aiosmtpd", "smtp4dev", "MailDev"]
POP3_TARGETS = ["ActorMail", "Dovecot", "smtp4dev"]
BIG_OPS = {"signin_s": "sign-in", "stat_s": "STAT", "list_s": "LIST", "uidl_s": "UIDL"}  # in the order sent
BIG_SHOWN = {**BIG_OPS, "signin_stat_s": "sign-in + STAT"}
# The targets. A sign-in is compared with its snapshot: ActorMail answers PASS once the maildrop
# is listed and locked, Dovecot answers PASS first and lists the maildrop before answering the
# first command, so "sign-in + STAT" is the time until each server holds its snapshot. PASS alone
# is shown beside it, not a target: it measures where a server does the work, not how long it takes.
BIG_TARGETS = {"signin_stat_s": "sign-in with its snapshot (sign-in + STAT)", "stat_s": "STAT", "list_s": "LIST", "uidl_s": "UIDL"}
# The commands a target's time is made of: a server that did not answer one of them in time.
BIG_PARTS = {"signin_stat_s": ("signin_s", "stat_s")}
STATES = ("cold", "warm")
MEMORY_PER_MESSAGE = 200  # bytes of node memory per message of an open maildrop
MODES = {"new": "new connection per message", "reuse": "connections reused (-d)"}
GIB = 1 << 30
LARGE_GROWTH_LIMIT = 50_000_000  # "50 MB", taken in decimal megabytes: the stricter reading


def spread(values):
    values = list(values)
    if not values:
        return None
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def per_round(runs, key="msg_per_s"):
    return {r["round"]: r[key] for r in runs}


def round_ratios(mine, theirs):
    """mine[k] / theirs[k] for every round k that both have (and theirs is not zero)."""
    return [mine[k] / theirs[k] for k in mine if k in theirs and theirs[k] > 0]


def best_per_round(series):
    """The largest value in each round over several {round: value} series."""
    best = {}
    for values in series:
        for k, v in values.items():
            best[k] = max(best.get(k, v), v)
    return best


def summarize(results):
    """Adds a "summary" section: per-target medians and ranges, ratios and the targets."""
    s = {"smtp": {}, "ratios": {}, "pop3": {}, "big_mailbox": {}, "targets": []}
    messages = results["settings"]["messages"]

    def cpu_per_msg(r):
        return r["server_cpu_s"] / r.get("messages", messages)
    for mode in MODES:
        s["smtp"][mode] = {}
        for t in SMTP_TARGETS:
            runs = results["smtp"][mode].get(t) or []
            if runs:
                s["smtp"][mode][t] = {
                    **spread(r["msg_per_s"] for r in runs),
                    "cpu_us_per_msg": round(statistics.median(cpu_per_msg(r) for r in runs) * 1e6, 1),
                    "peak_rss_kb": max((r.get("peak_rss_kb", 0) for r in runs)),
                    "tree_pss_kb": max((r.get("tree_pss_kb", 0) for r in runs)),
                }
                if all("delivered_msg_per_s" in r for r in runs):
                    s["smtp"][mode][t]["delivered"] = spread(r["delivered_msg_per_s"] for r in runs)
        am = per_round(results["smtp"][mode]["ActorMail"])
        for peer in SMTP_TARGETS[1:]:
            ratios = round_ratios(am, per_round(results["smtp"][mode].get(peer) or []))
            if ratios:
                s["ratios"][f"{mode}/{peer}"] = spread(ratios)
        peers = [per_round(results["smtp"][mode][p]) for p in PEERS if results["smtp"][mode].get(p)]
        ratios = round_ratios(am, best_per_round(peers))
        if ratios:
            s["ratios"][f"{mode}/best peer"] = spread(ratios)
    for t in POP3_TARGETS:
        runs = results["pop3"].get(t) or []
        if runs:
            s["pop3"][t] = {
                "messages": runs[0]["messages"],
                "session": spread(r["msg_per_s"] for r in runs),
                "retr": spread(r["retr_msg_per_s"] for r in runs),
                "login_s": spread(r["login_s"] for r in runs),
                "server_cpu_s": spread(r["server_cpu_s"] for r in runs),
                "client_cpu_s": spread(r["client_cpu_s"] for r in runs),
            }
    am = per_round(results["pop3"]["ActorMail"])
    for peer in POP3_TARGETS[1:]:
        ratios = round_ratios(am, per_round(results["pop3"].get(peer) or []))
        if ratios:
            s["ratios"][f"pop3/{peer}"] = spread(ratios)
    big = results.get("big_mailbox")
    if big:
        for state in STATES:
            for op in BIG_SHOWN:
                am = {r["round"]: r[op] for r in big["ActorMail"] if r["state"] == state and op in r}
                dv = {r["round"]: r[op] for r in big["Dovecot"] if r["state"] == state and op in r}
                s["big_mailbox"][f"{state}/{op}"] = {
                    "ActorMail": spread(am.values()), "Dovecot": spread(dv.values()), "ratio": spread(round_ratios(am, dv))}
        s["big_mailbox"]["bytes_per_msg"] = spread(r["rss_growth_bytes_per_msg"] for r in big["ActorMail"] if r["state"] == "cold")

    def target(name, goal, value, shown, met):
        s["targets"].append({"target": name, "goal": goal, "value": value, "measured": shown,
                             "status": "n/a" if met is None else ("MET" if met else "NOT MET")})

    def ratio_target(key, label, goal):
        r = s["ratios"].get(key)
        if r is None:
            target(label, f">= {goal}x", None, "not measured", None)
        else:
            target(label, f">= {goal}x", r["median"], f"{r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})", r["median"] >= goal)

    ratio_target("new/best peer", "SMTP new connection: ActorMail / best peer", 2.5)
    ratio_target("reuse/best peer", "SMTP reused: ActorMail / best peer", 3)
    ratio_target("new/smtp-sink", "SMTP new connection: ActorMail / smtp-sink", 0.3)
    ratio_target("reuse/smtp-sink", "SMTP reused: ActorMail / smtp-sink", 0.3)
    ratio_target("pop3/Dovecot", "POP3 one session: ActorMail / Dovecot", 1.5)
    if big:
        label = f"{big['messages']:,}-message maildrop"
        for key, v in s["big_mailbox"].items():
            if key == "bytes_per_msg" or key.split("/")[1] not in BIG_TARGETS:
                continue
            state, op = key.split("/")
            r = v["ratio"]
            name = f"{label}, {BIG_TARGETS[op]} {state}: ActorMail / Dovecot time"
            timed_out = [d for d in big["Dovecot"] if d["state"] == state and d.get("timed_out") in BIG_PARTS.get(op, (op,))]
            if r is None and timed_out and v["ActorMail"]:
                # Dovecot's time for the command it did not answer is at least the timeout.
                t = timed_out[0]["timed_out_s"]
                am_s = v["ActorMail"]["median"]
                target(name, "<= 1x", am_s / t, f"<= {am_s / t:.3f}x ({am_s:.3f} s / Dovecot no answer within {t:.0f} s)", am_s <= t)
            elif r is None:
                target(name, "<= 1x", None, "not measured", None)
            else:
                target(name, "<= 1x", r["median"], f"{r['median']:.2f}x ({v['ActorMail']['median']:.3f} s / "
                       f"{v['Dovecot']['median']:.3f} s)", r["median"] <= 1.0)
        b = s["big_mailbox"]["bytes_per_msg"]
        target(f"{label}: node memory per message", "< 200 B", b and b["median"],
               f"{b['median']:.0f} B" if b else "not measured", None if b is None else b["median"] < MEMORY_PER_MESSAGE)
    n = results["settings"]["connections"]
    sc = results.get("scale")
    label = f"{n:,} connections"
    if n != 10000:
        label += " (goal set for 10,000)"
    if sc:
        target(f"{label}: failures", "0", sc["failed"], f"{sc['failed']} of {sc['requested']}", sc["failed"] == 0)
        peak = sc["peak_rss_kb"] * 1024
        target(f"{label}: peak RSS", "< 1 GiB", peak, f"{peak / 1048576:.0f} MiB", peak < GIB)
    else:
        target(f"{label}: failures", "0", None, "not measured", None)
        target(f"{label}: peak RSS", "< 1 GiB", None, "not measured", None)
    lg = results.get("large")
    size = results["settings"]["large_octets"]
    label = f"{size // 1048576} MiB message: RSS growth"
    if lg:
        g = lg["growth_octets"]
        target(label, "< 50 MB", g, f"{g / 1e6:.1f} MB", g < LARGE_GROWTH_LIMIT)
    else:
        target(label, "< 50 MB", None, "not measured", None)
    results["summary"] = s
    return s


def table(headers, rows):
    """A plain fixed-width text table."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(headers, rows):
    out = ["| " + " | ".join(str(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _fmt(sp, digits=0):
    if not sp:
        return "-", "-"
    f = f"{{:.{digits}f}}"
    return f.format(sp["median"]), f"{f.format(sp['min'])}-{f.format(sp['max'])}"


def sections(results):
    """(title, headers, rows) of every table, in the order printed."""
    s = results["summary"]
    messages = results["settings"]["messages"]
    out = []
    rows = []
    for mode, label in MODES.items():
        for t in SMTP_TARGETS:
            sp = s["smtp"][mode].get(t)
            if not sp:
                continue
            runs = results["smtp"][mode][t]
            med, rng = _fmt(sp)
            stored = ",".join(str(r["stored"]) for r in runs) if "stored" in runs[0] else (
                "(stores nothing)" if t == "smtp-sink" else "(in its database)")
            others = " ".join(f"{r.get('other_cpus', r['other_cpu_s'] / r['seconds']):.1f}" for r in runs)
            delivered = f"{sp['delivered']['median']:.0f} ({sp['delivered']['min']:.0f}-{sp['delivered']['max']:.0f})" if "delivered" in sp else ""
            rows.append([label, t, runs[0].get("messages", messages), med, rng, delivered, f"{sp['cpu_us_per_msg']:.0f}", f"{sp['peak_rss_kb'] / 1024:.0f}",
                         f"{sp['tree_pss_kb'] / 1024:.0f}", " ".join(f"{r['msg_per_s']:.0f}" for r in runs), stored, others])
    out.append(("SMTP throughput (smtp-source -s 10, msg/s)",
                ["mode", "target", "messages", "median msg/s", "min-max", "in Maildir msg/s", "server CPU us/msg", "peak RSS MiB",
                 "PSS at end MiB", "per round", "stored in new/", "other load (CPUs busy)"], rows))
    rows = []
    for key, sp in s["ratios"].items():
        med, rng = _fmt(sp, 2)
        rows.append([key.replace("new/", "SMTP new connection: ActorMail / ").replace("reuse/", "SMTP reused: ActorMail / ")
                     .replace("pop3/", "POP3: ActorMail / "), med, rng])
    out.append(("Ratios (per round, then median)", ["ratio", "median", "min-max"], rows))
    rows = []
    for t, v in results.get("latency_all", {}).items():
        per = " ".join(f"{r['p50_ms']}/{r['p99_ms']}" for r in results["latency"][t])
        rows.append([t, v["samples"], v["p50_ms"], v["p99_ms"], per])
    out.append(("SMTP latency, end of DATA to 250 (one connection, sequential)",
                ["target", "samples", "p50 ms", "p99 ms", "per round p50/p99"], rows))
    rows = []
    for t, v in s["pop3"].items():
        med, rng = _fmt(v["session"])
        rmed, rrng = _fmt(v["retr"])
        rows.append([t, v["messages"], med, rng, rmed, rrng, f"{v['login_s']['median']:.3f}", f"{v['server_cpu_s']['median']:.2f}",
                     f"{v['client_cpu_s']['median']:.2f}"])
    out.append(("POP3: one session retrieves every message (RETR pipelined by 50)",
                ["target", "messages", "session msg/s", "min-max", "RETR-phase msg/s", "min-max", "login s", "server CPU s",
                 "client CPU s"], rows))
    big = results.get("big_mailbox")
    if big:
        rows = []
        for key, v in s["big_mailbox"].items():
            if key == "bytes_per_msg":
                continue
            state, op = key.split("/")
            am, dv, r = v["ActorMail"], v["Dovecot"], v["ratio"]
            rows.append([BIG_SHOWN[op], state, f"{am['median']:.4f}" if am else "-", f"{dv['median']:.4f}" if dv else "-",
                         f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f})" if r else "-"])
        b = s["big_mailbox"]["bytes_per_msg"]
        if b:
            rows.append(["node RSS growth per message, sign-in to STAT (cold)", "", f"{b['median']:.0f} B", "", ""])
        out.append((f"POP3: one maildrop of {big['messages']:,} messages (seconds, median of "
                    f"{len(big['ActorMail']) // 2} rounds)", ["operation", "session", "ActorMail", "Dovecot",
                                                             "ActorMail / Dovecot (min-max)"], rows))
    sc = results.get("scale")
    if sc:
        fails = ", ".join(f"{k}: {v}" for k, v in sc["failures"].items()) or "none"
        out.append((f"Scale: {sc['requested']:,} SMTP connections held, then one transaction each", ["measure", "value"], [
            ["greeted / completed / stored", f"{sc['greeted']} / {sc['completed']} / {sc['stored']}"],
            ["failures", fails],
            ["time to open all (s)", f"{sc['open_s']:.1f}"],
            ["time for all transactions (s)", f"{sc['transactions_s']:.1f}"],
            ["RSS before / all open (MiB)", f"{sc['rss_before_kb'] / 1024:.0f} / {sc['rss_all_open_kb'] / 1024:.0f}"],
            ["memory per idle connection (kB)", sc["kb_per_idle_connection"]],
            ["peak RSS (MiB)", f"{sc['peak_rss_kb'] / 1024:.0f}"],
        ]))
    lg = results.get("large")
    if lg:
        out.append((f"Large message: {lg['octets_sent']:,} octets in one transaction", ["measure", "value"], [
            ["time DATA to 250 (s)", lg["seconds"]],
            ["throughput (MiB/s)", lg["mib_per_s"]],
            ["RSS cold / before / peak / after (MiB)",
             f"{lg['rss_cold_kb'] / 1024:.0f} / {lg['rss_before_kb'] / 1024:.0f} / {lg['rss_peak_kb'] / 1024:.0f} / {lg['rss_after_kb'] / 1024:.0f}"],
            ["RSS growth during the message (MB)", f"{lg['growth_octets'] / 1e6:.1f}"],
            ["stored file (octets)", f"{lg['stored_octets']:,}"],
        ]))
    rows = []
    for mode, label in MODES.items():
        runs = results["smtp"][mode]["ActorMail"]
        if runs:
            rows.append([label, statistics.median(r["log_lines_per_msg"] for r in runs),
                         statistics.median(r["console_lines_per_msg"] for r in runs),
                         f"{s['smtp'][mode]['ActorMail']['cpu_us_per_msg']:.0f}"])
    if rows:
        out.append(("ActorMail cost per message (median over rounds)",
                    ["mode", "smtp.log lines", "console lines", "server CPU us"], rows))
    for mode, prof in results.get("profile", {}).items():
        total = sum(c for _, c, _ in prof["threads"]) or 1
        rows = [[name, n, f"{cpu:.2f}", f"{100 * cpu / total:.0f}%"] for name, cpu, n in prof["threads"]]
        out.append((f"ActorMail CPU by thread name, round 1, {MODES[mode]} (wall {prof['wall_s']} s)",
                    ["thread", "threads", "CPU s", "share"], rows))
    rows = [[t["target"], t["goal"], t["measured"], t["status"]] for t in s["targets"]]
    out.append(("Targets", ["target", "goal", "measured", "status"], rows))
    return out


def plot(results, path):
    """Bar chart of SMTP msg/s per target (median, bars min-max), both modes, log scale."""
    gp = shutil.which("gnuplot")
    if gp is None:
        raise BenchError("gnuplot is missing (bash tools/install-deps.sh)")
    probe = subprocess.run([gp, "-e", "set terminal"], capture_output=True, text=True, timeout=30)
    terms = probe.stdout + probe.stderr
    term = "pngcairo size 900,540 font 'sans,10'" if "pngcairo" in terms else "png size 900,540"
    s = results["summary"]["smtp"]
    lines = []
    for t in SMTP_TARGETS:
        n, r = s["new"].get(t), s["reuse"].get(t)
        if not n or not r:
            continue
        lines.append(f'"{t}" {n["median"]} {n["min"]} {n["max"]} {r["median"]} {r["min"]} {r["max"]}')
    st = results["settings"]
    m = results["machine"]
    script = f"""set terminal {term}
set output '{path}'
$data << EOD
{chr(10).join(lines)}
EOD
set title "SMTP throughput, smtp-source -s 10 -m {st['messages']} -l 2048 ({st['rounds']} rounds: median, bars min-max)\\n{m['nproc']} CPUs {m['cpu_model']}, {m['date']}"
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [10:*]
set ylabel "messages per second (log scale)"
set grid ytics
set key top left
plot $data using 2:3:4:xtic(1) title "new connection per message" lc rgb "#4477aa", \\
     '' using 5:6:7 title "connections reused (-d)" lc rgb "#ee8866", \\
     '' using ($0-0.125):(13):(sprintf("%.0f",$2)) with labels textcolor rgb "white" notitle, \\
     '' using ($0+0.125):(13):(sprintf("%.0f",$5)) with labels textcolor rgb "black" notitle
"""
    p = subprocess.run([gp], input=script, capture_output=True, text=True, timeout=60)
    if p.returncode != 0 or not pathlib.Path(path).is_file():
        raise BenchError(f"gnuplot failed: {p.stderr.strip()[-300:]}")


def markdown(results, secs):
    m = results["machine"]
    st = results["settings"]
    status = "completed" if results["completed"] else "INCOMPLETE: " + "; ".join(results["errors"])
    out = [
        "# ActorMail benchmark results",
        "",
        f"Run: {m['date']}, {status}, {results['run_seconds']} s in all.",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB memory, Linux {m['kernel']}; "
        f"1-minute load average {m.get('load_1min_at_start', '?')} when the run started.",
        f"Software: .NET {m['dotnet']}, Postfix {m['postfix']} (smtp-source, smtp-sink, and the full MTA delivering to Maildir), "
        f"aiosmtpd {m['aiosmtpd']}, Dovecot {m['dovecot']}, smtp4dev {m.get('smtp4dev', '?')}, MailDev {m.get('maildev', '?')}.",
        f"Node: `{st['node_dll']}` built from commit {m.get('commit', 'unknown')}, default (durable) settings, "
        f"a fresh mail root under /tmp for every run.",
        f"Settings: {st['rounds']} rounds (targets alternate within each round), {st['messages']} messages of 2048 octets "
        f"per SMTP load ({st.get('smtp4dev_messages', st['messages'])} for smtp4dev), {st.get('pop3_messages', st['messages'])} "
        f"in the POP3 maildrop ({st.get('smtp4dev_pop3_messages', '-')} for smtp4dev), "
        f"{st.get('big_messages', 0):,} in the large maildrop, 10 smtp-source sessions, {st['latency_messages']} latency messages, {st['connections']:,} connections, "
        f"{st['large_octets']:,}-octet large message, niceness {st.get('nice', 0)}; before each timed load "
        f"{st.get('warmup', 0)} untimed messages to bob@localhost (a fifth of smtp4dev's count for smtp4dev; and {st.get('warmup', 0) // 10} before the latency samples, "
        f"a POP3 session for bob before alice's).",
        "",
        "Reproduce: `/usr/bin/python3 tools/bench/run.py" + (" --quick" if st["quick"] else "") + "` (see docs/PERFORMANCE.md).",
        "",
        "![SMTP msg/s per target](smtp.png)",
        "",
    ]
    for title, headers, rows in secs:
        out += [f"## {title}", "", md_table(headers, rows), ""]
    return "\n".join(out)


def write(results, out_dir):
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summarize(results)
    secs = sections(results)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out_dir / "results.md").write_text(markdown(results, secs))
    if results["summary"]["smtp"]["new"] and results["summary"]["smtp"]["reuse"]:
        plot(results, out_dir / "smtp.png")
    for title, headers, rows in secs[:-1]:
        print(f"\n{title}\n{table(headers, rows)}")
    print(f"\nwritten: {out_dir / 'results.md'}, {out_dir / 'results.json'}, {out_dir / 'smtp.png'}"
          f"  ({results['run_seconds']} s, {'completed' if results['completed'] else 'INCOMPLETE'})")
    # The console output ends with the targets table.
    title, headers, rows = secs[-1]
    print(f"\nSummary: the issue's targets\n{table(headers, rows)}")
