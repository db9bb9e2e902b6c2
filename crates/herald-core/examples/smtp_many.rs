//! Sends many small messages with [`SmtpClient`], for `bench/smtp_send.py`.
//!
//! ```text
//! cargo run --release -p herald-core --example smtp_many -- \
//!     HOST PORT CA.pem LOGIN PASSWORD FROM TO COUNT [one-connection|per-connection]
//! ```
//!
//! `one-connection` (the default) connects and logs in once, then sends
//! COUNT messages: the per-message cost once connected. `per-connection`
//! connects, logs in, sends one message and quits, COUNT times, in this one
//! process: the per-connection cost without a process start or a store.
//!
//! PASSWORD `-` reads it from `SMTP_MANY_PASSWORD`. Prints one line of JSON:
//! total seconds, per-message median and maximum in milliseconds, and the
//! median time to build a TLS connector the way `net::tls` does (system
//! roots plus the CA file), which `net::tls` now pays once per process and
//! trust setting (it used to be paid by every connection).

use std::time::Instant;

use herald_core::account::{SmtpSecurity, SmtpServer};
use herald_core::credentials::Password;
use herald_core::net::tls::TlsConfig;
use herald_core::net::{CancelToken, Limits};
use herald_core::smtp::SmtpClient;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (fixed, mode) = match args.len() {
        8 => (&args[..], "one-connection"),
        9 => (&args[..8], args[8].as_str()),
        _ => usage(),
    };
    let [host, port, ca_path, login, password, from, to, count] = fixed else {
        usage()
    };
    let per_connection = match mode {
        "one-connection" => false,
        "per-connection" => true,
        _ => usage(),
    };
    let password = if password == "-" {
        std::env::var("SMTP_MANY_PASSWORD").unwrap_or_default()
    } else {
        password.clone()
    };
    let (Ok(port), Ok(count)) = (port.parse::<u16>(), count.parse::<usize>()) else {
        usage()
    };
    let ca = std::fs::read(ca_path)
        .unwrap_or_else(|error| fail(&format!("cannot read {ca_path}: {error}")));
    let tls = TlsConfig::system().with_extra_ca_pem(ca.clone());
    let server = SmtpServer {
        host: host.clone(),
        port,
        security: SmtpSecurity::ImplicitTls,
    };
    let limits = Limits::default();
    let cancel = CancelToken::new();
    let connect = || {
        let mut client = SmtpClient::connect(&server, &tls, &limits, &cancel)
            .unwrap_or_else(|error| fail(&format!("connect: {error}")));
        client
            .login(login, &Password::new(password.clone()))
            .unwrap_or_else(|error| fail(&format!("login: {error}")));
        client
    };
    let recipients = vec![to.clone()];
    let message = |n: usize| {
        format!(
            "From: <{from}>\r\nTo: <{to}>\r\nSubject: smtp_many {mode} {n}\r\n\
             Message-ID: <many-{n}-{}@bench.herald.test>\r\n\r\n\
             A small message, number {n}.\r\n",
            std::process::id()
        )
    };

    let mut each = Vec::with_capacity(count);
    let started = Instant::now();
    if per_connection {
        for n in 0..count {
            let one = Instant::now();
            let mut client = connect();
            client
                .send(from, &recipients, message(n).as_bytes())
                .unwrap_or_else(|error| fail(&format!("send {n}: {error}")));
            client.quit();
            each.push(one.elapsed().as_secs_f64() * 1000.0);
        }
    } else {
        let mut client = connect();
        for n in 0..count {
            let one = Instant::now();
            client
                .send(from, &recipients, message(n).as_bytes())
                .unwrap_or_else(|error| fail(&format!("send {n}: {error}")));
            each.push(one.elapsed().as_secs_f64() * 1000.0);
        }
        client.quit();
    }
    let total = started.elapsed().as_secs_f64();

    // What `net::tls` does before the first handshake of a trust setting
    // (then it reuses the connector): a connector with the system roots
    // (openssl's SslConnector loads them, and native-tls loads its probed
    // file again) plus the account's CA.
    let mut builds = Vec::new();
    for _ in 0..5 {
        let one = Instant::now();
        let mut builder = native_tls::TlsConnector::builder();
        builder.min_protocol_version(Some(native_tls::Protocol::Tlsv12));
        for certificate in native_tls::Certificate::stack_from_pem(&ca).unwrap_or_default() {
            builder.add_root_certificate(certificate);
        }
        let _connector = builder
            .build()
            .unwrap_or_else(|error| fail(&format!("TLS connector: {error}")));
        builds.push(one.elapsed().as_secs_f64() * 1000.0);
    }

    println!(
        "{{\"mode\": \"{mode}\", \"count\": {count}, \"total_s\": {total:.4}, \
         \"per_message_median_ms\": {:.3}, \"per_message_max_ms\": {:.3}, \
         \"tls_connector_build_median_ms\": {:.3}}}",
        median(&mut each),
        each.last().copied().unwrap_or(0.0),
        median(&mut builds)
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn usage() -> ! {
    eprintln!(
        "usage: smtp_many HOST PORT CA.pem LOGIN PASSWORD FROM TO COUNT [one-connection|per-connection]"
    );
    std::process::exit(2);
}

fn fail(message: &str) -> ! {
    eprintln!("smtp_many: {message}");
    std::process::exit(1);
}
