//! The real-server harness itself (tests/support/servers.rs and
//! mailservers.py), checked from the outside with Python's smtplib and ssl as
//! the client: mail sent over SMTPS arrives over POP3S, refusals happen where
//! a real server refuses, certificates verify only where they should, and the
//! POP3 side can be stopped and restarted with the mail intact. Nothing here
//! skips: missing Dovecot, Postfix or python3 fails the test.

mod support;

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::run_with_deadline;
use support::servers::{MailServerOptions, MailServers};

const PROBE_DEADLINE: Duration = Duration::from_secs(30);

/// A small Python client. Argument: one JSON object with an "action".
/// `send` runs the SMTP dialogue step by step and reports where the server
/// refused (stage and reply code); `tls` reports for each check whether a
/// handshake verifies against the given CA file (or the system roots) for a
/// name (one Python start for many checks).
const PROBE: &str = r#"
import json, smtplib, socket, ssl, sys

req = json.loads(sys.argv[1])

def context(ca):
    # With a cafile, only that CA is trusted (no system roots are loaded).
    return ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()

def send():
    smtp = smtplib.SMTP_SSL(req["host"], req["port"], context=context(req["ca"]), timeout=10)
    try:
        smtp.ehlo("probe.herald.test")
        size = smtp.esmtp_features.get("size")
        try:
            smtp.login(req["login"], req["password"])
        except smtplib.SMTPAuthenticationError as e:
            return {"ok": False, "stage": "auth", "code": e.smtp_code}
        body = "x" * req["body_bytes"]
        message = (
            f"From: <{req['from']}>\r\nTo: <{req['to']}>\r\nSubject: {req['subject']}\r\n"
            f"Message-ID: <{req['subject']}@probe.herald.test>\r\n\r\n"
        )
        message += "\r\n".join(body[i:i + 76] for i in range(0, len(body), 76)) + "\r\n"
        data = message.encode()
        options = [f"SIZE={len(data)}"] if req["declare_size"] else []
        steps = [
            ("mail", lambda: smtp.mail(req["from"], options), (250,)),
            ("rcpt", lambda: smtp.rcpt(req["to"]), (250, 251)),
            ("data", lambda: smtp.data(data), (250,)),
        ]
        for stage, step, accepted in steps:
            code, reply = step()
            if code not in accepted:
                return {"ok": False, "stage": stage, "code": code, "reply": reply.decode(errors="replace")}
        return {"ok": True, "esmtp_size": size}
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass

def tls_one(check):
    try:
        with socket.create_connection((check["host"], check["port"]), timeout=10) as raw:
            with context(check["ca"]).wrap_socket(raw, server_hostname=check["name"]) as conn:
                return {"verified": True, "greeting": conn.recv(512).decode(errors="replace")}
    except ssl.SSLCertVerificationError as e:
        return {"verified": False, "verify_code": e.verify_code, "verify_message": e.verify_message}

def tls():
    return [tls_one(check) for check in req["checks"]]

print(json.dumps({"send": send, "tls": tls}[req["action"]]()))
"#;

fn probe(request: Value) -> Value {
    let output = run_with_deadline(
        Command::new("python3")
            .arg("-c")
            .arg(PROBE)
            .arg(request.to_string()),
        PROBE_DEADLINE,
    );
    assert!(
        output.status.success(),
        "probe {request} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("probe prints JSON")
}

fn send(servers: &MailServers, from: &str, to: &str, subject: &str, body_bytes: usize) -> Value {
    send_with(servers, from, to, subject, body_bytes, true)
}

fn send_with(
    servers: &MailServers,
    from: &str,
    to: &str,
    subject: &str,
    body_bytes: usize,
    declare_size: bool,
) -> Value {
    let user = servers.user(from);
    probe(json!({
        "action": "send",
        "host": servers.host,
        "port": servers.smtp_port,
        "ca": servers.ca_pem,
        "login": user.login,
        "password": user.password,
        "from": user.address,
        "to": to,
        "subject": subject,
        "body_bytes": body_bytes,
        "declare_size": declare_size,
    }))
}

/// One TLS handshake to try: host, port, name to verify, CA file (`None`:
/// the system roots).
type TlsCheck<'a> = (&'a str, u16, &'a str, Option<&'a Path>);

fn tls(checks: &[TlsCheck]) -> Vec<Value> {
    let checks: Vec<Value> = checks
        .iter()
        .map(|(host, port, name, ca)| json!({"host": host, "port": port, "name": name, "ca": ca}))
        .collect();
    let results = probe(json!({"action": "tls", "checks": checks}));
    let results = results.as_array().expect("one result per check").clone();
    assert_eq!(results.len(), checks.len());
    results
}

#[test]
fn smtps_mail_arrives_over_pop3s_and_refusals_happen_at_the_right_step() {
    let servers = MailServers::start(MailServerOptions {
        size_limit_bytes: 100_000,
        ..MailServerOptions::default()
    });

    let sent = send(&servers, "alice", "bob@herald.test", "hello", 1_000);
    let sent_at = Instant::now();
    assert_eq!(sent["ok"], true, "{sent}");
    assert_eq!(sent["esmtp_size"], "100000", "EHLO advertises the limit");
    let listing = servers.wait_for_count("bob", 1, Duration::from_secs(10));
    println!("SMTPS -> POP3S delivery seen after {:?}", sent_at.elapsed());
    assert_eq!(listing.uidls.len(), 1);

    let unknown = send(&servers, "alice", "nobody@herald.test", "unknown", 10);
    assert_eq!(unknown["stage"], "rcpt", "{unknown}");
    assert_eq!(unknown["code"], 550, "{unknown}");

    // A client that declares SIZE is refused at MAIL FROM, one that does not
    // at the end of DATA.
    let declared = send_with(&servers, "alice", "bob@herald.test", "big1", 150_000, true);
    assert_eq!(declared["stage"], "mail", "{declared}");
    assert_eq!(declared["code"], 552, "{declared}");
    let undeclared = send_with(&servers, "alice", "bob@herald.test", "big2", 150_000, false);
    assert_eq!(undeclared["stage"], "data", "{undeclared}");
    assert_eq!(undeclared["code"], 552, "{undeclared}");

    // Nothing refused was delivered; alice's mailbox was never touched.
    assert_eq!(servers.server_stat("bob"), (1, listing.uidls));
    assert_eq!(servers.server_stat("alice").0, 0);
}

#[test]
fn only_the_per_run_ca_verifies_and_only_for_the_right_name() {
    let servers = MailServers::start(MailServerOptions::default());
    let ca = Some(servers.ca_pem.as_path());
    let (host, wrong) = (servers.host.as_str(), servers.wrong_name_host.as_str());
    for port in [servers.pop3_port, servers.smtp_port] {
        let results = tls(&[
            (host, port, "127.0.0.1", ca),
            (host, port, "localhost", ca),
            // Without the per-run CA the chain does not verify.
            (host, port, "127.0.0.1", None),
            // 127.0.0.2 serves a certificate from the same CA for another name.
            (wrong, port, wrong, ca),
            (wrong, port, "localhost", ca),
            (wrong, port, &servers.wrong_name, ca),
        ]);
        let [by_ip, by_name, untrusted, wrong_ip, wrong_name, as_issued] = &results[..] else {
            unreachable!()
        };
        for ok in [by_ip, by_name, as_issued] {
            assert_eq!(ok["verified"], true, "port {port}: {ok}");
        }
        let greeting = by_ip["greeting"].as_str().unwrap_or_default();
        assert!(
            greeting.starts_with("+OK") || greeting.starts_with("220"),
            "{greeting:?}"
        );
        // OpenSSL's X509_V_ERR_* codes: 20 unable to get local issuer
        // certificate, 64 IP address mismatch, 62 hostname mismatch.
        assert_eq!(untrusted["verify_code"], 20, "{untrusted}");
        assert_eq!(wrong_ip["verify_code"], 64, "{wrong_ip}");
        assert_eq!(wrong_name["verify_code"], 62, "{wrong_name}");
    }
}

#[test]
fn pop3_stops_and_restarts_with_the_mailbox_intact_while_smtp_keeps_working() {
    let servers = MailServers::start(MailServerOptions::default());
    // Three messages of distinct sizes, delivered in this order.
    for (i, size) in [3_000, 1_000, 2_000].into_iter().enumerate() {
        let mut eml = format!("Subject: seeded {i}\r\n\r\n").into_bytes();
        eml.resize(size, b'y');
        servers.deliver_bytes("alice", &eml);
    }
    let before = servers.server_listing("alice");
    assert_eq!(
        before.sizes,
        [3_000, 1_000, 2_000],
        "message numbers follow delivery order"
    );

    let pop3: SocketAddr = format!("{}:{}", servers.host, servers.pop3_port)
        .parse()
        .unwrap();
    let mut open_session = TcpStream::connect_timeout(&pop3, Duration::from_secs(5)).unwrap();
    open_session
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();

    servers.stop_pop3();
    let refused = TcpStream::connect_timeout(&pop3, Duration::from_secs(5)).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    let mut buf = [0u8; 64];
    match open_session.read(&mut buf) {
        Ok(0) | Err(_) => {} // closed or reset: the session was cut
        Ok(n) => panic!("open session still alive: {:?}", &buf[..n]),
    }

    // SMTP and its AUTH do not depend on the POP3 server.
    let sent = send(&servers, "bob", "alice@herald.test", "during-outage", 100);
    assert_eq!(sent["ok"], true, "{sent}");

    servers.start_pop3();
    let after = servers.wait_for_count("alice", 4, Duration::from_secs(10));
    assert_eq!(
        after.uidls[..3],
        before.uidls[..],
        "same UIDLs after restart"
    );
    assert_eq!(after.sizes[..3], before.sizes[..]);
}

#[test]
fn two_instances_run_side_by_side_without_sharing_anything() {
    let (first, second) = std::thread::scope(|scope| {
        let a = scope.spawn(|| MailServers::start(MailServerOptions::default()));
        let b = scope.spawn(|| MailServers::start(MailServerOptions::default()));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ne!(first.pop3_port, second.pop3_port);
    assert_ne!(first.smtp_port, second.smtp_port);
    assert_ne!(first.ca_pem_bytes(), second.ca_pem_bytes());

    first.deliver_bytes("alice", b"Subject: only in the first\r\n\r\nhi\r\n");
    assert_eq!(first.server_stat("alice").0, 1);
    assert_eq!(second.server_stat("alice").0, 0);

    // One instance's CA does not vouch for the other's servers.
    let crossed = tls(&[(
        &second.host,
        second.pop3_port,
        "127.0.0.1",
        Some(&first.ca_pem),
    )]);
    assert_eq!(crossed[0]["verify_code"], 20, "{}", crossed[0]);
}
