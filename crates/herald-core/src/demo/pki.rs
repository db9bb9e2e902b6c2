//! The sandbox's throwaway CA and server certificate, made at run time.

use native_tls::{Identity, Protocol, TlsAcceptor};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use super::DemoError;

/// A CA (its certificate only: the key is dropped once it has signed) and
/// a leaf for `127.0.0.1` and `localhost` signed by it.
pub(super) struct DemoPki {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    leaf_pem: String,
    leaf_key_pem: String,
}

impl DemoPki {
    /// New keys (ECDSA P-256) every time: nothing is reused between runs.
    pub fn generate() -> Result<DemoPki, DemoError> {
        let ca_key = KeyPair::generate().map_err(DemoError::Certificate)?;
        let mut ca_params =
            CertificateParams::new(Vec::<String>::new()).map_err(DemoError::Certificate)?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Herald demo CA (throwaway)");
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "Herald demo");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        set_validity(&mut ca_params);
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .map_err(DemoError::Certificate)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate().map_err(DemoError::Certificate)?;
        let mut leaf_params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .map_err(DemoError::Certificate)?;
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, super::SERVER_NAME);
        leaf_params.is_ca = IsCa::ExplicitNoCa;
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        set_validity(&mut leaf_params);
        let leaf_cert = leaf_params
            .signed_by(&leaf_key, &issuer)
            .map_err(DemoError::Certificate)?;

        Ok(DemoPki {
            ca_pem: ca_cert.pem(),
            leaf_pem: leaf_cert.pem(),
            leaf_key_pem: leaf_key.serialize_pem(),
        })
    }

    /// A TLS acceptor presenting the leaf, TLS 1.2 at least.
    pub fn acceptor(&self) -> Result<TlsAcceptor, DemoError> {
        let identity = Identity::from_pkcs8(self.leaf_pem.as_bytes(), self.leaf_key_pem.as_bytes())
            .map_err(DemoError::Tls)?;
        TlsAcceptor::builder(identity)
            .min_protocol_version(Some(Protocol::Tlsv12))
            .build()
            .map_err(DemoError::Tls)
    }
}

/// From two days ago (clock skew) to a year from now: long enough for any
/// demo, short enough to look like a real certificate.
fn set_validity(params: &mut CertificateParams) {
    let now = crate::store::unix_now();
    let date = |unix: i64| {
        let (year, month, day) = super::seed::civil_date(unix);
        rcgen::date_time_ymd(year as i32, month as u8, day as u8)
    };
    params.not_before = date(now - 2 * 86_400);
    params.not_after = date(now + 365 * 86_400);
}
