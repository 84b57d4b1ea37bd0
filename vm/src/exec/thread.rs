//! A thread's whole state as chunks, and back.
//!
//! ```text
//! Thread [0] -> Program  [1] -> top Frame  [2] instructions executed  [3] status
//!        [4] -> globals (Regs)  [5] -> pending output line (Text)
//!        [6] instruction budget  [7] chunk quota  [8] depth limit
//!        [9] -> Job (a filter or pipeline run; nil for a plain call)
//! Frame  [0] -> caller Frame  [1] -> Function  [2] -> Block (the PC's block)
//!        [3] instruction index in that block  [4] -> environment
//!        [5] #scalar registers  [6] #reference registers
//!        [7] -> scalar registers (Regs)  [8] -> reference registers (Regs, links)
//!        [9] scalar window base  [10] reference window base
//! Regs   [0..=30] values  [31] -> continuation
//! Job    [0] -> the current stage's input Image  [1] current stage
//!        [2] -> stage functions (Regs of links)  [3] -> stage params (Regs of links
//!        to Regs)  [4] #stages  [5] x  [6] y  [7] width  [8] height
//!        [9] -> finished tiles (the newest segment: Regs, [0..30) tile links,
//!        [30] count, [31] -> older segment)  [10] -> the tile row being made
//!        (Regs of tile links)  [11] -> the result Image (nil until the last stage ends)
//!        [12] first row (a band of rows: see `Vm::start_band`; 0 for a whole image)
//! ```
//!
//! A job is materialized at its safe points like the rest: between two pixels
//! (the frame of the next pixel's call at its first instruction) or inside a call.
//!
//! At a safe point [`Vm::materialize`] writes this graph; everything else the
//! thread holds (arrays, closures, environments, images, code) is chunks
//! already. [`Vm::snapshot`] encodes the graph reachable from the Thread
//! chunk; [`Vm::from_snapshot`] decodes it into a fresh store and resumes.

use super::filter::{write_segment, FilterKind, Job, JobStage, Sink};
use super::vm::{Fetch, Frame, Limits, Loaded, Vm};
use crate::chunk::{
    decode_set, encode_set, read_text, text_chunks, tile_pixel, Chunk, ChunkId, ChunkSet,
    DecodeError, ImageView, Kind, NodeId, Store, StoreError, SLOTS, TILE_SIZE,
};
use crate::compile::chunks::{load_program, CodeError};
use std::fmt;
use std::sync::Arc;

/// Why a thread could not be written as chunks or read back from them.
#[derive(Clone, Debug, PartialEq)]
pub enum ThreadError {
    /// The snapshot's bytes are not a chunk set.
    Encoding(DecodeError),
    /// The store could not follow the thread's links.
    Store(StoreError),
    /// The thread's program does not load from its code chunks.
    Code(CodeError),
    /// A chunk the thread links to is not in the store (a node that is moving the
    /// thread fetches it and tries again).
    Missing(ChunkId),
    /// A chunk could not be fetched from the node that has it.
    Fetch {
        /// The chunk.
        chunk: ChunkId,
        /// Why.
        why: String,
    },
    /// A chunk is there but is not what the thread's layout needs.
    Malformed {
        /// The chunk.
        chunk: ChunkId,
        /// What is wrong with it.
        why: String,
    },
}

impl fmt::Display for ThreadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThreadError::Encoding(err) => write!(f, "snapshot: {err}"),
            ThreadError::Store(err) => write!(f, "{err}"),
            ThreadError::Code(err) => write!(f, "{err}"),
            ThreadError::Missing(id) => write!(f, "{id} is not in the store"),
            ThreadError::Fetch { chunk, why } => {
                write!(f, "chunk {chunk} could not be fetched: {why}")
            }
            ThreadError::Malformed { chunk, why } => write!(f, "{chunk}: {why}"),
        }
    }
}

impl std::error::Error for ThreadError {}

fn malformed(chunk: ChunkId, why: impl Into<String>) -> ThreadError {
    ThreadError::Malformed {
        chunk,
        why: why.into(),
    }
}

/// The chunk `id` of `kind`: missing and wrongly kinded chunks are told apart.
fn chunk_of<'a>(
    store: &'a Store,
    id: ChunkId,
    kind: Kind,
    what: &str,
) -> Result<&'a Chunk, ThreadError> {
    let chunk = store.get(id).ok_or(ThreadError::Missing(id))?;
    if chunk.kind != kind {
        return Err(malformed(id, format!("not a {what} chunk")));
    }
    Ok(chunk)
}

const REGS_CAP: usize = SLOTS - 1;

impl Vm {
    fn regs_chain(&mut self, values: &[u64], links: bool) -> ChunkId {
        let mut next = ChunkId::NIL;
        let pieces: Vec<&[u64]> = values.chunks(REGS_CAP).collect();
        for piece in pieces.iter().rev() {
            let mut chunk = Chunk::new(Kind::Regs);
            for (pos, value) in piece.iter().enumerate() {
                if links {
                    chunk.set_link(pos, ChunkId(*value));
                } else {
                    chunk.set_scalar(pos, *value);
                }
            }
            chunk.set_link(REGS_CAP, next);
            next = self.store.alloc(chunk);
        }
        next
    }

    /// Writes the thread's state as chunks; returns the Thread chunk.
    pub fn materialize(&mut self) -> ChunkId {
        let loaded = self.loaded.clone();
        let depth = self.frames.len();
        let mut caller = ChunkId::NIL;
        for idx in 0..depth {
            let frame = self.frames[idx];
            let lf = &loaded.funcs[frame.func as usize];
            let (block, index) = lf.block_of(frame.pc);
            let sregs: Vec<u64> = self
                .s
                .get(frame.sbase as usize..(frame.sbase + lf.nregs) as usize)
                .unwrap_or(&[])
                .to_vec();
            let rregs: Vec<u64> = self
                .r
                .get(frame.rbase as usize..(frame.rbase + lf.nrefs) as usize)
                .unwrap_or(&[])
                .iter()
                .map(|id| id.0)
                .collect();
            let sid = self.regs_chain(&sregs, false);
            let rid = self.regs_chain(&rregs, true);
            let mut chunk = Chunk::new(Kind::Frame);
            chunk.set_link(0, caller);
            chunk.set_link(1, loaded.ids.functions[frame.func as usize]);
            chunk.set_link(
                2,
                loaded.ids.blocks[frame.func as usize]
                    .get(block as usize)
                    .copied()
                    .unwrap_or(ChunkId::NIL),
            );
            chunk.set_scalar(3, index as u64);
            chunk.set_link(4, frame.env);
            chunk.set_scalar(5, sregs.len() as u64);
            chunk.set_scalar(6, rregs.len() as u64);
            chunk.set_link(7, sid);
            chunk.set_link(8, rid);
            chunk.set_scalar(9, frame.sbase as u64);
            chunk.set_scalar(10, frame.rbase as u64);
            caller = self.store.alloc(chunk);
        }
        let globals = self.globals.clone();
        let globals = self.regs_chain(&globals, false);
        let line = if self.line.is_empty() {
            ChunkId::NIL
        } else {
            let text = self.line.clone();
            let pieces = text_chunks(&text, |_| self.store.fresh_id());
            let head = pieces.first().map(|(id, _)| *id).unwrap_or(ChunkId::NIL);
            for (id, chunk) in pieces {
                self.store.insert(id, chunk);
            }
            head
        };
        let mut thread = Chunk::new(Kind::Thread);
        thread.set_link(0, loaded.ids.root);
        thread.set_link(1, caller);
        thread.set_scalar(2, self.count);
        thread.set_scalar(3, (depth == 0) as u64);
        thread.set_link(4, globals);
        thread.set_link(5, line);
        thread.set_scalar(6, self.limits.instructions);
        thread.set_scalar(7, self.limits.chunks as u64);
        thread.set_scalar(8, self.limits.depth as u64);
        let job = self.materialize_job();
        thread.set_link(9, job);
        self.store.alloc(thread)
    }

    /// Writes the thread's job (a filter or pipeline run) as a Job chunk; nil when the
    /// thread runs none, or runs a region (a host call, not a thread).
    fn materialize_job(&mut self) -> ChunkId {
        let Some(job) = self.job.take() else {
            return ChunkId::NIL;
        };
        let Sink::Tiles { segments, pending } = &job.sink else {
            self.job = Some(job);
            return ChunkId::NIL;
        };
        let segments = if pending.is_empty() {
            *segments
        } else {
            write_segment(&mut self.store, pending, *segments)
        };
        let funcs: Vec<u64> = job
            .stages
            .iter()
            .map(|stage| self.loaded.ids.functions[stage.func as usize].0)
            .collect();
        let funcs = self.regs_chain(&funcs, true);
        let params: Vec<u64> = job
            .stages
            .iter()
            .map(|stage| self.regs_chain(&stage.globals, false).0)
            .collect();
        let params = self.regs_chain(&params, true);
        let row: Vec<u64> = job
            .row_tiles(&mut self.store)
            .iter()
            .map(|id| id.0)
            .collect();
        let row = self.regs_chain(&row, true);
        let mut chunk = Chunk::new(Kind::Job);
        chunk.set_link(0, job.src);
        chunk.set_scalar(1, job.stage as u64);
        chunk.set_link(2, funcs);
        chunk.set_link(3, params);
        chunk.set_scalar(4, job.stages.len() as u64);
        chunk.set_scalar(5, job.x as u64);
        chunk.set_scalar(6, job.y as u64);
        chunk.set_scalar(7, job.x1 as u64);
        chunk.set_scalar(8, job.y1 as u64);
        chunk.set_link(9, segments);
        chunk.set_link(10, row);
        chunk.set_link(11, job.result);
        chunk.set_scalar(12, job.y0 as u64);
        self.job = Some(job);
        let id = self.store.alloc(chunk);
        // What was allocated here belongs to the thread's state, not to the call
        // under way: the next pixel must not free it.
        if let Some(job) = self.job.as_mut() {
            job.mark = job.mark.max(self.store.mark());
        }
        id
    }

    /// Encodes every chunk reachable from the thread (code included) into one chunk set.
    pub fn snapshot(&mut self) -> Result<Vec<u8>, ThreadError> {
        let root = self.materialize();
        let set = self.store.export(&[root]).map_err(ThreadError::Store)?;
        Ok(encode_set(&set))
    }

    /// Rebuilds a thread from a snapshot, in a fresh store on `node`.
    pub fn from_snapshot(bytes: &[u8], node: NodeId) -> Result<Vm, ThreadError> {
        let set: ChunkSet = decode_set(bytes).map_err(ThreadError::Encoding)?;
        let mut store = Store::new(node);
        let root = store.import(set);
        Vm::restore(store, root)
    }

    /// Rebuilds a thread from its Thread chunk `root` in `store`, which holds every
    /// chunk it reaches.
    pub fn restore(store: Store, root: ChunkId) -> Result<Vm, ThreadError> {
        Vm::restore_or_return(store, root).map_err(|(err, _)| err)
    }

    /// [`Vm::restore`], giving the store back when it fails (a node fetches the chunk
    /// missing and tries again).
    fn restore_or_return(store: Store, root: ChunkId) -> Result<Vm, (ThreadError, Store)> {
        let read = || -> Result<(Chunk, Loaded), ThreadError> {
            let thread = chunk_of(&store, root, Kind::Thread, "thread")?.clone();
            let program_root = thread
                .link(0)
                .ok_or_else(|| malformed(root, "thread without a program"))?;
            let (program, ids) = load_program(&store, program_root).map_err(ThreadError::Code)?;
            Ok((thread, Loaded::from_parts(program, ids)))
        };
        let (thread, loaded) = match read() {
            Ok(read) => read,
            Err(err) => return Err((err, store)),
        };
        let loaded = Arc::new(loaded);
        let mut vm = Vm::with_store(loaded.clone(), store);
        match vm.restore_state(root, &thread, &loaded) {
            Ok(()) => Ok(vm),
            Err(err) => Err((err, vm.into_store())),
        }
    }

    /// Reads the thread's counters, limits, params, frames and job into a VM over its
    /// store.
    fn restore_state(
        &mut self,
        root: ChunkId,
        thread: &Chunk,
        loaded: &Arc<Loaded>,
    ) -> Result<(), ThreadError> {
        let vm = self;
        vm.count = thread.get(2);
        vm.limits = Limits {
            instructions: thread.get(6),
            chunks: thread.get(7) as usize,
            depth: thread.get(8) as usize,
        };
        vm.globals = vm.read_regs(root, thread.link(4), loaded.program.global_defaults.len())?;
        if let Some(line) = thread.link(5) {
            vm.line = read_text(&vm.store, line).map_err(ThreadError::Store)?;
        }
        let mut frames = Vec::new();
        let mut next = thread.link(1);
        while let Some(id) = next {
            if frames.len() > vm.limits.depth.saturating_add(1) {
                return Err(malformed(root, "frame chain longer than the depth limit"));
            }
            let chunk = chunk_of(&vm.store, id, Kind::Frame, "frame")?.clone();
            frames.push((id, chunk));
            next = frames.last().and_then(|(_, chunk)| chunk.link(0));
        }
        frames.reverse();
        for (id, chunk) in &frames {
            let fid = chunk
                .link(1)
                .ok_or_else(|| malformed(*id, "frame without a function"))?;
            let func = *loaded
                .func_of_chunk
                .get(&fid)
                .ok_or_else(|| malformed(*id, "frame links to an unknown function"))?;
            let lf = &loaded.funcs[func as usize];
            let block_id = chunk
                .link(2)
                .ok_or_else(|| malformed(*id, "frame without a block"))?;
            let block = loaded.ids.blocks[func as usize]
                .iter()
                .position(|it| *it == block_id)
                .ok_or_else(|| malformed(*id, "frame links to a block of another function"))?;
            let block_len = loaded.program.functions[func as usize].blocks[block]
                .instrs
                .len() as u64;
            let index = chunk.get(3);
            if index >= block_len {
                return Err(malformed(*id, "frame points past its block"));
            }
            let pc = lf.block_start[block] + index as u32;
            let (sbase, rbase) = (chunk.get(9), chunk.get(10));
            if sbase > 1 << 24 || rbase > 1 << 24 {
                return Err(malformed(*id, "frame has an impossible register base"));
            }
            let (sbase, rbase) = (sbase as u32, rbase as u32);
            if chunk.get(5) != lf.nregs as u64 || chunk.get(6) != lf.nrefs as u64 {
                return Err(malformed(*id, "frame has the wrong number of registers"));
            }
            let sregs = vm.read_regs(*id, chunk.link(7), lf.nregs as usize)?;
            let rregs = vm.read_regs(*id, chunk.link(8), lf.nrefs as usize)?;
            let send = (sbase + lf.nregs) as usize + 2;
            let rend = (rbase + lf.nrefs) as usize + 1;
            if vm.s.len() < send {
                vm.s.resize(send, 0);
            }
            if vm.r.len() < rend {
                vm.r.resize(rend, ChunkId::NIL);
            }
            vm.s[sbase as usize..sbase as usize + sregs.len()].copy_from_slice(&sregs);
            for (pos, value) in rregs.iter().enumerate() {
                vm.r[rbase as usize + pos] = ChunkId(*value);
            }
            vm.frames.push(Frame {
                func,
                pc,
                sbase,
                rbase,
                env: chunk.link(4).unwrap_or(ChunkId::NIL),
            });
        }
        if let Some(bottom) = vm.frames.first() {
            vm.result_type = loaded.program.functions[bottom.func as usize].ret.clone();
        }
        if let Some(job) = thread.link(9) {
            vm.restore_job(job)?;
        }
        Ok(())
    }

    /// Rebuilds a thread as [`Vm::restore`] does, from a store that may hold only some
    /// of its chunks: every chunk missing is asked of `fetch` (a node fetching them
    /// from the thread's last home), and the thread keeps `fetch` for the chunks it
    /// needs later (see [`Vm::set_fetch`]).
    pub fn restore_fetching(
        mut store: Store,
        root: ChunkId,
        mut fetch: Box<dyn Fetch>,
    ) -> Result<Vm, ThreadError> {
        let mut fetches = 0u64;
        let mut bring = |store: &mut Store, id: ChunkId, fetch: &mut Box<dyn Fetch>| {
            fetches += 1;
            if fetches > 1 << 20 {
                return Err(malformed(
                    root,
                    "restoring it fetched over a million chunks",
                ));
            }
            let chunks = fetch.fetch(id).map_err(|err| ThreadError::Fetch {
                chunk: id,
                why: err.0,
            })?;
            if !chunks.iter().any(|(got, _)| *got == id) {
                return Err(ThreadError::Missing(id));
            }
            for (got, chunk) in chunks {
                store.insert(got, chunk);
            }
            Ok(())
        };
        // The code first: all of the program's chunks are read to load it.
        loop {
            let thread = store.get(root).ok_or(ThreadError::Missing(root));
            let program = match thread {
                Ok(thread) if thread.kind == Kind::Thread => thread.link(0),
                Ok(_) => return Err(malformed(root, "not a thread chunk")),
                Err(ThreadError::Missing(id)) => {
                    bring(&mut store, id, &mut fetch)?;
                    continue;
                }
                Err(err) => return Err(err),
            };
            let program = program.ok_or_else(|| malformed(root, "thread without a program"))?;
            let (_, missing) = store.reachable_partial(&[program]);
            match missing.first() {
                Some(id) => bring(&mut store, *id, &mut fetch)?,
                None => break,
            }
        }
        // Then the rest of the thread, a missing chunk at a time.
        loop {
            match Vm::restore_or_return(store, root) {
                Ok(mut vm) => {
                    vm.fetch = Some(fetch);
                    return Ok(vm);
                }
                Err((ThreadError::Missing(id), back))
                | Err((ThreadError::Store(StoreError::Missing(id)), back))
                    if !id.is_nil() =>
                {
                    store = back;
                    bring(&mut store, id, &mut fetch)?
                }
                Err((err, _)) => return Err(err),
            }
        }
    }

    /// Rebuilds the thread's job from its Job chunk `id`.
    fn restore_job(&mut self, id: ChunkId) -> Result<(), ThreadError> {
        let chunk = chunk_of(&self.store, id, Kind::Job, "job")?.clone();
        let count = chunk.get(4) as usize;
        if count == 0 || count > 1 << 16 {
            return Err(malformed(id, format!("a job of {count} stages")));
        }
        let funcs = self.read_regs(id, chunk.link(2), count)?;
        let params = self.read_regs(id, chunk.link(3), count)?;
        let nglobals = self.loaded.program.global_defaults.len();
        let mut stages = Vec::with_capacity(count);
        for (func, params) in funcs.iter().zip(&params) {
            let func = *self
                .loaded
                .func_of_chunk
                .get(&ChunkId(*func))
                .ok_or_else(|| malformed(id, "a stage links to an unknown function"))?;
            let globals = self.read_regs(
                id,
                Some(ChunkId(*params)).filter(|it| !it.is_nil()),
                nglobals,
            )?;
            stages.push(JobStage { func, globals });
        }
        let stage = chunk.get(1) as usize;
        let (x, y, width, height) = (chunk.get(5), chunk.get(6), chunk.get(7), chunk.get(8));
        if stage > count || width == 0 || height == 0 || width > 1 << 20 || height > 1 << 20 {
            return Err(malformed(id, "a job of impossible stage or size"));
        }
        let (width, height) = (width as u32, height as u32);
        let y0 = chunk.get(12);
        if y0 >= height as u64 || y0 % TILE_SIZE as u64 != 0 || y < y0 {
            return Err(malformed(
                id,
                format!("a band from row {y0} at row {y} of a {height}-row image"),
            ));
        }
        let y0 = y0 as u32;
        if (stage < count && (x >= width as u64 || y >= height as u64))
            || x > width as u64
            || y > height as u64
        {
            return Err(malformed(
                id,
                format!("position ({x}, {y}) is outside the {width}x{height} image"),
            ));
        }
        let (x, y) = (x as u32, y as u32);
        let src = chunk
            .link(0)
            .ok_or_else(|| malformed(id, "a job without an input image"))?;
        let segments = chunk.link(9).unwrap_or(ChunkId::NIL);
        let tiles_x = width.div_ceil(TILE_SIZE) as usize;
        let row_ids = self.read_regs(id, chunk.link(10), tiles_x)?;
        let mut job = Job {
            stages: stages.clone(),
            stage,
            func: stages[stage.min(count - 1)].func,
            kind: FilterKind::Point,
            src,
            view: ImageView::empty(),
            x0: 0,
            y0,
            x1: width,
            y1: height,
            x,
            y,
            row: Vec::new(),
            sink: Sink::Tiles {
                segments,
                pending: Vec::new(),
            },
            result: chunk.link(11).unwrap_or(ChunkId::NIL),
            mark: 0,
            held: 0,
        };
        // The tile row being made: rows from its start to `y`, then `x` pixels of `y`.
        let made = ((y - job.row_start()) * width + x) as usize;
        let mut row = Vec::with_capacity(width as usize * TILE_SIZE as usize * 4);
        for at in 0..made {
            let (px, py) = ((at % width as usize) as u32, (at / width as usize) as u32);
            let tile_id = ChunkId(row_ids[(px / TILE_SIZE) as usize]);
            let tile = chunk_of(&self.store, tile_id, Kind::Tile, "tile")?;
            row.extend_from_slice(&tile_pixel(tile, px % TILE_SIZE, py));
        }
        job.row = row;
        if stage < count {
            let current = stages[stage].clone();
            self.set_stage(&mut job, &current, src)
                .map_err(ThreadError::Store)?;
        }
        job.mark = self.store.mark();
        self.size_job_registers(&job);
        self.job = Some(Box::new(job));
        Ok(())
    }

    /// The `count` values of the register chain at `head`, which `owner` links to.
    fn read_regs(
        &self,
        owner: ChunkId,
        head: Option<ChunkId>,
        count: usize,
    ) -> Result<Vec<u64>, ThreadError> {
        let mut out = Vec::new();
        let mut next = head;
        let mut pieces = 0usize;
        while let Some(id) = next {
            pieces += 1;
            if pieces > 1 << 20 {
                return Err(malformed(id, "register chain does not end"));
            }
            let chunk = chunk_of(&self.store, id, Kind::Regs, "registers")?;
            let used = (count - out.len()).min(REGS_CAP);
            out.extend((0..used).map(|pos| chunk.get(pos)));
            next = chunk.link(REGS_CAP);
            if out.len() == count {
                break;
            }
        }
        if out.len() != count {
            return Err(malformed(
                owner,
                format!("register chain holds {} values, not {count}", out.len()),
            ));
        }
        Ok(out)
    }
}
