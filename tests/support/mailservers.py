#!/usr/bin/env python3
"""Private Dovecot (POP3S) and Postfix (SMTPS) instances on loopback, for tests.

Everything an instance needs lives under one directory DIR: a per-run CA and
server certificates, the configuration files, sockets, queues, logs and the
users' Maildirs. Nothing system-wide is read or changed except that the
unprivileged user `herald-mail` is created once (useradd --system) to own the
Maildirs and run Dovecot. Servers listen on 127.0.0.1 (and 127.0.0.2 for the
"wrong host name" certificate) only, on free ports picked at start, so several
instances can run at once.

    start DIR [--users alice:pw1,bob:pw2] [--size-limit BYTES] [--owner-pid PID]
        DIR must be missing or empty, short (<= 70 characters) and reachable
        by other users (a tempdir under /tmp). Prints one line of JSON (see
        `describe`). Logins are full addresses (alice@herald.test).
        With --owner-pid, a detached watchdog stops the servers and deletes DIR
        when that process exits without calling `stop` (an interrupted test).
    stop DIR            stops everything; idempotent; returns once no server
                        process of this instance is left
    stop-pop3 DIR       stops the POP3 server only: the port refuses
                        connections and open sessions are cut. SMTP, including
                        AUTH, keeps working: Postfix authenticates through a
                        second, auth-only Dovecot instance.
    start-pop3 DIR      starts it again on the same port (no-op if running)
    deliver DIR USER FILE...
                        drops message files straight into USER's Maildir/new
                        (no SMTP, bytes unchanged; LF-only files are served
                        with CRLF), in order: POP3 numbers follow the order of
                        delivery
    stat DIR USER [--wait-count N] [--timeout SECS]
                        prints {"count", "uidls", "sizes"} as seen over real
                        POP3S (poplib, trusting only the per-run CA); with
                        --wait-count, polls until the mailbox holds exactly N
                        messages (exit 1 on timeout)

Failures go to stderr with the tails of the relevant logs (DIR/logs) and exit
status 1; `start` gives up after 25 s. Requires root (Postfix's master starts
as root; Dovecot runs as herald-mail), dovecot-core, dovecot-pop3d, postfix and
the openssl CLI. Python standard library only.
"""

import argparse
import errno
import grp
import json
import os
import pwd
import random
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import poplib
from pathlib import Path

DOMAIN = "herald.test"
HOST = "127.0.0.1"
# Linux routes all of 127.0.0.0/8 to loopback, so a second address needs no setup.
WRONG_NAME_HOST = "127.0.0.2"
WRONG_NAME = "wrong-name.example"
MAIL_USER = "herald-mail"
DEFAULT_USERS = "alice:alice-secret,bob:bob-secret"
DEFAULT_SIZE_LIMIT = 20 * 1024 * 1024
START_TIMEOUT_SECS = 25.0
STOP_TIMEOUT_SECS = 10.0
DOVECOT = "/usr/sbin/dovecot"
POSTCONF = "/usr/sbin/postconf"
# Unix socket paths are limited to 107 bytes; the longest one below DIR is
# 33 bytes (run/pop3/replication-notify-fifo), Postfix's are shorter.
MAX_DIR_LEN = 70


class HarnessError(Exception):
    """A failure to report on stderr, with the tails of these log files."""

    def __init__(self, message, logs=()):
        super().__init__(message)
        self.logs = list(logs)


class PortInUse(HarnessError):
    pass


# ---------------------------------------------------------------- layout


class Layout:
    """Where everything of one instance lives under DIR."""

    def __init__(self, root):
        self.root = Path(root).absolute()
        r = self.root
        self.state = r / "state.json"
        self.tls = r / "tls"
        self.ca_pem = self.tls / "ca.pem"
        self.ca_key = self.tls / "ca.key"
        self.server_pem = self.tls / "server.pem"
        self.server_key = self.tls / "server.key"
        self.wrong_pem = self.tls / "wrong-name.pem"
        self.wrong_key = self.tls / "wrong-name.key"
        self.dovecot = r / "dovecot"
        self.passwd = self.dovecot / "users"
        self.logs = r / "logs"
        self.postfix = r / "postfix"
        self.postfix_etc = self.postfix / "etc"
        self.postfix_queue = self.postfix / "queue"
        self.postfix_data = self.postfix / "data"
        self.postfix_log = self.logs / "postfix.log"
        self.mail = r / "mail"
        self.watchdog_pid = r / "run" / "watchdog.pid"

    # Two Dovecot instances: "auth" serves only Postfix's SASL socket, "pop3"
    # serves POP3S, so that stop-pop3 leaves SMTP AUTH working.
    def dovecot_conf(self, kind):
        return self.dovecot / f"{kind}.conf"

    def dovecot_base(self, kind):
        return self.root / "run" / kind

    def dovecot_state(self, kind):
        return self.root / "var" / kind

    def dovecot_log(self, kind):
        return self.logs / f"dovecot-{kind}.log"

    def launcher_log(self, name):
        return self.logs / f"{name}.out"

    def auth_socket(self):
        return self.dovecot_base("auth") / "auth-client"

    def home(self, user):
        return self.mail / DOMAIN / user

    def maildir(self, user):
        return self.home(user) / "Maildir"

    def all_logs(self):
        return [
            self.dovecot_log("pop3"),
            self.dovecot_log("auth"),
            self.postfix_log,
            self.launcher_log("dovecot-pop3"),
            self.launcher_log("dovecot-auth"),
            self.launcher_log("postfix"),
        ]


def load_state(layout):
    try:
        return json.loads(layout.state.read_text())
    except FileNotFoundError:
        raise HarnessError(f"no instance in {layout.root} (state.json missing)")


# ---------------------------------------------------------------- small helpers


def run(argv, timeout, **kwargs):
    """Runs a short command; raises HarnessError with its output on failure."""
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            **kwargs,
        )
    except FileNotFoundError:
        raise HarnessError(f"{argv[0]} not found: install it (see .ci/run)")
    except subprocess.TimeoutExpired:
        raise HarnessError(f"{' '.join(map(str, argv))} took longer than {timeout:.0f} s")
    if done.returncode != 0:
        raise HarnessError(
            f"{' '.join(map(str, argv))} failed with status {done.returncode}:\n"
            + done.stdout.decode(errors="replace")
            + done.stderr.decode(errors="replace")
        )
    return done


def make_dir(path, mode, uid=0, gid=0):
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def write_file(path, text, mode=0o644, uid=0, gid=0):
    path.write_text(text)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    # Postfix re-reads a configuration file or table modified less than a
    # second ago until it stops changing (~2 s at start); date ours back.
    past = time.time() - 60
    os.utime(path, (past, past))


def tail(path, lines=30):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return None
    return "\n".join(text.splitlines()[-lines:])


def remaining(deadline):
    return max(0.05, deadline - time.monotonic())


# ---------------------------------------------------------------- the mail user


def ensure_mail_user():
    """Returns (uid, gid) of `herald-mail`, creating the system user if missing.

    Parallel starts may race to create it: useradd then fails because the user
    exists or /etc/passwd is locked, so look again before giving up."""
    deadline = time.monotonic() + 10
    while True:
        try:
            entry = pwd.getpwnam(MAIL_USER)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            pass
        done = subprocess.run(
            [
                "useradd", "--system", "--user-group", "--no-create-home",
                "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                "--comment", "Herald test mail servers", MAIL_USER,
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )
        if done.returncode == 0:
            continue
        if time.monotonic() > deadline:
            raise HarnessError(
                f"cannot create user {MAIL_USER}: " + done.stderr.decode(errors="replace")
            )
        time.sleep(0.1)


def check_traversable(path, user):
    """Fails unless every ancestor of `path` lets `user` pass through (x bit).

    A test's tempdir under /tmp is fine; a DIR under a 0700 home is not, and we
    must not loosen permissions outside DIR."""
    entry = pwd.getpwnam(user)
    groups = set(os.getgrouplist(user, entry.pw_gid))
    for parent in reversed(Path(path).parents):
        st = parent.stat()
        if st.st_uid == entry.pw_uid:
            allowed = st.st_mode & 0o100
        elif st.st_gid in groups:
            allowed = st.st_mode & 0o010
        else:
            allowed = st.st_mode & 0o001
        if not allowed:
            raise HarnessError(
                f"user {user} cannot traverse {parent} (mode {st.st_mode & 0o777:o}); "
                "put DIR somewhere world-traversable such as a tempdir under /tmp"
            )


def check_maildir_ownership(maildir, uid):
    """Dovecot (running as herald-mail) cannot use a root-owned Maildir or a
    message file it cannot read: PASS still answers +OK, then every session
    fails with "-ERR [SYS/TEMP] Internal error". Say why, before that."""
    for d in [maildir, maildir / "cur", maildir / "new", maildir / "tmp"]:
        st = d.stat()
        if st.st_uid != uid:
            raise HarnessError(
                f"{d} is owned by uid {st.st_uid}, not {MAIL_USER} ({uid}): "
                "Dovecot cannot use it; use the `deliver` subcommand to add messages"
            )
    for sub in ["cur", "new"]:
        with os.scandir(maildir / sub) as entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                if st.st_uid != uid:
                    raise HarnessError(
                        f"{entry.path} is owned by uid {st.st_uid}, not {MAIL_USER}: "
                        "use the `deliver` subcommand to add messages"
                    )


# ---------------------------------------------------------------- ports


def pick_port(taken):
    """A port free on both loopback addresses, below the ephemeral range so an
    outgoing connection cannot grab it while the POP3 server is stopped."""
    try:
        ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768
    high = ephemeral if 21000 < ephemeral <= 32768 else 32768
    for _ in range(200):
        port = random.randrange(20000, high)
        if port in taken:
            continue
        try:
            for host in (HOST, WRONG_NAME_HOST):
                with socket.socket() as s:
                    # The servers set SO_REUSEADDR too, so TIME_WAIT is no obstacle.
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((host, port))
        except OSError:
            continue
        return port
    raise HarnessError("found no free port on 127.0.0.1 and 127.0.0.2")


# ---------------------------------------------------------------- certificates

OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[wrong_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:{wrong_name}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def make_certificates(layout, uid, gid):
    """A fresh CA per run and two leaves it signs: one valid for
    localhost/127.0.0.1, one for wrong-name.example only. EC P-256 keys take
    milliseconds to make, RSA keys up to a second."""
    make_dir(layout.tls, 0o755)
    cnf = layout.tls / "openssl.cnf"
    write_file(cnf, OPENSSL_CNF.replace("{wrong_name}", WRONG_NAME))
    common = ["openssl", "req", "-config", str(cnf), "-x509", "-nodes", "-days", "30",
              "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    tag = os.urandom(4).hex()
    run(common + ["-keyout", str(layout.ca_key), "-out", str(layout.ca_pem),
                  "-subj", f"/CN=Herald test CA {tag}", "-extensions", "ca_ext"], timeout=10)
    for pem, key, cn, ext in [
        (layout.server_pem, layout.server_key, "localhost", "server_ext"),
        (layout.wrong_pem, layout.wrong_key, WRONG_NAME, "wrong_ext"),
    ]:
        run(common + ["-CA", str(layout.ca_pem), "-CAkey", str(layout.ca_key),
                      "-keyout", str(key), "-out", str(pem), "-subj", f"/CN={cn}",
                      "-extensions", ext], timeout=10)
        # Dovecot reads its keys as herald-mail; Postfix's smtpd as root.
        os.chown(key, uid, gid)
        os.chmod(key, 0o600)
        os.chmod(pem, 0o644)
    os.chmod(layout.ca_key, 0o600)
    os.chmod(layout.ca_pem, 0o644)


# ---------------------------------------------------------------- Dovecot


def dovecot_config(layout, kind, uid, pop3_port):
    base = f"""\
# Generated by tests/support/mailservers.py: a private, rootless instance.
instance_name = herald-{kind}
base_dir = {layout.dovecot_base(kind)}
state_dir = {layout.dovecot_state(kind)}
log_path = {layout.dovecot_log(kind)}
default_login_user = {MAIL_USER}
default_internal_user = {MAIL_USER}
# Default is "dovecot"; a rootless master cannot chown sockets to that group.
default_internal_group = {MAIL_USER}
first_valid_uid = {uid}
last_valid_uid = {uid}
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = {layout.passwd}
}}
userdb {{
  driver = passwd-file
  args = {layout.passwd}
}}
# Answer wrong passwords without the default delay (1.5 s) and without anvil's
# per-IP penalty, which grows it to 6 s and more: every client here is
# 127.0.0.1. Failures still come on Dovecot's 0.5 s tick.
auth_failure_delay = 0
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
    if kind == "auth":
        # No protocols: only the auth service, whose client socket Postfix uses.
        # `listen` may not be empty even though nothing listens on TCP.
        return base + f"""\
protocols = none
listen = {HOST}
ssl = no
service auth {{
  unix_listener auth-client {{
    mode = 0666
  }}
}}
"""
    return base + f"""\
protocols = pop3
listen = {HOST}, {WRONG_NAME_HOST}
ssl = required
ssl_min_protocol = TLSv1.2
ssl_cert = <{layout.server_pem}
ssl_key = <{layout.server_key}
local {WRONG_NAME_HOST} {{
  ssl_cert = <{layout.wrong_pem}
  ssl_key = <{layout.wrong_key}
}}
mail_location = maildir:~/Maildir
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = {pop3_port}
    ssl = yes
  }}
}}
"""


def launch(argv, out, **kwargs):
    """Runs a server's start command, appending its output to `out`; returns
    its exit status, or a failure to report with the tails of `logs`."""
    with open(out, "ab") as sink:
        try:
            return subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=sink,
                cwd="/",
                start_new_session=True,
                timeout=15,
                **kwargs,
            ).returncode
        except subprocess.TimeoutExpired:
            return "timeout"


def start_failure(what, status, logs):
    """PortInUse when a port was taken since we checked it (then the caller
    picks new ports), HarnessError otherwise."""
    in_use = any("Address already in use" in (tail(p) or "") for p in logs)
    return (PortInUse if in_use else HarnessError)(f"{what} failed to start (status {status})", logs)


def start_dovecot(layout, kind, uid, gid):
    """Starts one Dovecot instance as herald-mail (rootless). `dovecot` binds
    its listeners before it forks into the background, so a port clash shows
    in its exit status."""
    out = layout.launcher_log(f"dovecot-{kind}")
    status = launch(
        [DOVECOT, "-c", str(layout.dovecot_conf(kind))],
        out,
        user=uid,
        group=gid,
        extra_groups=[],
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/nonexistent"},
    )
    if status != 0:
        raise start_failure(f"dovecot ({kind})", status, [out, layout.dovecot_log(kind)])


# ---------------------------------------------------------------- Postfix

NEVER_LEAVES = "error:5.7.1 the Herald test server never sends mail off this machine"


def postfix_main_cf(layout, uid, gid, size_limit):
    return f"""\
# Generated by tests/support/mailservers.py: a private instance.
compatibility_level = 3.6
queue_directory = {layout.postfix_queue}
data_directory = {layout.postfix_data}
mail_owner = postfix
setgid_group = postdrop
syslog_name = herald-postfix
# No syslog needed: postlogd writes this file.
maillog_file = {layout.postfix_log}
maillog_file_prefixes = {layout.logs}
myhostname = mail.{DOMAIN}
mydomain = {DOMAIN}
myorigin = {DOMAIN}
inet_interfaces = {HOST}
inet_protocols = ipv4
mynetworks = {HOST}/32
biff = no
disable_vrfy_command = yes

# Nothing is ever delivered locally or sent off this machine.
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
local_transport = {NEVER_LEAVES}
default_transport = {NEVER_LEAVES}
relay_transport = {NEVER_LEAVES}

# herald.test is a virtual domain delivered into Maildirs owned by herald-mail.
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {layout.mail}
virtual_mailbox_maps = texthash:{layout.postfix_etc / "vmailbox"}
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_minimum_uid = {uid}
virtual_mailbox_limit = 0
mailbox_size_limit = 0
message_size_limit = {size_limit}

# TLS from the first byte (port-465 style), TLS 1.2 or later.
smtpd_tls_chain_files = {layout.server_key}, {layout.server_pem}
smtpd_tls_wrappermode = yes
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2

# AUTH through the auth-only Dovecot instance; only authenticated clients may
# send, and unknown herald.test recipients are refused at RCPT (550 5.1.1).
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {layout.auth_socket()}
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = reject_unlisted_recipient, permit_sasl_authenticated, reject
"""


def postfix_master_cf(layout, smtp_port):
    smtps = "-o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes"
    return f"""\
# Generated by tests/support/mailservers.py. No chroot; no service on port 25.
{HOST}:{smtp_port} inet n - n - - smtpd -o syslog_name=herald-postfix/smtps {smtps}
{WRONG_NAME_HOST}:{smtp_port} inet n - n - - smtpd -o syslog_name=herald-postfix/smtps-wrong-name {smtps} -o smtpd_tls_chain_files={layout.wrong_key},{layout.wrong_pem}
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
virtual   unix  - n n - - virtual
postlog   unix-dgram n - n - 1 postlogd
"""


# The queue directories and their owners, as in /etc/postfix/postfix-files.
POSTFIX_QUEUE_DIRS = {
    "active": 0o700, "bounce": 0o700, "corrupt": 0o700, "defer": 0o700,
    "deferred": 0o700, "flush": 0o700, "hold": 0o700, "incoming": 0o700,
    "private": 0o700, "saved": 0o700, "trace": 0o700,
    "maildrop": 0o730, "public": 0o710,  # group postdrop
    "pid": 0o755,  # root
}


def prepare_postfix_queue(layout):
    """What `postfix start` would create through post-install, which costs
    about 2 s of shell per fresh queue."""
    owner = pwd.getpwnam("postfix").pw_uid
    postdrop = grp.getgrnam("postdrop").gr_gid
    make_dir(layout.postfix_queue, 0o755)
    for name, mode in POSTFIX_QUEUE_DIRS.items():
        uid = 0 if name == "pid" else owner
        gid = postdrop if name in ("maildrop", "public") else 0
        make_dir(layout.postfix_queue / name, mode, uid, gid)


def start_postfix(layout):
    """Starts Postfix's master directly (as `postfix start` does after its
    checks): `master -w` returns once the master has bound its listeners."""
    daemon_dir = run([POSTCONF, "-dh", "daemon_directory"], timeout=10).stdout.decode().strip()
    out = layout.launcher_log("postfix")
    status = launch(
        [f"{daemon_dir}/master", "-c", str(layout.postfix_etc), "-w"],
        out,
        env={
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "MAIL_CONFIG": str(layout.postfix_etc),
            # As `postfix start` sets them: without these the master logs
            # start-up errors (port in use...) to syslog, not to maillog_file,
            # and there is no syslog here.
            "MAIL_LOGTAG": "herald-postfix",
            "POSTLOG_SERVICE": str(layout.postfix_queue / "public" / "postlog"),
            "POSTLOG_HOSTNAME": f"mail.{DOMAIN}",
        },
    )
    if status != 0:
        raise start_failure("postfix", status, [out, layout.postfix_log])


# ---------------------------------------------------------------- processes

# Both Dovecot's and Postfix's masters call setsid(), so every process of an
# instance shares the master's session id, even after the master has died and
# its children were re-parented. Linux does not reuse a pid while it is still
# some process's session id, so "members of session <pid in the pid file>"
# is exact once the leader is gone.


def session_members(sid):
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        # Fields after the command name, which may contain spaces and ")".
        fields = stat[stat.rindex(")") + 2:].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state not in ("Z", "X"):  # zombies hold no sockets
            members.append(int(name))
    return members


def leader_is_ours(pid, marker):
    """Is process `pid` still the server this pid file was written by? Its
    command line (Dovecot) or environment (Postfix's MAIL_CONFIG) names DIR."""
    try:
        blob = Path(f"/proc/{pid}/cmdline").read_bytes() + Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return True  # gone (or a zombie): only its former session can remain
    return marker.encode() in blob


def read_pid(path):
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def stop_session(pid_file, marker, timeout=STOP_TIMEOUT_SECS):
    """Stops one server instance and returns once none of its processes is
    left: SIGTERM to all of them at once, SIGKILL after `timeout`. (SIGTERM to
    the master alone also works, but Dovecot's master then sleeps a second
    before it exits and closes its listeners.)"""
    sid = read_pid(pid_file)
    if sid is None:
        return
    members = session_members(sid)
    if sid in members and not leader_is_ours(sid, marker):
        return  # stale pid file, pid reused by someone else
    start = time.monotonic()
    for sig, until in [(signal.SIGTERM, start + timeout), (signal.SIGKILL, start + timeout + 3)]:
        for pid in members:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        while members and time.monotonic() < until:
            time.sleep(0.01)
            members = session_members(sid)
        if not members:
            break
    if members:
        raise HarnessError(f"processes {members} survived SIGKILL")
    try:
        Path(pid_file).unlink()
    except FileNotFoundError:
        pass


def pop3_pid_file(layout):
    return layout.dovecot_base("pop3") / "master.pid"


def stop_pop3(layout):
    stop_session(pop3_pid_file(layout), str(layout.dovecot_conf("pop3")))


def stop_all(layout):
    stop_watchdog(layout)
    stop_session(layout.postfix_queue / "pid" / "master.pid", str(layout.postfix_etc))
    stop_pop3(layout)
    stop_session(layout.dovecot_base("auth") / "master.pid", str(layout.dovecot_conf("auth")))


def pop3_running(layout):
    pid = read_pid(pop3_pid_file(layout))
    return pid is not None and bool(session_members(pid))


# ---------------------------------------------------------------- readiness


def client_context(layout):
    """Trusts only this run's CA; checks host names; TLS 1.2 or later."""
    context = ssl.create_default_context(cafile=str(layout.ca_pem))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def wait_for_greeting(layout, host, port, server_name, expected, deadline):
    """Polls until a verified TLS handshake with host:port succeeds and the
    server greets with `expected` (b"+OK" or b"220")."""
    context = client_context(layout)
    last = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=remaining(deadline)) as raw:
                raw.settimeout(min(5.0, remaining(deadline)))
                with context.wrap_socket(raw, server_hostname=server_name) as tls:
                    line = tls.recv(512)
                    if line.startswith(expected):
                        return
                    last = f"unexpected greeting {line[:100]!r}"
        except ssl.SSLCertVerificationError as e:
            raise HarnessError(f"{host}:{port} presents the wrong certificate: {e}")
        except OSError as e:
            last = str(e)
        time.sleep(0.01)
    raise HarnessError(f"{host}:{port} not ready in time: {last}")


def check_smtp_auth(layout, port, login, password, deadline):
    """Postfix asks Dovecot's auth socket at the first AUTH; prove that path
    once here, so a broken SASL setup fails the start, not a later test."""
    try:
        with smtplib.SMTP_SSL(HOST, port, context=client_context(layout),
                              timeout=remaining(deadline)) as smtp:
            smtp.login(login, password)
    except (smtplib.SMTPException, OSError) as e:
        raise HarnessError(f"SMTP AUTH through Dovecot failed: {e}")


# ---------------------------------------------------------------- start


def parse_users(spec):
    users = {}
    for item in spec.split(","):
        name, sep, password = item.partition(":")
        if not sep or not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
            raise HarnessError(f"bad user {item!r}: want name:password, name in [a-z0-9._-]")
        # passwd-file fields are separated by ':'; keep the file unambiguous.
        if not password or re.search(r"[\s:]", password):
            raise HarnessError(f"bad password for {name}: empty, or has ':' or whitespace")
        users[name] = password
    return users


def describe(layout, users, ports, size_limit):
    """The JSON printed by `start` and kept in DIR/state.json."""
    return {
        "dir": str(layout.root),
        "host": HOST,
        "pop3_port": ports["pop3"],
        "smtp_port": ports["smtp"],
        # Same port numbers on a second address, serving a certificate from the
        # same CA but for wrong-name.example only.
        "wrong_name_host": WRONG_NAME_HOST,
        "wrong_name": WRONG_NAME,
        "pop3_port_wrong_name": ports["pop3"],
        "smtp_port_wrong_name": ports["smtp"],
        "ca_pem": str(layout.ca_pem),
        "domain": DOMAIN,
        "users": {
            name: {
                "address": f"{name}@{DOMAIN}",
                # POP3 USER and SMTP AUTH both take the full address.
                "login": f"{name}@{DOMAIN}",
                "password": password,
                "maildir": str(layout.maildir(name)),
            }
            for name, password in users.items()
        },
        "size_limit": size_limit,
        "logs": {
            "dovecot_pop3": str(layout.dovecot_log("pop3")),
            "dovecot_auth": str(layout.dovecot_log("auth")),
            "postfix": str(layout.postfix_log),
        },
    }


def prepare(layout, users, uid, gid):
    """Creates DIR's tree, with ownership that lets each server do its part."""
    root = layout.root
    if len(str(root)) > MAX_DIR_LEN:
        raise HarnessError(f"{root} is longer than {MAX_DIR_LEN} characters (unix socket paths)")
    if not re.fullmatch(r"[A-Za-z0-9/._+-]+", str(root)):
        raise HarnessError(f"{root}: use only [A-Za-z0-9/._+-] (paths go into config files)")
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise HarnessError(f"{root} is not empty: start needs a fresh directory")
    # Tempdirs are created 0700; the servers' users must pass through DIR.
    os.chmod(root, 0o711)
    for user in (MAIL_USER, "postfix"):
        check_traversable(root, user)
    for d in ["dovecot", "logs", "run", "var", "postfix", "postfix/etc"]:
        make_dir(root / d, 0o755)
    make_dir(layout.postfix_data, 0o700, pwd.getpwnam("postfix").pw_uid)
    prepare_postfix_queue(layout)
    for kind in ("pop3", "auth"):
        make_dir(layout.dovecot_base(kind), 0o755, uid, gid)
        make_dir(layout.dovecot_state(kind), 0o700, uid, gid)
        write_file(layout.dovecot_log(kind), "", 0o644, uid, gid)
    make_dir(layout.mail, 0o700, uid, gid)
    make_dir(layout.mail / DOMAIN, 0o700, uid, gid)
    for name in users:
        make_dir(layout.home(name), 0o700, uid, gid)
        for sub in ["", "cur", "new", "tmp"]:
            make_dir(layout.maildir(name) / sub, 0o700, uid, gid)
    write_file(
        layout.passwd,
        "".join(
            f"{name}@{DOMAIN}:{{PLAIN}}{password}:{uid}:{gid}::{layout.home(name)}::\n"
            for name, password in users.items()
        ),
        0o600, uid, gid,
    )
    write_file(
        layout.postfix_etc / "vmailbox",
        "".join(f"{name}@{DOMAIN} {DOMAIN}/{name}/Maildir/\n" for name in users),
    )


def configure_and_start(layout, users, size_limit, uid, gid, deadline):
    ports = {}
    ports["pop3"] = pick_port(set())
    ports["smtp"] = pick_port({ports["pop3"]})
    write_file(layout.dovecot_conf("auth"), dovecot_config(layout, "auth", uid, None))
    write_file(layout.dovecot_conf("pop3"), dovecot_config(layout, "pop3", uid, ports["pop3"]))
    write_file(layout.postfix_etc / "main.cf", postfix_main_cf(layout, uid, gid, size_limit))
    write_file(layout.postfix_etc / "master.cf", postfix_master_cf(layout, ports["smtp"]))
    start_dovecot(layout, "auth", uid, gid)
    start_dovecot(layout, "pop3", uid, gid)
    start_postfix(layout)
    for host, name in [(HOST, HOST), (WRONG_NAME_HOST, WRONG_NAME)]:
        wait_for_greeting(layout, host, ports["pop3"], name, b"+OK", deadline)
        wait_for_greeting(layout, host, ports["smtp"], name, b"220", deadline)
    first = next(iter(users))
    check_smtp_auth(layout, ports["smtp"], f"{first}@{DOMAIN}", users[first], deadline)
    return ports


def cmd_start(args):
    layout = Layout(args.dir)
    deadline = time.monotonic() + START_TIMEOUT_SECS
    users = parse_users(args.users)
    if args.size_limit <= 0:
        raise HarnessError("--size-limit must be positive")
    for tool in (DOVECOT, POSTCONF):
        if not os.path.exists(tool):
            raise HarnessError(f"{tool} missing: install dovecot-core dovecot-pop3d postfix (see .ci/run)")
    if os.geteuid() != 0:
        raise HarnessError("must run as root (Postfix's master starts as root)")
    uid, gid = ensure_mail_user()
    prepare(layout, users, uid, gid)
    make_certificates(layout, uid, gid)
    try:
        # Ports are checked free, but another instance may bind one first.
        for attempt in range(3):
            try:
                ports = configure_and_start(layout, users, args.size_limit, uid, gid, deadline)
                break
            except PortInUse:
                stop_all(layout)
                if attempt == 2:
                    raise
    except HarnessError as e:
        stop_all(layout)
        e.logs = e.logs or layout.all_logs()
        raise
    except BaseException:
        stop_all(layout)
        raise
    info = describe(layout, users, ports, args.size_limit)
    write_file(layout.state, json.dumps(info, indent=2) + "\n")
    if args.owner_pid:
        spawn_watchdog(layout, args.owner_pid)
    try:
        print(json.dumps(info), flush=True)
    except BaseException:
        stop_all(layout)  # nobody will learn the ports, nobody would stop it
        raise


# ---------------------------------------------------------------- watchdog


def spawn_watchdog(layout, owner_pid):
    """Forks a detached process that stops the servers and removes DIR once
    `owner_pid` exits (a test binary killed by Ctrl-C never runs its Drop)."""
    try:
        owner = os.pidfd_open(owner_pid)
    except (AttributeError, OSError):
        owner = None  # old kernel or Python: poll instead
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() != 0:
        return
    try:
        os.setsid()
        os.chdir("/")
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # never hold the caller's stdout pipe open
            os.dup2(null, fd)
        for name in os.listdir("/proc/self/fd"):
            if int(name) > 2 and int(name) != owner:
                try:
                    os.close(int(name))
                except OSError:
                    pass
        layout.watchdog_pid.write_text(f"{os.getpid()}\n")
        if owner is not None:
            import select
            select.select([owner], [], [])
        else:
            while True:
                try:
                    os.kill(owner_pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.5)
        if layout.state.exists():
            stop_all(layout)
            shutil.rmtree(layout.root, ignore_errors=True)
    finally:
        os._exit(0)


def stop_watchdog(layout):
    pid = read_pid(layout.watchdog_pid)
    if pid is None or pid == os.getpid():
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        cmdline = b""
    if b"mailservers.py" in cmdline and str(layout.root).encode() in cmdline:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        layout.watchdog_pid.unlink()
    except FileNotFoundError:
        pass


# ---------------------------------------------------------------- other commands


def cmd_stop(args):
    layout = Layout(args.dir)
    if layout.root.is_dir():
        stop_all(layout)


def cmd_stop_pop3(args):
    layout = Layout(args.dir)
    load_state(layout)
    stop_pop3(layout)


def cmd_start_pop3(args):
    layout = Layout(args.dir)
    state = load_state(layout)
    if pop3_running(layout):
        return
    deadline = time.monotonic() + START_TIMEOUT_SECS
    uid, gid = ensure_mail_user()
    for name in state["users"]:
        check_maildir_ownership(layout.maildir(name), uid)
    start_dovecot(layout, "pop3", uid, gid)
    for host, name in [(HOST, HOST), (WRONG_NAME_HOST, WRONG_NAME)]:
        wait_for_greeting(layout, host, state["pop3_port"], name, b"+OK", deadline)


class MaildirNamer:
    """Maildir names `<secs>.M<usecs>P<pid>Q<n>.herald` with strictly rising
    microseconds. Dovecot gives new messages UIDs in file-name order (time
    first), so POP3 numbers follow the delivery order."""

    def __init__(self):
        self.last = 0
        self.count = 0

    def next(self):
        now = max(time.time_ns() // 1000, self.last + 1)
        self.last = now
        self.count += 1
        return f"{now // 1_000_000}.M{now % 1_000_000:06d}P{os.getpid()}Q{self.count:06d}.herald"


def cmd_deliver(args):
    layout = Layout(args.dir)
    state = load_state(layout)
    if args.user not in state["users"]:
        raise HarnessError(f"unknown user {args.user}")
    uid, gid = ensure_mail_user()
    maildir = layout.maildir(args.user)
    check_maildir_ownership(maildir, uid)
    namer = MaildirNamer()
    for source in args.files:
        name = namer.next()
        tmp = maildir / "tmp" / name
        # Write in tmp/, then rename into new/: Dovecot never sees half a file.
        with open(source, "rb") as src:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as dst:
                os.fchown(dst.fileno(), uid, gid)
                shutil.copyfileobj(src, dst, 1 << 20)
        os.rename(tmp, maildir / "new" / name)


def pop3_listing(layout, state, user):
    info = state["users"][user]
    client = poplib.POP3_SSL(HOST, state["pop3_port"], context=client_context(layout), timeout=10)
    try:
        client.user(info["login"])
        client.pass_(info["password"])
        uidls = [line.split()[1].decode() for line in client.uidl()[1]]
        sizes = [int(line.split()[1]) for line in client.list()[1]]
    finally:
        try:
            client.quit()
        except (poplib.error_proto, OSError):
            pass
    return {"count": len(uidls), "uidls": uidls, "sizes": sizes}


def cmd_stat(args):
    layout = Layout(args.dir)
    state = load_state(layout)
    if args.user not in state["users"]:
        raise HarnessError(f"unknown user {args.user}")
    uid, _ = ensure_mail_user()
    check_maildir_ownership(layout.maildir(args.user), uid)
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            listing = pop3_listing(layout, state, args.user)
        except (poplib.error_proto, OSError) as e:
            raise HarnessError(f"POP3 stat for {args.user} failed: {e}", [layout.dovecot_log("pop3")])
        if args.wait_count is None or listing["count"] == args.wait_count:
            break
        if time.monotonic() > deadline:
            print(json.dumps(listing))
            raise HarnessError(
                f"{args.user} has {listing['count']} messages, not {args.wait_count}, "
                f"after {args.timeout} s",
                [layout.postfix_log],
            )
        time.sleep(0.02)
    print(json.dumps(listing))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("start")
    p.add_argument("dir")
    p.add_argument("--users", default=DEFAULT_USERS)
    p.add_argument("--size-limit", type=int, default=DEFAULT_SIZE_LIMIT)
    p.add_argument("--owner-pid", type=int)
    p.set_defaults(func=cmd_start)
    for name, func in [("stop", cmd_stop), ("stop-pop3", cmd_stop_pop3), ("start-pop3", cmd_start_pop3)]:
        p = sub.add_parser(name)
        p.add_argument("dir")
        p.set_defaults(func=func)
    p = sub.add_parser("deliver")
    p.add_argument("dir")
    p.add_argument("user")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_deliver)
    p = sub.add_parser("stat")
    p.add_argument("dir")
    p.add_argument("user")
    p.add_argument("--wait-count", type=int)
    p.add_argument("--timeout", type=float, default=10.0)
    p.set_defaults(func=cmd_stat)
    args = parser.parse_args()
    try:
        args.func(args)
    except HarnessError as e:
        print(f"mailservers.py {args.command}: {e}", file=sys.stderr)
        for log in e.logs:
            text = tail(log)
            if text:
                print(f"--- last lines of {log}:\n{text}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
