//! A node's identity and state directory: its name, its node id, its TLS
//! certificate and key, and its access token.
//!
//! The state directory defaults to `$XDG_STATE_HOME/chunkvm` (when that
//! variable is an absolute path) or `~/.local/state/chunkvm`
//! ([`default_state_dir`]); every function here takes the directory, so a
//! caller may use any other. On first start [`Identity::load_or_create`]
//! creates what is missing; later starts load the same files:
//!
//! | file | content |
//! |------|---------|
//! | `node-name` | the node's name, one line (`node-` and 8 random hex digits unless given) |
//! | `node-id` | the node's id in decimal, random in `258..=32767` (0 is invalid, 1 is the local client, `2..=257` are the local worker stores) |
//! | `cert.der` | a self-signed certificate (ECDSA P-256, made with `rcgen`), DER; its subject alternative name is always [`SERVER_NAME`], because clients pin the certificate by fingerprint, not by name |
//! | `key.der` | the certificate's private key, PKCS#8 DER, mode 0600 |
//! | `token` | the access token: 32 random bytes as 64 lower-case hex digits and a newline, mode 0600 |
//!
//! Nodes of a cluster share one token: [`TokenSource::File`] reads the token
//! from a file of the caller's choosing instead of `token` (the command
//! line's `--token-file`), creating it the same way when it does not exist.
//!
//! Every file is written atomically: a temporary file in the same directory
//! (created with mode 0600 for secrets), synced, then renamed over the name.
//! A certificate's [`Fingerprint`] is the SHA-256 of its DER bytes, written
//! as 64 lower-case hex digits without separators everywhere (known-nodes
//! files, errors, logs).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chunkvm::chunk::NodeId;
use ring::rand::{SecureRandom, SystemRandom};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The name in every node certificate's subject alternative name, and the
/// server name clients ask for.
pub const SERVER_NAME: &str = "chunkvm-node";

/// The length of an access token in bytes.
pub const TOKEN_LEN: usize = 32;

/// The smallest node id a node picks for itself: 0 is invalid, 1 is the
/// local client and `2..=257` are the local worker stores (`2 + worker`).
pub const FIRST_NODE_ID: u16 = 258;

/// File names in the state directory.
const NAME_FILE: &str = "node-name";
const ID_FILE: &str = "node-id";
const CERT_FILE: &str = "cert.der";
const KEY_FILE: &str = "key.der";
const TOKEN_FILE: &str = "token";

/// Why an identity could not be loaded or created.
#[derive(Debug)]
pub enum IdentityError {
    /// Neither `XDG_STATE_HOME` nor `HOME` names a directory.
    NoStateDir,
    /// A file or directory could not be read or written.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A file's content is not what it should be.
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The system's random number generator failed.
    Random,
    /// The certificate could not be made.
    Certificate(String),
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::NoStateDir => f.write_str(
                "no state directory: set XDG_STATE_HOME or HOME, or give a state directory",
            ),
            IdentityError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            IdentityError::Invalid { path, what } => write!(f, "{}: {what}", path.display()),
            IdentityError::Random => f.write_str("the system's random number generator failed"),
            IdentityError::Certificate(e) => write!(f, "cannot make a TLS certificate: {e}"),
        }
    }
}

impl std::error::Error for IdentityError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IdentityError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The per-user state directory of chunkvm: `$XDG_STATE_HOME/chunkvm` when
/// that is an absolute path, else `$HOME/.local/state/chunkvm`.
pub fn default_state_dir() -> Result<PathBuf, IdentityError> {
    state_dir_from(
        std::env::var_os("XDG_STATE_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

/// [`default_state_dir`] with the variables given.
fn state_dir_from(xdg: Option<PathBuf>, home: Option<PathBuf>) -> Result<PathBuf, IdentityError> {
    if let Some(x) = xdg.filter(|x| x.is_absolute()) {
        return Ok(x.join("chunkvm"));
    }
    match home.filter(|h| h.is_absolute()) {
        Some(h) => Ok(h.join(".local").join("state").join("chunkvm")),
        None => Err(IdentityError::NoStateDir),
    }
}

/// A node's access token: 32 secret bytes. `Debug` does not show them;
/// comparison takes the same time whatever the bytes.
#[derive(Clone)]
pub struct Token([u8; TOKEN_LEN]);

impl Token {
    /// A token of the given bytes.
    pub fn from_bytes(bytes: [u8; TOKEN_LEN]) -> Token {
        Token(bytes)
    }

    /// A fresh random token.
    pub fn random() -> Result<Token, IdentityError> {
        random_bytes().map(Token)
    }

    /// The token's bytes.
    pub fn as_bytes(&self) -> &[u8; TOKEN_LEN] {
        &self.0
    }

    /// The token as 64 lower-case hex digits (what a token file holds).
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Reads a token file: 64 hex digits, surrounding white space ignored.
    pub fn read(path: &Path) -> Result<Token, IdentityError> {
        let text = read_text(path)?;
        text.trim().parse().map_err(|what| IdentityError::Invalid {
            path: path.to_path_buf(),
            what,
        })
    }
}

impl PartialEq for Token {
    fn eq(&self, other: &Token) -> bool {
        // Constant time: fold every byte's difference.
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl Eq for Token {}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(..)")
    }
}

impl FromStr for Token {
    type Err = String;

    /// Parses 64 hex digits.
    fn from_str(s: &str) -> Result<Token, String> {
        parse_hex::<TOKEN_LEN>(s)
            .map(Token)
            .ok_or_else(|| format!("a token is {} hex digits", TOKEN_LEN * 2))
    }
}

/// The SHA-256 of a certificate's DER bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a certificate (DER).
    pub fn of(certificate_der: &[u8]) -> Fingerprint {
        let digest = ring::digest::digest(&ring::digest::SHA256, certificate_der);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        Fingerprint(out)
    }
}

impl fmt::Display for Fingerprint {
    /// 64 lower-case hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl FromStr for Fingerprint {
    type Err = String;

    /// Parses 64 hex digits.
    fn from_str(s: &str) -> Result<Fingerprint, String> {
        parse_hex::<32>(s)
            .map(Fingerprint)
            .ok_or_else(|| "a fingerprint is 64 hex digits".to_string())
    }
}

/// Where a node's token comes from.
#[derive(Clone, Debug, Default)]
pub enum TokenSource {
    /// The `token` file of the state directory (created when missing).
    #[default]
    StateDir,
    /// A file shared by the nodes of a cluster (created when missing).
    File(PathBuf),
}

/// What to use when creating a node's state (an existing state keeps its
/// own name and id: these are only read on first start).
#[derive(Clone, Debug, Default)]
pub struct IdentityOptions {
    /// The name for a new node; a random `node-xxxxxxxx` when `None`.
    pub name: Option<String>,
    /// Where the token comes from.
    pub token: TokenSource,
}

/// A node's identity, loaded from (or created in) its state directory.
#[derive(Debug)]
pub struct Identity {
    dir: PathBuf,
    name: String,
    node_id: NodeId,
    certificate: CertificateDer<'static>,
    key: Vec<u8>,
    token: Token,
    token_path: PathBuf,
}

impl Identity {
    /// Loads the identity in `dir`, creating the directory and whatever is
    /// missing first (see the module documentation).
    pub fn load_or_create(
        dir: &Path,
        options: &IdentityOptions,
    ) -> Result<Identity, IdentityError> {
        std::fs::create_dir_all(dir).map_err(|source| IdentityError::Io {
            path: dir.to_path_buf(),
            source,
        })?;

        let name_path = dir.join(NAME_FILE);
        if !exists(&name_path)? {
            let name = match &options.name {
                Some(n) => n.clone(),
                None => format!("node-{}", hex(&random_bytes::<4>()?)),
            };
            check_name(&name).map_err(|what| IdentityError::Invalid {
                path: name_path.clone(),
                what,
            })?;
            write_atomic(&name_path, format!("{name}\n").as_bytes(), false)?;
        }
        let name = read_text(&name_path)?.trim().to_string();
        check_name(&name).map_err(|what| IdentityError::Invalid {
            path: name_path.clone(),
            what,
        })?;

        let id_path = dir.join(ID_FILE);
        if !exists(&id_path)? {
            let id = random_node_id()?;
            write_atomic(&id_path, format!("{id}\n").as_bytes(), false)?;
        }
        let node_id = read_text(&id_path)?
            .trim()
            .parse::<u16>()
            .ok()
            .and_then(NodeId::new)
            .ok_or_else(|| IdentityError::Invalid {
                path: id_path.clone(),
                what: format!("a node id is a number in 1..={}", NodeId::MAX.0),
            })?;

        let cert_path = dir.join(CERT_FILE);
        let key_path = dir.join(KEY_FILE);
        match (exists(&cert_path)?, exists(&key_path)?) {
            (true, true) => {}
            (false, false) => {
                let made = rcgen::generate_simple_self_signed(vec![SERVER_NAME.to_string()])
                    .map_err(|e| IdentityError::Certificate(e.to_string()))?;
                // The key first: a certificate without its key is never left behind.
                write_atomic(&key_path, &made.key_pair.serialize_der(), true)?;
                write_atomic(&cert_path, made.cert.der(), false)?;
            }
            (true, false) => {
                return Err(IdentityError::Invalid {
                    path: key_path,
                    what: format!(
                    "missing while {} exists: restore it, or remove both to make a new certificate",
                    cert_path.display()
                ),
                })
            }
            (false, true) => {
                return Err(IdentityError::Invalid {
                    path: cert_path,
                    what: format!(
                    "missing while {} exists: restore it, or remove both to make a new certificate",
                    key_path.display()
                ),
                })
            }
        }
        let certificate = CertificateDer::from(read_bytes(&cert_path)?);
        let key = read_bytes(&key_path)?;

        let token_path = match &options.token {
            TokenSource::StateDir => dir.join(TOKEN_FILE),
            TokenSource::File(p) => p.clone(),
        };
        let token = load_or_create_token(&token_path)?;

        Ok(Identity {
            dir: dir.to_path_buf(),
            name,
            node_id,
            certificate,
            key,
            token,
            token_path,
        })
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's id.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// The access token clients must present.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The file the token was read from.
    pub fn token_path(&self) -> &Path {
        &self.token_path
    }

    /// The certificate (DER).
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.certificate
    }

    /// The certificate's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.certificate)
    }

    /// The private key (PKCS#8 DER).
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()))
    }
}

/// Loads the token at `path`, creating a random one there when missing.
fn load_or_create_token(path: &Path) -> Result<Token, IdentityError> {
    if !exists(path)? {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| IdentityError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let token = Token::random()?;
        write_atomic(path, format!("{}\n", token.to_hex()).as_bytes(), true)?;
    }
    Token::read(path)
}

/// A node name: 1 to 64 characters, letters, digits, `-`, `_` and `.`.
fn check_name(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "node name {name:?} is not 1 to 64 letters, digits, '-', '_' or '.'"
        ))
    }
}

/// A random node id in `FIRST_NODE_ID..=NodeId::MAX`.
fn random_node_id() -> Result<u16, IdentityError> {
    let span = NodeId::MAX.0 - FIRST_NODE_ID + 1;
    // Rejection sampling over the smallest power of two above the span.
    let mask = span.next_power_of_two() - 1;
    loop {
        let n = u16::from_le_bytes(random_bytes::<2>()?) & mask;
        if n < span {
            return Ok(FIRST_NODE_ID + n);
        }
    }
}

/// `N` random bytes from the system.
fn random_bytes<const N: usize>() -> Result<[u8; N], IdentityError> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| IdentityError::Random)?;
    Ok(out)
}

/// Lower-case hex digits of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Exactly `2 * N` hex digits (either case) as bytes.
fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.as_bytes();
    if s.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16);
    let mut out = [0u8; N];
    for (i, pair) in s.chunks(2).enumerate() {
        let hi = digit(pair[0])?;
        let lo = digit(pair[1])?;
        // Two hex digits make one byte.
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// Whether `path` exists (an error other than "not found" is reported).
fn exists(path: &Path) -> Result<bool, IdentityError> {
    path.try_exists().map_err(|source| IdentityError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The bytes of `path`.
fn read_bytes(path: &Path) -> Result<Vec<u8>, IdentityError> {
    std::fs::read(path).map_err(|source| IdentityError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The text of `path`.
fn read_text(path: &Path) -> Result<String, IdentityError> {
    std::fs::read_to_string(path).map_err(|source| IdentityError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `path` atomically: a temporary file beside it (mode
/// 0600 on unix when `private`), synced, renamed over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<(), IdentityError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| IdentityError::Io { path: p, source }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suffix = hex(&random_bytes::<6>()?);
    let tmp = dir.join(format!(".{file_name}.{suffix}.tmp"));
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let written = (|| {
        let mut f = open.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(path)(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_dir_follows_xdg_then_home() {
        let d = state_dir_from(Some("/x/state".into()), Some("/home/u".into())).unwrap();
        assert_eq!(d, PathBuf::from("/x/state/chunkvm"));
        let d = state_dir_from(Some("relative".into()), Some("/home/u".into())).unwrap();
        assert_eq!(d, PathBuf::from("/home/u/.local/state/chunkvm"));
        assert!(matches!(
            state_dir_from(None, None),
            Err(IdentityError::NoStateDir)
        ));
    }

    #[test]
    fn hex_round_trips() {
        let t = Token::from_bytes([0xab; TOKEN_LEN]);
        assert_eq!(t.to_hex().len(), 64);
        assert_eq!(t.to_hex().parse::<Token>().unwrap(), t);
        assert!("zz".parse::<Token>().is_err());
        assert_eq!(format!("{t:?}"), "Token(..)");
        let f = Fingerprint::of(b"x");
        assert_eq!(f.to_string().parse::<Fingerprint>().unwrap(), f);
        assert_ne!(Token::from_bytes([1; TOKEN_LEN]), t);
    }

    #[test]
    fn node_ids_avoid_the_local_range() {
        for _ in 0..200 {
            let n = random_node_id().unwrap();
            assert!((FIRST_NODE_ID..=NodeId::MAX.0).contains(&n), "{n}");
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("node-1.a_b").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
    }
}
