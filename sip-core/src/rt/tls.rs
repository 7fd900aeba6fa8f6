//! TLS for SIP (RFC 3261 §26.2.1, RFC 5630): rustls with the ring provider, a configured
//! certificate or a generated self-signed one (with a loud warning), and a client side that
//! verifies servers against the Mozilla roots plus configured ones.

use std::{io, path::PathBuf, sync::Arc};

use rustls::{
    ClientConfig, RootCertStore, ServerConfig,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, ring},
    pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime, pem::PemObject},
};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::NetworkConfig;

/// A certificate chain and private key in PEM files.
#[derive(Debug, Clone)]
pub struct TlsIdentity {
    /// Certificate chain (PEM).
    pub certificate: PathBuf,
    /// Private key (PEM).
    pub key: PathBuf,
}

/// A self-signed certificate for `names` (DNS names or IP addresses): `(cert PEM, key PEM)`.
pub fn self_signed_identity(names: &[&str]) -> io::Result<(String, String)> {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let ck = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
    Ok((ck.cert.pem(), ck.signing_key.serialize_pem()))
}

pub(super) struct Tls {
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    certificate_pem: String,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

impl Tls {
    pub(super) fn new(config: &NetworkConfig) -> io::Result<Self> {
        let (cert_pem, key_pem) = match &config.tls_identity {
            Some(id) => (
                std::fs::read_to_string(&id.certificate)?,
                std::fs::read_to_string(&id.key)?,
            ),
            None => {
                if !config.tls.is_empty() {
                    tracing::warn!(
                        "NO TLS CERTIFICATE CONFIGURED: SIP over TLS uses a generated self-signed certificate \
                         that no client will trust. Configure sip.tls_certificate and sip.tls_key for production."
                    );
                }
                self_signed_identity(&["localhost", "127.0.0.1", "::1"])?
            }
        };
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(io::Error::other)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(io::Error::other)?;
        let server = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(io::Error::other)?;

        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?;
        let client = if config.tls_verify {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            for path in &config.tls_roots {
                let pem = std::fs::read(path)?;
                for cert in CertificateDer::pem_slice_iter(&pem) {
                    roots
                        .add(cert.map_err(io::Error::other)?)
                        .map_err(io::Error::other)?;
                }
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        } else {
            tracing::warn!("TLS server certificates are NOT verified (sip.tls_verify = false)");
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider())))
                .with_no_client_auth()
        };
        Ok(Self {
            server: Arc::new(server),
            client: Arc::new(client),
            certificate_pem: cert_pem,
        })
    }

    pub(super) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.server.clone())
    }

    pub(super) fn connector(&self) -> TlsConnector {
        TlsConnector::from(self.client.clone())
    }

    pub(super) fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }
}

/// Accepts any server certificate (only with `tls_verify = false`), still checking
/// handshake signatures.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
