//! HTTPS for the listeners: the PEM certificate chain and private key named
//! by `tls_cert` / `tls_key`, served with rustls on the ring provider (the
//! one reqwest already brings), TLS 1.2 and 1.3 only, with rustls's default
//! suites (ECDHE with AES-GCM or ChaCha20-Poly1305; no CBC, RC4, 3DES or
//! static RSA exist in it).
//!
//! The pair is reloaded on SIGHUP and when either file changes, so a renewal
//! needs no restart; a pair that does not load keeps the previous one
//! serving. Nothing here logs or keeps more of the key than rustls needs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tracing::{error, info, warn};
use zeroize::Zeroizing;

use crate::metrics::Metrics;

/// Why a certificate/key pair could not be loaded. Messages name the file
/// and the problem, never file contents.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// No `CERTIFICATE` block, or one that is not valid PEM.
    #[error("{path} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)")]
    NoCertificate {
        /// File.
        path: PathBuf,
    },
    /// No private key block, or one that is not valid PEM.
    #[error("{path} holds no PEM private key (expected PKCS#8, RSA or EC PRIVATE KEY)")]
    NoKey {
        /// File.
        path: PathBuf,
    },
    /// rustls refused the pair: unsupported key type, or a key that is not
    /// the certificate's.
    #[error("the key in {key} does not fit the certificate in {cert}: {message}")]
    Pair {
        /// Certificate file.
        cert: PathBuf,
        /// Key file.
        key: PathBuf,
        /// rustls's reason (no key material).
        message: String,
    },
    /// The rustls configuration could not be built.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The pair served to new handshakes, swapped in place on reload.
struct CurrentCert(RwLock<Arc<CertifiedKey>>);

impl CurrentCert {
    fn get(&self) -> Arc<CertifiedKey> {
        // A panic while swapping leaves a complete Arc behind: use it.
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, key: CertifiedKey) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
    }
}

impl fmt::Debug for CurrentCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentCert").finish_non_exhaustive()
    }
}

impl ResolvesServerCert for CurrentCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

/// What identifies a version of the two files without reading them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp(Option<(SystemTime, u64)>, Option<(SystemTime, u64)>);

impl Stamp {
    fn of(cert: &Path, key: &Path) -> Self {
        let one = |p: &Path| {
            std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        };
        Self(one(cert), one(key))
    }
}

/// The served certificate: its acceptor and how to reload it.
#[derive(Clone)]
pub struct Tls {
    acceptor: TlsAcceptor,
    current: Arc<CurrentCert>,
    provider: Arc<CryptoProvider>,
    cert: PathBuf,
    key: PathBuf,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Loads the pair and builds the server configuration.
    ///
    /// # Errors
    /// A file is unreadable, holds no PEM certificate or key, or the key is
    /// not the certificate's.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let first = load_pair(cert, key, &provider)?;
        let current = Arc::new(CurrentCert(RwLock::new(Arc::new(first))));
        let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        // The listeners speak HTTP/1.1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            current,
            provider,
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        })
    }

    /// The acceptor for new connections (always the current pair).
    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// Reads both files again and serves the new pair from the next
    /// handshake on; on error the previous pair stays.
    ///
    /// # Errors
    /// As [`Tls::load`].
    pub fn reload(&self) -> Result<(), TlsError> {
        let pair = load_pair(&self.cert, &self.key, &self.provider)?;
        self.current.set(pair);
        Ok(())
    }

    /// Reloads on SIGHUP and whenever either file's mtime or size changes
    /// (checked every `interval`), counting each attempt in
    /// `passbridge_tls_reloads_total{result}`. Runs until dropped.
    pub async fn watch(self, interval: Duration, metrics: Arc<Metrics>) {
        let mut seen = Stamp::of(&self.cert, &self.key);
        let mut hangup = hangup_signal();
        let mut tick = tokio::time::interval(interval.max(Duration::from_millis(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let why = tokio::select! {
                _ = tick.tick() => {
                    let now = Stamp::of(&self.cert, &self.key);
                    if now == seen {
                        continue;
                    }
                    // Each version of the files is tried once: a half-written
                    // renewal is logged once, and retried when it changes again.
                    seen = now;
                    "files changed"
                }
                () = next_hangup(&mut hangup) => {
                    seen = Stamp::of(&self.cert, &self.key);
                    "SIGHUP"
                }
            };
            match self.reload() {
                Ok(()) => {
                    metrics.tls_reloaded("ok");
                    info!(trigger = why, cert = %self.cert.display(), "TLS certificate reloaded");
                }
                Err(e) => {
                    metrics.tls_reloaded("error");
                    error!(trigger = why, error = %e, "TLS certificate reload failed; still serving the previous certificate");
                }
            }
        }
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            warn!(error = %e, "cannot listen for SIGHUP; the certificate reloads on file change only");
            None
        }
    }
}

#[cfg(not(unix))]
fn hangup_signal() -> Hangup {
    None
}

/// Resolves at the next SIGHUP; never without a handler.
async fn next_hangup(hangup: &mut Hangup) {
    #[cfg(unix)]
    if let Some(s) = hangup {
        if s.recv().await.is_some() {
            return;
        }
    }
    let _ = hangup;
    std::future::pending::<()>().await;
}

fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, TlsError> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|source| TlsError::Read {
            path: path.to_path_buf(),
            source,
        })
}

fn load_pair(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let cert_pem = read(cert)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::NoCertificate {
            path: cert.to_path_buf(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.to_path_buf(),
        });
    }
    let key_pem = read(key)?;
    // pem errors can quote a line of the file: never shown.
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::NoKey {
        path: key.to_path_buf(),
    })?;
    CertifiedKey::from_der(chain, private, provider).map_err(|e| TlsError::Pair {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        message: e.to_string(),
    })
}
