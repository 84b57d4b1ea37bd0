//! How a client reaches a node from what a user writes: an address
//! `quic://HOST:PORT`, a token file (or the token of a node started on this
//! machine with the default state directory), and the known-nodes file in
//! the client's state directory (trust on first use). The command line and
//! the debug adapter reach nodes the same way.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;

use std::time::Duration;

use crate::client::{Client, ClientOptions};
use crate::identity::{default_state_dir, Fingerprint, Token};
use crate::trust::{KnownNodes, Trust};

/// Reads a node's address, `quic://HOST:PORT`; the error says what a node
/// address looks like.
pub fn node_address(text: &str) -> Result<SocketAddr, String> {
    let rest = text
        .strip_prefix("quic://")
        .ok_or_else(|| format!("{text:?}: a node is quic://HOST:PORT"))?;
    rest.to_socket_addrs()
        .map_err(|err| format!("{text:?}: {err}"))?
        .next()
        .ok_or_else(|| format!("{text:?}: the host has no address"))
}

/// The token for nodes: `token_file`, else the token of a node started on
/// this machine with the default state directory.
pub fn read_token(token_file: Option<&Path>) -> Result<Token, String> {
    let path = match token_file {
        Some(path) => path.to_path_buf(),
        None => default_state_dir()
            .map_err(|err| err.to_string())?
            .join("token"),
    };
    Token::read(&path).map_err(|err| {
        format!("{err} (give the node's token file: `chunkvm serve` prints its path)")
    })
}

/// Where this user's clients remember the nodes they trust.
pub fn known_nodes() -> Result<KnownNodes, String> {
    let dir = default_state_dir().map_err(|err| err.to_string())?;
    std::fs::create_dir_all(&dir)
        .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    Ok(KnownNodes::in_dir(&dir))
}

/// Connects to the node at `address` (`quic://HOST:PORT`) with the token of
/// `token_file`, trusting the certificate `pin` when given, else as the
/// known-nodes file says (pinned on first use), with the connection's bounds
/// of `options`.
pub async fn connect(
    address: &str,
    token_file: Option<&Path>,
    pin: Option<Fingerprint>,
    options: &ClientOptions,
) -> Result<Client, String> {
    let addr = node_address(address)?;
    let token = read_token(token_file)?;
    let trust = match pin {
        Some(fingerprint) => Trust::Pinned(fingerprint),
        None => Trust::KnownNodes(known_nodes()?),
    };
    Client::connect_with(addr, &token, &trust, options)
        .await
        .map_err(|err| format!("{address}: {err}"))
}

/// The bounds of a connection that holds a thread for a debugger: a node that
/// dies is noticed within seconds (keep-alives every second, the connection
/// ends after 5 s without an answer), while a thread stopped for as long as
/// the user likes keeps it open.
pub fn interactive() -> ClientOptions {
    let mut options = ClientOptions::default();
    options.limits.keep_alive = Duration::from_secs(1);
    options.limits.idle_timeout = Duration::from_secs(5);
    options
}
