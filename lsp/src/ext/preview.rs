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
use chop_ide::preview::{PreviewError, PreviewResult};
use chop_ide::Doc;
use chunkvm::exec::Limits;
use chunkvm::photo::{downsample, level_count, preview_level, Rgba8, Target};
use chunkvm::values::{Sent, Written};
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
                    .get_or_init(|| {
                        Rgba8::decode(BUNDLED_PHOTO)
                            .map(Arc::new)
                            .map_err(|err| err.to_string())
                    })
                    .clone()
            }
            PhotoKey::File(path, _) => Arc::new(Rgba8::load(path).map_err(|err| err.to_string())?),
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

/// A folder of the temporary folder for one server's preview PNGs: `chop-lsp-PID-N`, the
/// Nth server of the process (tests run several in one), removed at `shutdown`.
pub fn output_dir() -> PathBuf {
    static SERVERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("chop-lsp-{}-{n}", std::process::id()))
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
    /// The server's folder for the PNGs ([`output_dir`]).
    pub dir: PathBuf,
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

/// The request's param values in plain Rust, each with its JSON text (for messages).
pub fn sent(values: &[(String, Value)]) -> Vec<(String, Sent, String)> {
    values
        .iter()
        .map(|(name, json)| (name.clone(), sent_value(json), json.to_string()))
        .collect()
}

/// A JSON value in plain Rust: whole numbers within `i64` as ints, above it as big
/// ints, other numbers as floats.
fn sent_value(json: &Value) -> Sent {
    match json {
        Value::Bool(v) => Sent::Bool(*v),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(v), _, _) => Sent::Int(v),
            (None, Some(v), _) => Sent::BigInt(v),
            (None, None, Some(v)) => Sent::Float(v),
            (None, None, None) => Sent::Other,
        },
        Value::String(text) => Sent::Text(text.clone()),
        Value::Array(items) => Sent::List(items.iter().map(sent_value).collect()),
        Value::Null | Value::Object(_) => Sent::Other,
    }
}

/// The request's param values as the analysis reads them: each as it was sent.
pub fn written(values: &[(String, Sent, String)]) -> Vec<(String, Written<'_>)> {
    values
        .iter()
        .map(|(name, value, shown)| (name.clone(), Written::Sent { value, shown }))
        .collect()
}

/// Runs the preview of the analysed document `doc`.
pub async fn preview(doc: Arc<Doc>, params: PreviewParams, ctx: Context) -> Result<Value> {
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
    let values = sent(&values);
    let photo_path = params.photo.as_ref().map(PathBuf::from).or(ctx.photo);
    let level = params.level.or(ctx.level);
    let (done_tx, mut done_rx) = tokio::sync::watch::channel((0u64, 0u64));
    let photos = ctx.photos.clone();
    let limits = ctx.limits;
    let job_flag = flag.clone();
    let job_target = target.clone();
    let mut job = tokio::task::spawn_blocking(move || {
        let _running = Running::start();
        let (image, level) = photos
            .level(photo_path.as_deref(), level)
            .map_err(PreviewError::Photo)?;
        let report = |done: u64, total: u64| {
            done_tx.send_replace((done, total));
        };
        let mut result = chop_ide::preview::preview(
            &doc,
            job_target.as_ref(),
            &image,
            &written(&values),
            Some(0),
            limits,
            job_flag,
            &report,
        )?;
        result.level = level;
        Ok::<_, PreviewError>(result)
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
        Ok(Err(PreviewError::Cancelled)) => return Err(Error::request_cancelled()),
        Ok(Err(err)) => return Err(failed(err.to_string())),
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
    let dir = ctx.dir.clone();
    let path = dir.join(format!("{}.png", sanitize(&name)));
    let written = write_png(&dir, &path, &result.png);
    Ok(response(&result, written.ok().map(|()| path.as_path())))
}

/// The response to a preview: the PNG (its file, when it was written, and base64),
/// its size and level, and what the run cost.
fn response(result: &PreviewResult, written: Option<&Path>) -> Value {
    let path_value = match written {
        Some(path) => json!(path.to_string_lossy()),
        None => Value::Null,
    };
    json!({
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
    })
}

/// Writes the PNG as the command line writes its output (`photo::write_atomic`: a
/// temporary file of this write and a rename, removed if the write fails), so a
/// reader never sees half a file and concurrent previews do not collide.
fn write_png(dir: &Path, path: &Path, png: &[u8]) -> std::result::Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|err| format!("cannot make {}: {err}", dir.display()))?;
    chunkvm::photo::write_atomic(path, png).map_err(|err| err.to_string())
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

    const SRC: &str = "param amount: float = 0.5 in 0.0..1.0;\nparam steps: int = 3 in 1..8;\nparam on: bool = true;\nparam tint: color = rgb(1.0, 0.5, 0.0);\nfilter invert(c: color) -> color {\n    rgb(1.0 - c.r * amount, 1.0 - c.g, 1.0 - c.b)\n}\n";

    /// The values the params are set to from the request's JSON, or the message
    /// refusing them.
    fn values(params: &[(&str, Value)]) -> std::result::Result<Vec<chunkvm::exec::Value>, String> {
        let doc = Doc::new(SRC);
        let params: Vec<(String, Value)> = params
            .iter()
            .map(|(name, json)| (name.to_string(), json.clone()))
            .collect();
        chop_ide::preview::param_values(&doc, &written(&sent(&params)))
            .map(|set| set.into_iter().map(|(_, v)| v).collect())
            .map_err(|err| err.to_string())
    }

    #[test]
    fn colour_values_are_read_channel_by_channel() {
        use chunkvm::exec::Value::Color;
        let orange = [1.0, 128.0 / 255.0, 0.0, 1.0];
        assert_eq!(
            values(&[("tint", json!("#ff8000"))]),
            Ok(vec![Color(orange)])
        );
        assert_eq!(
            values(&[("tint", json!("#ff800040"))]),
            Ok(vec![Color([1.0, 128.0 / 255.0, 0.0, 64.0 / 255.0])])
        );
        assert_eq!(
            values(&[("tint", json!([1, 0.5, 0]))]),
            Ok(vec![Color([1.0, 0.5, 0.0, 1.0])])
        );
        assert_eq!(
            values(&[("tint", json!([0.25, 0.5, 0.75, 0.5]))]),
            Ok(vec![Color([0.25, 0.5, 0.75, 0.5])])
        );
        for bad in [
            json!("#ff80"),
            json!("#gg8000"),
            json!("ff8000"),
            json!([1, 0]),
            json!([1, 0, 0, 1, 1]),
            json!([1, "a", 0]),
            json!([2.0, 0, 0]),
            json!([1e300, 0, 0]),
            json!(3),
        ] {
            let err = values(&[("tint", bad.clone())]).unwrap_err();
            assert!(err.starts_with("param `tint` is a color, "), "{bad}: {err}");
        }
    }

    #[test]
    fn non_finite_and_overflowing_numbers_are_refused() {
        use chunkvm::exec::Value::{Float, Int};
        // JSON has no NaN: an editor sends it as text, which is read as the
        // command line reads it, with the same message.
        for text in ["NaN", "nan", "inf", "-inf", "infinity"] {
            assert_eq!(
                values(&[("amount", json!(text))]),
                Err(format!(
                    "param `amount` must be a finite number, not {text}"
                ))
            );
        }
        assert_eq!(
            values(&[("amount", json!("1e999"))]),
            Err("param `amount` must be a finite number, not 1e999 (too large for a float)".into())
        );
        assert_eq!(values(&[("amount", json!("0.25"))]), Ok(vec![Float(0.25)]));
        assert_eq!(
            values(&[("steps", json!(1e20))]),
            Err(format!(
                "param `steps` is an int, and 1e+20 is out of range for an int ({}..{})",
                i64::MIN,
                i64::MAX
            ))
        );
        assert_eq!(
            values(&[("steps", json!(u64::MAX))]),
            Err(format!(
                "param `steps` is an int, and {} is out of range for an int ({}..{})",
                u64::MAX,
                i64::MIN,
                i64::MAX
            ))
        );
        assert_eq!(values(&[("steps", json!(4.0))]), Ok(vec![Int(4)]));
        assert!(values(&[("steps", json!(4.5))])
            .unwrap_err()
            .starts_with("param `steps` is an int, "));
        assert_eq!(
            values(&[("steps", json!(9))]),
            Err("param `steps` must lie in 1..8 (both ends included), not 9".into())
        );
        assert_eq!(
            values(&[("nope", json!(1))]),
            Err("no param `nope`; the file has: amount, steps, on, tint".into())
        );
    }

    /// The response holds the PNG as base64 and its file (null when it could not be
    /// written), with the run's figures.
    #[test]
    fn the_response_is_the_wire_shape_of_a_result() {
        let result = PreviewResult {
            png: vec![1, 2, 3],
            width: 4,
            height: 2,
            level: 1,
            millis: 7,
            instructions: 99,
            stages: vec!["invert".into()],
        };
        let value = response(&result, Some(Path::new("/tmp/x.png")));
        assert_eq!(
            value,
            json!({
                "png": {"path": "/tmp/x.png", "base64": "AQID"},
                "width": 4, "height": 2, "level": 1, "millis": 7,
                "instructions": 99, "stages": ["invert"],
            })
        );
        assert_eq!(response(&result, None)["png"]["path"], Value::Null);
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(sanitize("a/b c-d_é"), "a_b_c-d__");
    }
}
