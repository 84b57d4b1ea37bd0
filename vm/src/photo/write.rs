//! The one writer of output files: atomic for regular files (a temporary file and a
//! rename, through symbolic links), in place for devices and pipes, folders refused.

use super::*;

/// Writes `bytes` to `path`, the one way the command line writes a file.
///
/// - A regular file (or a new one) is replaced atomically: the bytes go to a temporary
///   file in the same folder, which is synced and renamed over it (it keeps the old
///   file's permissions), so a failure leaves the old file or nothing, never half a file.
/// - A symbolic link is followed: the file it points to is replaced, in its own folder,
///   and the link stays a link.
/// - A character device or a named pipe (`/dev/stdout`, a FIFO) is written in place,
///   and a failure (`/dev/full`) is an error.
/// - A folder, or any other kind of file, is refused and nothing is written.
///
/// Errors are one line naming `path`.
/// Writes `bytes` to `path`, the one way the command line writes a file.
///
/// - A regular file (or a new one) is replaced atomically: the bytes go to a temporary
///   file in the same folder, which is synced and renamed over it (it keeps the old
///   file's permissions), so a failure leaves the old file or nothing, never half a file.
/// - A symbolic link is followed: the file it points to is replaced, in its own folder,
///   and the link stays a link.
/// - A character device or a named pipe (`/dev/stdout`, a FIFO) is written in place,
///   and a failure (`/dev/full`) is an error.
/// - A folder, or any other kind of file, is refused and nothing is written.
///
/// Errors are one line naming `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PhotoError> {
    let path_buf = || path.to_path_buf();
    let io = |err: std::io::Error| PhotoError::Write {
        path: path_buf(),
        reason: crate::diag::io_reason(&err),
    };
    let target = follow_links(path)?;
    match std::fs::metadata(&target) {
        Ok(meta) if meta.is_dir() => Err(PhotoError::IsFolder { path: path_buf() }),
        Ok(meta) if meta.is_file() => replace_file(path, &target, bytes, Some(meta.permissions())),
        Ok(meta) if is_stream(&meta.file_type()) => write_in_place(&target, bytes).map_err(io),
        Ok(_) => Err(PhotoError::NotRegular { path: path_buf() }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            replace_file(path, &target, bytes, None)
        }
        Err(err) => Err(io(err)),
    }
}

/// `path` with its symbolic links followed (the last component only, as `open` would,
/// and through chains of links); a dangling link gives the path it points to.
fn follow_links(path: &Path) -> Result<PathBuf, PhotoError> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let to = std::fs::read_link(&current).map_err(|err| PhotoError::Link {
                    path: path.to_path_buf(),
                    link: current.clone(),
                    reason: crate::diag::io_reason(&err),
                })?;
                current = match current.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(PhotoError::LinkLoop {
        path: path.to_path_buf(),
    })
}

#[cfg(unix)]
fn is_stream(kind: &std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    kind.is_char_device() || kind.is_fifo()
}

#[cfg(not(unix))]
fn is_stream(_: &std::fs::FileType) -> bool {
    false
}

fn write_in_place(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    file.write_all(bytes).and_then(|()| file.flush())
}

/// Replaces (or makes) the regular file `path` (what `output`, the path the caller
/// named, leads to) through a temporary file in its folder.
fn replace_file(
    output: &Path,
    path: &Path,
    bytes: &[u8],
    permissions: Option<std::fs::Permissions>,
) -> Result<(), PhotoError> {
    use std::io::Write;
    static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(PhotoError::NoFolder {
            path: output.to_path_buf(),
            dir: dir.to_path_buf(),
        });
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{serial}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)?;
        }
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    written.map_err(|err| {
        let _ = std::fs::remove_file(&tmp);
        PhotoError::Write {
            path: output.to_path_buf(),
            reason: crate::diag::io_reason(&err),
        }
    })
}
