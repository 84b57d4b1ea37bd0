//! Running filters over images: the host loop that calls a kernel or point
//! filter once per output pixel, inside the interpreter loop.
//!
//! Two shapes of run share that loop:
//! - a *job* ([`Vm::start_job`]): one or more stages (a filter and its params each)
//!   over a whole image, each stage's output the next one's input. A job is a thread
//!   like any other: its position, its stages and its output so far are chunks at
//!   every safe point (see [`crate::exec::thread`] for the Job chunk), so it can be
//!   stopped, stepped, snapshotted, migrated and resumed anywhere. Its output is made
//!   one row of tiles at a time: finished tiles are chunks at once, linked from a list
//!   of tile segments; only the tile row being made is in memory, and it is written as
//!   tiles when the thread is materialized.
//! - a *region* ([`Vm::apply_region`]): one filter over a rectangle, returning its
//!   pixels; a host call (the worker threads of a parallel run use it), not a thread
//!   whose state is chunks.

use std::sync::Arc;

use super::value::{color_slots, from_u8, pixel_of, to_u8};
use super::vm::halves_of;
use super::vm::{Frame, RuntimeError, Stop, Vm};
use crate::chunk::{
    image_from_rgba8, image_from_tiles, set_tile_row, Chunk, ChunkId, ImageView, Kind, Store,
    StoreError, IMAGE_HEIGHT, IMAGE_WIDTH, SLOTS, TILE_SIZE,
};
use crate::types::Type;

/// The two shapes of filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterKind {
    /// `filter f(c: color) -> color`
    Point,
    /// `filter f(src: image, x: int, y: int) -> color`
    Kernel,
}

/// The kind of filter function `func` is, from its signature.
pub fn filter_kind(vm: &Vm, func: u32) -> Option<FilterKind> {
    let function = vm.loaded.program.functions.get(func as usize)?;
    let types: Vec<&Type> = function.params.iter().map(|(_, ty)| ty).collect();
    if function.ret != Type::Color {
        return None;
    }
    match types.as_slice() {
        [Type::Color] => Some(FilterKind::Point),
        [Type::Image, Type::Int, Type::Int] => Some(FilterKind::Kernel),
        _ => None,
    }
}

/// One stage of a job: a filter and the params' slots it runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobStage {
    /// The filter's function index.
    pub func: u32,
    /// The params' slots while it runs (see [`Vm::globals`]).
    pub globals: Vec<u64>,
}

/// How far a job has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobProgress {
    /// The stage running now (0-based; equal to `stages` when done).
    pub stage: usize,
    /// Stages in all.
    pub stages: usize,
    /// Rows finished, over all stages.
    pub rows_done: u64,
    /// Rows in all, over all stages.
    pub rows: u64,
}

/// Tile links per segment chunk of a job's finished tiles (slot 30 holds the count,
/// slot 31 links the older segment).
pub(crate) const SEGMENT_CAP: usize = SLOTS - 2;

/// Where a run's pixels go.
#[derive(Debug)]
pub(crate) enum Sink {
    /// A region: its pixels, row-major.
    Pixels(Vec<u8>),
    /// A job: tiles made so far, the newest segment first, and the tile ids not yet
    /// in a segment.
    Tiles {
        /// The newest segment chunk (nil when none).
        segments: ChunkId,
        /// Finished tiles not yet written to a segment (fewer than [`SEGMENT_CAP`]).
        pending: Vec<ChunkId>,
    },
}

/// A filter running over a rectangle of an image, one call per pixel, all inside
/// one run of the interpreter loop.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) stages: Vec<JobStage>,
    pub(crate) stage: usize,
    pub(crate) func: u32,
    pub(crate) kind: FilterKind,
    pub(crate) src: ChunkId,
    pub(crate) view: ImageView,
    pub(crate) x0: u32,
    pub(crate) y0: u32,
    pub(crate) x1: u32,
    pub(crate) y1: u32,
    pub(crate) x: u32,
    pub(crate) y: u32,
    /// The pixels of the tile row being made (rows from [`Job::row_start`] to `y`,
    /// then `x0..x` of row `y`), row-major, `x1 - x0` wide.
    pub(crate) row: Vec<u8>,
    pub(crate) sink: Sink,
    /// The image the last stage made (nil until then).
    pub(crate) result: ChunkId,
    /// The store's allocation mark when the current call started: each call's chunks
    /// are freed when it returns.
    pub(crate) mark: u64,
    /// Data chunks the current stage's sink holds (its tiles and their segments): live
    /// until the stage ends, so they do not count towards the next garbage collection
    /// (a collection walks every live chunk, and a job's output is most of them).
    pub(crate) held: usize,
}

impl Job {
    /// The first row of the tile row being made.
    pub(crate) fn row_start(&self) -> u32 {
        self.y0 + (self.y.saturating_sub(self.y0) / TILE_SIZE) * TILE_SIZE
    }

    /// The width of the region.
    pub(crate) fn width(&self) -> u32 {
        self.x1 - self.x0
    }

    /// The links the job holds: what garbage collection keeps.
    pub(crate) fn roots(&self) -> Vec<ChunkId> {
        let mut roots = vec![self.src, self.result];
        if let Sink::Tiles { segments, pending } = &self.sink {
            roots.push(*segments);
            roots.extend(pending.iter().copied());
        }
        roots.retain(|id| !id.is_nil());
        roots
    }

    /// Writes the rows in `row` as tiles (pixels not made yet are zero): returns their
    /// ids, left to right.
    pub(crate) fn row_tiles(&self, store: &mut Store) -> Vec<ChunkId> {
        let width = self.width() as usize;
        let tiles_x = self.width().div_ceil(TILE_SIZE);
        // Made in place behind their `Arc`s (a fresh one is never shared, so
        // `make_mut` writes it), then stored at once.
        let mut tiles: Vec<Arc<Chunk>> = (0..tiles_x)
            .map(|_| Arc::new(Chunk::new(Kind::Tile)))
            .collect();
        // A tile's row at a time: the stretch of the image row it covers (shorter, or
        // none, where the last row of the buffer ends), the rest of it zero.
        let tile_bytes = TILE_SIZE as usize * 4;
        for (tx, tile) in tiles.iter_mut().enumerate() {
            let tile = Arc::make_mut(tile);
            let x0 = tx * tile_bytes;
            for (y, row) in self
                .row
                .chunks(width * 4)
                .take(TILE_SIZE as usize)
                .enumerate()
            {
                if let Some(rgba) = row.get(x0..(x0 + tile_bytes).min(row.len())) {
                    set_tile_row(tile, y, rgba);
                }
            }
        }
        store.alloc_batch(tiles)
    }
}

fn not_a_filter(vm: &Vm, func: u32) -> RuntimeError {
    RuntimeError {
        kind: Default::default(),
        message: "not a filter: wants (c: color) -> color or (src: image, x: int, y: int) -> color"
            .into(),
        span: vm
            .loaded
            .program
            .functions
            .get(func as usize)
            .map(|f| f.span)
            .unwrap_or_default(),
        trace: Vec::new(),
    }
}

pub(crate) fn host_error(message: String) -> RuntimeError {
    RuntimeError {
        kind: Default::default(),
        message,
        span: Default::default(),
        trace: Vec::new(),
    }
}

/// Appends `tiles` to the segment list of a job's sink, writing full segments.
fn push_tiles(
    store: &mut Store,
    segments: &mut ChunkId,
    pending: &mut Vec<ChunkId>,
    tiles: &[ChunkId],
) {
    for tile in tiles {
        pending.push(*tile);
        if pending.len() == SEGMENT_CAP {
            *segments = write_segment(store, pending, *segments);
            pending.clear();
        }
    }
}

/// A segment chunk holding `tiles` (at most [`SEGMENT_CAP`]) that links `older`.
pub(crate) fn write_segment(store: &mut Store, tiles: &[ChunkId], older: ChunkId) -> ChunkId {
    let mut chunk = Chunk::new(Kind::Regs);
    for (pos, tile) in tiles.iter().enumerate() {
        chunk.set_link(pos, *tile);
    }
    chunk.set_scalar(SEGMENT_CAP, tiles.len() as u64);
    chunk.set_link(SLOTS - 1, older);
    store.alloc(chunk)
}

/// Reads a segment: its tiles and the older segment.
pub(crate) fn read_segment(
    store: &Store,
    id: ChunkId,
) -> Result<(Vec<ChunkId>, ChunkId), StoreError> {
    let chunk = store.try_get(id)?;
    if chunk.kind != Kind::Regs {
        return Err(StoreError::WrongKind {
            id,
            expected: Kind::Regs,
            found: chunk.kind,
        });
    }
    let count = chunk.get(SEGMENT_CAP) as usize;
    if count > SEGMENT_CAP || chunk.is_link(SEGMENT_CAP) {
        return Err(StoreError::BadShape(
            id,
            format!("a tile segment of {count} tiles"),
        ));
    }
    let tiles = (0..count)
        .map(|pos| {
            chunk
                .link(pos)
                .ok_or_else(|| StoreError::BadShape(id, format!("tile {pos} is not a link")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((tiles, chunk.link(SLOTS - 1).unwrap_or(ChunkId::NIL)))
}

/// Every tile of a job's sink, oldest first; fails with the first segment missing.
fn sink_tiles(
    store: &Store,
    segments: ChunkId,
    pending: &[ChunkId],
) -> Result<Vec<ChunkId>, StoreError> {
    let mut parts = vec![pending.to_vec()];
    let mut next = segments;
    while !next.is_nil() {
        let (tiles, older) = read_segment(store, next)?;
        parts.push(tiles);
        next = older;
    }
    Ok(parts.into_iter().rev().flatten().collect())
}

impl Vm {
    /// Sets the arguments of the job's current pixel into the registers.
    fn job_arguments(
        job: &mut Job,
        store: &Store,
        s: &mut [u64],
        r: &mut [ChunkId],
    ) -> Result<(), StoreError> {
        // The last call's references are gone (its chunks were freed when it returned):
        // no register may link to them at the safe point between two pixels.
        if let Some(stale) = r.get_mut(1..) {
            stale.fill(ChunkId::NIL);
        }
        match job.kind {
            FilterKind::Kernel => {
                r[0] = job.src;
                s[0] = job.x as u64;
                s[1] = job.y as u64;
            }
            FilterKind::Point => {
                let px = job.view.pixel(store, job.x as i64, job.y as i64)?;
                let (lo, hi) = color_slots(px.map(from_u8));
                s[0] = lo;
                s[1] = hi;
            }
        }
        Ok(())
    }

    /// Reads now what [`Vm::next_pixel`] will read, so that a chunk missing from the
    /// store stops the thread before the returning call's frame is gone (a node then
    /// fetches it and the return runs again).
    pub(crate) fn job_ready(&mut self) -> Result<(), StoreError> {
        let Some(job) = self.job.as_mut() else {
            return Ok(());
        };
        let (mut x, mut y) = (job.x + 1, job.y);
        if x >= job.x1 {
            x = job.x0;
            y += 1;
        }
        if y < job.y1 {
            if job.kind == FilterKind::Point {
                job.view.pixel(&self.store, x as i64, y as i64)?;
            }
            return Ok(());
        }
        // The stage ends here: its tiles are read to make its image, and a point filter
        // of the next stage reads the first of them.
        if let Sink::Tiles { segments, pending } = &job.sink {
            let tiles = sink_tiles(&self.store, *segments, pending)?;
            let next = job.stages.get(job.stage + 1).map(|stage| stage.func);
            let point = next.and_then(|func| filter_kind(self, func)) == Some(FilterKind::Point);
            if let (true, Some(first)) = (point, tiles.first()) {
                self.store.try_get(*first)?;
            }
        }
        Ok(())
    }

    /// Keeps the colour the filter returned for the current pixel (in `s[0..2]`) and
    /// moves on: the frame of the next call, or `None` when the job is done.
    pub(crate) fn next_pixel(
        &mut self,
        s: &mut [u64],
        r: &mut [ChunkId],
    ) -> Result<Option<Frame>, StoreError> {
        let Some(mut job) = self.job.take() else {
            return Ok(None);
        };
        let next = self.advance_job(&mut job, s, r);
        self.job = Some(job);
        next
    }

    /// The colours of pixels that end neither a row nor a stage (`lo`/`hi` a colour's
    /// slots each), returned one after another: what [`Vm::advance_job`] makes of each
    /// return but the next call's arguments, which the return after them sets up.
    /// False, doing nothing, when the last of them would end the row.
    pub(crate) fn push_returns(&mut self, job: &mut Job, lo: &[u64], hi: &[u64]) -> bool {
        let n = lo.len().min(hi.len());
        if (job.x as usize).saturating_add(n) >= job.x1 as usize {
            return false;
        }
        self.free_call(job);
        push_pixels(&mut job.row, &lo[..n], &hi[..n]);
        job.x += n as u32;
        job.mark = self.store.mark();
        true
    }

    /// The call returned a colour: whatever it allocated is garbage now.
    fn free_call(&mut self, job: &Job) {
        if self.store.mark() > job.mark {
            self.store.free_since(job.mark);
            if matches!(&self.image, Some((id, ..)) if id.node() == Some(self.store.node()) && id.serial() >= job.mark)
            {
                self.image = None;
            }
        }
    }

    pub(crate) fn advance_job(
        &mut self,
        job: &mut Job,
        s: &mut [u64],
        r: &mut [ChunkId],
    ) -> Result<Option<Frame>, StoreError> {
        self.free_call(job);
        push_pixel(&mut job.row, s[0], s[1]);
        job.x += 1;
        if job.x >= job.x1 {
            job.x = job.x0;
            job.y += 1;
            if (job.y - job.y0) % TILE_SIZE == 0 || job.y >= job.y1 {
                self.flush_row(job);
            }
        }
        if job.y >= job.y1 {
            let done = self.end_stage(job)?;
            job.mark = self.store.mark();
            if done {
                return Ok(None);
            }
        }
        job.mark = self.store.mark();
        Vm::job_arguments(job, &self.store, s, r)?;
        Ok(Some(Frame {
            func: job.func,
            pc: 0,
            sbase: 0,
            rbase: 0,
            env: ChunkId::NIL,
        }))
    }

    /// The tile row is finished: its pixels go to the sink.
    fn flush_row(&mut self, job: &mut Job) {
        match &mut job.sink {
            Sink::Pixels(out) => out.extend_from_slice(&job.row),
            Sink::Tiles { .. } => {
                let before = self.store.data_len();
                let tiles = job.row_tiles(&mut self.store);
                if let Sink::Tiles { segments, pending } = &mut job.sink {
                    push_tiles(&mut self.store, segments, pending, &tiles);
                }
                job.held += self.store.data_len().saturating_sub(before);
            }
        }
        job.row.clear();
    }

    /// The stage is finished: its output becomes the next stage's input, or the job's
    /// result. Whether the job is done.
    fn end_stage(&mut self, job: &mut Job) -> Result<bool, StoreError> {
        let Sink::Tiles { segments, pending } = &mut job.sink else {
            return Ok(true);
        };
        let tiles = sink_tiles(&self.store, *segments, pending)?;
        let image = image_from_tiles(&mut self.store, job.x1 - job.x0, job.y1 - job.y0, &tiles)?;
        *segments = ChunkId::NIL;
        pending.clear();
        // The sink's tiles are the next stage's input now, and the last one's input is
        // garbage: both count again.
        job.held = 0;
        job.stage += 1;
        let Some(stage) = job.stages.get(job.stage).cloned() else {
            job.result = image;
            job.src = image;
            return Ok(true);
        };
        self.set_stage(job, &stage, image)?;
        job.x = job.x0;
        job.y = job.y0;
        Ok(false)
    }

    /// Makes `stage` the job's current stage, reading `src`.
    pub(crate) fn set_stage(
        &mut self,
        job: &mut Job,
        stage: &JobStage,
        src: ChunkId,
    ) -> Result<(), StoreError> {
        job.func = stage.func;
        job.kind = filter_kind(self, stage.func).unwrap_or(FilterKind::Point);
        job.src = src;
        job.view = self.open_image(src)?;
        self.globals.clear();
        self.globals.extend_from_slice(&stage.globals);
        Ok(())
    }

    fn check_stages(&self, stages: &[JobStage]) -> Result<Vec<FilterKind>, RuntimeError> {
        stages
            .iter()
            .map(|stage| {
                if stage.globals.len() != self.loaded.program.global_defaults.len() {
                    return Err(host_error(format!(
                        "a stage sets {} param slots; the program has {}",
                        stage.globals.len(),
                        self.loaded.program.global_defaults.len()
                    )));
                }
                filter_kind(self, stage.func).ok_or_else(|| not_a_filter(self, stage.func))
            })
            .collect()
    }

    /// Makes the registers room enough for every stage's filter: the loop holds them
    /// while the job moves from one stage to the next.
    pub(crate) fn size_job_registers(&mut self, job: &Job) {
        let (mut nregs, mut nrefs) = (3usize, 1usize);
        for stage in &job.stages {
            if let Some(lf) = self.loaded.funcs.get(stage.func as usize) {
                nregs = nregs.max(lf.nregs as usize + 2);
                nrefs = nrefs.max(lf.nrefs as usize + 1);
            }
        }
        if self.s.len() < nregs {
            self.s.resize(nregs, 0);
        }
        if self.r.len() < nrefs {
            self.r.resize(nrefs, ChunkId::NIL);
        }
    }

    /// Sets up `job` as the thread's call: its first pixel's frame and arguments.
    fn begin(&mut self, mut job: Job) -> Result<(), RuntimeError> {
        self.s.clear();
        self.r.clear();
        self.size_job_registers(&job);
        job.mark = self.store.mark();
        Vm::job_arguments(&mut job, &self.store, &mut self.s, &mut self.r)
            .map_err(|err| host_error(err.to_string()))?;
        self.frames.clear();
        self.frames.push(Frame {
            func: job.func,
            pc: 0,
            sbase: 0,
            rbase: 0,
            env: ChunkId::NIL,
        });
        // The store holds the job's input: like a collection finding it all live, the
        // next one waits until as much again has been allocated (a collection now
        // would walk the whole photo and free nothing).
        self.collect_after(self.store.data_len());
        self.job = Some(Box::new(job));
        self.result = None;
        self.result_type = Type::Color;
        Ok(())
    }

    /// Starts a job: `stages` run one after another over the whole image `src`, each
    /// over the last one's output. [`Vm::run`] runs it like any call, stopping where a
    /// thread stops; it finishes with the output image ([`crate::exec::Value::Image`]).
    pub fn start_job(&mut self, stages: Vec<JobStage>, src: ChunkId) -> Result<(), RuntimeError> {
        self.start_band(stages, src, None)
    }

    /// Starts a job over the rows `y0..y1` of `src` only (`y0` a multiple of 8, the
    /// tile size): its output is an image of those rows, whose tiles are the rows of
    /// tiles of the whole output (how a run is split over nodes). One stage only: a
    /// kernel's next stage would read rows of its neighbours.
    pub fn start_band(
        &mut self,
        stages: Vec<JobStage>,
        src: ChunkId,
        rows: Option<(u32, u32)>,
    ) -> Result<(), RuntimeError> {
        let kinds = self.check_stages(&stages)?;
        let (Some(first), Some(kind)) = (stages.first().cloned(), kinds.first().copied()) else {
            return Err(host_error("a job needs at least one stage".into()));
        };
        let view = self
            .open_image(src)
            .map_err(|err| host_error(err.to_string()))?;
        let (w, h) = (view.width(), view.height());
        if w == 0 || h == 0 {
            return Err(host_error(format!(
                "a {w}x{h} image has no pixel to filter"
            )));
        }
        let (y0, y1) = rows.unwrap_or((0, h));
        if rows.is_some() && (stages.len() != 1 || y0 % TILE_SIZE != 0 || y0 >= y1 || y1 > h) {
            return Err(host_error(format!(
                "a band is one stage over rows y0..y1 with y0 a multiple of {TILE_SIZE} and y1 at most {h}, not {} over {y0}..{y1}",
                crate::diag::plural(stages.len() as u64, "stage")
            )));
        }
        self.globals.clear();
        self.globals.extend_from_slice(&first.globals);
        self.begin(Job {
            func: first.func,
            kind,
            stages,
            stage: 0,
            src,
            view,
            x0: 0,
            y0,
            x1: w,
            y1,
            x: 0,
            y: y0,
            row: Vec::with_capacity(w as usize * TILE_SIZE as usize * 4),
            sink: Sink::Tiles {
                segments: ChunkId::NIL,
                pending: Vec::new(),
            },
            result: ChunkId::NIL,
            mark: 0,
            held: 0,
        })
    }

    /// The stages of the thread's job, if it runs one.
    pub fn job_stages(&self) -> Option<Vec<JobStage>> {
        self.job.as_ref().map(|job| job.stages.clone())
    }

    /// The image the thread's job reads now (its input, or the last stage's output).
    pub fn job_source(&self) -> Option<ChunkId> {
        self.job.as_ref().map(|job| job.src)
    }

    /// The pixel `(x, y)` the thread's job computes now: the one whose call of the
    /// filter is the bottom frame (`None` without a job, or when it is done).
    pub fn job_pixel(&self) -> Option<(u32, u32)> {
        let job = self.job.as_ref()?;
        (job.stage < job.stages.len().max(1) && job.y < job.y1 && !self.frames.is_empty())
            .then_some((job.x, job.y))
    }

    /// How far the thread's job has come, if it runs one.
    pub fn job_progress(&self) -> Option<JobProgress> {
        let job = self.job.as_ref()?;
        let rows = (job.y1 - job.y0) as u64;
        let stages = job.stages.len().max(1);
        let done_here = if job.stage >= stages {
            0
        } else {
            (job.y - job.y0) as u64
        };
        Some(JobProgress {
            stage: job.stage,
            stages,
            rows_done: rows * job.stage.min(stages) as u64 + done_here,
            rows: rows * stages as u64,
        })
    }

    /// A view of image `id`: the one held by [`Vm::hold_pixels`] if there is one,
    /// else opened in the store.
    pub(crate) fn open_image(&self, id: ChunkId) -> Result<ImageView, StoreError> {
        match self.pixel_images.iter().find(|(held, _)| *held == id) {
            Some((_, view)) => Ok(view.clone()),
            None => ImageView::open(&self.store, id),
        }
    }

    /// Holds the image `view` reads (a view of pixels, [`ImageView::of_pixels`]) beside
    /// the store as a new image, and returns its id: a root chunk of its size in the
    /// store, with no tiles. The VM reads the image through `view`; the root is pinned
    /// until [`Vm::drop_pixels`]. For runs that only want the image: no tile is made of
    /// the input, and the output of one stage is the next one's input as it is.
    /// Nothing else reads such an image's pixels (a store has no tiles of it to
    /// export or migrate), so a thread that holds one is not for snapshots.
    pub(crate) fn hold_pixels(&mut self, view: ImageView) -> ChunkId {
        let mut root = Chunk::new(Kind::Image);
        root.set_scalar(IMAGE_WIDTH, view.width() as u64);
        root.set_scalar(IMAGE_HEIGHT, view.height() as u64);
        let id = self.store.alloc(root);
        self.pin(id);
        self.pixel_images.push((id, view));
        id
    }

    /// Lets go of an image held by [`Vm::hold_pixels`] (any other image is left as it
    /// is).
    pub(crate) fn drop_pixels(&mut self, id: ChunkId) {
        let before = self.pixel_images.len();
        self.pixel_images.retain(|(held, _)| *held != id);
        if self.pixel_images.len() == before {
            return;
        }
        self.pinned.retain(|pinned| *pinned != id);
        if matches!(&self.image, Some((open, ..)) if *open == id) {
            self.image = None;
        }
    }

    /// Applies filter `func` to the image `src` over the rectangle `x0..x1, y0..y1`
    /// (clipped to the image); returns the RGBA8 pixels of that rectangle, row by row.
    pub fn apply_region(
        &mut self,
        func: u32,
        src: ChunkId,
        rect: (u32, u32, u32, u32),
    ) -> Result<Vec<u8>, RuntimeError> {
        let view = self
            .open_image(src)
            .map_err(|err| host_error(err.to_string()))?;
        self.apply_region_view(func, src, view, rect).0
    }

    /// [`Vm::apply_region`] over a view of `src` opened already (it may hold tiles
    /// read before), handed back with the tiles it read since: how a worker thread
    /// runs band after band of one image without opening it for each.
    pub(crate) fn apply_region_view(
        &mut self,
        func: u32,
        src: ChunkId,
        view: ImageView,
        (x0, y0, x1, y1): (u32, u32, u32, u32),
    ) -> (Result<Vec<u8>, RuntimeError>, Option<ImageView>) {
        let Some(kind) = filter_kind(self, func) else {
            return (Err(not_a_filter(self, func)), Some(view));
        };
        let (x1, y1) = (x1.min(view.width()), y1.min(view.height()));
        if x0 >= x1 || y0 >= y1 {
            return (Ok(Vec::new()), Some(view));
        }
        let globals = self.globals.clone();
        let loaded_before = view.loaded();
        if let Err(err) = self.begin(Job {
            stages: vec![JobStage { func, globals }],
            stage: 0,
            func,
            kind,
            src,
            view,
            x0,
            y0,
            x1,
            y1,
            x: x0,
            y: y0,
            row: Vec::with_capacity(((x1 - x0) * TILE_SIZE * 4) as usize),
            sink: Sink::Pixels(Vec::with_capacity(((x1 - x0) * (y1 - y0) * 4) as usize)),
            result: ChunkId::NIL,
            mark: 0,
            held: 0,
        }) {
            return (Err(err), None);
        }
        self.pin(src);
        let outcome = loop {
            match self.run() {
                Ok(Stop::Finished(_)) => break Ok(()),
                Ok(_) => continue,
                Err(err) => break Err(err),
            }
        };
        self.pinned.retain(|id| *id != src);
        let job = self.job.take().map(|job| *job);
        // Kernel filters read through the VM's view of the image, point filters through
        // the job's.
        self.last_tiles_read = match &self.image {
            Some((id, view, _)) if *id == src => view.loaded(),
            _ => 0,
        } + job
            .as_ref()
            .map_or(0, |job| job.view.loaded().saturating_sub(loaded_before));
        let (pixels, view) = match job {
            Some(Job {
                sink: Sink::Pixels(out),
                view,
                ..
            }) => (out, Some(view)),
            Some(job) => (Vec::new(), Some(job.view)),
            None => (Vec::new(), None),
        };
        (outcome.map(|()| pixels), view)
    }

    /// Tiles the last region's filter read from the store.
    pub fn tiles_read(&self) -> usize {
        self.last_tiles_read
    }

    /// Applies filter `func` to the whole image `src`; returns the new image.
    pub fn apply_filter(&mut self, func: u32, src: ChunkId) -> Result<ChunkId, RuntimeError> {
        let view = self
            .open_image(src)
            .map_err(|err| host_error(err.to_string()))?;
        let (w, h) = (view.width(), view.height());
        let pixels = self.apply_region(func, src, (0, 0, w, h))?;
        image_from_rgba8(&mut self.store, w, h, &pixels).map_err(|err| host_error(err.to_string()))
    }
}

/// A returned colour (its two slots) as the row's next RGBA8 pixel.
#[inline(always)]
fn push_pixel(row: &mut Vec<u8>, lo: u64, hi: u64) {
    row.extend_from_slice(&pixel_of(lo, hi).to_le_bytes());
}

/// Returned colours (`lo`/`hi` their slots) as the row's next RGBA8 pixels, as
/// [`push_pixel`] writes each: converted [`PIXELS_AT_ONCE`] at a time in a loop that
/// vectorizes, then appended at once.
fn push_pixels(row: &mut Vec<u8>, lo: &[u64], hi: &[u64]) {
    #[cfg(target_arch = "x86_64")]
    if crate::exec::simd::avx2() {
        // SAFETY: the processor has AVX2 (`avx2` checks it).
        return unsafe { push_pixels_avx2(row, lo, hi) };
    }
    pixels_body(row, lo, hi)
}

/// [`push_pixels`] compiled for AVX2 (eight channels at a time; the same operations).
///
/// # Safety
/// Only on a processor with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn push_pixels_avx2(row: &mut Vec<u8>, lo: &[u64], hi: &[u64]) {
    pixels_body(row, lo, hi)
}

/// What [`push_pixels`] does, inlined in each of its two compilations. The rounding
/// is one loop over the slots' `f32` halves (`halves_of`), many channels at a time
/// (over a pixel's four channels it was one 4-wide operation per pixel); then each
/// pixel's bytes are its two slots' pairs of bytes side by side.
#[inline(always)]
fn pixels_body(row: &mut Vec<u8>, lo: &[u64], hi: &[u64]) {
    let n = lo.len().min(hi.len());
    row.reserve(n * 4);
    for (lo, hi) in lo[..n]
        .chunks(PIXELS_AT_ONCE)
        .zip(hi[..n].chunks(PIXELS_AT_ONCE))
    {
        let (rg, ba) = (channel_bytes(lo), channel_bytes(hi));
        let mut bytes = [0u8; PIXELS_AT_ONCE * 4];
        for ((px, rg), ba) in bytes
            .chunks_exact_mut(4)
            .zip(rg.chunks_exact(2))
            .zip(ba.chunks_exact(2))
        {
            // A slot's bytes in the memory order of its halves: read back in the
            // same order, its low half's byte is the low one on any endianness.
            let rg = u16::from_ne_bytes([rg[0], rg[1]]) as u32;
            let ba = u16::from_ne_bytes([ba[0], ba[1]]) as u32;
            px.copy_from_slice(&(rg | ba << 16).to_le_bytes());
        }
        row.extend_from_slice(&bytes[..lo.len() * 4]);
    }
}

/// The channels of `slots` (at most [`PIXELS_AT_ONCE`]) as bytes, as [`pixel_of`]
/// rounds them, in the memory order of the slots' `f32` halves.
#[inline(always)]
fn channel_bytes(slots: &[u64]) -> [u8; PIXELS_AT_ONCE * 2] {
    let mut out = [0u8; PIXELS_AT_ONCE * 2];
    for (byte, v) in out.iter_mut().zip(halves_of(slots)) {
        *byte = to_u8(*v);
    }
    out
}

/// Pixels [`push_pixels`] converts in one loop.
const PIXELS_AT_ONCE: usize = 64;
