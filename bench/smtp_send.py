#!/usr/bin/env python3
"""Benchmark: the cost of Nagle's algorithm and delayed ACKs when sending.

Starts private Dovecot and Postfix instances with tests/support/mailservers.py
(SMTPS on 127.0.0.1 with a per-run CA; alice sends to bob) and times, in
interleaved rounds of the same run:

  herald send            `herald send` of N small messages, one process and
                         one connection per message, as the CLI does (each
                         run: Outbox write, connect, TLS, EHLO, AUTH, MAIL,
                         RCPT, DATA, QUIT, move to Sent). Profile on tmpfs
                         (/dev/shm), and on the real disk, where the two
                         durable store commits of each send are included.
    of which SMTP        the same runs, counting only the seconds herald
                         itself reports from connecting to the server's
                         acceptance: no process start, no store.
  SmtpClient per message herald's SmtpClient (crates/herald-core/examples/
                         smtp_many.rs) doing the same N connections in one
                         process: connect, TLS, login, send, quit.
  smtplib per message    Python smtplib, one connection per message in one
                         Python process, default socket options: Nagle holds
                         back the tail of each command, and Postfix greets
                         after the TLS handshake only once our delayed ACK
                         arrives (~40 ms a connection).
    NODELAY+QUICKACK     the same with TCP_NODELAY set before connecting and
                         TCP_QUICKACK right after the handshake, as herald's
                         sockets do (crate::net); one SSL context for all.
    new context + roots  the same, but building a new SSL context for every
                         connection with the system roots loaded twice plus
                         the CA file, which is what building herald's TLS
                         connector (native-tls over OpenSSL 3) costs; herald
                         now builds it once per process and trust setting,
                         so `herald send` (one process per message) pays it
                         and SmtpClient per message does not.
  smtplib one connection M messages on one connection, default options and
                         NODELAY+QUICKACK.
  SmtpClient one conn.   herald's SmtpClient, M messages on one connection:
                         the per-message cost once connected.

Columns: "per msg ms" = total / number of messages (median over the rounds,
with min-max); "total s" = median total. A client slowed by Nagle or
delayed ACKs pays ~40 ms more per connection than its NODELAY+QUICKACK
counterpart, and several ms more per message on one connection. The line
under the table gives the time to build one TLS connector as herald does.

Usage: python3 bench/smtp_send.py [--rounds 3] [--per-connection 50]
           [--one-connection 200] [--no-build] [--smtp-many LABEL=PATH]...
--smtp-many adds the per-connection SmtpClient row for another build of
the smtp_many example (for example the build before a change).
Must run as root (mailservers.py starts Postfix's master as root).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
HERALD = os.path.join(TARGET, "release", "herald")
SMTP_MANY = os.path.join(TARGET, "release", "examples", "smtp_many")
MAILSERVERS = os.path.join(ROOT, "tests", "support", "mailservers.py")

SMTPLIB_SCRIPT = r"""
import json, smtplib, socket, ssl, sys, time
host, port, ca, login, password, sender, to, mode, count, options = sys.argv[1:11]
count = int(count)
fast = options in ("nodelay", "nodelay-fresh-context")
fresh = options == "nodelay-fresh-context"

def make_context():
    context = ssl.create_default_context(cafile=ca)
    if fresh:
        # What building herald's native-tls connector does (before the
        # connector was cached, for every connection): the system roots,
        # loaded twice (openssl's defaults, then native-tls's probed file),
        # plus the account's CA.
        context.load_default_certs()
        context.load_verify_locations(cafile="/etc/ssl/certs/ca-certificates.crt")
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context

shared = make_context()

class Client(smtplib.SMTP_SSL):
    def _get_socket(self, host, port, timeout):
        raw = socket.create_connection((host, port), timeout, self.source_address)
        if fast:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = self.context.wrap_socket(raw, server_hostname=self._host)
        if fast:
            tls.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        return tls

def message(n):
    return (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: smtplib {mode} {n}\r\n"
            f"Message-ID: <smtplib-{mode}-{n}-{time.time_ns()}@bench.herald.test>\r\n\r\n"
            f"A small message, number {n}.\r\n")

def connect():
    context = make_context() if fresh else shared
    client = Client(host, int(port), context=context, timeout=30)
    client.login(login, password)
    return client

times = []
start = time.perf_counter()
if mode == "per-connection":
    for n in range(count):
        one = time.perf_counter()
        client = connect()
        client.sendmail(sender, [to], message(n))
        client.quit()
        times.append(time.perf_counter() - one)
else:
    client = connect()
    for n in range(count):
        one = time.perf_counter()
        client.sendmail(sender, [to], message(n))
        times.append(time.perf_counter() - one)
    client.quit()
print(json.dumps({"total": time.perf_counter() - start, "times": times}))
"""


def servers(*args):
    done = subprocess.run([sys.executable, MAILSERVERS, *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"mailservers.py {args[0]} failed:\n{done.stderr}")
    return done.stdout


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith(("DBUS_", "HERALD_"))}


def run_json(argv, env=None):
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(argv)}\n{done.stderr}")
    return json.loads(done.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-connection", type=int, default=50, metavar="N")
    parser.add_argument("--one-connection", type=int, default=200, metavar="M")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--smtp-many", action="append", default=[], metavar="LABEL=PATH",
                        help="also time this smtp_many build, one connection per message")
    args = parser.parse_args()
    others = [tuple(spec.split("=", 1)) for spec in args.smtp_many]
    if os.geteuid() != 0:
        sys.exit("run as root: mailservers.py starts Postfix's master as root")
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "herald"], cwd=ROOT, check=True)
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "herald-core",
                        "--example", "smtp_many"], cwd=ROOT, check=True)

    work = tempfile.mkdtemp(prefix="hs-", dir="/tmp")
    shm = tempfile.mkdtemp(prefix="hs-", dir="/dev/shm")
    os.chmod(work, 0o711)  # the servers' users must pass through to srv/
    server_dir = os.path.join(work, "srv")
    try:
        info = json.loads(servers("start", server_dir, "--owner-pid", str(os.getpid())))
        alice, bob = info["users"]["alice"], info["users"]["bob"]
        script = os.path.join(work, "smtplib_send.py")
        with open(script, "w") as f:
            f.write(SMTPLIB_SCRIPT)
        body = os.path.join(work, "body.txt")
        with open(body, "w") as f:
            f.write("A small message from the send benchmark.\n")

        def profile(base):
            path = tempfile.mkdtemp(prefix="profile-", dir=base)
            subprocess.run(
                [HERALD, "--profile", path, "account", "add", "--name", "bench",
                 "--email", alice["address"], "--username", alice["login"],
                 "--pop3", f"127.0.0.1:{info['pop3_port']}",
                 "--smtp", f"127.0.0.1:{info['smtp_port']}",
                 "--ca-file", info["ca_pem"],
                 "--password-command", f"printf %s {alice['password']}"],
                check=True, capture_output=True, env=clean_env(),
            )
            return path

        def herald_send(base):
            path = profile(base)
            totals, smtp = [], []
            for n in range(args.per_connection):
                start = time.perf_counter()
                sent = run_json([HERALD, "--profile", path, "send", "--account", "bench",
                                 "--to", bob["address"], "--subject", f"herald send {n}",
                                 "--text", body, "--json"], env=clean_env())
                totals.append(time.perf_counter() - start)
                smtp.append(sent["seconds"])
            shutil.rmtree(path)
            return sum(totals), sum(smtp)

        def smtplib_run(mode, count, options):
            out = run_json([sys.executable, script, "127.0.0.1", str(info["smtp_port"]),
                            info["ca_pem"], alice["login"], alice["password"], alice["address"],
                            bob["address"], mode, str(count), options])
            return out["total"]

        connector_ms = []

        def rust_run(mode, count, binary=SMTP_MANY):
            env = dict(clean_env(), SMTP_MANY_PASSWORD=alice["password"])
            out = run_json([binary, "127.0.0.1", str(info["smtp_port"]), info["ca_pem"],
                            alice["login"], "-", alice["address"], bob["address"], str(count), mode],
                           env=env)
            if binary == SMTP_MANY:
                connector_ms.append(out["tls_connector_build_median_ms"])
            return out["total_s"]

        n, m = args.per_connection, args.one_connection
        rows = {}  # label -> (count, [totals])

        def record(label, count, total):
            rows.setdefault(label, (count, []))[1].append(total)

        def herald_rows(base, where):
            total, smtp = herald_send(base)
            record(f"herald send, profile on {where}", n, total)
            record(f"  of which SMTP (herald's own timer, {where})", n, smtp)

        plan = [
            lambda: herald_rows(shm, "tmpfs"),
            lambda: herald_rows(work, "disk"),
            lambda: record("herald SmtpClient per message (one process)", n,
                           rust_run("per-connection", n)),
            lambda: record("smtplib per message, default options", n,
                           smtplib_run("per-connection", n, "default")),
            lambda: record("smtplib per message, NODELAY+QUICKACK", n,
                           smtplib_run("per-connection", n, "nodelay")),
            lambda: record("  same, new context + system roots x2 each", n,
                           smtplib_run("per-connection", n, "nodelay-fresh-context")),
            lambda: record("smtplib one connection, default options", m,
                           smtplib_run("one-connection", m, "default")),
            lambda: record("smtplib one connection, NODELAY+QUICKACK", m,
                           smtplib_run("one-connection", m, "nodelay")),
            lambda: record("herald SmtpClient, one connection", m, rust_run("one-connection", m)),
        ]
        for label, path in others:
            plan.append(lambda label=label, path=path: record(
                f"  SmtpClient per message, {label}", n, rust_run("per-connection", n, path)))
        for step in plan:  # warm-up, not recorded
            step()
        rows.clear()
        connector_ms.clear()
        for round_ in range(args.rounds):
            for step in plan[round_ % len(plan):] + plan[:round_ % len(plan)]:
                step()

        print(f"\nherald SMTP send benchmark, {time.strftime('%Y-%m-%d')}, {args.rounds} interleaved rounds "
              f"(+1 warm-up), {os.cpu_count()} CPUs, Postfix SMTPS (implicit TLS) on 127.0.0.1")
        print(f"{'client':<48} {'msgs':>5} {'per msg ms':>11} {'min-max ms':>15} {'total s':>8}")
        for label, (count, totals) in rows.items():
            per = [t / count * 1000 for t in totals]
            print(f"{label:<48} {count:>5} {statistics.median(per):>11.1f} "
                  f"{min(per):>7.1f}-{max(per):<7.1f} {statistics.median(totals):>8.2f}")
        print(f"building one TLS connector as herald does (system roots + CA file): "
              f"{statistics.median(connector_ms):.1f} ms median, paid once per process "
              f"and trust setting (net::tls caches it)")
    finally:
        if os.path.isdir(server_dir):
            servers("stop", server_dir)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)


if __name__ == "__main__":
    main()
