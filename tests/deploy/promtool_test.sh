#!/usr/bin/env bash
# promtool checks of deploy/prometheus: the configuration, every rules file
# and every rules unit-test file. Usage: promtool_test.sh REPO_ROOT
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 REPO_ROOT" >&2
  exit 2
fi
root=$1
dir=$root/deploy/prometheus
if ! command -v promtool >/dev/null; then
  echo "promtool_test: promtool not found (Debian package prometheus)" >&2
  exit 1
fi

passed=0
failed=0
# Runs one check, prints its output and its verdict, counts it.
check() {
  local name=$1
  shift
  local out
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
    echo "PASS  $name"
  else
    failed=$((failed + 1))
    echo "FAIL  $name"
  fi
  printf '%s\n' "$out" | sed 's/^/      /'
}

shopt -s nullglob
rules=("$dir"/rules/*.yml "$dir"/rules/*.yaml)
tests=("$dir"/tests/*.yml "$dir"/tests/*.yaml)
if [[ ${#rules[@]} -eq 0 ]]; then
  echo "FAIL  no rules files in $dir/rules"
  failed=$((failed + 1))
fi
if [[ ${#tests[@]} -eq 0 ]]; then
  echo "FAIL  no rules unit-test files in $dir/tests"
  failed=$((failed + 1))
fi

check "promtool check config prometheus.yml" \
  promtool check config "$dir/prometheus.yml"
for f in "${rules[@]}"; do
  check "promtool check rules ${f#"$root"/}" promtool check rules "$f"
done
for f in "${tests[@]}"; do
  check "promtool test rules ${f#"$root"/}" promtool test rules "$f"
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
