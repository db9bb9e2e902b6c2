//! TLS policy: TLS 1.2 or newer, certificates and host names verified
//! against the system roots plus the account's extra CA, and a certificate
//! the user pinned by fingerprint.
//!
//! When verification fails we open a second connection that does not verify,
//! only to read the server's certificate for the error message (fingerprint,
//! subject, issuer, dates, names) and close it: nothing is ever sent over
//! it, unless its certificate is exactly one the user pinned.

use std::net::{IpAddr, TcpStream};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use native_tls::{HandshakeError, Protocol, TlsConnector, TlsStream};
use sha2::{Digest, Sha256};

use super::{NetError, ReadAhead};
use crate::account::Account;
use crate::account::AccountError;

/// Which certificates to trust for one account.
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    extra_roots_pem: Vec<Vec<u8>>,
    pinned_sha256: Vec<String>,
    minimum: Minimum,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Minimum {
    #[default]
    Tls12,
    Tls13,
}

impl TlsConfig {
    /// The system's roots only.
    pub fn system() -> TlsConfig {
        TlsConfig::default()
    }

    /// The system's roots plus the account's extra CA file, and the
    /// certificates the user pinned for it.
    pub fn for_account(account: &Account) -> Result<TlsConfig, AccountError> {
        let mut config = TlsConfig::system();
        if let Some(pem) = account.read_extra_ca()? {
            config.extra_roots_pem.push(pem);
        }
        config.pinned_sha256 = account.trusted_certificates.clone();
        Ok(config)
    }

    /// Also trusts the CA certificates in `pem`.
    pub fn with_extra_ca_pem(mut self, pem: Vec<u8>) -> TlsConfig {
        self.extra_roots_pem.push(pem);
        self
    }

    /// Also accepts exactly the certificate with this SHA-256 fingerprint
    /// (lowercase hex), even though it does not verify.
    pub fn with_pinned_certificate(mut self, sha256_hex: &str) -> TlsConfig {
        self.pinned_sha256.push(sha256_hex.to_ascii_lowercase());
        self
    }

    /// Requires TLS 1.3 (used to find out which version a server speaks).
    pub fn requiring_tls13(mut self) -> TlsConfig {
        self.minimum = Minimum::Tls13;
        self
    }

    /// Starts building this setting's connector on a background thread, so
    /// that loading the system's root certificates (tens of milliseconds)
    /// overlaps with what comes before the first connection: fetching the
    /// password, opening the mailbox. The connection then finds it built,
    /// or waits for that build instead of doing it a second time. A failure
    /// is left for the connection to meet and report.
    pub fn prepare(&self) {
        if cached_connector(&self.key(true)).is_some() {
            return;
        }
        let config = self.clone();
        let _ = std::thread::Builder::new()
            .name("herald-tls-roots".to_owned())
            .spawn(move || config.connector("", true));
    }

    fn key(&self, verify: bool) -> ConnectorKey {
        ConnectorKey {
            extra_roots_pem: self.extra_roots_pem.clone(),
            minimum: self.minimum,
            verify,
        }
    }

    /// A connector for this trust setting: built once per process and
    /// reused (see [`CONNECTORS`]); `verify: false` only reads a refused
    /// certificate.
    fn connector(&self, host: &str, verify: bool) -> Result<TlsConnector, NetError> {
        let key = self.key(verify);
        if let Some(connector) = cached_connector(&key) {
            return Ok(connector);
        }
        // One build at a time: a caller that finds one under way (started
        // by `prepare`) waits for it and takes the result from the cache.
        let _building = BUILDING.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(connector) = cached_connector(&key) {
            return Ok(connector);
        }
        let connector = self.build_connector(host, verify)?;
        remember_connector(key, connector.clone());
        Ok(connector)
    }

    fn build_connector(&self, host: &str, verify: bool) -> Result<TlsConnector, NetError> {
        let tls_error = |detail: String| NetError::Tls {
            host: host.to_string(),
            detail,
        };
        let mut builder = TlsConnector::builder();
        builder.min_protocol_version(Some(match self.minimum {
            Minimum::Tls12 => Protocol::Tlsv12,
            Minimum::Tls13 => Protocol::Tlsv13,
        }));
        for pem in &self.extra_roots_pem {
            let certificates = native_tls::Certificate::stack_from_pem(pem)
                .map_err(|error| tls_error(format!("the extra CA file is not usable: {error}")))?;
            for certificate in certificates {
                builder.add_root_certificate(certificate);
            }
        }
        if !verify {
            builder.danger_accept_invalid_certs(true);
            builder.danger_accept_invalid_hostnames(true);
        }
        builder
            .build()
            .map_err(|error| tls_error(error.to_string()))
    }
}

/// What a connector is built from: everything in [`TlsConfig`] but the
/// pinned fingerprints, which are checked after the handshake. The host name
/// is not part of it: each connection checks its own.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ConnectorKey {
    extra_roots_pem: Vec<Vec<u8>>,
    minimum: Minimum,
    verify: bool,
}

/// Connectors already built, by [`ConnectorKey`]. Building one loads the
/// system's root certificates (twice with OpenSSL: its default paths, then
/// the bundle native-tls finds), about 35 ms, which every POP3 and SMTP
/// connection used to pay. A connector holds no state of a connection, so
/// reusing it checks certificates and host names exactly as a new one would.
static CONNECTORS: Mutex<ConnectorCache> = Mutex::new(ConnectorCache::new());

/// Held while a connector is built (see [`TlsConfig::connector`]).
static BUILDING: Mutex<()> = Mutex::new(());

/// How long a cached connector is used: a long-running window then sees
/// roots installed (or removed) on the system meanwhile.
const CONNECTOR_MAX_AGE: Duration = Duration::from_secs(600);

/// At most this many trust settings are remembered (accounts with their own
/// CA file, the TLS 1.3 probe of a connection test); the oldest goes first.
const MAX_CACHED_CONNECTORS: usize = 16;

struct ConnectorCache {
    entries: Vec<CachedConnector>,
}

struct CachedConnector {
    key: ConnectorKey,
    built: Instant,
    connector: TlsConnector,
}

impl ConnectorCache {
    const fn new() -> ConnectorCache {
        ConnectorCache {
            entries: Vec::new(),
        }
    }

    /// The connector for `key`, unless there is none younger than
    /// [`CONNECTOR_MAX_AGE`] at `now`.
    fn get(&mut self, key: &ConnectorKey, now: Instant) -> Option<TlsConnector> {
        self.entries
            .retain(|entry| now.saturating_duration_since(entry.built) < CONNECTOR_MAX_AGE);
        self.entries
            .iter()
            .find(|entry| entry.key == *key)
            .map(|entry| entry.connector.clone())
    }

    fn insert(&mut self, key: ConnectorKey, connector: TlsConnector, now: Instant) {
        // Another thread may have built the same one meanwhile: keep one.
        self.entries.retain(|entry| entry.key != key);
        if self.entries.len() >= MAX_CACHED_CONNECTORS {
            self.entries.remove(0);
        }
        self.entries.push(CachedConnector {
            key,
            built: now,
            connector,
        });
    }
}

fn cached_connector(key: &ConnectorKey) -> Option<TlsConnector> {
    lock_connectors().get(key, Instant::now())
}

fn remember_connector(key: ConnectorKey, connector: TlsConnector) {
    lock_connectors().insert(key, connector, Instant::now());
}

fn lock_connectors() -> MutexGuard<'static, ConnectorCache> {
    CONNECTORS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The TLS protocol version of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum TlsVersion {
    /// TLS 1.2.
    #[serde(rename = "TLS 1.2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "TLS 1.3")]
    Tls13,
}

impl std::fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TlsVersion::Tls12 => "TLS 1.2",
            TlsVersion::Tls13 => "TLS 1.3",
        })
    }
}

/// Runs the TLS handshake over `tcp` for `host`.
///
/// On a certificate failure, `reconnect` provides a fresh socket at the same
/// point of the exchange; a handshake without verification over it reads the
/// certificate (for [`NetError::Certificate`], or to accept it when pinned).
pub(crate) fn handshake(
    tcp: TcpStream,
    host: &str,
    config: &TlsConfig,
    reconnect: &mut dyn FnMut() -> Result<TcpStream, NetError>,
) -> Result<TlsStream<ReadAhead>, NetError> {
    let connector = config.connector(host, true)?;
    let failure = match connector.connect(host, ReadAhead::new(tcp)) {
        Ok(stream) => return Ok(stream),
        Err(HandshakeError::WouldBlock(_)) => {
            return Err(NetError::Timeout {
                after: std::time::Duration::ZERO,
            });
        }
        Err(HandshakeError::Failure(error)) => error.to_string(),
    };
    // Did it fail because of the certificate? Then a handshake that does not
    // verify succeeds and shows us the certificate.
    let probe = reconnect().and_then(|tcp| {
        config
            .connector(host, false)?
            .connect(host, ReadAhead::new(tcp))
            .map_err(|_| NetError::Tls {
                host: host.to_string(),
                detail: failure.clone(),
            })
    });
    let Ok(stream) = probe else {
        return Err(NetError::Tls {
            host: host.to_string(),
            detail: failure,
        });
    };
    let der = stream
        .peer_certificate()
        .ok()
        .flatten()
        .and_then(|certificate| certificate.to_der().ok());
    let Some(der) = der else {
        return Err(NetError::Tls {
            host: host.to_string(),
            detail: failure,
        });
    };
    let details = CertificateDetails::from_der(&der);
    if config.pinned_sha256.contains(&details.sha256_hex) {
        return Ok(stream);
    }
    drop(stream);
    let reason = CertificateReason::diagnose(&details, host, &failure);
    Err(NetError::Certificate(Box::new(CertificateProblem {
        host: host.to_string(),
        reason,
        library_detail: failure,
        certificate: details,
    })))
}

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateReason {
    /// It is not signed by a CA we trust (includes self-signed).
    Untrusted,
    /// It is valid, but for other host names.
    HostNameMismatch,
    /// Its validity period has ended.
    Expired,
    /// Its validity period has not begun.
    NotYetValid,
}

impl CertificateReason {
    fn diagnose(details: &CertificateDetails, host: &str, library_detail: &str) -> Self {
        let detail = library_detail.to_ascii_lowercase();
        let now = unix_now();
        if detail.contains("expired") || details.not_after_unix.is_some_and(|end| now > end) {
            CertificateReason::Expired
        } else if detail.contains("not yet valid")
            || details.not_before_unix.is_some_and(|start| now < start)
        {
            CertificateReason::NotYetValid
        } else if detail.contains("hostname mismatch")
            || detail.contains("ip address mismatch")
            || !details.matches_host(host)
        {
            CertificateReason::HostNameMismatch
        } else {
            CertificateReason::Untrusted
        }
    }
}

/// A refused certificate, with what a person needs to judge it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertificateProblem {
    /// The host we connected to.
    pub host: String,
    /// Why it was refused.
    pub reason: CertificateReason,
    /// What the TLS library said, for a bug report.
    pub library_detail: String,
    /// The certificate the server presented.
    pub certificate: CertificateDetails,
}

impl std::fmt::Display for CertificateProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let certificate = &self.certificate;
        let why = match self.reason {
            CertificateReason::Untrusted if certificate.subject == certificate.issuer => {
                "it is self-signed and not trusted".to_string()
            }
            CertificateReason::Untrusted => {
                "it is not signed by a certificate authority you trust".to_string()
            }
            CertificateReason::HostNameMismatch => format!(
                "it is for {}, not for {}",
                if certificate.names.is_empty() {
                    "other names".to_string()
                } else {
                    certificate.names.join(", ")
                },
                self.host
            ),
            CertificateReason::Expired => format!("it expired on {}", certificate.not_after),
            CertificateReason::NotYetValid => {
                format!("it is not valid before {}", certificate.not_before)
            }
        };
        write!(
            f,
            "the certificate of {} was refused because {why}. SHA-256 fingerprint {}, subject \"{}\", issued by \"{}\"",
            self.host,
            certificate.fingerprint_display(),
            certificate.subject,
            certificate.issuer
        )
    }
}

/// A server certificate, as shown to a person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertificateDetails {
    /// SHA-256 of the DER bytes, lowercase hex (what a pin stores).
    pub sha256_hex: String,
    /// The subject's distinguished name.
    pub subject: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// Start of validity, as text.
    pub not_before: String,
    /// End of validity, as text.
    pub not_after: String,
    /// Start of validity, seconds since 1970.
    pub not_before_unix: Option<i64>,
    /// End of validity, seconds since 1970.
    pub not_after_unix: Option<i64>,
    /// The DNS names and IP addresses it is valid for.
    pub names: Vec<String>,
}

impl CertificateDetails {
    /// Reads what we show from a DER certificate; fields we cannot parse
    /// stay empty, the fingerprint is always there.
    pub fn from_der(der: &[u8]) -> CertificateDetails {
        let sha256_hex = crate::digest::hex(&Sha256::digest(der));
        let mut details = CertificateDetails {
            sha256_hex,
            subject: String::new(),
            issuer: String::new(),
            not_before: String::new(),
            not_after: String::new(),
            not_before_unix: None,
            not_after_unix: None,
            names: Vec::new(),
        };
        let Ok((_, certificate)) = x509_parser::parse_x509_certificate(der) else {
            return details;
        };
        details.subject = crate::text::neutralize_line(&certificate.subject().to_string());
        details.issuer = crate::text::neutralize_line(&certificate.issuer().to_string());
        let validity = certificate.validity();
        details.not_before = validity.not_before.to_string();
        details.not_after = validity.not_after.to_string();
        details.not_before_unix = Some(validity.not_before.timestamp());
        details.not_after_unix = Some(validity.not_after.timestamp());
        if let Ok(Some(names)) = certificate.subject_alternative_name() {
            for name in &names.value.general_names {
                match name {
                    x509_parser::extensions::GeneralName::DNSName(dns) => {
                        details.names.push(crate::text::neutralize_line(dns));
                    }
                    x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                        if let Some(ip) = ip_from_bytes(bytes) {
                            details.names.push(ip.to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        details
    }

    /// The fingerprint as colon-separated uppercase pairs, as browsers show
    /// it.
    pub fn fingerprint_display(&self) -> String {
        let upper = self.sha256_hex.to_ascii_uppercase();
        upper
            .as_bytes()
            .chunks(2)
            .map(|pair| String::from_utf8_lossy(pair).into_owned())
            .collect::<Vec<_>>()
            .join(":")
    }

    /// True if one of the certificate's names covers `host` (a `*.` wildcard
    /// covers exactly one label).
    pub fn matches_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let host_ip: Option<IpAddr> = host.parse().ok();
        self.names.iter().any(|name| {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if let Some(ip) = host_ip {
                return name.parse::<IpAddr>().ok() == Some(ip);
            }
            if let Some(suffix) = name.strip_prefix("*.") {
                return host
                    .split_once('.')
                    .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix);
            }
            name == host
        })
    }
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod cache_tests {
    use super::*;

    fn key(verify: bool, minimum: Minimum, roots: &[&[u8]]) -> ConnectorKey {
        ConnectorKey {
            extra_roots_pem: roots.iter().map(|pem| pem.to_vec()).collect(),
            minimum,
            verify,
        }
    }

    #[test]
    fn a_connector_is_reused_per_trust_setting_and_rebuilt_when_old() {
        let connector = TlsConfig::system()
            .build_connector("localhost", true)
            .unwrap();
        let mut cache = ConnectorCache::new();
        let start = Instant::now();
        let verified = key(true, Minimum::Tls12, &[]);
        assert!(cache.get(&verified, start).is_none());
        cache.insert(verified.clone(), connector.clone(), start);
        assert!(
            cache
                .get(&verified, start + Duration::from_secs(1))
                .is_some()
        );
        // Any difference in what the connector checks is another entry.
        for other in [
            key(false, Minimum::Tls12, &[]),
            key(true, Minimum::Tls13, &[]),
            key(true, Minimum::Tls12, &[b"another CA"]),
        ] {
            assert!(cache.get(&other, start).is_none(), "{other:?}");
        }
        assert!(cache.get(&verified, start + CONNECTOR_MAX_AGE).is_none());
        assert!(cache.entries.is_empty());
    }

    #[test]
    fn prepare_builds_the_verifying_connector_in_the_background() {
        // A trust setting of its own (the cache is shared by the tests):
        // an extra "CA file" holding no certificate.
        let config = TlsConfig::system().with_extra_ca_pem(b"# prepare test\n".to_vec());
        assert!(cached_connector(&config.key(true)).is_none());
        config.prepare();
        let deadline = Instant::now() + Duration::from_secs(20);
        while cached_connector(&config.key(true)).is_none() {
            assert!(Instant::now() < deadline, "prepare never built it");
            std::thread::sleep(Duration::from_millis(5));
        }
        // Only the verifying one: the other is for reading refused
        // certificates, never prepared.
        assert!(cached_connector(&config.key(false)).is_none());
        assert!(config.connector("localhost", true).is_ok());
    }

    #[test]
    fn the_cache_keeps_the_newest_trust_settings() {
        let connector = TlsConfig::system()
            .build_connector("localhost", true)
            .unwrap();
        let mut cache = ConnectorCache::new();
        let now = Instant::now();
        let pems: Vec<Vec<u8>> = (0..=MAX_CACHED_CONNECTORS)
            .map(|n| format!("CA {n}").into_bytes())
            .collect();
        for pem in &pems {
            cache.insert(key(true, Minimum::Tls12, &[pem]), connector.clone(), now);
        }
        assert_eq!(cache.entries.len(), MAX_CACHED_CONNECTORS);
        assert!(
            cache
                .get(&key(true, Minimum::Tls12, &[&pems[0]]), now)
                .is_none()
        );
        let newest = pems.last().unwrap();
        assert!(
            cache
                .get(&key(true, Minimum::Tls12, &[newest]), now)
                .is_some()
        );
        // The same key twice is one entry.
        cache.insert(key(true, Minimum::Tls12, &[newest]), connector, now);
        assert_eq!(cache.entries.len(), MAX_CACHED_CONNECTORS);
    }

    #[test]
    fn an_unusable_extra_ca_is_an_error_and_not_cached() {
        const BROKEN: &[u8] =
            b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
        let config = TlsConfig::system().with_extra_ca_pem(BROKEN.to_vec());
        for _ in 0..2 {
            let error = config.connector("mail.example", true).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("the extra CA file is not usable"),
                "{error}"
            );
        }
        let key = key(true, Minimum::Tls12, &[BROKEN]);
        assert!(cached_connector(&key).is_none());
    }
}
