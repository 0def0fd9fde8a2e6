#!/usr/bin/env python3
"""bench_startup: what verifying every plugin costs at start-up, on the
example town config (examples/town/mestys.json), next to its target.

    python3 tests/bench/bench_startup.py [build-dir] [N]

Two ways to start the same town, alternated in the same run, N starts each
(default 15), from fork/exec to the first 200 from /health:

- verified: every plugin of the town is a signed bundle NAME/VERSION/
  (manifest from `mestys bundle pack`, signature from `minisign -S` with a
  throwaway key) in a plugin folder outside the daemon's own, so the daemon
  checks each one in full before loading it (permission walk, signature,
  manifest, every file's SHA-256); trust.require "signed".
- unverified: the same files copied flat (NAME.so, NAME.lua) into another
  folder, no manifest, trust.require "any": loaded as `unsigned` after the
  permission walk only.

Printed side by side: the medians, and the difference in ms next to the
target (under 5 ms added).  Plus, when the daemon exports it,
mestys_trust_verify_seconds_sum from /metrics of one verified start (the
checks themselves, without the noise of whole start-ups).  A benchmark, not a
test: nothing here asserts a time."""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_daemon import SOURCE, free_port, health_ok, town_plugins  # noqa: E402

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE, "build"))
N = int(sys.argv[2]) if len(sys.argv) > 2 else 15
MESTYSD = os.path.join(BUILD, "mestysd")
MESTYS = os.path.join(BUILD, "mestys")
TOKEN = "bench-startup-operator-token"


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def lua_version(path):
    """The version a Lua plugin's table declares (version = "X.Y.Z")."""
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("version") and "=" in line:
                return line.split("=", 1)[1].strip().strip('",')
    raise SystemExit("no version in %s" % path)


def host_version():
    """The daemon's own version, from `mestys version`."""
    out = subprocess.run([MESTYS, "version"], check=True, capture_output=True, text=True).stdout
    return out.split()[1]  # "mestys 0.1.0 (plugin ABI 1)"


def plugin_files(town):
    """(name, kind, source file, version) of every plugin the town uses."""
    out = []
    for p in town["plugins"]:
        use = p["use"]
        if use.endswith(".lua"):
            src = os.path.join(SOURCE, "examples", "town", use)
            name = os.path.basename(use)[:-4]
            out.append((name, "lua", src, lua_version(src)))
        else:
            src = os.path.join(BUILD, "plugins", use + ".so")
            info = subprocess.run([MESTYS, "plugins", src], check=True, capture_output=True, text=True).stdout
            version = [ln.split()[2] for ln in info.splitlines() if ln.split()[:1] == ["name"]][0]
            out.append((use, "so", src, version))
    return out


def prepare(root, town):
    """The trust folder, the signed bundles and the flat copies, under root."""
    keys = os.path.join(root, "keys")
    trust = os.path.join(root, "trust")
    os.makedirs(os.path.join(trust, "keys"))
    os.makedirs(keys)
    run("minisign", "-G", "-W", "-p", os.path.join(keys, "bench.pub"), "-s", os.path.join(keys, "bench.key"))
    shutil.copy(os.path.join(keys, "bench.pub"), os.path.join(trust, "keys", "bench.pub"))
    with open(os.path.join(trust, "keys", "bench.scope"), "w") as f:
        json.dump({"names": ["*"], "kinds": ["so", "lua"]}, f)
    signed, flat = os.path.join(root, "signed"), os.path.join(root, "flat")
    os.makedirs(flat)
    for name, kind, src, version in plugin_files(town):
        bundle = os.path.join(signed, name, version)
        os.makedirs(bundle)
        shutil.copy(src, os.path.join(bundle, "%s.%s" % (name, kind)))
        shutil.copy(src, os.path.join(flat, "%s.%s" % (name, kind)))
        run(MESTYS, "bundle", "pack", bundle, "--host", "== " + host_version())
        run("minisign", "-S", "-s", os.path.join(keys, "bench.key"), "-m", os.path.join(bundle, "manifest.json"))
    return trust, signed, flat


def config(town, root, trust, plugin_dir, require):
    """The town with its plugins found by name in plugin_dir."""
    cfg = json.loads(json.dumps(town))
    cfg["node"]["plugin_path"] = [plugin_dir]
    cfg["node"]["state_dir"] = os.path.join(root, "state-" + require)
    cfg["trust"] = {"dir": trust, "require": require}
    for p in cfg["plugins"]:
        if p["use"].endswith(".lua"):
            p["use"] = os.path.basename(p["use"])[:-4]
    cfg.setdefault("tokens", []).append({"name": "bench", "token": TOKEN, "role": "operator"})
    return cfg


def start(cfg, root, keep=False):
    """Seconds from exec to /health 200; with keep, the running process and port too."""
    port = free_port()
    cfg["node"]["http"]["listen"] = "127.0.0.1:%d" % port
    path = os.path.join(root, "mestys.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    t0 = time.perf_counter()
    p = subprocess.Popen([MESTYSD, "-c", path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while not health_ok(port):
        if p.poll() is not None:
            raise SystemExit("mestysd exited early: %s" % p.stderr.read().decode(errors="replace"))
        time.sleep(0.0005)
    elapsed = time.perf_counter() - t0
    if keep:
        return elapsed, p, port
    p.terminate()
    p.wait()
    return elapsed


def verify_seconds(cfg, root):
    """Sum of mestys_trust_verify_seconds in /metrics of one verified start, or None."""
    _, p, port = start(cfg, root, keep=True)
    try:
        req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port,
                                     headers={"Authorization": "Bearer " + TOKEN})
        text = urllib.request.urlopen(req, timeout=5).read().decode()
    finally:
        p.terminate()
        p.wait()
    # a histogram: its _sum is the time of every plugin's check together
    values = [float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines()
              if ln.startswith("mestys_trust_verify_seconds_sum")]
    return values[0] if values else None


def main():
    town = town_plugins()
    # under the build folder, not /tmp: the daemon refuses plugins below a
    # folder others can write to (/tmp is 1777)
    root = tempfile.mkdtemp(prefix="bench-startup-", dir=BUILD)
    os.chmod(root, 0o755)
    try:
        trust, signed, flat = prepare(root, town)
        on = config(town, root, trust, signed, "signed")
        off = config(town, root, trust, flat, "any")
        start(on, root), start(off, root)  # warm the page cache for both
        t_on, t_off = [], []
        for _ in range(N):
            t_on.append(start(on, root))
            t_off.append(start(off, root))
        m_on, m_off = statistics.median(t_on), statistics.median(t_off)
        n_plugins = len(town["plugins"])
        print("bench_startup: mestysd on examples/town/mestys.json, %d plugins (%s), %d starts each, alternated"
              % (n_plugins, MESTYSD, N))
        print("  verified   (signed bundles, trust.require signed)  median %6.1f ms" % (1000 * m_on))
        print("  unverified (flat files, trust.require any)         median %6.1f ms" % (1000 * m_off))
        print("  added by verification                              %+6.1f ms  (target: under 5 ms)"
              % (1000 * (m_on - m_off)))
        spread = statistics.pstdev(t_off) * 1000
        print("  noise: the unverified start-ups' standard deviation %.1f ms" % spread)
        v = verify_seconds(on, root)
        if v is not None:
            print("  the checks themselves (mestys_trust_verify_seconds_sum, one start): %.2f ms for %d plugins"
                  % (1000 * v, n_plugins))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
