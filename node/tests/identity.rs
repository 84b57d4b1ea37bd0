//! A node's state directory: made on first start, the same after a restart,
//! a shared token file, private files and clear errors for broken state.

#![allow(clippy::unwrap_used)]

mod common;

use chunkvm_node::identity::{FIRST_NODE_ID, SERVER_NAME};
use chunkvm_node::{Identity, IdentityError, IdentityOptions, Token, TokenSource};
use common::fresh_dir;

#[test]
fn first_start_creates_and_restart_loads_the_same() {
    let dir = fresh_dir("id-restart");
    let options = IdentityOptions {
        name: Some("alpha".to_string()),
        token: TokenSource::StateDir,
    };
    let a = Identity::load_or_create(&dir, &options).unwrap();
    assert_eq!(a.name(), "alpha");
    assert!(a.node_id().0 >= FIRST_NODE_ID, "{}", a.node_id());
    for file in ["node-name", "node-id", "cert.der", "key.der", "token"] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");

    // A restart (another name asked for: an existing node keeps its own).
    let other = IdentityOptions {
        name: Some("beta".to_string()),
        ..IdentityOptions::default()
    };
    let b = Identity::load_or_create(&dir, &other).unwrap();
    assert_eq!(b.name(), "alpha");
    assert_eq!(b.node_id(), a.node_id());
    assert_eq!(b.fingerprint(), a.fingerprint());
    assert_eq!(b.certificate(), a.certificate());
    assert_eq!(b.token(), a.token());
    assert_eq!(b.token_path(), dir.join("token"));
    let hex = std::fs::read_to_string(dir.join("token")).unwrap();
    assert_eq!(hex.trim(), a.token().to_hex());
    assert_eq!(hex.trim().len(), 64);

    // Another directory is another node.
    let c = Identity::load_or_create(&fresh_dir("id-other"), &IdentityOptions::default()).unwrap();
    assert_ne!(c.fingerprint(), a.fingerprint());
    assert_ne!(c.token(), a.token());
    assert!(c.name().starts_with("node-"), "{}", c.name());
}

#[test]
fn the_certificate_names_the_server_name() {
    let id = Identity::load_or_create(&fresh_dir("id-cert"), &IdentityOptions::default()).unwrap();
    let der: &[u8] = id.certificate();
    // The subject alternative name is stored as its plain bytes in the DER.
    assert!(
        der.windows(SERVER_NAME.len())
            .any(|w| w == SERVER_NAME.as_bytes()),
        "no {SERVER_NAME} in the certificate"
    );
}

#[cfg(unix)]
#[test]
fn secrets_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = fresh_dir("id-modes");
    Identity::load_or_create(&dir, &IdentityOptions::default()).unwrap();
    for file in ["token", "key.der"] {
        let mode = std::fs::metadata(dir.join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{file} has mode {mode:o}");
    }
}

#[test]
fn nodes_of_a_cluster_share_a_token_file() {
    let shared = fresh_dir("id-cluster").join("cluster-token");
    let options = IdentityOptions {
        name: None,
        token: TokenSource::File(shared.clone()),
    };
    let a = Identity::load_or_create(&fresh_dir("id-a"), &options).unwrap();
    assert!(shared.is_file());
    let b = Identity::load_or_create(&fresh_dir("id-b"), &options).unwrap();
    assert_eq!(a.token(), b.token());
    assert_eq!(a.token_path(), shared);
    assert_ne!(a.fingerprint(), b.fingerprint());

    // A token written by hand is used as it is.
    let given = Token::from_bytes([0x5a; 32]);
    std::fs::write(&shared, format!("  {}\n\n", given.to_hex())).unwrap();
    let c = Identity::load_or_create(&fresh_dir("id-c"), &options).unwrap();
    assert_eq!(c.token(), &given);
}

#[test]
fn broken_state_is_reported_with_its_file() {
    let dir = fresh_dir("id-broken");
    Identity::load_or_create(&dir, &IdentityOptions::default()).unwrap();

    std::fs::write(dir.join("node-id"), "0\n").unwrap();
    let e = Identity::load_or_create(&dir, &IdentityOptions::default()).unwrap_err();
    assert!(
        matches!(&e, IdentityError::Invalid { path, .. } if path.ends_with("node-id")),
        "{e}"
    );
    std::fs::write(dir.join("node-id"), "300\n").unwrap();

    std::fs::write(dir.join("token"), "not hex").unwrap();
    let e = Identity::load_or_create(&dir, &IdentityOptions::default()).unwrap_err();
    assert!(e.to_string().contains("token"), "{e}");
    std::fs::remove_file(dir.join("token")).unwrap();

    std::fs::remove_file(dir.join("key.der")).unwrap();
    let e = Identity::load_or_create(&dir, &IdentityOptions::default()).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("key.der") && text.contains("cert.der"),
        "{text}"
    );

    let bad_name = IdentityOptions {
        name: Some("has space".to_string()),
        ..IdentityOptions::default()
    };
    let e = Identity::load_or_create(&fresh_dir("id-bad-name"), &bad_name).unwrap_err();
    assert!(e.to_string().contains("has space"), "{e}");
}
