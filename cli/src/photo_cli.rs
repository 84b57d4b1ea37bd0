//! The photo commands of `chunkvm`: `run` with `--input`/`--output`, `params`,
//! `import` and `export`.

use crate::node_cli::{Executed, Mode};
use crate::{compile_or_report, out, parse_params, report_runtime_error, Failure};
use chunkvm::chunk::{decode_set, encode_set, image_to_rgba8, ChunkSet, NodeId, Store};
use chunkvm::driver::Analyzed;
use chunkvm::exec::Limits;
use chunkvm::photo::{
    level_size, photo_info, photo_level, photo_new, preview_level, run_input, write_atomic,
    Compiled, ImageFormat, Input, Rgba8, RunError, RunOptions, RunOutput, Target, BAND_ROWS,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The photo filters run on when no `--input` is given.
const BUNDLED_PHOTO: &[u8] = include_bytes!("../../samples/chelsea.png");

/// Options of `run` that apply a filter or pipeline to a photo.
#[derive(clap::Args, Debug, Default)]
pub struct PhotoArgs {
    /// The photo to filter: PNG, JPEG, or a .chunks photo (default: a photo bundled with chunkvm).
    #[arg(long, value_name = "PHOTO")]
    input: Option<PathBuf>,
    /// Where to write the result; its extension picks the format: .png, .jpg or .jpeg
    /// (default: NAME.png for the filter or pipeline run).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// JPEG quality, 1 to 100 (default 90), for a .jpg or .jpeg --output.
    #[arg(long, value_name = "Q")]
    quality: Option<u8>,
    /// The filter to run, when the file has several.
    #[arg(long, value_name = "NAME", conflicts_with = "pipeline")]
    filter: Option<String>,
    /// The pipeline to run, when the file has several.
    #[arg(long, value_name = "NAME")]
    pipeline: Option<String>,
    /// Run on this level of the photo's pyramid (0: full size, 1: half, ...).
    #[arg(long, value_name = "N", conflicts_with = "preview")]
    level: Option<usize>,
    /// Run on a small level of the photo, as the editor's preview does.
    #[arg(long)]
    preview: bool,
    /// Worker threads (default: the machine's cores; at most 256).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Run the filter one pixel at a time in the interpreter instead of tile-wide (the
    /// same image in the same instructions, slower; `CHUNKVM_NO_TILES=1` does the same).
    #[arg(long)]
    no_tiles: bool,
    /// Run everything in the interpreter: no hot block compiled to machine code (the
    /// same results in the same instructions; `CHUNKVM_NO_JIT=1` does the same).
    #[arg(long)]
    pub(crate) no_jit: bool,
}

impl PhotoArgs {
    /// The filter or pipeline asked for (`None`: the file's only one).
    fn target(&self) -> Option<Target> {
        match (&self.filter, &self.pipeline) {
            (Some(name), _) => Some(Target::Filter(name.clone())),
            (_, Some(name)) => Some(Target::Pipeline(name.clone())),
            _ => None,
        }
    }

    /// The pyramid level to run on, for a `width` x `height` photo.
    fn level_of(&self, width: u32, height: u32) -> usize {
        match (self.level, self.preview) {
            (Some(level), _) => level,
            (None, true) => preview_level(width, height),
            (None, false) => 0,
        }
    }

    /// Whether any photo option was given: `run` then filters a photo instead of calling `main`.
    pub fn is_set(&self) -> bool {
        self.input.is_some()
            || self.output.is_some()
            || self.filter.is_some()
            || self.pipeline.is_some()
            || self.level.is_some()
            || self.preview
            || self.quality.is_some()
            || self.threads.is_some()
            || self.no_tiles
    }

    /// Whether filters run tile-wide.
    fn tiles(&self) -> bool {
        !self.no_tiles && chunkvm::exec::tiles_by_default()
    }

    /// Whether hot blocks run as machine code.
    pub(crate) fn jit(&self) -> bool {
        !self.no_jit && chunkvm::exec::jit_by_default()
    }
}

fn read_input(path: Option<&Path>) -> Result<(Input<'static>, String), Failure> {
    let Some(path) = path else {
        let image = Rgba8::decode(BUNDLED_PHOTO)
            .map_err(|err| Failure(format!("the bundled photo: {err}")))?;
        return Ok((
            Input::Image(std::borrow::Cow::Owned(image)),
            "the bundled photo".into(),
        ));
    };
    let name = path.display().to_string();
    if path.extension().is_some_and(|ext| ext == "chunks") {
        return Ok((Input::Chunks(read_chunks(path)?), name));
    }
    Ok((
        Input::Image(std::borrow::Cow::Owned(Rgba8::load(path)?)),
        name,
    ))
}

fn read_chunks(path: &Path) -> Result<ChunkSet, Failure> {
    let bytes = std::fs::read(path).map_err(|err| {
        Failure(format!(
            "cannot read {}: {}",
            path.display(),
            crate::cli_io::io_reason(&err)
        ))
    })?;
    decode_set(&bytes).map_err(|err| {
        Failure(format!(
            "cannot read {}: not a chunk file ({err})",
            path.display()
        ))
    })
}

/// The size of the photo an input holds.
fn input_size(input: &Input<'_>) -> Result<(u32, u32), Failure> {
    match input {
        Input::Image(image) => Ok((image.width, image.height)),
        Input::Chunks(set) => {
            let mut store = Store::new(NodeId(1));
            let root = store.import(set.clone());
            let (w, h, _) =
                photo_info(&store, root).map_err(|err| Failure(format!("not a photo: {err}")))?;
            Ok((w, h))
        }
    }
}

/// A progress bar on standard error for runs that take longer than a second.
struct Bar {
    bar: indicatif::ProgressBar,
    start: Instant,
    shown: AtomicBool,
}

impl Bar {
    fn new() -> Bar {
        Bar {
            bar: indicatif::ProgressBar::hidden(),
            start: Instant::now(),
            shown: AtomicBool::new(false),
        }
    }

    fn update(&self, done: u64, total: u64) {
        use std::io::IsTerminal;
        if !self.shown.load(Ordering::Relaxed)
            && self.start.elapsed() > Duration::from_secs(1)
            && std::io::stderr().is_terminal()
            && self
                .shown
                .compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {percent}% of {len} rows{msg}",
            ) {
                self.bar.set_style(style);
            }
            self.bar
                .set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        self.bar.set_length(total);
        self.bar.set_position(done);
        if self.shown.load(Ordering::Relaxed) {
            let left = time_left(self.start.elapsed(), done, total);
            self.bar.set_message(left.map_or(String::new(), |left| {
                format!(", about {} left", show_duration(left))
            }));
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The time a run has left, from its mean speed since it started (steady, unlike the
/// speed of the last few bands); `None` until a tenth of the rows are done.
fn time_left(elapsed: Duration, done: u64, total: u64) -> Option<Duration> {
    if total == 0 || done * 10 < total {
        return None;
    }
    let left = total.saturating_sub(done) as f64;
    Some(elapsed.mul_f64(left / done as f64))
}

/// `42s`, `3m 05s`: whole seconds, as a time left is no more precise than that.
fn show_duration(time: Duration) -> String {
    let secs = time.as_secs_f64().round() as u64;
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m {:02}s", secs / 60, secs % 60)
    }
}

/// The most worker threads a photo run starts.
const MAX_THREADS: usize = 256;

/// The worker threads for `--threads`: 0 is refused; more than [`MAX_THREADS`], or more
/// than the bands of rows of an image `height` pixels high, are cut down with a note
/// that says how many are used.
fn worker_threads(asked: Option<usize>, height: u32) -> Result<usize, Failure> {
    let bands = (height.div_ceil(BAND_ROWS) as usize).max(1);
    let Some(asked) = asked else {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        return Ok(cores.clamp(1, MAX_THREADS.min(bands)));
    };
    if asked == 0 {
        return Err(Failure("--threads 0: give at least 1 worker thread".into()));
    }
    let used = asked.min(MAX_THREADS).min(bands);
    if used < asked {
        let mut why = Vec::new();
        if asked > MAX_THREADS {
            why.push(format!("the most chunkvm starts is {MAX_THREADS}"));
        }
        if asked > bands {
            why.push(format!("the image has {bands} bands of {BAND_ROWS} rows"));
        }
        let why = why.join(" and ");
        crate::errln!(
            "note: --threads {asked}: {why}; using {used} thread{}",
            if used == 1 { "" } else { "s" }
        );
    }
    Ok(used)
}

/// `chunkvm run FILE --input PHOTO --output OUT.png ...`
#[allow(clippy::too_many_arguments)]
pub fn run_photo(
    path: &Path,
    args: &PhotoArgs,
    params: &[String],
    budget: Option<u64>,
    quota: Option<usize>,
    stats: bool,
    calls_a_function: bool,
    mode: &Mode,
) -> Result<ExitCode, Failure> {
    if calls_a_function {
        return Err(Failure(
            "--fn and --arg call a function; --input, --output, --filter, --pipeline, --level and --preview filter a photo: use one or the other".into(),
        ));
    }
    // A wrong --output or --quality is refused before the run, not after it.
    let format = output_format(args)?;
    let text = crate::read(path)?;
    let analyzed = crate::analyze_file(path, &text);
    let file = Analysed {
        path,
        text: &text,
        analyzed: &analyzed,
    };
    run_analysed(
        file,
        args,
        format,
        params,
        crate::limits(budget, quota),
        stats,
        mode,
    )
}

/// A file read and analysed once, for the whole command.
pub struct Analysed<'a> {
    /// Its path.
    pub path: &'a Path,
    /// Its text (for diagnostics and runtime errors).
    pub text: &'a str,
    /// Its AST and checked facts.
    pub analyzed: &'a Analyzed,
}

/// The format `--output` and `--quality` ask for.
fn output_format(args: &PhotoArgs) -> Result<ImageFormat, Failure> {
    Ok(match &args.output {
        Some(out_path) => ImageFormat::from_path(out_path, args.quality)?,
        None if args.quality.is_some() => {
            return Err(Failure(
                "--quality is for JPEG output: give an --output ending in .jpg or .jpeg".into(),
            ))
        }
        None => ImageFormat::Png,
    })
}

/// Runs a filter or pipeline of an analysed file over a photo (its output in `format`):
/// the file is compiled once here, and the run takes the program.
pub fn run_analysed(
    file: Analysed<'_>,
    args: &PhotoArgs,
    format: ImageFormat,
    params: &[String],
    limits: Limits,
    stats: bool,
    mode: &Mode,
) -> Result<ExitCode, Failure> {
    let Analysed {
        path,
        text,
        analyzed,
    } = file;
    let Some(program) = compile_or_report(path, text, analyzed) else {
        return Ok(ExitCode::FAILURE);
    };
    let params = parse_params(path, analyzed, params)?;
    let target = args.target();
    let (input, input_name) = read_input(args.input.as_deref())?;
    let (width, height) = input_size(&input)?;
    let level = args.level_of(width, height);
    let threads = worker_threads(args.threads, level_size(width, height, level).1)?;
    let options = RunOptions {
        level,
        threads,
        limits,
        params,
        cancel: None,
        tiles: args.tiles(),
        jit: args.jit(),
    };
    let resolved;
    let mode = if mode.is_auto() {
        let planned = plan_photo(
            analyzed,
            &program,
            target.as_ref(),
            &input,
            &options,
            (width, height),
            mode,
        )?;
        resolved = crate::node_cli::follow(&planned, mode);
        &resolved
    } else {
        mode
    };
    let started = Instant::now();
    let result = if mode.is_split() {
        let compiled = Compiled::of(analyzed, program);
        let mut thread = chunkvm::photo::start(compiled, target.as_ref(), &input, &options)?;
        match crate::node_cli::split_run(&mut thread.vm, mode)? {
            Err(err) => Err(RunError::Runtime(err)),
            Ok((value, instructions)) => {
                chunkvm::photo::finish(&thread.vm, &value).map(|image| RunOutput {
                    image,
                    instructions,
                    stages: thread.stages.clone(),
                    jit: thread.vm.jit_stats(),
                })
            }
        }
    } else if mode.is_local() {
        let bar = Bar::new();
        let compiled = Compiled::of(analyzed, program);
        let result = run_input(
            compiled,
            target.as_ref(),
            &input,
            &options,
            &|done, total| bar.update(done, total),
        );
        bar.finish();
        result
    } else {
        // The run is one thread: it can be paused and saved, or moved to a node.
        if mode.is_remote() && level > 0 {
            crate::errln!(
                "note: --on runs the level asked for ({level}); the preview is local only"
            );
        }
        let estimate = if mode.is_remote() {
            crate::node_cli::preview(
                analyzed,
                &program,
                target.as_ref(),
                &input,
                &options,
                (width, height),
            )?
        } else {
            None
        };
        // Without --migrate-after, the run migrates mid-run: a tenth of the way in, by
        // the preview's estimate.
        let mode = mode.migrating_after(estimate.map(|n| n / 10));
        let compiled = Compiled::of(analyzed, program);
        let mut thread = chunkvm::photo::start(compiled, target.as_ref(), &input, &options)?;
        match crate::node_cli::execute(&mut thread.vm, &mode)? {
            Executed::Saved => return Ok(ExitCode::SUCCESS),
            Executed::Finished(Err(err)) => Err(RunError::Runtime(err)),
            Executed::Finished(Ok(value)) => {
                chunkvm::photo::finish(&thread.vm, &value).map(|image| RunOutput {
                    image,
                    instructions: thread.vm.instructions(),
                    stages: thread.stages.clone(),
                    jit: thread.vm.jit_stats(),
                })
            }
        }
    };
    let output = match result {
        Ok(output) => output,
        Err(RunError::Runtime(err)) => {
            return Ok(report_runtime_error(path, text, Some(analyzed), &err))
        }
        // The command line sets no cancel flag; said plainly should one ever be set.
        // The command line sets no cancel flag; said plainly should one ever be set.
        Err(err) => return Err(Failure(err.to_string())),
    };
    let name = match (&target, output.stages.as_slice()) {
        (Some(Target::Filter(name) | Target::Pipeline(name)), _) => name.clone(),
        (None, [one]) => one.clone(),
        _ => path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "out".into()),
    };
    let out_path = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{name}.png")));
    output.image.save(&out_path, format)?;
    if stats {
        let (w, h) = level_size(width, height, level);
        crate::errln!(
            "{input_name}: level {level} ({w}x{h}), {} stage{} ({}), {} instructions, {:.0} ms on {threads} thread{}",
            output.stages.len(),
            if output.stages.len() == 1 { "" } else { "s" },
            output.stages.join(" |> "),
            output.instructions,
            started.elapsed().as_secs_f64() * 1e3,
            if threads == 1 { "" } else { "s" },
        );
    }
    out(&format!("{}\n", out_path.display()));
    Ok(ExitCode::SUCCESS)
}

/// Measures the job (its preview's instructions scaled to the level, the level's
/// tiles there and back) and the nodes of `mode` (`--auto --nodes`), and plans.
fn plan_photo(
    analyzed: &Analyzed,
    program: &chunkvm::compile::Program,
    target: Option<&Target>,
    input: &Input<'_>,
    options: &RunOptions,
    (width, height): (u32, u32),
    mode: &Mode,
) -> Result<crate::node_cli::Planned, Failure> {
    let crate::node_cli::Mode::Auto {
        nodes, token_file, ..
    } = mode
    else {
        return Err(Failure("not a planned run".into()));
    };
    let stages = chunkvm::photo::start(
        Compiled::of(analyzed, program.clone()),
        target,
        input,
        options,
    )?
    .stages
    .len();
    let preview =
        crate::node_cli::preview(analyzed, program, target, input, options, (width, height))?;
    let instructions = match preview {
        Some(n) => n,
        // No smaller level to preview: the level itself is small; measure it here.
        None => {
            let compiled = Compiled::of(analyzed, program.clone());
            run_input(compiled, target, input, options, &|_, _| {})?.instructions
        }
    };
    let (w, h) = level_size(width, height, options.level);
    let tile = chunkvm::chunk::TILE_SIZE;
    let tiles = (w.div_ceil(tile) as u64) * (h.div_ceil(tile) as u64);
    let job = chunkvm_node::plan::JobMeasure {
        instructions: instructions as f64,
        bytes: (tiles * 256 * 2) as f64,
        stages: stages as u32,
    };
    crate::node_cli::plan_job(nodes, token_file.as_deref(), job)
}

/// `chunkvm plan FILE --input PHOTO --nodes A,B`: the measurements, the estimates and
/// the choice, without running the job.
pub fn plan(
    path: &Path,
    args: &PhotoArgs,
    params: &[String],
    mode: &Mode,
    json: bool,
) -> Result<ExitCode, Failure> {
    let text = crate::read(path)?;
    let analyzed = crate::analyze_file(path, &text);
    let Some(program) = compile_or_report(path, &text, &analyzed) else {
        return Ok(ExitCode::FAILURE);
    };
    let params = parse_params(path, &analyzed, params)?;
    let target = args.target();
    let (input, _) = read_input(args.input.as_deref())?;
    let (width, height) = input_size(&input)?;
    let level = args.level_of(width, height);
    let options = RunOptions {
        level,
        threads: 1,
        limits: Limits::default(),
        params,
        cancel: None,
        tiles: args.tiles(),
        jit: args.jit(),
    };
    let planned = plan_photo(
        &analyzed,
        &program,
        target.as_ref(),
        &input,
        &options,
        (width, height),
        mode,
    )?;
    crate::node_cli::print_plan(&planned, json);
    Ok(ExitCode::SUCCESS)
}

/// `chunkvm params FILE`
pub fn params(path: &Path, json: bool) -> Result<ExitCode, Failure> {
    use chunkvm::check::Const;
    let text = crate::read(path)?;
    let analyzed = crate::analyze_file(path, &text);
    if analyzed.has_errors() {
        crate::print_all_diagnostics(path, &text, &analyzed);
        return Ok(ExitCode::FAILURE);
    }
    let grouped = analyzed.modules.is_some();
    let show = |value: Const| match value {
        Const::Int(v) => v.to_string(),
        Const::Float(v) => chunkvm::exec::value::format_float(v),
        Const::Bool(v) => v.to_string(),
        Const::Color(c) => chunkvm::exec::Value::Color(c.map(|v| v as f32)).to_string(),
    };
    let rows: Vec<serde_json::Value> = analyzed
        .params_by_file()
        .into_iter()
        .flat_map(|(file, params)| params.into_iter().map(move |param| (file.clone(), param)))
        .map(|(file, param)| {
            let mut row = serde_json::json!({
                "name": param.name,
                "type": param.ty.to_string(),
                "default": show(param.default),
                "min": param.range.map(|(lo, _)| show(lo)),
                "max": param.range.map(|(_, hi)| show(hi)),
                "doc": param.doc,
            });
            // A program's params say which file declares each.
            if let (true, Some(fields)) = (grouped, row.as_object_mut()) {
                fields.insert("file".into(), file.display().to_string().into());
            }
            row
        })
        .collect();
    if json {
        out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        out(&format!("{} has no params\n", path.display()));
    }
    let mut last_file = None;
    for row in &rows {
        let text_of = |key: &str| row[key].as_str().unwrap_or("").to_string();
        // A program's params come grouped by file, each group under its path.
        if grouped && last_file.as_deref() != Some(text_of("file").as_str()) {
            out(&format!("{}:\n", text_of("file")));
            last_file = Some(text_of("file"));
        }
        let range = match (row["min"].as_str(), row["max"].as_str()) {
            (Some(lo), Some(hi)) => format!(" in {lo}..{hi}"),
            _ => String::new(),
        };
        out(&format!(
            "{}: {} = {}{range}\n",
            text_of("name"),
            text_of("type"),
            text_of("default")
        ));
        for line in text_of("doc").lines() {
            out(&format!("    {line}\n"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `chunkvm import PHOTO --out FILE.chunks`
pub fn import(photo: &Path, out_path: &Path) -> Result<ExitCode, Failure> {
    if out_path.extension().is_none_or(|ext| ext != "chunks") {
        return Err(Failure(format!(
            "--out {}: a chunk photo is named .chunks (`run --input` knows it by that)",
            out_path.display()
        )));
    }
    let image = Rgba8::load(photo)?;
    let mut store = Store::new(NodeId(1));
    let root = photo_new(&mut store, &image).map_err(|err| Failure(err.to_string()))?;
    let set = store
        .export(&[root])
        .map_err(|err| Failure(err.to_string()))?;
    let bytes = encode_set(&set);
    write_atomic(out_path, &bytes)?;
    let (_, _, levels) = photo_info(&store, root).map_err(|err| Failure(err.to_string()))?;
    out(&format!(
        "{}: a {}x{} photo in {} ({} KiB), {} (made on demand)\n",
        out_path.display(),
        image.width,
        image.height,
        chunkvm::diag::plural(set.chunks.len() as u64, "chunk"),
        bytes.len().div_ceil(1024),
        chunkvm::diag::plural(levels as u64, "level")
    ));
    Ok(ExitCode::SUCCESS)
}

/// `chunkvm export FILE.chunks --out OUT.png`
pub fn export(
    chunks: &Path,
    out_path: &Path,
    level: usize,
    quality: Option<u8>,
) -> Result<ExitCode, Failure> {
    let format = ImageFormat::from_path(out_path, quality)?;
    let set = read_chunks(chunks)?;
    let mut store = Store::new(NodeId(1));
    let root = store.import(set);
    photo_info(&store, root)
        .map_err(|err| Failure(format!("{}: not a photo: {err}", chunks.display())))?;
    let image = photo_level(&mut store, root, level)
        .map_err(|err| Failure(format!("{}: {err}", chunks.display())))?;
    let (width, height, pixels) = image_to_rgba8(&store, image)
        .map_err(|err| Failure(format!("{}: {err}", chunks.display())))?;
    Rgba8 {
        width,
        height,
        pixels,
    }
    .save(out_path, format)?;
    out(&format!("{}\n", out_path.display()));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_is_steady_and_waits_for_a_tenth() {
        assert_eq!(time_left(Duration::from_secs(3), 5, 100), None);
        assert_eq!(time_left(Duration::from_secs(3), 0, 0), None);
        // Bands finishing in bursts: the estimate follows the mean speed, so a burst of
        // quick bands moves it only a little.
        let steady = time_left(Duration::from_secs(10), 50, 100);
        assert_eq!(steady, Some(Duration::from_secs(10)));
        let after_burst = time_left(Duration::from_millis(10_100), 60, 100);
        let moved = after_burst.map(|left| left.as_secs_f64());
        assert!(
            moved.is_some_and(|left| (6.0..7.0).contains(&left)),
            "{moved:?}"
        );
        assert_eq!(show_duration(Duration::from_millis(41_600)), "42s");
        assert_eq!(show_duration(Duration::from_secs(185)), "3m 05s");
    }

    #[test]
    fn worker_threads_refuses_0_and_caps() {
        assert!(worker_threads(Some(0), 1000).is_err());
        assert_eq!(
            worker_threads(Some(100_000), 100_000).ok(),
            Some(MAX_THREADS)
        );
        assert_eq!(worker_threads(Some(100), 64).ok(), Some(2));
        assert_eq!(worker_threads(Some(3), 1000).ok(), Some(3));
    }
}
