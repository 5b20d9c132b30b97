#!/usr/bin/env python3
"""How mapguard's cost grows with the size of one package, shape by shape.

Each shape generates a valid Go package at sizes n, 2n, 4n, 8n that stresses one stage of
the analysis; mapguard runs on each (--no-cache, one thread) and the report gives wall time,
peak RSS and the growth ratio per doubling. Linear cost doubles; the goal is at most 2.3x
per doubling. --check fails (exit 1) when a shape grows more than 3x per doubling, ignoring
sizes that take under 0.2 s (start-up noise dominates there).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time


def one_map(n):
    """One map: a goroutine makes n writes, its spawner n reads."""
    writes = "\n".join(f"\t\tm[{i}] = {i}" for i in range(n))
    reads = "\n".join(f"\t_ = m[{i}]" for i in range(n))
    return f"""package p

func Run() {{
\tm := map[int]int{{}}
\tgo func() {{
{writes}
\t}}()
{reads}
}}
"""


def deep_helpers(n):
    """A helper tree under exported methods of a type that starts a goroutine: n helpers,
    each calling the next two, every exported method entering it at a different depth."""
    out = ["package p", "", "import \"sync\"", "",
           "type S struct {", "\tmu sync.Mutex", "\tm  map[int]int", "}", "",
           "func (s *S) Start() {", "\tgo s.h0()", "}", ""]
    for i in range(n):
        out += [f"func (s *S) h{i}() {{", f"\ts.m[{i}]++"]
        for c in (2 * i + 1, 2 * i + 2):
            if c < n:
                out.append(f"\ts.h{c}()")
        out += ["}", ""]
    for i in range(0, n, 4):
        out += [f"func (s *S) Get{i}() int {{", f"\ts.h{i}()", f"\treturn s.m[{i}]", "}", ""]
    return "\n".join(out)


def chain(n):
    """A goroutine whose call chain is n helpers deep."""
    out = ["package p", "", "var m = map[int]int{}", "",
           "func Run() {", "\tgo c0()", "\tm[0] = 1", "}", ""]
    for i in range(n):
        call = f"\tc{i + 1}()" if i + 1 < n else f"\tm[{i}] = {i}"
        out += [f"func c{i}() {{", call, "}", ""]
    return "\n".join(out)


def many_roots(n):
    """n functions, each starting a goroutine that writes one package map."""
    out = ["package p", "", "var m = map[int]int{}", ""]
    for i in range(n):
        out += [f"func R{i}() {{", f"\tgo func() {{ m[{i}] = {i} }}()", f"\t_ = m[{i}]", "}", ""]
    return "\n".join(out)


def many_go(n):
    """One function with n go statements over one map."""
    body = "\n".join(f"\tgo func() {{ m[{i}] = {i} }}()" for i in range(n))
    return f"""package p

func Run() {{
\tm := map[int]int{{}}
{body}
}}
"""


def many_locals(n):
    """One function with n local maps, each handed to its own goroutine."""
    body = "\n".join(f"\tm{i} := map[int]int{{}}\n\tgo func() {{ m{i}[0] = 1 }}()\n\tm{i}[1] = 2"
                     for i in range(n))
    return f"""package p

func Run() {{
{body}
}}
"""


SHAPES = {
    "one map, n writes vs n reads": (one_map, 400),
    "helper tree under exported methods": (deep_helpers, 200),
    "call chain n deep": (chain, 200),
    "n roots": (many_roots, 500),
    "n go statements in one function": (many_go, 500),
    "n locals in one function": (many_locals, 300),
}


def measure(mapguard, source, timeout):
    """Wall seconds and peak RSS (MB) of mapguard on one generated package, or None past
    the timeout."""
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "p.go"), "w") as f:
            f.write(source)
        start = time.perf_counter()
        proc = subprocess.Popen([mapguard, "check", "--no-cache", "-j", "1", "--format",
                                 "short", "--file-timeout", str(timeout), "."], cwd=tmp,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                return None
            time.sleep(0.01)
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            sys.exit(f"scale: mapguard exited {code}")
        return time.perf_counter() - start, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mapguard", required=True)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every base size")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per run")
    ap.add_argument("--check", action="store_true", help="exit 1 past 3x per doubling")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per size, keeping the fastest (steadier on a busy machine)")
    args = ap.parse_args()
    # mapguard runs in a temporary directory: a relative path must not depend on it.
    if os.sep in args.mapguard:
        args.mapguard = os.path.abspath(args.mapguard)
    print("| shape | n | wall (s) | peak RSS (MB) | time ratio per doubling |")
    print("|---|---:|---:|---:|---:|")
    worst = []
    for name, (generate, base) in SHAPES.items():
        base = max(1, int(base * args.scale))
        previous = None
        for n in (base, 2 * base, 4 * base, 8 * base):
            source = generate(n)
            runs = [measure(args.mapguard, source, args.timeout) for _ in range(args.repeat)]
            result = None if None in runs else min(runs)
            if result is None:
                print(f"| {name} | {n} | > {args.timeout:.0f} | | |")
                worst.append((name, float("inf")))
                break
            wall, rss = result
            ratio = ""
            if previous is not None and previous >= 0.2:
                ratio = f"{wall / previous:.2f}x"
                worst.append((name, wall / previous))
            print(f"| {name} | {n} | {wall:.2f} | {rss:.0f} | {ratio} |", flush=True)
            previous = wall
    if worst:
        shape, ratio = max(worst, key=lambda w: w[1])
        print(f"\nworst growth per doubling: {ratio:.2f}x ({shape}); goal <= 2.3x")
        if args.check and ratio > 3.0:
            sys.exit(f"scale: {shape} grows {ratio:.2f}x per doubling (> 3x)")


if __name__ == "__main__":
    main()
