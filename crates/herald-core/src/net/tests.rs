#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::testing::{TestPki, serve_plain, serve_tls};
use super::tls::{CertificateDetails, CertificateReason, TlsConfig};
use super::*;
use crate::error::{Classify, ErrorKind};

fn quick_limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(5),
        io_timeout: Duration::from_secs(5),
        min_bytes_per_second: 0,
        throughput_window: Duration::from_secs(30),
    }
}

fn trusting_test_ca() -> TlsConfig {
    TlsConfig::system().with_extra_ca_pem(TestPki::get().ca_pem.clone())
}

fn echo_greeting(mut stream: impl Read + Write) {
    let _ = stream.write_all(b"+OK hello\r\n");
    let mut buf = [0u8; 64];
    let _ = stream.read(&mut buf);
}

#[test]
fn verified_tls_connection_carries_bytes() {
    let pki = TestPki::get();
    let (port, server) = serve_tls(1, &pki.leaf, echo_greeting);
    let cancel = CancelToken::new();
    let mut connection = Connection::connect_tls(
        "127.0.0.1",
        port,
        &trusting_test_ca(),
        &quick_limits(),
        &cancel,
    )
    .unwrap();
    let mut greeting = [0u8; 11];
    connection.read_exact(&mut greeting).unwrap();
    assert_eq!(&greeting, b"+OK hello\r\n");
    let certificate = connection.peer_certificate().unwrap();
    assert_eq!(
        certificate.sha256_hex,
        crate::digest::hex(&Sha256::digest(&pki.leaf_der))
    );
    connection.write_all(b"QUIT\r\n").unwrap();
    drop(connection);
    server.join().unwrap();
}

#[test]
fn untrusted_ca_is_refused_with_the_certificate_shown() {
    let pki = TestPki::get();
    // Two connections: the refused handshake and the probe that reads the certificate.
    let (port, server) = serve_tls(2, &pki.leaf, echo_greeting);
    let error = Connection::connect_tls(
        "127.0.0.1",
        port,
        &TlsConfig::system(),
        &quick_limits(),
        &CancelToken::new(),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Certificate);
    let NetError::Certificate(problem) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(problem.reason, CertificateReason::Untrusted);
    let expected = crate::digest::hex(&Sha256::digest(&pki.leaf_der));
    assert_eq!(problem.certificate.sha256_hex, expected);
    assert!(
        problem.certificate.issuer.contains("Herald Test CA"),
        "{problem:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("not signed by a certificate authority you trust"),
        "{text}"
    );
    assert!(text.contains(&expected[..2].to_ascii_uppercase()), "{text}");
    server.join().unwrap();
}

#[test]
fn a_pinned_certificate_is_accepted_and_only_that_one() {
    let pki = TestPki::get();
    let fingerprint = crate::digest::hex(&Sha256::digest(&pki.leaf_der));
    let (port, server) = serve_tls(2, &pki.leaf, echo_greeting);
    let config = TlsConfig::system().with_pinned_certificate(&fingerprint);
    let mut connection = Connection::connect_tls(
        "127.0.0.1",
        port,
        &config,
        &quick_limits(),
        &CancelToken::new(),
    )
    .unwrap();
    let mut greeting = [0u8; 3];
    connection.read_exact(&mut greeting).unwrap();
    assert_eq!(&greeting, b"+OK");
    drop(connection);
    server.join().unwrap();

    let (port, server) = serve_tls(2, &pki.leaf, echo_greeting);
    let other = TlsConfig::system().with_pinned_certificate(&"0".repeat(64));
    let error = Connection::connect_tls(
        "127.0.0.1",
        port,
        &other,
        &quick_limits(),
        &CancelToken::new(),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Certificate);
    server.join().unwrap();
}

#[test]
fn wrong_host_name_is_refused_as_a_mismatch() {
    let pki = TestPki::get();
    let (port, server) = serve_tls(2, &pki.wrong_name, echo_greeting);
    let error = Connection::connect_tls(
        "127.0.0.1",
        port,
        &trusting_test_ca(),
        &quick_limits(),
        &CancelToken::new(),
    )
    .unwrap_err();
    let NetError::Certificate(problem) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(problem.reason, CertificateReason::HostNameMismatch);
    assert!(error.to_string().contains("wrong-name.example"), "{error}");
    server.join().unwrap();
}

#[test]
fn a_server_that_does_not_speak_tls_is_a_tls_error() {
    let (port, server) = serve_plain(2, |mut stream| {
        let _ = stream.write_all(b"+OK plain text server\r\n");
        let mut buf = [0u8; 512];
        let _ = stream.read(&mut buf);
    });
    let error = Connection::connect_tls(
        "127.0.0.1",
        port,
        &trusting_test_ca(),
        &quick_limits(),
        &CancelToken::new(),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Tls, "{error:?}");
    server.join().unwrap();
}

#[test]
fn a_closed_port_is_a_network_error_naming_host_and_port() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let error = connect_tcp("127.0.0.1", port, &quick_limits(), &CancelToken::new()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Network);
    assert!(
        error.to_string().contains(&format!("port {port}")),
        "{error}"
    );
}

#[test]
fn an_unknown_host_name_says_so() {
    let error = connect_tcp(
        "no-such-host.invalid",
        995,
        &quick_limits(),
        &CancelToken::new(),
    )
    .unwrap_err();
    assert!(matches!(error, NetError::Resolve { .. }), "{error:?}");
    assert!(error.to_string().contains("no-such-host.invalid"));
}

#[test]
fn a_trickling_server_is_stopped_by_the_throughput_rule() {
    let (port, server) = serve_plain(1, |mut stream| {
        for _ in 0..200 {
            if stream.write_all(b"x").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let limits = Limits {
        min_bytes_per_second: 1000,
        throughput_window: Duration::from_millis(300),
        ..quick_limits()
    };
    let mut connection =
        Connection::connect_plain("127.0.0.1", port, &limits, &CancelToken::new()).unwrap();
    let started = Instant::now();
    let mut sink = Vec::new();
    let error = NetError::from(connection.read_to_end(&mut sink).unwrap_err());
    assert!(matches!(error, NetError::TooSlow { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    drop(connection);
    server.join().unwrap();
}

#[test]
fn a_silent_server_times_out() {
    let (port, server) = serve_plain(1, |stream| {
        std::thread::sleep(Duration::from_millis(1500));
        drop(stream);
    });
    let limits = Limits {
        io_timeout: Duration::from_millis(300),
        ..quick_limits()
    };
    let mut connection =
        Connection::connect_plain("127.0.0.1", port, &limits, &CancelToken::new()).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 8];
    let error = NetError::from(connection.read(&mut buf).unwrap_err());
    assert!(matches!(error, NetError::Timeout { .. }), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(1));
    server.join().unwrap();
}

#[test]
fn cancel_unblocks_a_read_at_once() {
    let (port, server) = serve_plain(1, |stream| {
        std::thread::sleep(Duration::from_millis(1500));
        drop(stream);
    });
    let cancel = CancelToken::new();
    let mut connection =
        Connection::connect_plain("127.0.0.1", port, &quick_limits(), &cancel).unwrap();
    let canceller = cancel.clone();
    let started = Instant::now();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        canceller.cancel();
    });
    let mut buf = [0u8; 8];
    let error = NetError::from(connection.read(&mut buf).unwrap_err());
    assert!(matches!(error, NetError::Cancelled), "{error:?}");
    assert!(started.elapsed() < Duration::from_millis(1000));
    server.join().unwrap();
}

#[test]
fn host_matching_follows_the_wildcard_rule() {
    let details = CertificateDetails {
        names: vec![
            "*.example.com".into(),
            "mail.example.org".into(),
            "127.0.0.1".into(),
        ],
        ..CertificateDetails::from_der(b"")
    };
    assert!(details.matches_host("pop.example.com"));
    assert!(details.matches_host("MAIL.example.org."));
    assert!(details.matches_host("127.0.0.1"));
    assert!(!details.matches_host("example.com"));
    assert!(!details.matches_host("a.b.example.com"));
    assert!(!details.matches_host("127.0.0.2"));
    assert!(!details.matches_host("evil-example.com"));
}

#[test]
fn a_reused_connector_still_checks_each_connection() {
    // One trust setting, so one connector for all four connections: it
    // accepts the right name and still refuses a wrong name and, without
    // the CA, an untrusted certificate.
    let pki = TestPki::get();
    let config = trusting_test_ca();
    for _ in 0..2 {
        let (port, server) = serve_tls(1, &pki.leaf, echo_greeting);
        let mut connection = Connection::connect_tls(
            "127.0.0.1",
            port,
            &config,
            &quick_limits(),
            &CancelToken::new(),
        )
        .unwrap();
        let mut greeting = [0u8; 3];
        connection.read_exact(&mut greeting).unwrap();
        drop(connection);
        server.join().unwrap();

        let (port, server) = serve_tls(2, &pki.wrong_name, echo_greeting);
        let error = Connection::connect_tls(
            "127.0.0.1",
            port,
            &config,
            &quick_limits(),
            &CancelToken::new(),
        )
        .unwrap_err();
        let NetError::Certificate(problem) = &error else {
            panic!("{error:?}")
        };
        assert_eq!(problem.reason, CertificateReason::HostNameMismatch);
        server.join().unwrap();

        let (port, server) = serve_tls(2, &pki.leaf, echo_greeting);
        let error = Connection::connect_tls(
            "127.0.0.1",
            port,
            &TlsConfig::system(),
            &quick_limits(),
            &CancelToken::new(),
        )
        .unwrap_err();
        let NetError::Certificate(problem) = &error else {
            panic!("{error:?}")
        };
        assert_eq!(problem.reason, CertificateReason::Untrusted);
        server.join().unwrap();
    }
}
