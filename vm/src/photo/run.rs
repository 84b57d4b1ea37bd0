//! Running a compiled filter or pipeline over a level of a photo, in bands of rows
//! on worker threads.

use super::*;
use crate::exec::JobStage;

/// What to run: a filter or a pipeline, by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A `filter` item.
    Filter(String),
    /// A `pipeline` item.
    Pipeline(String),
}

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The pyramid level to run on (0: full resolution).
    pub level: usize,
    /// Worker threads (1: run on this thread).
    pub threads: usize,
    /// Limits of each thread.
    pub limits: Limits,
    /// `param` values set by the user (a pipeline stage's own arguments win over them).
    pub params: Vec<(String, Value)>,
    /// Set it from any thread to stop the run (it ends with [`RunError::Cancelled`]).
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Run the filters tile-wide where they can ([`Vm::set_tiles`]); the default is
    /// [`crate::exec::tiles_by_default`] (on unless `CHUNKVM_NO_TILES=1`).
    pub tiles: bool,
    /// Run hot blocks as machine code ([`Vm::set_jit`]); the default is
    /// [`crate::exec::jit_by_default`] (on unless `CHUNKVM_NO_JIT=1`).
    pub jit: bool,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            level: 0,
            threads: 1,
            limits: Limits::default(),
            params: Vec::new(),
            cancel: None,
            tiles: crate::exec::tiles_by_default(),
            jit: crate::exec::jit_by_default(),
        }
    }
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// The output image.
    pub image: Rgba8,
    /// Instructions executed, all stages and threads together.
    pub instructions: u64,
    /// The stages run: filter names in order.
    pub stages: Vec<String>,
    /// What the JIT compiled for the run, all its threads together.
    pub jit: crate::exec::JitStats,
}

/// Why a run failed.
#[derive(Clone, Debug, PartialEq)]
pub enum RunError {
    /// The cancel flag of [`RunOptions`] was set: the run stopped at a safe point.
    Cancelled,
    /// A runtime error in a filter.
    Runtime(RuntimeError),
    /// The file has several filters or pipelines (or none) and none was named.
    WhichTarget {
        /// `--filter NAME` and `--pipeline NAME` for each, or empty.
        choices: Vec<String>,
    },
    /// No filter or pipeline of that name.
    UnknownTarget {
        /// What was asked for.
        target: Target,
        /// What there is.
        choices: Vec<String>,
    },
    /// A stage of a pipeline did not check or names no filter.
    BadStage {
        /// The pipeline.
        pipeline: String,
        /// The stage, 1-based.
        stage: usize,
    },
    /// The input is not a photo.
    NotAPhoto(StoreError),
    /// The photo has no such level.
    NoLevel {
        /// The photo's size.
        size: (u32, u32),
        /// Its levels.
        levels: usize,
        /// The level asked for.
        level: usize,
    },
    /// The run would hold more chunks than the quota.
    OverQuota {
        /// The level's size.
        size: (u32, u32),
        /// Its tiles.
        tiles: u64,
        /// The stages.
        stages: usize,
        /// The quota.
        quota: usize,
    },
    /// A param's value does not fit it.
    Param(crate::exec::CallError),
    /// The photo's chunks are not what they should be.
    Store(StoreError),
    /// A worker thread stopped before it finished its bands.
    Worker,
    /// The run finished with something else than an image (a thread restored from
    /// elsewhere).
    NotAnImage(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let choices = |choices: &[String]| {
            if choices.is_empty() {
                "it has no filter and no pipeline".to_string()
            } else {
                format!("choose one of: {}", choices.join(", "))
            }
        };
        match self {
            RunError::Cancelled => f.write_str("cancelled"),
            RunError::Runtime(err) => write!(f, "{}", err.message),
            RunError::WhichTarget { choices: all } => {
                write!(f, "which filter or pipeline? {}", choices(all))
            }
            RunError::UnknownTarget {
                target: Target::Filter(name),
                choices: all,
            } => write!(f, "no filter `{name}`; {}", choices(all)),
            RunError::UnknownTarget {
                target: Target::Pipeline(name),
                choices: all,
            } => write!(f, "no pipeline `{name}`; {}", choices(all)),
            RunError::BadStage { pipeline, stage } => {
                write!(f, "stage {stage} of `{pipeline}` did not check")
            }
            RunError::NotAPhoto(err) => write!(f, "not a photo: {err}"),
            RunError::NoLevel {
                size: (width, height),
                levels,
                level,
            } => write!(
                f,
                "a {width}x{height} photo has levels 0 to {}, not {level}",
                levels - 1
            ),
            RunError::OverQuota {
                size: (w, h),
                tiles,
                stages,
                quota,
            } => write!(
                f,
                "a {w}x{h} image is {}; with {} that is over the chunk quota of {quota} (raise it with --quota)",
                crate::diag::plural(*tiles, "chunk"),
                crate::diag::plural(*stages as u64, "stage"),
            ),
            RunError::Param(err) => write!(f, "{err}"),
            RunError::Store(err) => write!(f, "{err}"),
            RunError::Worker => f.write_str("a worker thread stopped unexpectedly"),
            RunError::NotAnImage(kind) => {
                write!(f, "the run finished with {kind} instead of an image")
            }
        }
    }
}

impl std::error::Error for RunError {}

/// One stage of a run: a filter and the params it overrides.
struct Stage {
    func: u32,
    name: String,
    overrides: Vec<(String, Value)>,
}

fn const_value(value: Const) -> Value {
    match value {
        Const::Int(v) => Value::Int(v),
        Const::Float(v) => Value::Float(v),
        Const::Bool(v) => Value::Bool(v),
        Const::Color(c) => Value::Color(c.map(|v| v as f32)),
    }
}

/// What a run takes: a checked file (for the stages of its pipelines) and the program
/// compiled from it, never its text: the caller analysed and compiled it once
/// ([`crate::driver::build`], or [`crate::driver::compile_analyzed`] for a file
/// already analysed, as an editor's document is).
pub struct Compiled<'a> {
    /// The file's AST.
    pub file: &'a SourceFile,
    /// Its checked facts (the pipelines' stages and their arguments).
    pub analysis: &'a Analysis,
    /// The program compiled from them.
    pub program: Program,
}

impl<'a> Compiled<'a> {
    /// A file analysed by [`crate::driver::analyze`] and its program.
    pub fn of(analyzed: &'a crate::driver::Analyzed, program: Program) -> Compiled<'a> {
        Compiled {
            file: &analyzed.parsed.file,
            analysis: &analyzed.analysis,
            program,
        }
    }
}

/// The stages of `target` (or of the file's only pipeline or filter when `None`).
fn stages(compiled: &Compiled<'_>, target: Option<&Target>) -> Result<Vec<Stage>, RunError> {
    use crate::syntax::ast::{ItemId, ItemKind};
    let (file, program) = (compiled.file, &compiled.program);
    let filters: Vec<&str> = file
        .items
        .iter()
        .filter(|item| matches!(&item.kind, ItemKind::Function(f) if f.is_filter))
        .map(|item| item.name.name.as_str())
        .collect();
    let pipelines: Vec<&str> = file
        .items
        .iter()
        .filter(|item| matches!(item.kind, ItemKind::Pipeline(_)))
        .map(|item| item.name.name.as_str())
        .collect();
    let choices = || {
        let mut all: Vec<String> = filters.iter().map(|f| format!("--filter {f}")).collect();
        all.extend(pipelines.iter().map(|p| format!("--pipeline {p}")));
        all
    };
    let target = match target {
        Some(target) => target.clone(),
        None => match (pipelines.as_slice(), filters.as_slice()) {
            ([one], _) => Target::Pipeline(one.to_string()),
            ([], [one]) => Target::Filter(one.to_string()),
            _ => return Err(RunError::WhichTarget { choices: choices() }),
        },
    };
    let unknown = |target: &Target| RunError::UnknownTarget {
        target: target.clone(),
        choices: choices(),
    };
    let func_of = |name: &str| program.function(name).map(|(idx, _)| idx);
    match &target {
        Target::Filter(name) => {
            if !filters.contains(&name.as_str()) {
                return Err(unknown(&target));
            }
            let func = func_of(name).ok_or_else(|| unknown(&target))?;
            Ok(vec![Stage {
                func,
                name: name.clone(),
                overrides: Vec::new(),
            }])
        }
        Target::Pipeline(name) => {
            let (item_id, item) = file
                .item(name)
                .filter(|(_, item)| matches!(item.kind, ItemKind::Pipeline(_)))
                .ok_or_else(|| unknown(&target))?;
            let ItemKind::Pipeline(pipeline) = &item.kind else {
                return Err(unknown(&target));
            };
            let mut out = Vec::new();
            for idx in 0..pipeline.stages.len() {
                let bad = || RunError::BadStage {
                    pipeline: name.clone(),
                    stage: idx + 1,
                };
                let info = compiled
                    .analysis
                    .stages
                    .get(&(item_id, idx))
                    .ok_or_else(bad)?;
                let filter_item = file.items.get(info.filter.0 as usize).ok_or_else(bad)?;
                let func = func_of(&filter_item.name.name).ok_or_else(bad)?;
                let overrides = info
                    .overrides
                    .iter()
                    .filter_map(|(param, value)| {
                        let param: &ItemId = param;
                        file.items
                            .get(param.0 as usize)
                            .map(|item| (item.name.name.clone(), const_value(*value)))
                    })
                    .collect();
                // A used file's filter is `NS.name` in the program; a stage shows its
                // name as written in its file.
                let shown = filter_item.name.name.rsplit('.').next().unwrap_or_default();
                out.push(Stage {
                    func,
                    name: shown.to_string(),
                    overrides,
                });
            }
            Ok(out)
        }
    }
}

/// What a run reads: an image in memory (borrowed or owned: a run never copies
/// it) or a photo stored as chunks.
#[derive(Clone, Debug)]
pub enum Input<'a> {
    /// Decoded pixels (a PNG or JPEG file).
    Image(std::borrow::Cow<'a, Rgba8>),
    /// A photo chunk graph, as `chunkvm import` writes it: the set's root is the photo.
    Chunks(crate::chunk::ChunkSet),
}

/// Runs a filter or pipeline of a compiled file over `input` at the level
/// `options.level` of its pyramid.
pub fn run(
    compiled: Compiled<'_>,
    target: Option<&Target>,
    input: &Rgba8,
    options: &RunOptions,
) -> Result<RunOutput, RunError> {
    run_input(
        compiled,
        target,
        &Input::Image(std::borrow::Cow::Borrowed(input)),
        options,
        &|_, _| {},
    )
}

/// Called as work gets done: rows done and rows in all, over every stage.
pub type Progress<'p> = &'p (dyn Fn(u64, u64) + Sync);

/// Rows of an image that one piece of work covers (four rows of tiles).
pub const BAND_ROWS: u32 = 32;

/// A filter or pipeline run made a thread, ready to run: the VM holds the photo, the
/// code and a job ([`Vm::start_job`]) over the level asked for, every stage's params
/// set. Run it with [`Vm::run`] (stopping, stepping, snapshotting or migrating it
/// like any thread), then read its output with [`finish`].
pub struct Started {
    /// The thread.
    pub vm: Vm,
    /// The stages, filter names in order.
    pub stages: Vec<String>,
    /// The size of the level it runs on.
    pub size: (u32, u32),
}

/// A prepared run: the VM (the photo in its store), the stages, the level's image, each
/// stage's params and the level's size.
type Prepared = (Vm, Vec<Stage>, ChunkId, Vec<Vec<u64>>, (u32, u32));

/// Prepares a run: the stages, a VM with the photo in its store, the level's image and
/// each stage's params.
fn prepare(
    compiled: Compiled<'_>,
    target: Option<&Target>,
    input: &Input<'_>,
    options: &RunOptions,
    hold: bool,
) -> Result<Prepared, RunError> {
    let stages = stages(&compiled, target)?;
    let other = RunError::Store;
    let mut vm = Vm::new(compiled.program);
    vm.set_limits(options.limits);
    vm.set_tiles(options.tiles);
    vm.set_jit(options.jit);
    if let Some(flag) = &options.cancel {
        vm.set_cancel(flag.clone());
    }
    // A run that only wants the image reads the full-size input as it is, held beside
    // the store: no tiles are made of it. (Programs write pixels only into the images
    // `render` makes; a held image has no tiles to write to, so code that tried
    // would stop with an error naming it.)
    if let Input::Image(image) = input {
        let (w, h) = (image.width, image.height);
        if hold && options.level == 0 && w > 0 && h > 0 {
            if let Some(view) = ImageView::of_rgba8(w, h, &image.pixels) {
                check_quota(w, h, stages.len(), options)?;
                let image = vm.hold_pixels(view);
                let globals = stage_globals(&mut vm, &stages, options)?;
                return Ok((vm, stages, image, globals, (w, h)));
            }
        }
    }
    let photo = match input {
        Input::Image(image) => photo_new(&mut vm.store, image).map_err(other)?,
        Input::Chunks(set) => vm.store.import(set.clone()),
    };
    let (width, height, levels) = photo_info(&vm.store, photo).map_err(RunError::NotAPhoto)?;
    if options.level >= levels {
        return Err(RunError::NoLevel {
            size: (width, height),
            levels,
            level: options.level,
        });
    }
    let (w, h) = level_size(width, height, options.level);
    check_quota(w, h, stages.len(), options)?;
    let image = photo_level(&mut vm.store, photo, options.level).map_err(other)?;
    vm.pin(photo);
    let globals = stage_globals(&mut vm, &stages, options)?;
    Ok((vm, stages, image, globals, (w, h)))
}

/// An error when a `w` x `h` image run through `stages` stages would need more
/// chunks than the quota allows.
fn check_quota(w: u32, h: u32, stages: usize, options: &RunOptions) -> Result<(), RunError> {
    let tiles = w.div_ceil(8) as u64 * h.div_ceil(8) as u64;
    if tiles.saturating_mul(stages as u64 + 2) > options.limits.chunks as u64 {
        return Err(RunError::OverQuota {
            size: (w, h),
            tiles,
            stages,
            quota: options.limits.chunks,
        });
    }
    Ok(())
}

/// Each stage's globals: the program's defaults, then the run's params, then the
/// stage's own.
fn stage_globals(
    vm: &mut Vm,
    stages: &[Stage],
    options: &RunOptions,
) -> Result<Vec<Vec<u64>>, RunError> {
    let defaults = vm.loaded.program.global_defaults.clone();
    let mut globals = Vec::new();
    for stage in stages {
        vm.reset_globals(&defaults);
        for (name, value) in options.params.iter().chain(&stage.overrides) {
            vm.set_global(name, value).map_err(RunError::Param)?;
        }
        globals.push(vm.globals().to_vec());
    }
    Ok(globals)
}

/// Makes a run of a filter or pipeline over `input` a thread (see [`Started`]).
pub fn start(
    compiled: Compiled<'_>,
    target: Option<&Target>,
    input: &Input<'_>,
    options: &RunOptions,
) -> Result<Started, RunError> {
    let (mut vm, stages, image, globals, size) = prepare(compiled, target, input, options, false)?;
    let job = stages
        .iter()
        .zip(globals)
        .map(|(stage, globals)| JobStage {
            func: stage.func,
            globals,
        })
        .collect();
    vm.start_job(job, image).map_err(RunError::Runtime)?;
    Ok(Started {
        vm,
        stages: stages.into_iter().map(|stage| stage.name).collect(),
        size,
    })
}

/// The output image of a finished run: `value` is what [`Vm::run`] finished with.
pub fn finish(vm: &Vm, value: &Value) -> Result<Rgba8, RunError> {
    let Value::Image { id, .. } = value else {
        return Err(RunError::NotAnImage(value.kind().to_string()));
    };
    let (width, height, pixels) = image_to_rgba8(vm.store(), *id).map_err(RunError::Store)?;
    Ok(Rgba8 {
        width,
        height,
        pixels,
    })
}

/// Runs a filter or pipeline of a compiled file over `input`, with progress reports:
/// each stage in bands of rows, on `options.threads` worker threads (on one, in this
/// thread). The last stage writes its pixels straight into the output, so a run that
/// only wants the image is faster this way than as one thread of the VM ([`start`],
/// which a debugger or a migration needs: its output stays chunks until it ends).
pub fn run_input(
    compiled: Compiled<'_>,
    target: Option<&Target>,
    input: &Input<'_>,
    options: &RunOptions,
    progress: Progress<'_>,
) -> Result<RunOutput, RunError> {
    let cancelled = || {
        options
            .cancel
            .as_ref()
            .is_some_and(|flag| flag.load(std::sync::atomic::Ordering::Relaxed))
    };
    if cancelled() {
        return Err(RunError::Cancelled);
    }
    let cancel_or = |err: RunError| match err {
        // The VM ends a cancelled thread with a runtime error of kind `Cancelled`;
        // whatever else a cancelled run ended with (a worker that failed first), the
        // caller asked it to stop.
        RunError::Runtime(err) if err.kind == ErrorKind::Cancelled || cancelled() => {
            RunError::Cancelled
        }
        err => err,
    };
    let (mut vm, stages, mut image, globals, (w, h)) =
        prepare(compiled, target, input, options, true)?;
    let total_rows = h as u64 * stages.len() as u64;
    let mut instructions = 0;
    let mut names = Vec::new();
    let mut output = None;
    for (idx, stage) in stages.iter().enumerate() {
        let done_before = h as u64 * idx as u64;
        let report = |rows: u64| progress(done_before + rows, total_rows);
        let last = idx + 1 == stages.len();
        let (pixels, count) = run_stage(
            &mut vm,
            stage.func,
            image,
            &globals[idx],
            options.threads,
            &report,
        )
        .map_err(cancel_or)?;
        instructions += count;
        names.push(stage.name.clone());
        vm.drop_pixels(image);
        if last {
            output = Some(pixels);
        } else {
            // The next stage reads this one's output as it is, held beside the store.
            let view = ImageView::of_rgba8(w, h, &pixels).ok_or(RunError::Worker)?;
            image = vm.hold_pixels(view);
        }
    }
    // `stages` gives at least one stage (a pipeline of none does not parse), and the
    // last one's pixels are the output.
    let pixels = output.ok_or(RunError::Worker)?;
    Ok(RunOutput {
        image: Rgba8 {
            width: w,
            height: h,
            pixels,
        },
        instructions,
        stages: names,
        jit: vm.jit_stats(),
    })
}

/// Runs one filter over the whole of `image` in bands of rows, on `threads` threads;
/// returns the output's pixels (RGBA8, row-major) and the instructions executed.
///
/// Each worker has a VM and a store of its own (its temporaries never meet another
/// worker's) that shares the code (and the image's chunks, for an image of tiles)
/// with this one: chunks and held pixels are read-only `Arc`s, nothing is locked per
/// tile or per pixel. A worker opens the image once and keeps the view from band to
/// band; the only shared state is the counter of the next band and, once per band,
/// the slot where its output goes. The worker writes its band's pixels into their
/// rows of the result.
fn run_stage(
    vm: &mut Vm,
    func: u32,
    image: ChunkId,
    globals: &[u64],
    threads: usize,
    report: &(dyn Fn(u64) + Sync),
) -> Result<(Vec<u8>, u64), RunError> {
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    use std::sync::Mutex;
    let view = vm.open_image(image).map_err(RunError::Store)?;
    let (w, h) = (view.width(), view.height());
    let bands = h.div_ceil(BAND_ROWS) as usize;
    let threads = threads.clamp(1, bands.max(1));
    vm.reset_globals(globals);
    let stride = w as usize * 4;
    let mut pixels = vec![0u8; stride * h as usize];
    // The rows of the output each band writes, taken by the worker that runs it.
    let rows: Mutex<Vec<Option<&mut [u8]>>> = Mutex::new(
        pixels
            .chunks_mut((stride * BAND_ROWS as usize).max(1))
            .map(Some)
            .collect(),
    );
    let keep = |band: usize, out: Vec<u8>| -> Result<(), RuntimeError> {
        let slot = rows
            .lock()
            .ok()
            .and_then(|mut rows| rows.get_mut(band).and_then(Option::take));
        match slot {
            Some(dst) if dst.len() == out.len() => {
                dst.copy_from_slice(&out);
                Ok(())
            }
            _ => Err(host_error_of(format!(
                "band {band} made {} bytes of output where its rows are not",
                out.len()
            ))),
        }
    };
    let band_rows = |band: usize| {
        (
            band as u32 * BAND_ROWS,
            ((band as u32 + 1) * BAND_ROWS).min(h),
        )
    };
    let mut made = 0usize;
    let instructions;
    if threads == 1 {
        let before = vm.instructions();
        let mut view = Some(view);
        for band in 0..bands {
            let (y0, y1) = band_rows(band);
            let open = match view.take() {
                Some(view) => view,
                None => vm.open_image(image).map_err(RunError::Store)?,
            };
            let (out, back) = vm.apply_region_view(func, image, open, (0, y0, w, y1));
            view = back;
            let out = out.map_err(RunError::Runtime)?;
            keep(band, out).map_err(RunError::Runtime)?;
            made += 1;
            report(y1 as u64);
        }
        instructions = vm.instructions() - before;
    } else {
        let mut roots = vec![vm.loaded.ids.root, image];
        roots.extend(vm.loaded.ids.strings.iter().copied());
        let next_band = AtomicUsize::new(0);
        let rows_done = AtomicU64::new(0);
        let failed = AtomicBool::new(false);
        // Gathered once here; each worker fills its own store in its own thread, so
        // that the part before the bands run side by side stays short.
        let shared = vm.store.to_share(&roots).map_err(RunError::Store)?;
        let (loaded, limits, tiles, jit) = (&vm.loaded, vm.limits(), vm.tiles(), vm.jit());
        let held = &vm.pixel_images;
        let cancel = &vm.cancel;
        // Per worker: its instructions and the bands it wrote.
        type Outcome = Result<(u64, usize), RuntimeError>;
        let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|worker| {
                    let (next_band, rows_done, failed, keep, band_rows, shared, view) = (
                        &next_band,
                        &rows_done,
                        &failed,
                        &keep,
                        &band_rows,
                        &shared,
                        view.clone(),
                    );
                    scope.spawn(move || -> Outcome {
                        let mut store = Store::new(crate::chunk::NodeId(2 + worker as u16));
                        store.take_shared(shared);
                        let mut worker_vm = Vm::with_store(loaded.clone(), store);
                        worker_vm.set_limits(limits);
                        worker_vm.set_tiles(tiles);
                        worker_vm.set_jit(jit);
                        if let Some(flag) = cancel {
                            worker_vm.set_cancel(flag.clone());
                        }
                        worker_vm.reset_globals(globals);
                        worker_vm.pixel_images = held.clone();
                        let mut view = Some(view);
                        let mut made = 0;
                        loop {
                            if failed.load(Ordering::Relaxed) {
                                return Ok((worker_vm.instructions(), made));
                            }
                            let band = next_band.fetch_add(1, Ordering::Relaxed);
                            if band >= bands {
                                return Ok((worker_vm.instructions(), made));
                            }
                            let (y0, y1) = band_rows(band);
                            let open = match view.take() {
                                Some(view) => view,
                                None => worker_vm
                                    .open_image(image)
                                    .map_err(|err| host_error_of(err.to_string()))?,
                            };
                            let (out, back) =
                                worker_vm.apply_region_view(func, image, open, (0, y0, w, y1));
                            view = back;
                            match out.and_then(|out| keep(band, out)) {
                                Ok(()) => {
                                    made += 1;
                                    let done =
                                        rows_done.fetch_add((y1 - y0) as u64, Ordering::Relaxed);
                                    report(done + (y1 - y0) as u64);
                                }
                                Err(err) => {
                                    failed.store(true, Ordering::Relaxed);
                                    return Err(err);
                                }
                            }
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle.join().unwrap_or_else(|_| {
                        Err(host_error_of("a worker thread stopped unexpectedly".into()))
                    })
                })
                .collect()
        });
        let mut count = 0;
        for outcome in outcomes {
            let (worker_count, worker_made) = outcome.map_err(RunError::Runtime)?;
            count += worker_count;
            made += worker_made;
        }
        instructions = count;
    }
    drop(rows);
    if made != bands {
        return Err(RunError::Worker);
    }
    Ok((pixels, instructions))
}

/// A runtime error of the host (no position in a filter) saying `message`.
fn host_error_of(message: String) -> RuntimeError {
    RuntimeError {
        kind: Default::default(),
        message,
        span: Default::default(),
        trace: Vec::new(),
    }
}
