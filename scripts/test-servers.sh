#!/usr/bin/env bash
# Installs the real servers the tests start for themselves, when missing:
# Redis from Debian's redis-server package; Prometheus and promtool from
# Debian's prometheus package (the ops tests scrape a live Engram with it and
# run `promtool test rules` on the chart's alerts), and the Pushgateway the
# probe and eviction CronJobs push to.
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "engram: installing redis-server (Debian package)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
fi
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus-pushgateway >/dev/null 2>&1; then
  echo "engram: installing prometheus, promtool and prometheus-pushgateway (Debian packages)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # --no-install-recommends: only these binaries are needed, not the exporters.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus prometheus-pushgateway >/dev/null
fi
# Debian's packages may start system instances; the tests use their own, on free ports.
redis-server --version >&2
prometheus --version 2>&1 | head -1 >&2
