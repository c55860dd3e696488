#!/usr/bin/env python3
"""Summary lines for bench/run.sh.

usage: summarize.py RESULTS_DIR TARGET...   (TARGET = gateway | ganesha | replica1 | replica3 | redis | nfs4 | ganesha4)

Reads RESULTS_DIR/<target>.seq.txt and <target>.meta.txt (median/_min/_max
lines from the kit's lib/stats.py) and <target>.rss.txt, and prints plain
"name value" lines:
  <target>.<figure> <median>       every figure except _min/_max, _seconds, _client_cpu_pct
  ratio.<figure> <x>               gateway vs ganesha, >1 means the gateway is better:
                                   throughput (_MiBps, _per_s): gateway / ganesha
                                   latency (_us):               ganesha / gateway
                                   named after the figure without its unit
  ratio.replica3_vs_replica1_seq_write <x>   distributed volume: replica 3 / replica 1 (target >= 0.5)
  replicaN.net_*_bytes_per_client_byte     network bytes to/from the bricks per client byte
  redis_create_per_s <n>           small files created per second with metadata in Redis (redis target),
  embedded_create_per_s <n>        the same with the embedded engine (gateway target), and
  ratio.redis_vs_embedded_create <x>  their ratio (target >= 0.5); _empty_ variants for empty files
  gateway_peak_rss_MiB <n>         (and ganesha_peak_rss_MiB, replicaN_peak_rss_MiB, for reference)
  gateway_seq_peak_rss_MiB <n>     the same, sampled only while the gateway's sequential steps ran
Lines starting with '#' are comments.
"""
import os
import sys

SKIP_SUFFIXES = ('_min', '_max', '_n', '_seconds', '_client_cpu_pct')
# unit suffix -> kind; the ratio is named after the figure without its unit
# (readdir_N_entries_ms_median gets none: ratio.readdir_entries already says the same)
UNITS = [('_MiBps', 'rate'), ('_per_s', 'rate'), ('_us', 'time')]


def load(path):
    vals = {}
    if not os.path.exists(path):
        return vals
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 2 or parts[0].endswith(SKIP_SUFFIXES):
                continue
            try:
                float(parts[1])
            except ValueError:
                continue
            vals[parts[0]] = parts[1]  # keep the kit's formatting
    return vals


def main():
    out, targets = sys.argv[1], sys.argv[2:]
    figs = {}
    for t in targets:
        figs[t] = {}
        for part in ('seq', 'meta', 'net'):
            figs[t].update(load(os.path.join(out, f'{t}.{part}.txt')))
        # NFSv4 targets (nfs4, ganesha4): figures per minor version, named v40.<figure> / v41.<figure>
        for part in ('v40.seq', 'v40.meta', 'v41.seq', 'v41.meta'):
            for k, v in load(os.path.join(out, f'{t}.{part}.txt')).items():
                figs[t][f"{part.split('.')[0]}.{k}"] = v
    print(f"# figures: median over runs; min/max and per-run lines in {out}")
    for t in targets:
        if not figs[t]:
            print(f"# {t}: no figures (see FAILED below)")
        for k, v in figs[t].items():
            print(f"{t}.{k} {v}")
    if figs.get('gateway') and figs.get('ganesha'):
        print("# ratio.X: >1 means the gateway is better; throughput (MiB/s, per s) = gateway/ganesha, "
              "latency (_us) = ganesha/gateway")
        gw, ga = figs['gateway'], figs['ganesha']
        for k in ga:
            for suffix, kind in UNITS:
                if k.endswith(suffix):
                    break
            else:
                continue  # e.g. *_errors: no ratio
            a, b = float(gw.get(k, 0)), float(ga[k])
            if a <= 0 or b <= 0:
                print(f"# ratio.{k[:-len(suffix)]}: n/a")
                continue
            r = a / b if kind == 'rate' else b / a
            print(f"ratio.{k[:-len(suffix)]} {r:.2f}")
    else:
        print("# ratio.*: n/a (needs both gateway and ganesha figures)")
    # NFSv4: the gateway (nfs4) vs Ganesha (ganesha4), per minor version: ratio.v40.<figure>, ratio.v41.<figure>
    n4, g4 = figs.get('nfs4', {}), figs.get('ganesha4', {})
    if n4 and g4:
        print("# NFSv4 ratio.vXX.Y: gateway (nfs4) vs Ganesha (ganesha4), >1 means the gateway is better")
        for k in g4:
            for suffix, kind in UNITS:
                if k.endswith(suffix):
                    break
            else:
                continue
            a, b = float(n4.get(k, 0)), float(g4[k])
            if a <= 0 or b <= 0:
                print(f"# ratio.{k[:-len(suffix)]}: n/a")
                continue
            print(f"ratio.{k[:-len(suffix)]} {(a / b if kind == 'rate' else b / a):.2f}")
    # Distributed volume (replica1/replica3 targets): replica-3 write as a share of replica-1 write.
    r1, r3 = figs.get('replica1', {}), figs.get('replica3', {})
    for k in ('seq_write_MiBps', 'seq_read_MiBps'):
        if float(r1.get(k, 0)) > 0 and float(r3.get(k, 0)) > 0:
            print(f"ratio.replica3_vs_replica1_{k[:-len('_MiBps')]} {float(r3[k]) / float(r1[k]):.2f}")
    # Metadata engines: the small-file workload on Redis (redis target) vs embedded (gateway target).
    rd, em = figs.get('redis', {}), figs.get('gateway', {})
    for k, name in (('create_write_close_files_per_s', 'create'), ('create_empty_files_per_s', 'create_empty')):
        if k in rd:
            print(f"redis_{name}_per_s {rd[k]}")
        if k in em:
            print(f"embedded_{name}_per_s {em[k]}")
        if float(rd.get(k, 0)) > 0 and float(em.get(k, 0)) > 0:
            print(f"ratio.redis_vs_embedded_{name} {float(rd[k]) / float(em[k]):.2f}")
    for t in targets:
        rss = load(os.path.join(out, f'{t}.rss.txt')).get('peak_rss_MiB')
        if rss is not None:
            print(f"{t}_peak_rss_MiB {rss}")
        elif t == 'gateway':
            print("# gateway_peak_rss_MiB: n/a (gateway did not run)")
        # the peak during the sequential copies alone (issue 2's RSS target is "during the 1 GiB copy"):
        # the RSS samples (every 0.2 s) taken while one of the target's seq steps ran
        seq = step_peak_rss(out, t, ('seq', 'v40.seq', 'v41.seq'))
        if seq is not None:
            print(f"{t}_seq_peak_rss_MiB {seq:.1f}")


def step_peak_rss(out, target, steps):
    """Max sampled RSS (MiB) of TARGET while one of its STEPS ran (steps.tsv windows), or None."""
    windows = []
    try:
        with open(os.path.join(out, 'steps.tsv')) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 3:
                    continue
                name = parts[0]
                if not name.startswith(target + '.'):
                    continue
                step = name[len(target) + 1:]
                step = step.rsplit('.r', 1)[0] if '.r' in step and step.rsplit('.r', 1)[1].isdigit() else step
                if step in steps:
                    windows.append((float(parts[1]), float(parts[2])))
        peak = None
        with open(os.path.join(out, f'{target}.rss.tsv')) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 2:
                    continue
                ts, kib = float(parts[0]), float(parts[1])
                if any(a <= ts <= b for a, b in windows):
                    peak = kib if peak is None or kib > peak else peak
        return None if peak is None else peak / 1024
    except (OSError, ValueError):
        return None


if __name__ == '__main__':
    main()
