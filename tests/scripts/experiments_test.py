#!/usr/bin/python3
"""Runs scripts/experiments and scripts/figures on a small slice.

Usage: experiments_test.py REPO_ROOT BUILD_DIR

Every part writes into a temporary directory (never docs/): ablations over
two notch counts with 2 seeds and 1 epoch, the eval part (1 seed, 1 epoch),
the stream part against a real dwaed, the Zeek days (1 seed, 1 epoch), then
every figure. Checks the files'
contents, not only that they exist. Exit status 1 on the first failure.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT, BUILD = sys.argv[1], sys.argv[2]
ENV = dict(os.environ, DWAE_BUILD_DIR=BUILD)


def run(*args):
    subprocess.run(list(args), check=True, env=ENV, cwd=ROOT,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


def main():
    out = tempfile.mkdtemp(prefix="dwae_experiments_")
    exp = os.path.join(ROOT, "scripts", "experiments")
    run(exp, "ablations", "--seeds", "2", "--epochs", "1", "--sweep",
        "levels:2,5", "--out", out)
    ab = rows(os.path.join(out, "ablations.csv"))
    check([(r["value"], r["rule"]) for r in ab] ==
          [("2", "dw-shadow"), ("2", "dw-stochastic"), ("5", "dw-shadow"),
           ("5", "dw-stochastic"), ("float", "float")],
          "ablations.csv has one row per notch count and DW rule, and float")
    for r in ab:
        check(0.5 < float(r["accuracy_mean"]) <= 1 and
              float(r["auc_mean"]) > 0.8, f"{r['rule']} {r['value']} learns")
        if r["rule"] != "float":
            pulses = float(r["weight_updates_mean"])
            check(pulses > 0 and abs(float(r["write_energy_joules_mean"]) -
                                     2e-15 * pulses) < 1e-18,
                  f"{r['rule']} {r['value']}: energy is 2 fJ per pulse")
    doc = json.load(open(os.path.join(out, "ablations.json")))
    check(len(doc) == 5 and doc[0]["seeds"] == 2, "ablations.json matches")

    run(exp, "eval", "--seeds", "1", "--epochs", "1", "--out", out)
    roc = rows(os.path.join(out, "roc.csv"))
    for rule in ("float", "dw-shadow", "dw-stochastic"):
        pts = [(float(r["fpr"]), float(r["tpr"])) for r in roc
               if r["rule"] == rule]
        check(pts[0] == (0, 0) and pts[-1] == (1, 1) and
              all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(pts, pts[1:])),
              f"{rule}: ROC runs monotonically from (0,0) to (1,1)")
        hist = [r for r in rows(os.path.join(out, "hist.csv"))
                if r["rule"] == rule]
        check(sum(int(r["normal"]) + int(r["attack"]) for r in hist) == 22544,
              f"{rule}: histogram counts every test row")
        trace = [int(r["weight_updates"])
                 for r in rows(os.path.join(out, "trace.csv"))
                 if r["rule"] == rule]
        check(trace == sorted(trace) and trace[-1] > 0,
              f"{rule}: write trace is cumulative")
    ev = json.load(open(os.path.join(out, "eval.json")))
    check(ev["model"]["ensembles"]["dw-stochastic"] == "k5-g32",
          "eval part uses the validated ensembles")

    run(exp, "stream", "--window", "5000", "--out", out)
    stream = rows(os.path.join(out, "stream.csv"))
    check(int(stream[-1]["records"]) == 22544 and
          0.8 < float(stream[-1]["cumulative_accuracy"]) <= 1,
          "stream: every KDDTest+ verdict is counted and the daemon detects")

    run(exp, "zeek", "--seeds", "1", "--epochs", "1", "--out", out)
    zeek = rows(os.path.join(out, "zeek.csv"))
    check(len(zeek) == 12 and
          {r["ensemble"] for r in zeek} == {"k5", "k5-l1", "k5-g32", "k1"},
          "zeek.csv: both directions, every rule, ensemble and k1")
    check(all(float(r["auc_mean"]) > 0.9 for r in zeek),
          "zeek: every rule separates the scans from the benign host")

    figures = os.path.join(out, "figures")
    run(os.path.join(ROOT, "scripts", "figures"), "--results", out, "--out",
        figures)
    for name in ("roc", "score_histograms", "notches", "ablations",
                 "writes_vs_steps", "stream_accuracy"):
        root = ET.parse(os.path.join(figures, name + ".svg")).getroot()
        check(root.tag.endswith("svg") and len(list(root.iter())) > 50,
              f"{name}.svg is a drawn SVG")


if __name__ == "__main__":
    main()
