//! Test support: a private CA and certificates made with the `openssl`
//! command, and small TLS servers on 127.0.0.1 for scripted peers.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::thread::JoinHandle;

use native_tls::{Identity, TlsAcceptor, TlsStream};

/// Certificates for tests, generated once per test process.
#[derive(Debug)]
pub(crate) struct TestPki {
    /// The CA certificate (PEM) clients add as an extra root.
    pub ca_pem: Vec<u8>,
    /// Leaf for `localhost` and `127.0.0.1`, signed by the CA.
    pub leaf: (Vec<u8>, Vec<u8>),
    /// Leaf for `wrong-name.example` only, signed by the CA.
    pub wrong_name: (Vec<u8>, Vec<u8>),
    /// DER bytes of [`TestPki::leaf`]'s certificate.
    pub leaf_der: Vec<u8>,
}

impl TestPki {
    /// The shared test PKI.
    pub(crate) fn get() -> &'static TestPki {
        static PKI: OnceLock<TestPki> = OnceLock::new();
        PKI.get_or_init(TestPki::generate)
    }

    fn generate() -> TestPki {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=Herald Test CA",
            ],
        );
        let leaf = make_leaf(d, "leaf", "subjectAltName=DNS:localhost,IP:127.0.0.1");
        let wrong_name = make_leaf(d, "wrong", "subjectAltName=DNS:wrong-name.example");
        openssl(
            d,
            &[
                "x509", "-in", "leaf.pem", "-outform", "DER", "-out", "leaf.der",
            ],
        );
        TestPki {
            ca_pem: std::fs::read(d.join("ca.pem")).expect("ca"),
            leaf,
            wrong_name,
            leaf_der: std::fs::read(d.join("leaf.der")).expect("der"),
        }
    }

    /// A TLS acceptor presenting `(cert_pem, key_pem)`.
    pub(crate) fn acceptor(identity: &(Vec<u8>, Vec<u8>)) -> TlsAcceptor {
        let identity = Identity::from_pkcs8(&identity.0, &identity.1).expect("identity");
        TlsAcceptor::new(identity).expect("acceptor")
    }
}

fn make_leaf(dir: &Path, name: &str, san: &str) -> (Vec<u8>, Vec<u8>) {
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let pem = format!("{name}.pem");
    let ext = format!("{name}.ext");
    std::fs::write(dir.join(&ext), format!("{san}\n")).expect("ext");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &ext,
        ],
    );
    (
        std::fs::read(dir.join(pem)).expect("pem"),
        std::fs::read(dir.join(key)).expect("key"),
    )
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command is needed by the TLS tests");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Listens on 127.0.0.1 and runs `serve` on each accepted connection (up
/// to `connections`), in a background thread.
pub(crate) fn serve_plain<F>(connections: usize, serve: F) -> (u16, JoinHandle<()>)
where
    F: Fn(TcpStream) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            match stream {
                Ok(stream) => serve(stream),
                Err(_) => return,
            }
        }
    });
    (port, handle)
}

/// Like [`serve_plain`], with a TLS handshake first; failed handshakes
/// (a client that refused the certificate) still count as connections.
pub(crate) fn serve_tls<F>(
    connections: usize,
    identity: &(Vec<u8>, Vec<u8>),
    serve: F,
) -> (u16, JoinHandle<()>)
where
    F: Fn(TlsStream<TcpStream>) + Send + Sync + 'static,
{
    let acceptor = TestPki::acceptor(identity);
    serve_plain(connections, move |tcp| {
        if let Ok(stream) = acceptor.accept(tcp) {
            serve(stream);
        }
    })
}
