#!/usr/bin/env python3
"""Benchmark: `herald show --json` and `herald save-attachments` on a 50 MB message.

Prints a table of wall time and peak RSS (from the kernel's rusage of each child)
for a release build, with the ratio of peak memory to the message size.
Targets (issue 2): under 1 s and under 3x the message size.

Usage: python3 bench/large_message.py [--runs N] [--size-mb 50]
Builds `target/release/herald` first unless --no-build is given.
"""

import argparse
import base64
import hashlib
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERALD = os.path.join(ROOT, "target", "release", "herald")


def make_message(path, size_mb):
    """A realistic big message: HTML + text body, an inline image, three large
    attachments (random bytes, so base64 cannot be shortcut), 76-column base64."""
    rng = random.Random(50)
    target = size_mb * 1024 * 1024
    head = (
        "From: Big Sender <big@example.org>\r\n"
        "To: you@example.com\r\n"
        "Subject: Quarterly archive\r\n"
        "Date: Tue, 05 Mar 2024 10:15:00 +0100\r\n"
        "Message-ID: <big-bench@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="mixed-b"\r\n\r\n'
        "--mixed-b\r\n"
        'Content-Type: multipart/related; boundary="rel-b"\r\n\r\n'
        "--rel-b\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n"
        '<p>See the archive. <img src="cid:chart@example.org"></p>\r\n'
        "--rel-b\r\n"
        "Content-Type: image/png; name=chart.png\r\n"
        "Content-ID: <chart@example.org>\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode()
    chunks = [head, wrap_base64(bytes(rng.getrandbits(8) for _ in range(200_000))), b"\r\n--rel-b--\r\n"]
    expected = {}
    remaining = target - sum(len(c) for c in chunks)
    per_file = int(remaining / 3 * 3 / 4) - 4096
    for i, name in enumerate(["archive-1.zip", "données-2.bin", "报告-3.pdf"]):
        data = rng.randbytes(per_file)
        expected[name] = hashlib.sha256(data).hexdigest()
        chunks.append(
            (
                "--mixed-b\r\n"
                "Content-Type: application/octet-stream\r\n"
                f"Content-Disposition: attachment; filename*=UTF-8''{quote(name)}\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n"
            ).encode()
        )
        chunks.append(wrap_base64(data))
        chunks.append(b"\r\n")
    chunks.append(b"--mixed-b--\r\n")
    with open(path, "wb") as f:
        for c in chunks:
            f.write(c)
    return expected


def quote(name):
    from urllib.parse import quote as q

    return q(name, safe="")


def wrap_base64(data):
    encoded = base64.b64encode(data)
    return b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def measure(argv):
    """Runs argv with its output captured (as a script would); returns (seconds, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(argv)}\n{err.decode(errors='replace')}")
    return elapsed, out


def peak_rss(argv):
    """Peak RSS of one run, from wait4's rusage of that child alone."""
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {' '.join(argv)}")
    return usage.ru_maxrss * 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "herald"], cwd=ROOT, check=True)

    work = tempfile.mkdtemp(prefix="herald-bench-")
    try:
        eml = os.path.join(work, "large.eml")
        expected = make_message(eml, args.size_mb)
        size = os.path.getsize(eml)
        rows = []
        for label, make_argv in [
            ("show --json", lambda i: [HERALD, "show", "--json", eml]),
            ("save-attachments", lambda i: [HERALD, "save-attachments", eml, "--to", os.path.join(work, f"out{i}")]),
        ]:
            times, peaks = [], []
            for i in range(args.runs):
                elapsed, out = measure(make_argv(i))
                times.append(elapsed)
                peaks.append(peak_rss(make_argv(1000 + i)))
            rows.append((label, sorted(times)[len(times) // 2], min(times), max(peaks)))
        # Sanity: what was saved is what was attached.
        import json

        saved = json.loads(subprocess.run([HERALD, "save-attachments", eml, "--to", os.path.join(work, "check")], capture_output=True, check=True).stdout)
        got = {os.path.basename(s["path"]): s["sha256"] for s in saved}
        for name, digest in expected.items():
            if got.get(name) != digest:
                sys.exit(f"saved bytes differ for {name}")

        print(f"message: {size / 1e6:.1f} MB, {args.runs} runs each, release build")
        print(f"{'command':<20} {'median s':>9} {'min s':>7} {'peak RSS MB':>12} {'RSS / size':>11}   target")
        for label, median, fastest, peak in rows:
            ok = "ok" if median < 1.0 and peak < 3 * size else "MISSED"
            print(f"{label:<20} {median:>9.3f} {fastest:>7.3f} {peak / 1e6:>12.1f} {peak / size:>10.2f}x   <1 s, <3x: {ok}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
