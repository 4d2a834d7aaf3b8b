#!/usr/bin/python3
"""dwaed and a real Prometheus on loopback: every PromQL expression of the
Grafana dashboard (deploy/grafana/dwae.json) and of the Prometheus rules
(deploy/prometheus/rules/*.yml) must evaluate without error and return
series.

Usage: prometheus_live_test.py REPO_ROOT DWAED DWAE [KAFKA_MOCK]

With KAFKA_MOCK (tests/testing/kafka_mock_cluster), dwaed also consumes a
2-partition topic of a mock Kafka cluster (docs/kafka.md), so that the
dwae_kafka_* series of the dashboard's Kafka row and of the lag alert exist;
the test waits until both partitions are assigned.

What it does:
  1. Starts dwaed on free loopback ports (gRPC and /metrics) with a state
     directory, --checkpoint_interval=1 and a short warm-up (300 records,
     2 epochs), and a Prometheus (the `prometheus` binary on PATH) that
     scrapes it every second as job "dwae", evaluates the repository's rule
     files every second and stores its data in a temporary directory.
  2. Streams records with the real client: the normal rows of
     KDDTrain+_20Percent (--filter_label=normal --learn=all), waits for the
     warm-up to end, replays KDDTest+ with its labels, then a few records the
     daemon rejects (a `service` longer than the daemon's 32-byte limit,
     which the client's parser accepts), so that every verdict and outcome
     has moved.
  3. Waits until Prometheus has scraped at least 3 times after the replays
     and the rules have evaluated.
  4. Evaluates each expression as an instant query at "now"
     (/api/v1/query):
       - Dashboard targets (every panels[].targets[].expr, rows included),
         after substituting Grafana's variables: $instance -> .*,
         $__rate_interval -> 1m, $__interval -> 15s, $__range -> 5m. The
         instance variable's label_values(METRIC, LABEL) query is checked
         too: METRIC must return series carrying LABEL.
         Every family of REQUIRED_DASHBOARD_METRICS (process_*, the Stream
         batch latency) must appear in some target.
       - Recording rules: the expression must return series.
       - Alerting rules: the expression is evaluated as written (it must
         not fail; series mean the alert is pending or firing, which also
         passes). When it returns nothing (the normal case: not firing),
         the rule applied is: split the expression at its top-level set
         operators (and, or, unless), split each part at its top-level
         comparison operator (==, !=, >, <, >=, <=; `bool`, on(...),
         ignoring(...), group_left/right(...) modifiers dropped), replace
         absent(X) by X, and every operand that is not a number literal
         must return series. So `a > 0.2 and b > 3 * c` checks a, b and
         3 * c.
     FAIL on an API error or an empty result; NaN values count as series.
  5. Prints each expression with its series count and a closing line
     "N passed, M failed"; exits 1 on any failure. Both processes are
     always stopped (SIGTERM, then SIGKILL after 15 s), and die with the
     test if it is killed.
"""

import ctypes
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

GRAFANA_SUBSTITUTIONS = [
    # (pattern, replacement); ${var} and $var forms, longest names first.
    (r"\$\{__rate_interval\}|\$__rate_interval\b", "1m"),
    (r"\$\{__interval\}|\$__interval\b", "15s"),
    (r"\$\{__range\}|\$__range\b", "5m"),
    (r"\$\{instance(?::\w+)?\}|\$instance\b", ".*"),
]
# Families the dashboard must chart (each in at least one target): the
# process_* families every exporter has, and the Stream batch latency.
REQUIRED_DASHBOARD_METRICS = [
    "process_resident_memory_bytes", "process_cpu_seconds_total",
    "process_open_fds", "process_max_fds", "process_start_time_seconds",
    "dwae_stream_batch_duration_seconds_bucket",
]
SCRAPES_AFTER_REPLAY = 3
DEADLINE_SECONDS = 100  # the whole run must stay well under 2 minutes


def log(msg):
    print(msg, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    """preexec_fn: the child gets SIGTERM when the test process dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (OSError, urllib.error.URLError, ValueError, KeyError) as e:
            last_error = e
        time.sleep(0.2)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}"
                       + (f" (last error: {last_error})" if last_error else ""))


def daemon_metric(metrics_url, name_and_labels):
    """Value of one sample on dwaed's /metrics, or None."""
    for line in http_get(metrics_url).splitlines():
        if line.startswith(name_and_labels + " "):
            return float(line.split()[-1])
    return None


class Prometheus:
    def __init__(self, base):
        self.base = base

    def query(self, expr):
        """Instant query at now: (result type, list of results) or raises
        RuntimeError with the API's error."""
        url = self.base + "/api/v1/query?" + urllib.parse.urlencode(
            {"query": expr})
        try:
            body = http_get(url, timeout=10)
        except urllib.error.HTTPError as e:
            body = e.read().decode()
        reply = json.loads(body)
        if reply.get("status") != "success":
            raise RuntimeError(f"{reply.get('errorType')}: {reply.get('error')}")
        data = reply["data"]
        result = data["result"]
        if data["resultType"] in ("scalar", "string"):
            result = [result]
        return data["resultType"], result


# --- PromQL splitting (for alert expressions that return nothing) ----------

IDENT_CHAR = re.compile(r"[A-Za-z0-9_:]")
SET_OPS = ("and", "unless", "or")
COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")
MODIFIER = re.compile(
    r"^\s*(?:bool\b|(?:on|ignoring|group_left|group_right)\s*\([^)]*\))")
NUMBER = re.compile(r"^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$")


def split_top_level(expr, operators):
    """Splits expr at the given operators where they occur outside any
    brackets, strings and comments. Word operators need word boundaries."""
    parts, depth, start, i, n = [], 0, 0, 0, len(expr)
    while i < n:
        c = expr[i]
        if c in "\"'`":
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if expr[j] == "\\" and c != "`" else 1
            i = j + 1
            continue
        if c == "#":
            j = expr.find("\n", i)
            i = n if j < 0 else j
            continue
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif depth == 0:
            for op in operators:
                if not expr.startswith(op, i):
                    continue
                if op[0].isalpha():
                    before = expr[i - 1] if i > 0 else " "
                    after = expr[i + len(op)] if i + len(op) < n else " "
                    if IDENT_CHAR.match(before) or IDENT_CHAR.match(after):
                        continue
                parts.append(expr[start:i])
                i += len(op)
                start = i
                break
            else:
                i += 1
                continue
            continue
        i += 1
    parts.append(expr[start:])
    return parts


def strip_modifiers(operand):
    while True:
        m = MODIFIER.match(operand)
        if not m:
            return operand.strip()
        operand = operand[m.end():]


def unwrap_absent(operand):
    m = re.match(r"^\s*absent\s*\((.*)\)\s*$", operand, re.S)
    return m.group(1).strip() if m else operand


def alert_operands(expr):
    operands = []
    for term in split_top_level(expr, SET_OPS):
        for operand in split_top_level(strip_modifiers(term), COMPARISONS):
            operand = unwrap_absent(strip_modifiers(operand))
            if operand and not NUMBER.match(operand):
                operands.append(operand)
    return operands


# --- Expressions -------------------------------------------------------------

def substitute_grafana(expr):
    for pattern, value in GRAFANA_SUBSTITUTIONS:
        expr = re.sub(pattern, value, expr)
    return expr


def dashboard_checks(path):
    """(label, expr, kind) for every target of every panel, rows included,
    and (label, metric, label_name) for label_values variables."""
    with open(path) as f:
        dash = json.load(f)
    exprs, variables = [], []

    def walk_panels(panels):
        for p in panels or []:
            for t in p.get("targets") or []:
                if t.get("expr"):
                    exprs.append((f"panel {p.get('title')!r} {t.get('refId')}",
                                  substitute_grafana(t["expr"])))
            walk_panels(p.get("panels"))

    walk_panels(dash.get("panels"))
    for v in (dash.get("templating") or {}).get("list") or []:
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.match(r"^\s*label_values\((.+),\s*(\w+)\)\s*$", q or "")
        if m:
            variables.append((f"variable {v['name']!r}", m.group(1), m.group(2)))
    return exprs, variables


def rule_checks(paths):
    checks = []
    for path in paths:
        with open(path) as f:
            doc = yaml.safe_load(f)
        for group in doc.get("groups") or []:
            for rule in group.get("rules") or []:
                if "record" in rule:
                    checks.append((f"record {rule['record']}", rule["expr"],
                                   "record"))
                else:
                    checks.append((f"alert {rule['alert']}", rule["expr"],
                                   "alert"))
    return checks


def one_line(expr):
    return " ".join(expr.split())


def nan_count(result_type, result):
    if result_type != "vector":
        return 0
    return sum(1 for s in result if s["value"][1] in ("NaN", "+Inf", "-Inf"))


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def record(self, ok, label, detail):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        log(f"{'PASS' if ok else 'FAIL'}  {label}: {detail}")


def evaluate(prom, tally, label, expr, kind):
    try:
        rtype, result = prom.query(expr)
    except RuntimeError as e:
        tally.record(False, label, f"{one_line(expr)}\n      error: {e}")
        return
    n = len(result)
    extra = ""
    special = nan_count(rtype, result)
    if special:
        extra = f" ({special} NaN/Inf)"
    if n > 0:
        suffix = " (alert active)" if kind == "alert" else ""
        tally.record(True, label,
                     f"{one_line(expr)}\n      -> {n} series{extra}{suffix}")
        return
    if kind != "alert":
        tally.record(False, label, f"{one_line(expr)}\n      -> 0 series")
        return
    # An alert that is not firing: its operands must return series.
    lines, ok = [f"{one_line(expr)}\n      -> 0 series (not firing); operands:"], True
    operands = alert_operands(expr)
    if not operands:
        ok = False
        lines.append("      (no operand found)")
    for operand in operands:
        try:
            _, sub = prom.query(operand)
            lines.append(f"      {one_line(operand)} -> {len(sub)} series")
            ok = ok and len(sub) > 0
        except RuntimeError as e:
            lines.append(f"      {one_line(operand)} -> error: {e}")
            ok = False
    tally.record(ok, label, "\n".join(lines))


# --- Processes ---------------------------------------------------------------

def stop(proc, name):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        log(f"{name} did not stop within 15 s of SIGTERM: killing it")
        proc.kill()
        proc.wait()


def run_client(args):
    log(f"$ {' '.join(args)}")
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60, preexec_fn=die_with_parent)
    for line in r.stdout.splitlines()[-6:]:
        log(f"    {line}")
    return r.returncode


def tail(path, n=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def main():
    if len(sys.argv) not in (4, 5):
        print("usage: prometheus_live_test.py REPO_ROOT DWAED DWAE [KAFKA_MOCK]",
              file=sys.stderr)
        return 2
    root, dwaed, dwae = (os.path.abspath(a) for a in sys.argv[1:4])
    kafka_mock = os.path.abspath(sys.argv[4]) if len(sys.argv) == 5 else None
    started = time.monotonic()
    prometheus_bin = shutil.which("prometheus")
    if not prometheus_bin:
        log("FAIL  prometheus not found on PATH (Debian package prometheus)")
        return 1
    dashboard = os.path.join(root, "deploy/grafana/dwae.json")
    rule_files = sorted(glob.glob(os.path.join(root, "deploy/prometheus/rules/*.yml"))
                        + glob.glob(os.path.join(root, "deploy/prometheus/rules/*.yaml")))
    train = os.path.join(root, "data/nsl-kdd/KDDTrain+_20Percent.txt")
    test = os.path.join(root, "data/nsl-kdd/KDDTest+.txt")
    if not rule_files:
        log("FAIL  no rule files in deploy/prometheus/rules")
        return 1

    tmp = tempfile.mkdtemp(prefix="dwae-prom-live-")
    daemon = prom_proc = mock = None
    tally = Tally()
    try:
        grpc_port, metrics_port, prom_port = free_port(), free_port(), free_port()
        while len({grpc_port, metrics_port, prom_port}) < 3:
            prom_port = free_port()
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        state = os.path.join(tmp, "state")
        os.makedirs(state)
        conf = os.path.join(tmp, "dwae.conf")
        with open(conf, "w") as f:
            f.write("learning {\n  warmup_records: 300\n  warmup_epochs: 2\n}\n")

        daemon_log = os.path.join(tmp, "dwaed.log")
        daemon_args = [dwaed, f"--listen=127.0.0.1:{grpc_port}",
                       f"--metrics_listen=127.0.0.1:{metrics_port}",
                       f"--state_dir={state}", "--checkpoint_interval=1",
                       f"--config={conf}"]
        if kafka_mock:
            mock = subprocess.Popen([kafka_mock, "conn:2"], stdout=subprocess.PIPE,
                                    text=True, preexec_fn=die_with_parent)
            bootstrap = mock.stdout.readline().strip().removeprefix("bootstrap: ")
            daemon_args += [f"--kafka_brokers={bootstrap}", "--kafka_topics=conn",
                            "--kafka_group=prometheus-live",
                            "--kafka_property=session.timeout.ms=6000"]
        log(f"$ {' '.join(daemon_args)}")
        with open(daemon_log, "w") as out:
            daemon = subprocess.Popen(daemon_args, stdout=out,
                                      stderr=subprocess.STDOUT,
                                      preexec_fn=die_with_parent)
        def daemon_serving():
            if daemon.poll() is not None:
                raise RuntimeError(f"dwaed exited with {daemon.returncode}:\n"
                                   + tail(daemon_log))
            return daemon_metric(metrics_url, "dwae_warming_up") is not None
        wait_for("dwaed's /metrics", daemon_serving, 20)

        prom_config = os.path.join(tmp, "prometheus.yml")
        with open(prom_config, "w") as f:
            yaml.safe_dump({
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s",
                           "scrape_timeout": "1s"},
                "rule_files": rule_files,
                "scrape_configs": [{
                    "job_name": "dwae",
                    "static_configs": [
                        {"targets": [f"127.0.0.1:{metrics_port}"]}],
                }],
            }, f)
        prom_log = os.path.join(tmp, "prometheus.log")
        prom_args = [prometheus_bin, f"--config.file={prom_config}",
                     f"--storage.tsdb.path={os.path.join(tmp, 'tsdb')}",
                     f"--web.listen-address=127.0.0.1:{prom_port}"]
        log(f"$ {' '.join(prom_args)}")
        with open(prom_log, "w") as out:
            prom_proc = subprocess.Popen(prom_args, stdout=out,
                                         stderr=subprocess.STDOUT,
                                         cwd=tmp, preexec_fn=die_with_parent)
        prom = Prometheus(f"http://127.0.0.1:{prom_port}")

        def scraped_up():
            if prom_proc.poll() is not None:
                raise RuntimeError("prometheus exited:\n" + tail(prom_log))
            _, r = prom.query('up{job="dwae"}')
            return len(r) == 1 and r[0]["value"][1] == "1"
        wait_for("Prometheus to scrape dwaed (up == 1)", scraped_up, 30)

        server = f"--server=127.0.0.1:{grpc_port}"
        rc = run_client([dwae, "replay", server, "--progress=never",
                         "--filter_label=normal", "--learn=all", train])
        if rc != 0:
            raise RuntimeError(f"dwae replay (warm-up) exited with {rc}")
        wait_for("the warm-up to end (dwae_warming_up 0)",
                 lambda: daemon_metric(metrics_url, "dwae_warming_up") == 0, 30)
        rc = run_client([dwae, "replay", server, "--progress=never", test])
        if rc != 0:
            raise RuntimeError(f"dwae replay (KDDTest+) exited with {rc}")
        # A few records the daemon rejects: the client parses any service
        # name, the daemon allows 32 bytes.
        invalid = os.path.join(tmp, "invalid.txt")
        with open(test) as src, open(invalid, "w") as dst:
            for _ in range(5):
                fields = src.readline().rstrip("\n").split(",")
                fields[2] = "x" * 40
                dst.write(",".join(fields) + "\n")
        rc = run_client([dwae, "replay", server, "--progress=never", invalid])
        log(f"    (exit code {rc}; the records are meant to be rejected)")
        invalid_count = daemon_metric(metrics_url,
                                      'dwae_records_total{verdict="invalid"}')
        log(f"dwaed: dwae_records_total{{verdict=\"invalid\"}} = {invalid_count}")

        if kafka_mock:
            wait_for("dwaed to be assigned both Kafka partitions",
                     lambda: daemon_metric(metrics_url,
                                           "dwae_kafka_assigned_partitions") == 2.0,
                     20)
        replays_done = time.time()

        def scraped_after_replays():
            _, r = prom.query('timestamp(up{job="dwae"})')
            return (len(r) == 1 and float(r[0]["value"][1])
                    >= replays_done + SCRAPES_AFTER_REPLAY)
        wait_for(f"{SCRAPES_AFTER_REPLAY} scrapes after the replays",
                 scraped_after_replays, 20)
        # The last recording rule depends on the others: once it has a
        # sample, the group has evaluated on the scraped data.
        wait_for("the recording rules to evaluate",
                 lambda: len(prom.query("dwae:anomaly_ratio:avg1h")[1]) > 0, 10)
        log(f"ready after {time.monotonic() - started:.1f} s\n")

        exprs, variables = dashboard_checks(dashboard)
        log(f"--- dashboard {os.path.relpath(dashboard, root)}: "
            f"{len(exprs)} expressions")
        for label, expr in exprs:
            if "$" in expr:
                tally.record(False, label,
                             f"{one_line(expr)}\n      unsubstituted variable")
                continue
            evaluate(prom, tally, label, expr, "dashboard")
        for metric in REQUIRED_DASHBOARD_METRICS:
            charted = [label for label, expr in exprs
                       if re.search(rf"\b{metric}\b", expr)]
            tally.record(bool(charted), f"dashboard charts {metric}",
                         ", ".join(charted) or "no panel")
        for label, metric, label_name in variables:
            try:
                _, r = prom.query(metric)
                values = sorted({s["metric"].get(label_name) for s in r} - {None})
                tally.record(bool(values), label,
                             f"label_values({metric}, {label_name}) -> {values}")
            except RuntimeError as e:
                tally.record(False, label, f"{metric}: error: {e}")

        checks = rule_checks(rule_files)
        log(f"--- rules {', '.join(os.path.relpath(p, root) for p in rule_files)}:"
            f" {len(checks)} expressions")
        for label, expr, kind in checks:
            evaluate(prom, tally, label, expr, kind)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        tally.record(False, "setup", str(e))
        log("--- dwaed log\n" + tail(os.path.join(tmp, "dwaed.log")))
        log("--- prometheus log\n" + tail(os.path.join(tmp, "prometheus.log")))
    finally:
        stop(prom_proc, "prometheus")
        stop(daemon, "dwaed")
        if mock:
            stop(mock, "kafka mock cluster")
        shutil.rmtree(tmp, ignore_errors=True)

    elapsed = time.monotonic() - started
    tally.record(elapsed <= DEADLINE_SECONDS, "runtime",
                 f"{elapsed:.1f} s (limit {DEADLINE_SECONDS} s)")
    log(f"\n{tally.passed} passed, {tally.failed} failed")
    return 0 if tally.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
