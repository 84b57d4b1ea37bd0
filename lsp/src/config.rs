//! The server's settings: from `initializationOptions`, then from each
//! `workspace/didChangeConfiguration`.
//!
//! ```json
//! { "previewPhoto": "photos/cat.jpg", "previewLevel": 2,
//!   "limits": { "instructions": 100000000, "chunks": 200000 },
//!   "debounceMs": 50, "lib": ["../my-filters"] }
//! ```
//!
//! `lib` is the folders `use "..."` looks in after the using file's folder
//! (relative ones from the first workspace folder), before `$CHUNKVM_LIB` and
//! the installation's `filters/`.
//!
//! The settings may also come wrapped in a `"chop"` object (what VS Code
//! sends for a `chop.*` configuration section). Reading is lenient: a field
//! of the wrong type is ignored (and reported in [`Config::update`]'s
//! result), the others still apply; a field left out keeps its value.

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The default debounce of diagnostics after an edit.
pub const DEFAULT_DEBOUNCE_MS: u64 = 50;

/// The default instruction budget of a preview run.
pub const DEFAULT_INSTRUCTIONS: u64 = 2_000_000_000;

/// The default chunk quota of a preview run.
pub const DEFAULT_CHUNKS: usize = 1_000_000;

/// The settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The photo previews run on (absolute, or relative to the first workspace
    /// folder); `None`: the photo bundled with the server.
    pub preview_photo: Option<PathBuf>,
    /// The pyramid level previews run on; `None`: the first level at most 512
    /// pixels on its longer side.
    pub preview_level: Option<usize>,
    /// The instruction budget of a preview.
    pub instructions: u64,
    /// The chunk quota of a preview.
    pub chunks: usize,
    /// How long after the last edit diagnostics are published, in milliseconds.
    pub debounce_ms: u64,
    /// The folders of the library's search path given in the settings.
    pub lib: Vec<PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            preview_photo: None,
            preview_level: None,
            instructions: DEFAULT_INSTRUCTIONS,
            chunks: DEFAULT_CHUNKS,
            debounce_ms: DEFAULT_DEBOUNCE_MS,
            lib: Vec::new(),
        }
    }
}

impl Config {
    /// Applies the settings in `value`; returns a warning per field ignored.
    pub fn update(&mut self, value: &Value) -> Vec<String> {
        let mut warnings = Vec::new();
        let value = match value.get("chop") {
            Some(inner) if inner.is_object() => inner,
            _ => value,
        };
        let Some(object) = value.as_object() else {
            if !value.is_null() {
                warnings.push(format!("settings should be an object, not {value}"));
            }
            return warnings;
        };
        let mut bad = |name: &str, want: &str, got: &Value| {
            warnings.push(format!("setting `{name}` should be {want}, not {got}"));
        };
        if let Some(photo) = object.get("previewPhoto") {
            match photo {
                Value::Null => self.preview_photo = None,
                Value::String(path) if path.is_empty() => self.preview_photo = None,
                Value::String(path) => self.preview_photo = Some(PathBuf::from(path)),
                other => bad("previewPhoto", "a path", other),
            }
        }
        if let Some(level) = object.get("previewLevel") {
            match level {
                Value::Null => self.preview_level = None,
                other => match other.as_u64() {
                    Some(level) if level < 64 => self.preview_level = Some(level as usize),
                    _ => bad("previewLevel", "a level from 0 to 63", other),
                },
            }
        }
        if let Some(limits) = object.get("limits") {
            match limits.as_object() {
                Some(limits) => {
                    if let Some(n) = limits.get("instructions") {
                        match n.as_u64() {
                            Some(n) if n > 0 => self.instructions = n,
                            _ => bad("limits.instructions", "a positive integer", n),
                        }
                    }
                    if let Some(n) = limits.get("chunks") {
                        match n.as_u64() {
                            Some(n) if n > 0 => self.chunks = n.min(usize::MAX as u64) as usize,
                            _ => bad("limits.chunks", "a positive integer", n),
                        }
                    }
                }
                None => bad("limits", "an object", limits),
            }
        }
        if let Some(ms) = object.get("debounceMs") {
            match ms.as_u64() {
                Some(ms) if ms <= 10_000 => self.debounce_ms = ms,
                _ => bad("debounceMs", "milliseconds from 0 to 10000", ms),
            }
        }
        if let Some(lib) = object.get("lib") {
            let dirs: Option<Vec<PathBuf>> = match lib {
                Value::Null => Some(Vec::new()),
                Value::String(dir) => Some(vec![PathBuf::from(dir)]),
                Value::Array(dirs) => dirs
                    .iter()
                    .map(|dir| dir.as_str().map(PathBuf::from))
                    .collect(),
                _ => None,
            };
            match dirs {
                Some(dirs) => self.lib = dirs,
                None => bad("lib", "an array of folders", lib),
            }
        }
        warnings
    }

    /// The library's folders from the settings, relative ones taken from `root`.
    pub fn lib_dirs(&self, root: Option<&Path>) -> Vec<PathBuf> {
        self.lib
            .iter()
            .map(|dir| match root {
                Some(root) if dir.is_relative() => root.join(dir),
                _ => dir.clone(),
            })
            .collect()
    }

    /// The preview photo's path, a relative one taken from `root`.
    pub fn photo_path(&self, root: Option<&Path>) -> Option<PathBuf> {
        let path = self.preview_photo.as_ref()?;
        Some(match root {
            Some(root) if path.is_relative() => root.join(path),
            _ => path.clone(),
        })
    }

    /// The VM limits of a preview.
    pub fn limits(&self) -> chunkvm::exec::Limits {
        chunkvm::exec::Limits {
            instructions: self.instructions,
            chunks: self.chunks,
            ..chunkvm::exec::Limits::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_setting() {
        let mut config = Config::default();
        let warnings = config.update(&json!({
            "previewPhoto": "cat.png", "previewLevel": 2,
            "limits": {"instructions": 1000, "chunks": 50}, "debounceMs": 0
        }));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            config,
            Config {
                preview_photo: Some("cat.png".into()),
                preview_level: Some(2),
                instructions: 1000,
                chunks: 50,
                debounce_ms: 0,
                lib: Vec::new(),
            }
        );
        assert_eq!(
            config.photo_path(Some(Path::new("/w"))),
            Some(PathBuf::from("/w/cat.png"))
        );
        assert_eq!(config.limits().instructions, 1000);
    }

    #[test]
    fn wrapped_partial_and_wrong_settings() {
        let mut config = Config::default();
        let warnings = config.update(&json!({"chop": {"debounceMs": 10}}));
        assert!(warnings.is_empty());
        assert_eq!(config.debounce_ms, 10);
        let warnings = config.update(&json!({"debounceMs": "fast", "previewLevel": -1,
            "limits": {"chunks": 0}, "previewPhoto": 3}));
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert_eq!(config.debounce_ms, 10);
        assert_eq!(config.chunks, DEFAULT_CHUNKS);
        assert!(config.update(&Value::Null).is_empty());
        assert_eq!(config.update(&json!([1])).len(), 1);
        config.update(&json!({"previewPhoto": null, "previewLevel": null}));
        assert_eq!(config.preview_photo, None);
        assert!(config.update(&json!({"lib": ["a", "/b"]})).is_empty());
        assert_eq!(
            config.lib_dirs(Some(Path::new("/w"))),
            vec![PathBuf::from("/w/a"), PathBuf::from("/b")]
        );
        assert_eq!(config.update(&json!({"lib": [1]})).len(), 1);
        assert_eq!(config.lib.len(), 2);
    }
}
