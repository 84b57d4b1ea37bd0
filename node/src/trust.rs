//! Trust on first use: how a client decides that a node is the node it
//! talked to before.
//!
//! Node certificates are self-signed, so a client pins them by
//! [`Fingerprint`]. A *known-nodes* file (by default `known-nodes` in the
//! client's state directory, see [`KnownNodes::in_dir`]) maps a key (the
//! address the client dialled, or a node name) to a fingerprint, one entry a
//! line:
//!
//! ```text
//! # comments and blank lines are ignored
//! 127.0.0.1:4433 3f0a...64 hex digits...
//! ```
//!
//! The first connection to a key remembers the fingerprint the node showed
//! (after the TLS handshake, before the token is sent); a later connection
//! that meets another fingerprint is refused with
//! [`TrustError::Mismatch`], which names both fingerprints and the file to
//! edit when the change is expected. The file is rewritten atomically.
//!
//! [`PinnedVerifier`] is the rustls side: it accepts the certificate whose
//! fingerprint is pinned (or, on first use, any certificate, recording its
//! fingerprint) and verifies the handshake signatures with the crypto
//! provider's algorithms, so the peer must hold the certificate's key.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use crate::identity::{write_atomic, Fingerprint, IdentityError};

/// The name of the known-nodes file in a state directory.
pub const KNOWN_NODES_FILE: &str = "known-nodes";

/// Why a node is not trusted, or the known-nodes file cannot be used.
#[derive(Debug)]
pub enum TrustError {
    /// The node showed another certificate than the one pinned.
    Mismatch {
        /// The address or name the fingerprint is pinned for.
        key: String,
        /// The pinned fingerprint.
        expected: Fingerprint,
        /// The fingerprint the node showed.
        presented: Fingerprint,
        /// The known-nodes file that pins it (none for a fingerprint given
        /// directly).
        file: Option<PathBuf>,
    },
    /// A line of the known-nodes file is malformed.
    Parse {
        /// The file.
        path: PathBuf,
        /// The line (from 1).
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// The file could not be read or written.
    Io(IdentityError),
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustError::Mismatch {
                key,
                expected,
                presented,
                file,
            } => {
                write!(
                    f,
                    "node {key} showed certificate {presented}, but {expected} is pinned for it"
                )?;
                match file {
                    Some(file) => write!(
                        f,
                        "; if the node's certificate changed on purpose, remove the line for {key} from {}",
                        file.display()
                    ),
                    None => Ok(()),
                }
            }
            TrustError::Parse { path, line, what } => {
                write!(f, "{}:{line}: {what}", path.display())
            }
            TrustError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TrustError {}

/// A known-nodes file.
#[derive(Clone, Debug)]
pub struct KnownNodes {
    path: PathBuf,
}

impl KnownNodes {
    /// The known-nodes file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> KnownNodes {
        KnownNodes { path: path.into() }
    }

    /// The file `known-nodes` in the state directory `dir`.
    pub fn in_dir(dir: &Path) -> KnownNodes {
        KnownNodes::new(dir.join(KNOWN_NODES_FILE))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every entry in file order; no file means no entries.
    pub fn entries(&self) -> Result<Vec<(String, Fingerprint)>, TrustError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(TrustError::Io(IdentityError::Io {
                    path: self.path.clone(),
                    source,
                }))
            }
        };
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parse = |what: String| TrustError::Parse {
                path: self.path.clone(),
                line: i + 1,
                what,
            };
            let mut words = line.split_whitespace();
            let (Some(key), Some(fp), None) = (words.next(), words.next(), words.next()) else {
                return Err(parse(
                    "expected an address or name and a fingerprint".to_string(),
                ));
            };
            out.push((key.to_string(), fp.parse().map_err(parse)?));
        }
        Ok(out)
    }

    /// The fingerprint pinned for `key`, if any.
    pub fn get(&self, key: &str) -> Result<Option<Fingerprint>, TrustError> {
        Ok(self
            .entries()?
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, f)| f))
    }

    /// Pins `fingerprint` for `key`, replacing an earlier entry for it
    /// (keys may not contain white space).
    pub fn remember(&self, key: &str, fingerprint: Fingerprint) -> Result<(), TrustError> {
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            return Err(TrustError::Parse {
                path: self.path.clone(),
                line: 0,
                what: format!("key {key:?} is empty or has white space"),
            });
        }
        let mut text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                "# chunkvm known nodes: address or name, certificate fingerprint (SHA-256)\n"
                    .to_string()
            }
            Err(source) => {
                return Err(TrustError::Io(IdentityError::Io {
                    path: self.path.clone(),
                    source,
                }))
            }
        };
        // Drop earlier entries for the key, keep everything else as written.
        let mut kept: String = text
            .lines()
            .filter(|l| l.split_whitespace().next() != Some(key))
            .map(|l| format!("{l}\n"))
            .collect();
        kept.push_str(&format!("{key} {fingerprint}\n"));
        text = kept;
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| {
                TrustError::Io(IdentityError::Io {
                    path: parent.to_path_buf(),
                    source,
                })
            })?;
        }
        write_atomic(&self.path, text.as_bytes(), false).map_err(TrustError::Io)
    }
}

/// How a client trusts the node it connects to.
#[derive(Clone, Debug)]
pub enum Trust {
    /// Exactly the certificate with this fingerprint.
    Pinned(Fingerprint),
    /// Trust on first use, keyed by the address dialled.
    KnownNodes(KnownNodes),
    /// Trust on first use, keyed by a name of the caller's choosing (a node
    /// name, when addresses change).
    KnownNodesAs {
        /// The file.
        known: KnownNodes,
        /// The key.
        key: String,
    },
}

/// A rustls certificate verifier that accepts one pinned certificate (or,
/// when none is pinned, any certificate) and records the fingerprint the
/// server showed.
#[derive(Debug)]
pub struct PinnedVerifier {
    expected: Option<Fingerprint>,
    presented: Mutex<Option<Fingerprint>>,
    provider: Arc<CryptoProvider>,
}

impl PinnedVerifier {
    /// A verifier for `expected` (`None`: first use, accept any), checking
    /// signatures with `provider`'s algorithms.
    pub fn new(expected: Option<Fingerprint>, provider: Arc<CryptoProvider>) -> PinnedVerifier {
        PinnedVerifier {
            expected,
            presented: Mutex::new(None),
            provider,
        }
    }

    /// The fingerprint pinned, if any.
    pub fn expected(&self) -> Option<Fingerprint> {
        self.expected
    }

    /// The fingerprint of the certificate the server showed, once it did.
    pub fn presented(&self) -> Option<Fingerprint> {
        match self.presented.lock() {
            Ok(g) => *g,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Fingerprint::of(end_entity);
        match self.presented.lock() {
            Ok(mut g) => *g = Some(presented),
            Err(poisoned) => *poisoned.into_inner() = Some(presented),
        }
        if !intermediates.is_empty() {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::BadEncoding,
            ));
        }
        match self.expected {
            Some(e) if e != presented => Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            )),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("chunkvm-node-trust-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn remember_replaces_and_keeps_comments() {
        let dir = temp_dir("remember");
        let known = KnownNodes::in_dir(&dir);
        assert_eq!(known.get("a:1").unwrap(), None);
        let f1 = Fingerprint([1; 32]);
        let f2 = Fingerprint([2; 32]);
        known.remember("a:1", f1).unwrap();
        known.remember("b:2", f2).unwrap();
        known.remember("a:1", f2).unwrap();
        assert_eq!(known.get("a:1").unwrap(), Some(f2));
        assert_eq!(known.get("b:2").unwrap(), Some(f2));
        let text = std::fs::read_to_string(known.path()).unwrap();
        assert!(text.starts_with("# chunkvm known nodes"), "{text}");
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(known.remember("a b", f1).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        let dir = temp_dir("parse");
        std::fs::create_dir_all(&dir).unwrap();
        let known = KnownNodes::in_dir(&dir);
        std::fs::write(known.path(), "# c\n\nhost:1 nothex\n").unwrap();
        let e = known.entries().unwrap_err();
        assert!(matches!(e, TrustError::Parse { line: 3, .. }), "{e}");
        assert!(e.to_string().contains("known-nodes:3"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn mismatch_names_both_fingerprints_and_the_file() {
        let e = TrustError::Mismatch {
            key: "h:1".into(),
            expected: Fingerprint([0xaa; 32]),
            presented: Fingerprint([0xbb; 32]),
            file: Some(PathBuf::from("/s/known-nodes")),
        };
        let text = e.to_string();
        assert!(text.contains(&"aa".repeat(32)), "{text}");
        assert!(text.contains(&"bb".repeat(32)), "{text}");
        assert!(text.contains("/s/known-nodes"), "{text}");
    }
}
