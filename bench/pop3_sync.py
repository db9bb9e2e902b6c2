#!/usr/bin/env python3
"""Benchmark: `herald fetch` against peers on a real loopback Dovecot (POP3S).

Starts private Dovecot and Postfix instances with tests/support/mailservers.py
(per-run CA, loopback only), fills three mailboxes with deterministic
messages, and times, in interleaved rounds of the same run:

  floor      `openssl s_client` (trusting the per-run CA) with USER, PASS,
             RETR 1..N and QUIT all written at once, output to /dev/null,
             until the server closes the connection: what Dovecot and TLS
             can deliver, with no client work at all.
  poplib     Python's poplib, RETR of every message, one at a time, bytes
             discarded (no pipelining, nothing stored).
  fetchmail  fetchmail --keep --fetchall delivering into `bsmtp /dev/null`,
             its fastest delivery (no MDA process per message). It sends
             LIST n + RETR n per message, unpipelined, and makes nothing
             durable. (--fetchmail-mda adds a row with the MDA
             `cat > /dev/null`, one fork per message: several times slower.)
  herald     `herald fetch` with a fresh profile each round: every message
             stored durably (files synced, UIDLs committed in SQLite with
             synchronous=FULL) and indexed (summary parsed, list columns
             written). Once with the profile on the disk, once on tmpfs
             (/dev/shm).
  files only a reference, not a client: a Python process creating and
             writing the same number of files of the same total size in a
             fresh folder of the disk, with no fsync and no index, i.e. what
             the file system alone costs herald on that disk.

Mailboxes: A) 5,000 messages of about 20 KB (text + HTML alternative, one in
five with a small attachment); B) 24 messages carrying 173 MB of base64
attachments; C) re-sync: a profile that already holds 5,000 messages of a
mailbox of 5,010 (10 new), copied fresh each round (and flushed to disk
before the timing starts), fetched twice (10 new, then nothing new).

Before each timed run the script calls sync(2), untimed, so that no run
starts with another's unwritten data in the page cache (herald's syncfs
would otherwise wait for it, e.g. for the 100 MB the "files only" row
leaves behind).

Each client is a separate process; wall time is measured from spawn to exit,
peak RSS is that process's own maximum resident set (GNU time's %M). Reports
the median and min-max over the rounds, ratios of medians to the floor and
to fetchmail, and PASS/MISS for the issue's targets:

  herald <= 1.5 x floor; fetchmail / herald >= 2.5;
  peak RSS < 100 MB (A) and < 64 MB (B); re-sync (C) < 0.3 s.

The disk: by default a fresh ext4 file system made for the run in an
image file on the disk that holds /tmp, attached with direct I/O (so every
flush still goes to the disk) and removed at the end. On a used file
system, creating files gets slower while many were deleted in the last
minutes (the allocator skips recently freed inodes), and on this shared
machine that made the root file system's "files only" time swing between
0.2 s and 4 s from one minute to the next; a fresh file system measures the
clients instead of that history. --disk-dir DIR measures on the file system
of DIR instead (nothing is deleted there until the end of the run). The
"files only" row shows the state of the disk during the run.

Usage: python3 bench/pop3_sync.py [--rounds 5] [--mailboxes A,B,C]
           [--herald LABEL=PATH]... [--disk-dir DIR] [--fetchmail-mda]
           [--no-build] [--messages 5000] [--large-mb 173]
Must run as root (mailservers.py starts Postfix's master as root; the
fresh file system needs mkfs.ext4, losetup and mount). Builds
`herald` in release first (into $CARGO_TARGET_DIR or target/) unless
--no-build. --herald adds another build to time alongside (for example the
build before a change), with its profile on the disk and on tmpfs.
"""

import argparse
import base64
import binascii
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
HERALD = os.path.join(TARGET, "release", "herald")
MAILSERVERS = os.path.join(ROOT, "tests", "support", "mailservers.py")
GNU_TIME = "/usr/bin/time"
TIME_DIR = tempfile.gettempdir()
USERS = "alice:alice-secret,bob:bob-secret,carol:carol-secret"

# Targets from the issue.
FLOOR_FACTOR = 1.5
FETCHMAIL_FACTOR = 2.5
RSS_LIMIT = {"A": 100e6, "B": 64e6}
RESYNC_LIMIT_S = 0.3

FILES_ONLY_SCRIPT = r"""
import os, sys
folder, count, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = os.urandom(total // count)
for n in range(count):
    fd = os.open(os.path.join(folder, f"{n}.eml"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    os.close(fd)
"""

POPLIB_SCRIPT = r"""
import poplib, ssl, sys
host, port, ca, user, password, count = sys.argv[1:7]
context = ssl.create_default_context(cafile=ca)
context.minimum_version = ssl.TLSVersion.TLSv1_2
client = poplib.POP3_SSL(host, int(port), context=context, timeout=60)
client.user(user)
client.pass_(password)
total = 0
for number in range(1, int(count) + 1):
    total += client.retr(number)[2]
client.quit()
print(total)
"""


# ---------------------------------------------------------------- messages

WORDS = (
    "the of and to in is for on that with as by this be are from at or an it was which "
    "meeting report quarter budget schedule project review draft invoice delivery update "
    "please find attached let me know thanks regards tomorrow afternoon agenda minutes "
    "customer supplier contract approval deadline release version server network account "
    "café résumé naïve Zürich Ångström straße déjà façade señor 報告 会议 東京 Москва привет"
).split()


def paragraphs(rng, count):
    """A pool of paragraphs of 300-900 bytes, wrapped at 72 columns."""
    pool = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randrange(50, 150))]
        words[0] = words[0].capitalize()
        lines, line = [], ""
        for word in words:
            if len(line) + len(word) + 1 > 72:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line + ".")
        pool.append("\r\n".join(lines))
    return pool


def qp(text):
    """Quoted-printable with CRLF line ends."""
    encoded = binascii.b2a_qp(text.encode("utf-8"))
    return encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def base64_lines(data):
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def small_message(rng, pool, n, to):
    """About 20 KB: multipart/alternative (text/plain + text/html, QP), and
    one in five wrapped in multipart/mixed with a 3-12 KB attachment."""
    chosen = [rng.choice(pool) for _ in range(rng.randrange(7, 13))]
    text = "\r\n\r\n".join(chosen) + "\r\n"
    html = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>p{margin:0 0 1em}'
        ".sig{color:#666;font-size:90%}</style></head><body>\r\n"
        + "\r\n".join(f'<p class="c{i % 3}">{p}</p>' for i, p in enumerate(chosen))
        + '\r\n<p class="sig">-- <br>Sent from the benchmark</p></body></html>\r\n'
    )
    sender = rng.choice(["Ann Example", "Bob Müller", "張偉", "Olga Петрова", "Support Team"])
    encoded_sender = "=?UTF-8?B?" + base64.b64encode(sender.encode()).decode() + "?="
    day = 1 + n % 28
    head = (
        f"Return-Path: <sender{n % 97}@example.org>\r\n"
        f"Received: from mx.example.org (mx.example.org [192.0.2.{n % 250}])\r\n"
        f"\tby mail.herald.test with ESMTPS; Mon, {day:02d} Sep 2025 10:{n % 60:02d}:00 +0000\r\n"
        f"From: {encoded_sender} <sender{n % 97}@example.org>\r\n"
        f"To: {to}\r\n"
        f"Subject: Weekly update #{n}: {chosen[0][:40].strip()}\r\n"
        f"Date: Mon, {day:02d} Sep 2025 10:{n % 60:02d}:00 +0000\r\n"
        f"Message-ID: <bench-{n}@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
    )
    alternative = (
        f'--alt-{n}\r\nContent-Type: text/plain; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode() + qp(text) + (
        f'\r\n--alt-{n}\r\nContent-Type: text/html; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode() + qp(html) + f"\r\n--alt-{n}--\r\n".encode()
    if n % 5 != 0:
        return (
            head + f'Content-Type: multipart/alternative; boundary="alt-{n}"\r\n\r\n'
        ).encode() + alternative
    attachment = rng.randbytes(rng.randrange(3000, 12000))
    name = rng.choice(["invoice.pdf", "photo.jpg", "notes.txt", "données.csv"])
    return (
        (head + f'Content-Type: multipart/mixed; boundary="mix-{n}"\r\n\r\n'
         f'--mix-{n}\r\nContent-Type: multipart/alternative; boundary="alt-{n}"\r\n\r\n').encode()
        + alternative
        + (f"\r\n--mix-{n}\r\nContent-Type: application/octet-stream\r\n"
           f"Content-Disposition: attachment; filename*=UTF-8''{quote(name)}\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n").encode()
        + base64_lines(attachment)
        + f"--mix-{n}--\r\n".encode()
    )


def large_message(rng, n, to, size):
    """A short text body and one to three base64 attachments totalling about
    `size` bytes on the wire."""
    parts = rng.randrange(1, 4)
    raw_total = size * 57 // 78 - 1024
    cuts = sorted(rng.randrange(1, raw_total) for _ in range(parts - 1))
    sizes = [b - a for a, b in zip([0] + cuts, cuts + [raw_total])]
    out = [(
        f"From: Archive <archive@example.org>\r\nTo: {to}\r\n"
        f"Subject: Scans, part {n}\r\nDate: Tue, 02 Sep 2025 09:00:00 +0000\r\n"
        f"Message-ID: <large-{n}@example.org>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="big-{n}"\r\n\r\n'
        f"--big-{n}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "The scans are attached.\r\n"
    ).encode()]
    for i, raw in enumerate(sizes):
        out.append((
            f"--big-{n}\r\nContent-Type: application/pdf; name=scan-{n}-{i}.pdf\r\n"
            f"Content-Disposition: attachment; filename=scan-{n}-{i}.pdf\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode())
        out.append(base64_lines(rng.randbytes(raw)))
    out.append(f"--big-{n}--\r\n".encode())
    return b"".join(out)


def quote(name):
    from urllib.parse import quote as q

    return q(name, safe="")


def write_small(directory, first, count, to, seed):
    rng = random.Random(seed)
    pool = paragraphs(rng, 400)
    paths = []
    for n in range(first, first + count):
        path = os.path.join(directory, f"s{n:06d}.eml")
        with open(path, "wb") as f:
            f.write(small_message(rng, pool, n, to))
        paths.append(path)
    return paths


def write_large(directory, count, total_bytes, to, seed):
    rng = random.Random(seed)
    weights = [rng.uniform(0.3, 2.0) for _ in range(count)]
    scale = total_bytes / sum(weights)
    paths = []
    for n in range(count):
        path = os.path.join(directory, f"l{n:03d}.eml")
        with open(path, "wb") as f:
            f.write(large_message(rng, n, to, int(weights[n] * scale)))
        paths.append(path)
    return paths


# ---------------------------------------------------------------- processes


def servers(*args, capture=True):
    done = subprocess.run([sys.executable, MAILSERVERS, *args], capture_output=capture, text=True)
    if done.returncode != 0:
        sys.exit(f"mailservers.py {args[0]} failed:\n{done.stderr}")
    return done.stdout


def deliver(server_dir, user, paths):
    for i in range(0, len(paths), 1000):
        servers("deliver", server_dir, user, *paths[i:i + 1000])


def measured(argv, stdin=os.devnull, stdout=os.devnull, env=None, log=None):
    """Runs argv to completion; returns (wall seconds, peak RSS bytes) of
    that one process. The peak comes from GNU time (%M, the child's own
    ru_maxrss): a child forked straight from this Python process would report
    at least Python's own RSS, since Linux carries the peak across exec."""
    rss_file = os.path.join(TIME_DIR, "rss")
    argv = [GNU_TIME, "-f", "%M", "-o", rss_file, *argv]
    # Untimed: write out what earlier runs left unwritten (the "files only"
    # row leaves 100 MB in the page cache), so that a client that flushes
    # the file system (herald's syncfs) does not pay for another's data.
    os.sync()
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, stdin, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        (os.POSIX_SPAWN_OPEN, 2, log or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
    ]
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env if env is not None else os.environ, file_actions=actions)
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        detail = open(log, errors="replace").read()[-3000:] if log else ""
        sys.exit(f"failed with status {code}: {' '.join(argv)}\n{detail}")
    with open(rss_file) as f:
        rss_kb = int(f.read().split()[-1])
    return elapsed, rss_kb * 1024


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBUS_", "HERALD_"))}
    env.update(extra)
    return env


# ---------------------------------------------------------------- the disk


class FreshFileSystem:
    """A new ext4 file system in a sparse image file, attached with direct
    I/O (a flush reaches the disk, not the image file's page cache) and
    mounted at mount_point; remove() takes it all away."""

    SIZE = 12 * 1024 ** 3  # sparse: only what the runs write takes space

    def __init__(self, image, mount_point):
        self.image = image
        self.mount_point = mount_point
        self.device = None
        with open(image, "wb") as f:
            f.truncate(self.SIZE)
        # Inode tables and journal written now, not by a background thread
        # during the timings.
        run_quiet(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", image])
        self.device = run_quiet(["losetup", "--direct-io=on", "--find", "--show", image]).strip()
        os.makedirs(mount_point)
        run_quiet(["mount", self.device, mount_point])

    def remove(self):
        if self.device:
            subprocess.run(["umount", self.mount_point], check=False)
            subprocess.run(["losetup", "-d", self.device], check=False)
            self.device = None
        if os.path.exists(self.image):
            os.remove(self.image)


def run_quiet(argv):
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed (or use --disk-dir):\n{done.stderr}")
    return done.stdout


# ---------------------------------------------------------------- clients


class Bench:
    def __init__(self, args, info, work, disk, shm):
        self.args = args
        self.info = info
        self.work = work
        self.disk = disk
        self.shm = shm
        self.counter = 0
        self.openssl = shutil.which("openssl")
        self.fetchmail = shutil.which("fetchmail")
        if not self.openssl or not self.fetchmail:
            sys.exit("needs openssl and fetchmail (apt-get install openssl fetchmail; .ci/run does it)")
        self.poplib_script = os.path.join(work, "poplib_retr.py")
        with open(self.poplib_script, "w") as f:
            f.write(POPLIB_SCRIPT)

    def fresh(self, base, name):
        self.counter += 1
        path = os.path.join(base, f"{name}-{self.counter}")
        os.makedirs(path)
        return path

    def user(self, name):
        return self.info["users"][name]

    def floor(self, user, count):
        u = self.user(user)
        script = os.path.join(self.work, f"pipeline-{user}-{count}.txt")
        if not os.path.exists(script):
            with open(script, "w", newline="") as f:
                f.write(f"USER {u['login']}\r\nPASS {u['password']}\r\n")
                f.write("".join(f"RETR {n}\r\n" for n in range(1, count + 1)))
                f.write("QUIT\r\n")
        argv = [self.openssl, "s_client", "-connect", f"127.0.0.1:{self.info['pop3_port']}",
                "-CAfile", self.info["ca_pem"], "-verify_return_error", "-verify_ip", "127.0.0.1",
                "-quiet"]
        return measured(argv, stdin=script)

    def floor_bytes(self, user, count):
        """Sanity check: what the pipelined session received, in bytes."""
        out = os.path.join(self.work, "floor.out")
        self.floor(user, count)  # writes the script
        script = os.path.join(self.work, f"pipeline-{user}-{count}.txt")
        argv = [self.openssl, "s_client", "-connect", f"127.0.0.1:{self.info['pop3_port']}",
                "-CAfile", self.info["ca_pem"], "-verify_return_error", "-verify_ip", "127.0.0.1",
                "-quiet"]
        measured(argv, stdin=script, stdout=out)
        with open(out, "rb") as f:
            data = f.read()
        os.remove(out)
        return len(data), len(re.findall(rb"\r\n\+OK \d+ octets\r\n", data))

    def poplib(self, user, count):
        u = self.user(user)
        argv = [sys.executable, self.poplib_script, "127.0.0.1", str(self.info["pop3_port"]),
                self.info["ca_pem"], u["login"], u["password"], str(count)]
        return measured(argv)

    def fetchmail_run(self, user, mda=False):
        u = self.user(user)
        home = self.fresh(self.shm, "fetchmail")  # tmpfs: its state files are not the point
        rc = os.path.join(home, "fetchmailrc")
        delivery = 'mda "cat > /dev/null"' if mda else 'bsmtp "/dev/null"'
        with open(rc, "w") as f:
            f.write(
                "set no bouncemail\nset no syslog\n"
                f"poll 127.0.0.1 with proto POP3 service {self.info['pop3_port']} auth password\n"
                f'  user "{u["login"]}" there with password "{u["password"]}" is root here\n'
                f'  options ssl sslcertck sslcertfile "{self.info["ca_pem"]}" sslproto "TLS1.2+"\n'
                '  sslcommonname "localhost" keep fetchall no rewrite\n'
                f"  {delivery}\n"
            )
        os.chmod(rc, 0o600)
        env = clean_env(HOME=home, FETCHMAILHOME=home)
        result = measured([self.fetchmail, "-f", rc], env=env, log=os.path.join(home, "log"))
        shutil.rmtree(home)
        return result

    def files_only(self, count, total_bytes):
        folder = self.fresh(self.disk, "files")
        argv = [sys.executable, "-c", FILES_ONLY_SCRIPT, folder, str(count), str(total_bytes)]
        return measured(argv)

    def herald_profile(self, base, user, herald=HERALD, name="profile"):
        u = self.user(user)
        profile = self.fresh(base, name)
        subprocess.run(
            [herald, "--profile", profile, "account", "add", "--name", "bench",
             "--email", u["address"], "--username", u["login"],
             "--pop3", f"127.0.0.1:{self.info['pop3_port']}",
             "--smtp", f"127.0.0.1:{self.info['smtp_port']}",
             "--ca-file", self.info["ca_pem"], "--leave-on-server",
             "--password-command", f"printf %s {u['password']}"],
            check=True, capture_output=True, env=clean_env(),
        )
        return profile

    def herald_fetch(self, profile, herald=HERALD, expect=None):
        out = os.path.join(profile, "fetch.json")
        log = os.path.join(profile, "fetch.log")
        result = measured([herald, "--profile", profile, "fetch", "--json"],
                          stdout=out, env=clean_env(), log=log)
        if expect is not None:
            with open(out) as f:
                report = json.load(f)[0]
            got = (report.get("downloaded"), report.get("skipped"))
            if report.get("error") or got != expect:
                sys.exit(f"herald fetch: expected (downloaded, skipped) = {expect}, got {report}")
        return result


# ---------------------------------------------------------------- statistics and table


def summary(samples):
    times = [t for t, _ in samples]
    return {
        "median": statistics.median(times),
        "min": min(times),
        "max": max(times),
        "rss": max(r for _, r in samples),
    }


def print_mailbox(title, rows, floor_key, fetchmail_key, rss_limit, herald_keys):
    print(f"\n{title}")
    print(f"{'client':<36} {'median s':>9} {'min-max s':>13} {'x floor':>8} {'fetchmail/x':>12} {'peak RSS MB':>12}")
    floor = rows[floor_key]["median"]
    fetchmail = rows[fetchmail_key]["median"]
    for label, s in rows.items():
        print(f"{label:<36} {s['median']:>9.3f} {s['min']:>6.3f}-{s['max']:<6.3f} "
              f"{s['median'] / floor:>8.2f} {fetchmail / s['median']:>12.2f} {s['rss'] / 1e6:>12.1f}")
    verdicts = []
    for key in herald_keys:
        s = rows[key]
        verdicts.append((f"{key}: <= {FLOOR_FACTOR} x floor", s["median"] / floor <= FLOOR_FACTOR,
                         f"{s['median'] / floor:.2f} x"))
        verdicts.append((f"{key}: >= {FETCHMAIL_FACTOR} x faster than fetchmail",
                         fetchmail / s["median"] >= FETCHMAIL_FACTOR, f"{fetchmail / s['median']:.2f} x"))
        verdicts.append((f"{key}: peak RSS < {rss_limit / 1e6:.0f} MB", s["rss"] < rss_limit,
                         f"{s['rss'] / 1e6:.1f} MB"))
    for text, ok, value in verdicts:
        print(f"  {'PASS' if ok else 'MISS'}  {text:<64} ({value})")


# ---------------------------------------------------------------- main



def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mailboxes", default="A,B,C")
    parser.add_argument("--messages", type=int, default=5000, help="mailbox A's size")
    parser.add_argument("--large-mb", type=float, default=173.0, help="mailbox B's size")
    parser.add_argument("--herald", action="append", default=[], metavar="LABEL=PATH",
                        help="another herald binary to time alongside")
    parser.add_argument("--disk-dir", default=None,
                        help="put the on-disk profiles on the file system of this folder "
                             "instead of a fresh one")
    parser.add_argument("--fetchmail-mda", action="store_true",
                        help="also time fetchmail with the MDA cat > /dev/null")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work directories")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: mailservers.py starts Postfix's master as root")
    mailboxes = [m.strip().upper() for m in args.mailboxes.split(",") if m.strip()]
    heralds = [("", HERALD)]
    for spec in args.herald:
        label, sep, path = spec.partition("=")
        if not sep or not os.access(path, os.X_OK):
            sys.exit(f"--herald wants LABEL=PATH to an executable, got {spec!r}")
        heralds.append((f" [{label}]", os.path.abspath(path)))
    if not os.access(GNU_TIME, os.X_OK):
        sys.exit("needs GNU time (/usr/bin/time): apt-get install time")
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "herald"], cwd=ROOT, check=True)

    # The servers' files (and their Maildirs) live under /tmp, which must be
    # world-traversable; the on-disk profiles in --disk-dir; everything
    # generated or thrown away on tmpfs, so that the disk sees no deletion.
    work = tempfile.mkdtemp(prefix="hb-", dir="/tmp")
    os.chmod(work, 0o711)  # the servers' users must pass through to srv/
    fresh_fs = None
    if args.disk_dir is None:
        fresh_fs = FreshFileSystem(os.path.join(work, "disk.img"), os.path.join(work, "fs"))
        disk_label = "a fresh ext4 (loop file on the disk of /tmp, direct I/O)"
        disk = tempfile.mkdtemp(prefix="hb-disk-", dir=fresh_fs.mount_point)
    else:
        disk_label = args.disk_dir
        disk = tempfile.mkdtemp(prefix="hb-disk-", dir=args.disk_dir)
    shm = tempfile.mkdtemp(prefix="hb-", dir="/dev/shm")
    global TIME_DIR
    TIME_DIR = shm
    server_dir = os.path.join(work, "srv")
    try:
        info = json.loads(servers("start", server_dir, "--users", USERS, "--owner-pid", str(os.getpid())))
        bench = Bench(args, info, work, disk, shm)
        gen = os.path.join(shm, "gen")
        os.makedirs(gen)
        t0 = time.perf_counter()
        sizes = {}
        if "A" in mailboxes:
            paths = write_small(gen, 0, args.messages, "alice@herald.test", seed=1)
            deliver(server_dir, "alice", paths)
            sizes["A"] = sum(os.path.getsize(p) for p in paths)
            shutil.rmtree(gen)
            os.makedirs(gen)
        if "B" in mailboxes:
            paths = write_large(gen, 24, int(args.large_mb * 1e6), "bob@herald.test", seed=2)
            deliver(server_dir, "bob", paths)
            sizes["B"] = sum(os.path.getsize(p) for p in paths)
            shutil.rmtree(gen)
            os.makedirs(gen)
        if "C" in mailboxes:
            old = write_small(gen, 0, args.messages, "carol@herald.test", seed=3)
            new = write_small(gen, args.messages, 10, "carol@herald.test", seed=4)
            deliver(server_dir, "carol", old)
            servers("stat", server_dir, "carol")
            seed_profile = bench.herald_profile(disk, "carol", name="seed")
            bench.herald_fetch(seed_profile, expect=(args.messages, 0))
            deliver(server_dir, "carol", new)
            shutil.rmtree(gen)
        for user, box in [("alice", "A"), ("bob", "B"), ("carol", "C")]:
            if box in mailboxes:
                servers("stat", server_dir, user)  # Dovecot builds its index once
        print(f"generated and delivered in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

        def herald_on(base, box, user, count, herald):
            profile = bench.herald_profile(base, user, herald)
            result = bench.herald_fetch(profile, herald, expect=(count, 0))
            if base == shm:
                shutil.rmtree(profile)  # tmpfs: no allocator history to worry about
            return result

        FLOOR, FETCHMAIL = "openssl s_client pipelined (floor)", "fetchmail (bsmtp /dev/null)"
        plan = []  # (mailbox, label, run)
        counts = {"A": args.messages, "B": 24}
        users = {"A": "alice", "B": "bob"}
        for box in [b for b in ("A", "B") if b in mailboxes]:
            user, count = users[box], counts[box]
            received, oks = bench.floor_bytes(user, count)
            if received < sizes[box] or oks != count:
                sys.exit(f"floor sanity check failed for {box}: {received} bytes, {oks} +OK lines")
            plan += [
                (box, FLOOR, lambda u=user, c=count: bench.floor(u, c)),
                (box, "python poplib RETR only", lambda u=user, c=count: bench.poplib(u, c)),
                (box, FETCHMAIL, lambda u=user: bench.fetchmail_run(u)),
            ]
            if args.fetchmail_mda:
                plan.append((box, "fetchmail (mda cat >/dev/null)",
                             lambda u=user: bench.fetchmail_run(u, mda=True)))
            for label, path in heralds:
                for base, where in [(disk, "disk"), (shm, "/dev/shm")]:
                    plan.append((box, f"herald fetch, {where}{label}",
                                 lambda b=base, x=box, u=user, c=count, h=path: herald_on(b, x, u, c, h)))
            plan.append((box, "files only, disk (no fsync)",
                         lambda c=count, s=sizes[box]: bench.files_only(c, s)))
        if "C" in mailboxes:
            def resync(herald):
                profile = bench.fresh(disk, "resync")
                shutil.rmtree(profile)
                shutil.copytree(seed_profile, profile, symlinks=True)
                # A profile that has been on disk for a while: the copy's
                # unwritten data is not this fetch's to flush.
                os.sync()
                first = bench.herald_fetch(profile, herald, expect=(10, args.messages))
                second = bench.herald_fetch(profile, herald, expect=(0, args.messages + 10))
                return first, second
            for label, path in heralds:
                plan.append(("C", f"herald fetch{label}", lambda h=path: resync(h)))

        # One untimed warm-up of everything (page cache, Dovecot's indexes).
        for _, _, run in plan:
            run()
        samples = {}
        for round_ in range(args.rounds):
            # Rotate the order so no client always runs right after another.
            order = plan[round_ % len(plan):] + plan[:round_ % len(plan)]
            for box, label, run in order:
                result = run()
                if box == "C":
                    samples.setdefault((box, label + ": 10 new"), []).append(result[0])
                    samples.setdefault((box, label + ": nothing new"), []).append(result[1])
                else:
                    samples.setdefault((box, label), []).append(result)

        print(f"\nherald POP3 sync benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {args.rounds} interleaved "
              f"rounds (+1 warm-up), {os.cpu_count()} CPUs, load average before the run "
              f"{os.getloadavg()[0]:.1f}; Dovecot POP3S on 127.0.0.1, per-run CA; disk = {disk_label}")
        print("times: whole process, spawn to exit; 'x floor' = median / floor median; "
              "'fetchmail/x' = fetchmail median / median (how many times faster than fetchmail)")
        for box, title in [
            ("A", f"A) {counts['A']:,} messages, {sizes.get('A', 0) / 1e6:.1f} MB"),
            ("B", f"B) 24 messages, {sizes.get('B', 0) / 1e6:.1f} MB of attachments"),
        ]:
            if box not in mailboxes:
                continue
            rows = {label: summary(s) for (b, label), s in samples.items() if b == box}
            herald_keys = [k for k in rows if k.startswith("herald")]
            print_mailbox(title, rows, FLOOR, FETCHMAIL, RSS_LIMIT[box], herald_keys)
        if "C" in mailboxes:
            print(f"\nC) re-sync: a profile on disk holding {args.messages:,} messages; "
                  f"the mailbox has {args.messages + 10:,}")
            print(f"{'herald fetch':<42} {'median s':>9} {'min-max s':>13} {'peak RSS MB':>12}")
            for (box, label), s in samples.items():
                if box == "C":
                    st = summary(s)
                    print(f"{label:<42} {st['median']:>9.3f} {st['min']:>6.3f}-{st['max']:<6.3f} "
                          f"{st['rss'] / 1e6:>12.1f}")
            for (box, label), s in samples.items():
                if box == "C" and label.endswith("10 new"):
                    st = summary(s)
                    ok = st["median"] < RESYNC_LIMIT_S
                    print(f"  {'PASS' if ok else 'MISS'}  {label + f' < {RESYNC_LIMIT_S} s':<64} "
                          f"({st['median']:.3f} s)")
    finally:
        if os.path.isdir(server_dir):
            servers("stop", server_dir)
        if not args.keep:
            for path in (disk, shm):
                shutil.rmtree(path, ignore_errors=True)
        if fresh_fs is not None:
            fresh_fs.remove()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
