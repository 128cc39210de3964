#!/usr/bin/env bash
# Prints the Markdown summary of a make bench run: medians over the repetitions, the ratios of
# devauth to nginx and oidc-provider measured in the same run, cost growth and the targets.
# Usage: bench/summarize.sh OUT_DIR (the directory that bench/run.sh wrote)
set -euo pipefail
out=$1
# shellcheck disable=SC1090
eval "$(tr ' ' '\n' <"$out/growth.txt")"

awk -F'\t' -v small_rows="$small_rows" -v big_rows="$big_rows" -v small_bytes="$small_bytes" \
  -v big_bytes="$big_bytes" -v small_rss="$small_rss_kb" -v big_rss="$big_rss_kb" \
  -v small_idle="$small_rss_idle_kb" -v big_idle="$big_rss_idle_kb" '
function median(list,    n, v, i, j, t) {
  n = split(list, v, " ")
  for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
    t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
  }
  return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function verdict(ok) { return ok ? "met" : "MISSED" }
NR == 1 { next }
{
  key = $1 SUBSEP $2
  if (!(key in seen)) { seen[key] = 1; order[++keys] = key }
  rate[key] = rate[key] " " $4; p50[key] = p50[key] " " $5; p99[key] = p99[key] " " $6
  cpu[key] = cpu[key] " " $7; user[key] = user[key] " " $8; sys[key] = sys[key] " " $9
  rss[key] = rss[key] " " $10
  pending[key] += $11; slow[key] += $12; ok[key] += $13; other[key] += $14; reps[key]++
}
END {
  print "| scenario | server | req/s | p50 ms | p99 ms | server CPU µs/req (user + sys) | RSS MiB | answers (all reps) |"
  print "|---|---|---:|---:|---:|---:|---:|---|"
  for (i = 1; i <= keys; i++) {
    key = order[i]; split(key, part, SUBSEP)
    m[key] = median(rate[key])
    answers = (part[1] ~ /poll/) ? sprintf("%d pending, %d slow_down", pending[key], slow[key]) \
                                 : sprintf("%d ok", ok[key])
    if (other[key] > 0) answers = answers sprintf(", %d other", other[key])
    printf "| %s | %s | %.0f | %.2f | %.2f | %.1f (%.1f + %.1f) | %.1f | %s |\n", part[1], part[2],
      m[key], median(p50[key]) / 1000, median(p99[key]) / 1000, median(cpu[key]),
      median(user[key]), median(sys[key]), median(rss[key]) / 1024, answers
    mp99[key] = median(p99[key]) / 1000; mcpu[key] = median(cpu[key])
  }
  print ""
  pd = "poll" SUBSEP "devauth"; pn = "poll" SUBSEP "nginx"; po = "poll" SUBSEP "oidc-provider"
  bd = "begin" SUBSEP "devauth"; bn = "begin" SUBSEP "nginx"; bo = "begin" SUBSEP "oidc-provider"
  gs = "poll-growth" SUBSEP "devauth-" small_rows; gb = "poll-growth" SUBSEP "devauth-" big_rows
  as = "approve-growth" SUBSEP "devauth-" small_rows; ab = "approve-growth" SUBSEP "devauth-" big_rows
  printf "Ratios (medians, same run): polling devauth/nginx %.1f%%, devauth/oidc-provider %.2fx; " \
    "begin devauth/nginx %.1f%%, devauth/oidc-provider %.2fx.\n\n", 100 * m[pd] / m[pn],
    m[pd] / m[po], 100 * m[bd] / m[bn], m[bd] / m[bo]
  bl = "begin" SUBSEP "devauth-limits"
  if (bl in m) {
    printf "Begin with the request limits counted (devauth-limits, same run): %.1f%% of nginx, " \
      "%.1f µs of server CPU per begin.\n\n", 100 * m[bl] / m[bn], mcpu[bl]
  }
  pg = "poll" SUBSEP "devauth-pg"; bg = "begin" SUBSEP "devauth-pg"
  if (pg in m && bg in m) {
    printf "PostgreSQL (devauth-pg, same run): polling %.1f%% of nginx, begin %.1f%% of nginx; " \
      "server CPU (devauth and PostgreSQL) %.1f µs per poll, %.1f µs per begin.\n\n",
      100 * m[pg] / m[pn], 100 * m[bg] / m[bn], mcpu[pg], mcpu[bg]
  }
  live = big_rows - small_rows
  rss_per = (big_rss - small_rss) * 1024 / live
  printf "Growth: polling at %d live %.1f%% of its rate at %d; approval %.1f%%. " \
    "RSS per live authorization %.0f bytes after the polling load (%.0f idle); " \
    "store %.0f bytes per live authorization.\n\n", big_rows, 100 * m[gb] / m[gs], small_rows,
    100 * m[ab] / m[as], rss_per, (big_idle - small_idle) * 1024 / live,
    (big_bytes - small_bytes) / live
  print "| target | measured | verdict |"
  print "|---|---|---|"
  printf "| polling >= 60%% of nginx | %.1f%% | %s |\n", 100 * m[pd] / m[pn], verdict(m[pd] >= 0.6 * m[pn])
  printf "| <= 20 µs server CPU per poll | %.1f µs | %s |\n", mcpu[pd], verdict(mcpu[pd] <= 20)
  printf "| begin >= 35%% of nginx | %.1f%% | %s |\n", 100 * m[bd] / m[bn], verdict(m[bd] >= 0.35 * m[bn])
  printf "| p99 <= 5 ms at 64 connections (poll, begin) | %.2f ms, %.2f ms | %s |\n", mp99[pd],
    mp99[bd], verdict(mp99[pd] <= 5 && mp99[bd] <= 5)
  printf "| polling at %d live within 10%% of %d | %.1f%% | %s |\n", big_rows, small_rows,
    100 * m[gb] / m[gs], verdict(m[gb] >= 0.9 * m[gs])
  printf "| approval at %d live within 10%% of %d | %.1f%% | %s |\n", big_rows, small_rows,
    100 * m[ab] / m[as], verdict(m[ab] >= 0.9 * m[as])
  printf "| <= 300 bytes RSS per live authorization | %.0f bytes | %s |\n", rss_per,
    verdict(rss_per <= 300)
}' "$out/results.tsv"
echo
echo "Machine and settings:"
echo
sed 's/^/    /' "$out/machine.txt"
echo "    bulk seeding of $big_rows rows: ${seed_seconds}s"
