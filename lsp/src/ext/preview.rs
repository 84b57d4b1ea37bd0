//! `chop/preview`: runs a filter or pipeline of a document on a small level
//! of a photo and returns the result as PNG (a file and base64), the time
//! taken and the instruction count.
//!
//! The run happens on the blocking pool. The handler holds a guard that sets
//! the run's cancel flag when dropped: tower-lsp-server drops a request's
//! future on `$/cancelRequest`, so a cancelled preview stops the VM too, and
//! the response is a `RequestCancelled` error. Progress goes out as
//! `$/progress` on the client's `workDoneToken` when it gave one, else on a
//! token the server creates (`window/workDoneProgress/create`) once the run
//! has taken 200 ms, when the client supports it.
//!
//! Photos are decoded once and each pyramid level made once (each pixel the
//! mean of a 2x2 block of the level above, as the VM's photos do), cached by
//! path and modification time; the run then works on the level itself.

use crate::guard::failed;
use base64::Engine;
use chunkvm::exec::Limits;
use chunkvm::photo::{downsample, level_count, preview_level, Rgba8, Target};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::notification::Progress;
use tower_lsp_server::ls_types::{
    NumberOrString, ProgressParams, ProgressParamsValue, ProgressToken, TextDocumentIdentifier,
    WorkDoneProgress, WorkDoneProgressBegin, WorkDoneProgressEnd, WorkDoneProgressReport,
};
use tower_lsp_server::Client;

/// The photo previews use when none is configured.
pub static BUNDLED_PHOTO: &[u8] = include_bytes!("../../../samples/chelsea.png");

/// How long a run goes before the server creates a progress of its own.
pub const PROGRESS_AFTER: Duration = Duration::from_millis(200);

/// How often progress is reported.
const REPORT_EVERY: Duration = Duration::from_millis(100);

/// The request's parameters.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewParams {
    /// The document.
    pub text_document: TextDocumentIdentifier,
    /// The filter to run.
    pub filter: Option<String>,
    /// The pipeline to run (when no filter is given).
    pub pipeline: Option<String>,
    /// The photo's path (default: the configured `previewPhoto`, else the bundled photo).
    pub photo: Option<String>,
    /// Param values by name.
    pub params: Option<Map<String, Value>>,
    /// The pyramid level (default: the configured `previewLevel`, else the
    /// first level at most 512 pixels on its longer side).
    pub level: Option<usize>,
    /// The client's progress token.
    pub work_done_token: Option<ProgressToken>,
}

impl PreviewParams {
    /// What to run.
    pub fn target(&self) -> Option<Target> {
        match (&self.filter, &self.pipeline) {
            (Some(name), _) => Some(Target::Filter(name.clone())),
            (None, Some(name)) => Some(Target::Pipeline(name.clone())),
            (None, None) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum PhotoKey {
    Bundled,
    File(PathBuf, Option<SystemTime>),
}

/// Decoded photos and their levels.
#[derive(Default)]
pub struct Photos {
    levels: Mutex<HashMap<(PhotoKey, usize), Arc<Rgba8>>>,
    bundled: OnceLock<std::result::Result<Arc<Rgba8>, String>>,
}

/// Levels kept at most (a few photos' pyramids).
const CACHED_LEVELS: usize = 24;

impl Photos {
    fn full(&self, key: &PhotoKey) -> std::result::Result<Arc<Rgba8>, String> {
        if let Some(found) = self.cached(key, 0) {
            return Ok(found);
        }
        let photo = match key {
            PhotoKey::Bundled => {
                return self
                    .bundled
                    .get_or_init(|| Rgba8::decode(BUNDLED_PHOTO).map(Arc::new))
                    .clone()
            }
            PhotoKey::File(path, _) => Arc::new(Rgba8::load(path)?),
        };
        self.remember(key, 0, photo.clone());
        Ok(photo)
    }

    fn cached(&self, key: &PhotoKey, level: usize) -> Option<Arc<Rgba8>> {
        let levels = self.levels.lock().unwrap_or_else(|e| e.into_inner());
        levels.get(&(key.clone(), level)).cloned()
    }

    fn remember(&self, key: &PhotoKey, level: usize, image: Arc<Rgba8>) {
        let mut levels = self.levels.lock().unwrap_or_else(|e| e.into_inner());
        if levels.len() >= CACHED_LEVELS {
            levels.clear();
        }
        levels.insert((key.clone(), level), image);
    }

    /// Level `level` (default: the preview level) of the photo at `path`
    /// (default: the bundled photo), and the level's number.
    pub fn level(
        &self,
        path: Option<&Path>,
        level: Option<usize>,
    ) -> std::result::Result<(Arc<Rgba8>, usize), String> {
        let key = match path {
            None => PhotoKey::Bundled,
            Some(path) => {
                let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
                PhotoKey::File(path.to_path_buf(), modified)
            }
        };
        let full = self.full(&key)?;
        let levels = level_count(full.width, full.height);
        let level = level.unwrap_or_else(|| preview_level(full.width, full.height));
        if level >= levels {
            return Err(format!(
                "a {}x{} photo has levels 0 to {}, not {level}",
                full.width,
                full.height,
                levels - 1
            ));
        }
        let mut image = full;
        for at in 1..=level {
            image = match self.cached(&key, at) {
                Some(found) => found,
                None => {
                    let half = Arc::new(downsample(&image));
                    self.remember(&key, at, half.clone());
                    half
                }
            };
        }
        Ok((image, level))
    }
}

/// Sets the cancel flag when dropped (the request's future was dropped: the
/// request was cancelled, or the server is going away), and ends a progress
/// that was begun.
struct CancelOnDrop {
    flag: Arc<AtomicBool>,
    progress: Option<(Client, ProgressToken)>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.flag.store(true, Ordering::Relaxed);
        if let Some((client, token)) = self.progress.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    end(&client, token, "cancelled").await;
                });
            }
        }
    }
}

async fn send(client: &Client, token: ProgressToken, value: WorkDoneProgress) {
    client
        .send_notification::<Progress>(ProgressParams {
            token,
            value: ProgressParamsValue::WorkDone(value),
        })
        .await;
}

async fn begin(client: &Client, token: ProgressToken, title: &str) {
    let value = WorkDoneProgress::Begin(WorkDoneProgressBegin {
        title: title.to_string(),
        cancellable: Some(false),
        message: None,
        percentage: Some(0),
    });
    send(client, token, value).await;
}

async fn end(client: &Client, token: ProgressToken, message: &str) {
    let value = WorkDoneProgress::End(WorkDoneProgressEnd {
        message: Some(message.to_string()),
    });
    send(client, token, value).await;
}

/// Where preview PNGs are written.
pub fn output_dir() -> PathBuf {
    std::env::temp_dir().join(format!("chop-lsp-{}", std::process::id()))
}

/// What the handler needs besides the request.
pub struct Context {
    /// The client, for progress.
    pub client: Client,
    /// Whether the client handles `window/workDoneProgress/create`.
    pub server_progress: bool,
    /// The photo to use when the request names none.
    pub photo: Option<PathBuf>,
    /// The level to use when the request names none.
    pub level: Option<usize>,
    /// The VM's limits.
    pub limits: Limits,
    /// The photo cache.
    pub photos: Arc<Photos>,
    /// A stem for the PNG's file name (the document's).
    pub stem: String,
}

static SERVER_TOKENS: AtomicU64 = AtomicU64::new(1);

static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Preview runs under way (on the blocking pool), for tests of cancellation.
pub fn running() -> usize {
    RUNNING.load(Ordering::SeqCst)
}

/// Counts a run while it lasts.
struct Running;

impl Running {
    fn start() -> Running {
        RUNNING.fetch_add(1, Ordering::SeqCst);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs the preview of `text`.
pub async fn preview(text: Arc<str>, params: PreviewParams, ctx: Context) -> Result<Value> {
    let flag = Arc::new(AtomicBool::new(false));
    let mut guard = CancelOnDrop {
        flag: flag.clone(),
        progress: None,
    };
    let target = params.target();
    let values: Vec<(String, Value)> = params
        .params
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let photo_path = params.photo.as_ref().map(PathBuf::from).or(ctx.photo);
    let level = params.level.or(ctx.level);
    let (done_tx, mut done_rx) = tokio::sync::watch::channel((0u64, 0u64));
    let photos = ctx.photos.clone();
    let limits = ctx.limits;
    let job_flag = flag.clone();
    let job_target = target.clone();
    let mut job = tokio::task::spawn_blocking(move || {
        let _running = Running::start();
        let (image, level) = photos.level(photo_path.as_deref(), level)?;
        let report = |done: u64, total: u64| {
            done_tx.send_replace((done, total));
        };
        let mut result = chop_ide::preview::preview(
            &text,
            job_target,
            &image,
            values,
            Some(0),
            limits,
            job_flag,
            &report,
        )?;
        result.level = level;
        Ok::<_, String>(result)
    });
    let started = Instant::now();
    let title = match &target {
        Some(Target::Filter(name) | Target::Pipeline(name)) => format!("Preview of {name}"),
        None => "Preview".to_string(),
    };
    let mut token = None;
    if let Some(given) = params.work_done_token.clone() {
        begin(&ctx.client, given.clone(), &title).await;
        guard.progress = Some((ctx.client.clone(), given.clone()));
        token = Some(given);
    }
    let mut ticker = tokio::time::interval(REPORT_EVERY);
    let mut tried_create = false;
    let mut last_percent = None;
    let outcome = loop {
        tokio::select! {
            outcome = &mut job => break outcome,
            _ = ticker.tick() => {
                if token.is_none() && !tried_create && ctx.server_progress
                    && started.elapsed() >= PROGRESS_AFTER
                {
                    tried_create = true;
                    let made = NumberOrString::String(format!(
                        "chop-preview-{}",
                        SERVER_TOKENS.fetch_add(1, Ordering::Relaxed)
                    ));
                    let created = tokio::time::timeout(
                        Duration::from_secs(2),
                        ctx.client.create_work_done_progress(made.clone()),
                    )
                    .await;
                    if matches!(created, Ok(Ok(()))) {
                        begin(&ctx.client, made.clone(), &title).await;
                        guard.progress = Some((ctx.client.clone(), made.clone()));
                        token = Some(made);
                    }
                }
                let Some(token) = &token else { continue };
                let (done, total) = *done_rx.borrow_and_update();
                let percent = (done * 100).checked_div(total).unwrap_or(0).min(100) as u32;
                if last_percent != Some(percent) {
                    last_percent = Some(percent);
                    let value = WorkDoneProgress::Report(WorkDoneProgressReport {
                        cancellable: Some(false),
                        message: Some(format!("{done}/{total} rows")),
                        percentage: Some(percent),
                    });
                    send(&ctx.client, token.clone(), value).await;
                }
            }
        }
    };
    if let Some((client, token)) = guard.progress.take() {
        let message = match &outcome {
            Ok(Ok(result)) => format!("{} ms", result.millis),
            _ => "failed".to_string(),
        };
        end(&client, token, &message).await;
    }
    let result = match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(message)) if message == "cancelled" => {
            return Err(Error::request_cancelled());
        }
        Ok(Err(message)) => return Err(failed(message)),
        Err(_) => {
            return Err(Error {
                code: ErrorCode::InternalError,
                message: "internal error in chop/preview: the run stopped unexpectedly".into(),
                data: None,
            })
        }
    };
    let name = match &target {
        Some(Target::Filter(name) | Target::Pipeline(name)) => format!("{}-{name}", ctx.stem),
        None => ctx.stem.clone(),
    };
    let dir = output_dir();
    let path = dir.join(format!("{}.png", sanitize(&name)));
    let written = write_png(&dir, &path, &result.png);
    let path_value = match written {
        Ok(()) => json!(path.to_string_lossy()),
        Err(_) => Value::Null,
    };
    Ok(json!({
        "png": {
            "path": path_value,
            "base64": base64::engine::general_purpose::STANDARD.encode(&result.png),
        },
        "width": result.width,
        "height": result.height,
        "level": result.level,
        "millis": result.millis,
        "instructions": result.instructions,
        "stages": result.stages,
    }))
}

/// Writes the PNG as the command line writes its output (`photo::write_atomic`: a
/// temporary file of this write and a rename, removed if the write fails), so a
/// reader never sees half a file and concurrent previews do not collide.
fn write_png(dir: &Path, path: &Path, png: &[u8]) -> std::result::Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|err| format!("cannot make {}: {err}", dir.display()))?;
    chunkvm::photo::write_atomic(path, png)
}

/// A file-name-safe version of `name`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' {
                ch
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_made_once_and_match_the_pyramid() {
        let photos = Photos::default();
        let (preview, level) = photos.level(None, None).unwrap();
        let full = Rgba8::decode(BUNDLED_PHOTO).unwrap();
        assert_eq!(level, preview_level(full.width, full.height));
        assert!(preview.width.max(preview.height) <= chunkvm::photo::PREVIEW);
        let (again, _) = photos.level(None, None).unwrap();
        assert!(Arc::ptr_eq(&preview, &again));
        let (zero, _) = photos.level(None, Some(0)).unwrap();
        assert_eq!((zero.width, zero.height), (full.width, full.height));
        let err = photos.level(None, Some(40)).unwrap_err();
        assert!(err.contains("levels 0 to"), "{err}");
        let err = photos
            .level(Some(Path::new("/nonexistent/cat.png")), None)
            .unwrap_err();
        assert!(err.contains("no such file"), "{err}");
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(sanitize("a/b c-d_é"), "a_b_c-d__");
    }
}
