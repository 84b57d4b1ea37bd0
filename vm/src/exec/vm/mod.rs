//! The interpreter of the chunk VM.
//!
//! Code lives in block chunks; [`Loaded`] keeps each function's blocks
//! decoded and laid end to end, with jump targets turned into offsets, so
//! the loop never touches a code chunk. Registers and frames live in plain
//! vectors between safe points; [`Vm::materialize`] (in `thread.rs`) writes
//! them out as Thread, Frame and Regs chunks whenever asked, and
//! [`Vm::restore`] reads them back. Heap values (arrays, closures,
//! environments, images) are chunks in the store all along.
//!
//! The loop checks its limits, the pause flag and stop requests only at
//! block boundaries (jumps, calls, returns): those are the safe points.

use super::value::{color_of, color_slots, from_u8, to_u8, Value};
use crate::builtins::BuiltinOp;
use crate::chunk::{
    array_copy, array_element, array_get_slot, array_info, array_len, array_new, array_set_element,
    array_set_slot, image_from_rgba8, set_tile_pixel, Chunk, ChunkId, ImageView, Kind, NodeId,
    Store, StoreError, IMAGE_TILES, IMAGE_WIDTH, TILE_SIZE,
};
use crate::compile::chunks::{store_program, CodeIds};
use crate::compile::ir::{builtin_of_code, unpack_shape, unpack_targets, Imm, Instr, Op, Program};
use crate::syntax::span::Span;
use crate::types::Type;
use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Limits of one thread.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Instructions the thread may execute in all.
    pub instructions: u64,
    /// Data chunks the thread may hold at once (after collecting garbage).
    pub chunks: usize,
    /// Depth of the call stack.
    pub depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            instructions: 50_000_000_000,
            chunks: 4_000_000,
            depth: 10_000,
        }
    }
}

/// One function, decoded for the interpreter.
#[derive(Debug)]
pub struct LoadedFn {
    /// The blocks' instructions end to end; jump immediates are code offsets.
    pub code: Vec<Instr>,
    /// The source span of each instruction.
    pub spans: Vec<Span>,
    /// Code offset where each block starts.
    pub block_start: Vec<u32>,
    /// Scalar registers.
    pub nregs: u32,
    /// Reference registers.
    pub nrefs: u32,
    /// Environment slots made at entry.
    pub env_slots: u32,
}

impl LoadedFn {
    /// The block holding code offset `pc`, and the index within it.
    pub fn block_of(&self, pc: u32) -> (u32, u32) {
        let block = match self.block_start.binary_search(&pc) {
            Ok(block) => block,
            Err(next) => next.saturating_sub(1),
        };
        (
            block as u32,
            pc - self.block_start.get(block).copied().unwrap_or(0),
        )
    }
}

/// A program ready to run: its compiled form, its chunks, and decoded code.
#[derive(Debug)]
pub struct Loaded {
    /// The compiled program.
    pub program: Program,
    /// Where its chunks are.
    pub ids: CodeIds,
    /// Each function, decoded.
    pub funcs: Vec<LoadedFn>,
    /// The function of each Function chunk.
    pub func_of_chunk: std::collections::HashMap<ChunkId, u32>,
}

impl Loaded {
    /// Stores `program` as chunks in `store` and decodes it for the interpreter.
    pub fn new(program: Program, store: &mut Store) -> Loaded {
        let ids = store_program(&program, store);
        Loaded::from_parts(program, ids)
    }

    /// Prepares an already stored (and verified) program.
    pub fn from_parts(program: Program, ids: CodeIds) -> Loaded {
        let funcs = program
            .functions
            .iter()
            .map(|func| {
                let mut block_start = Vec::new();
                let mut offset = 0u32;
                for block in &func.blocks {
                    block_start.push(offset);
                    offset += block.instrs.len() as u32;
                }
                let mut code = Vec::with_capacity(offset as usize);
                let mut spans = Vec::with_capacity(offset as usize);
                for block in &func.blocks {
                    for instr in &block.instrs {
                        let mut instr = *instr;
                        match instr.op.shape().3 {
                            Imm::Block => instr.k = block_start[instr.k as usize] as u64,
                            Imm::Block2 => {
                                let (then, otherwise) = unpack_targets(instr.k);
                                instr.k = block_start[then as usize] as u64
                                    | (block_start[otherwise as usize] as u64) << 32;
                            }
                            _ => {}
                        }
                        code.push(instr);
                    }
                    spans.extend_from_slice(&block.spans);
                }
                LoadedFn {
                    code,
                    spans,
                    block_start,
                    nregs: func.nregs as u32,
                    nrefs: func.nrefs as u32,
                    env_slots: func.env_slots as u32,
                }
            })
            .collect();
        let func_of_chunk = ids
            .functions
            .iter()
            .enumerate()
            .map(|(idx, id)| (*id, idx as u32))
            .collect();
        Loaded {
            program,
            ids,
            funcs,
            func_of_chunk,
        }
    }
}

/// One activation of a function.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    /// The function.
    pub func: u32,
    /// The next instruction (a code offset); in callers, the one after the call.
    pub pc: u32,
    /// Where its scalar registers start.
    pub sbase: u32,
    /// Where its reference registers start.
    pub rbase: u32,
    /// Its environment (nil when it has none).
    pub env: ChunkId,
}

/// An error while running: what, where, and the Chop stack.
#[derive(Clone, Debug, PartialEq)]
pub struct RuntimeError {
    /// What went wrong.
    pub message: String,
    /// The instruction's source span (in the innermost frame).
    pub span: Span,
    /// The Chop frames, innermost first: function name and source span.
    pub trace: Vec<(String, Span)>,
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuntimeError {}

/// The message of the runtime error raised when a `print` finds its output closed
/// (`chunkvm run x.chop | head -1`): the command line ends quietly on it.
pub const OUTPUT_CLOSED: &str = "the output was closed";

/// Why [`Vm::run`] came back without finishing.
#[derive(Clone, Debug, PartialEq)]
pub enum Stop {
    /// The entry function returned this value.
    Finished(Value),
    /// A breakpoint's line was reached.
    Breakpoint,
    /// A step finished.
    Step,
    /// Another thread asked to pause.
    Paused,
    /// The safe point asked for by [`Vm::stop_after`] was reached.
    SafePoint,
}

/// How to step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// One instruction.
    Instruction,
    /// To the next line of this function, over calls.
    Over,
    /// To the next line, into calls.
    Into,
    /// Until the current function returns.
    Out,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum StepState {
    None,
    Instruction,
    Line {
        kind: StepKind,
        depth: usize,
        line: u32,
        func: u32,
        pc: u32,
    },
}

/// Where printed lines go.
pub type Output = Box<dyn Write + Send>;

/// What a thread has done: see [`Vm::stats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Instructions executed so far.
    pub instructions: u64,
    /// Chunks in the thread's store now: code, heap and photos.
    pub chunks: usize,
}

/// A thread of the chunk VM, with its store.
pub struct Vm {
    /// The program.
    pub(crate) loaded: Arc<Loaded>,
    /// The chunks: code, heap, photos.
    pub(crate) store: Store,
    pub(crate) s: Vec<u64>,
    pub(crate) r: Vec<ChunkId>,
    pub(crate) frames: Vec<Frame>,
    pub(crate) globals: Vec<u64>,
    pub(crate) count: u64,
    pub(crate) limits: Limits,
    pub(crate) line: String,
    pub(crate) out: Output,
    pub(crate) result: Option<Value>,
    pub(crate) result_type: Type,
    pub(crate) stop_at: u64,
    pub(crate) pause: Arc<AtomicBool>,
    pub(crate) pinned: Vec<ChunkId>,
    pub(crate) gc_at: usize,
    pub(crate) image: Option<(ChunkId, ImageView)>,
    pub(crate) debug: Option<super::debug::DebugState>,
    pub(crate) job: Option<super::filter::Job>,
    pub(crate) last_tiles_read: usize,
    pub(crate) cancel: Option<Arc<AtomicBool>>,
}

const POLL: u64 = 1 << 14;

impl Vm {
    /// A thread for `program`, with a store of its own on node 1.
    pub fn new(program: Program) -> Vm {
        let mut store = Store::new(NodeId(1));
        let loaded = Arc::new(Loaded::new(program, &mut store));
        Vm::with_store(loaded, store)
    }

    /// A thread for an already loaded program, over `store` (which holds its code).
    pub fn with_store(loaded: Arc<Loaded>, store: Store) -> Vm {
        let globals = loaded.program.global_defaults.clone();
        Vm {
            loaded,
            store,
            s: Vec::new(),
            r: Vec::new(),
            frames: Vec::new(),
            globals,
            count: 0,
            limits: Limits::default(),
            line: String::new(),
            out: Box::new(std::io::stdout()),
            result: None,
            result_type: Type::Unit,
            stop_at: u64::MAX,
            pause: Arc::new(AtomicBool::new(false)),
            pinned: Vec::new(),
            gc_at: 1 << 16,
            image: None,
            debug: None,
            job: None,
            last_tiles_read: 0,
            cancel: None,
        }
    }

    /// Sets the limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
        self.gc_at = self.gc_at.min(limits.chunks.saturating_add(1));
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Sends printed lines to `out`.
    pub fn set_output(&mut self, out: Output) {
        self.out = out;
    }

    /// A flag that, once set from any thread, pauses the VM at its next safe point.
    pub fn pause_flag(&self) -> Arc<AtomicBool> {
        self.pause.clone()
    }

    /// A flag that, once set from any thread, ends the run at its next safe point
    /// with the error "cancelled" (an editor cancelling a preview, say).
    pub fn set_cancel(&mut self, flag: Arc<AtomicBool>) {
        self.cancel = Some(flag);
    }

    /// Instructions executed so far.
    pub fn instructions(&self) -> u64 {
        self.count
    }

    /// Instructions executed so far and the chunks the store holds now.
    pub fn stats(&self) -> Stats {
        Stats {
            instructions: self.count,
            chunks: self.store.len(),
        }
    }

    /// The program the thread runs.
    pub fn program(&self) -> &Program {
        &self.loaded.program
    }

    /// The loaded program (shared by the threads that run it).
    pub fn loaded(&self) -> &Arc<Loaded> {
        &self.loaded
    }

    /// The thread's chunks: code, heap, photos (read-only: the thread owns them).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Stores a `width` x `height` RGBA8 image as an Image chunk tree in the thread's
    /// store, for [`Vm::apply_region`] to read.
    pub fn store_image(
        &mut self,
        width: u32,
        height: u32,
        pixels: &[u8],
    ) -> Result<ChunkId, StoreError> {
        image_from_rgba8(&mut self.store, width, height, pixels)
    }

    /// Keeps `id` (and what it links to) alive across garbage collection.
    pub fn pin(&mut self, id: ChunkId) {
        self.pinned.push(id);
    }

    /// Stops at the first safe point after `n` more instructions.
    pub fn stop_after(&mut self, n: u64) {
        self.stop_at = self.count.saturating_add(n);
    }

    /// Sets a param's value by name.
    pub fn set_global(&mut self, name: &str, value: &Value) -> Result<(), String> {
        let global = self
            .loaded
            .program
            .globals
            .iter()
            .find(|g| g.name == name)
            .ok_or_else(|| format!("no param `{name}`"))?
            .clone();
        let slots = scalar_slots(value, &global.ty)
            .ok_or_else(|| format!("param `{name}` is a {}, not a {}", global.ty, value.kind()))?;
        for (idx, slot) in slots.iter().enumerate() {
            self.globals[global.slot as usize + idx] = *slot;
        }
        Ok(())
    }

    /// The params' slots, as they are now.
    pub fn globals(&self) -> &[u64] {
        &self.globals
    }

    /// Sets every param back to the given slot values (the program's defaults, say).
    pub fn reset_globals(&mut self, values: &[u64]) {
        self.globals.clear();
        self.globals.extend_from_slice(values);
    }

    /// Whether the thread has a call under way.
    pub fn is_running(&self) -> bool {
        !self.frames.is_empty()
    }

    /// The frames, innermost last.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// Starts a call of function `func` with `args`; [`Vm::run`] runs it.
    pub fn start(&mut self, func: u32, args: &[Value]) -> Result<(), String> {
        let loaded = self.loaded.clone();
        let function = loaded
            .program
            .functions
            .get(func as usize)
            .ok_or_else(|| format!("no function {func}"))?;
        if args.len() != function.params.len() {
            return Err(format!(
                "`{}` takes {}, not {}",
                function.name,
                crate::diag::plural(function.params.len() as u64, "argument"),
                args.len()
            ));
        }
        let lf = &loaded.funcs[func as usize];
        self.frames.clear();
        self.result = None;
        self.result_type = function.ret.clone();
        self.s.clear();
        self.r.clear();
        self.s.resize(lf.nregs as usize + 2, 0);
        self.r.resize(lf.nrefs as usize + 1, ChunkId::NIL);
        let (mut sreg, mut rreg) = (0usize, 0usize);
        for ((name, ty), arg) in function.params.iter().zip(args) {
            if ty.is_ref() {
                let id = match arg {
                    Value::Image { id, .. } | Value::Closure { id, .. } => *id,
                    other => {
                        return Err(format!(
                            "parameter `{name}` wants {ty}, not {}",
                            other.kind()
                        ))
                    }
                };
                self.r[rreg] = id;
                rreg += 1;
            } else {
                let slots = scalar_slots(arg, ty)
                    .ok_or_else(|| format!("parameter `{name}` wants {ty}, not {}", arg.kind()))?;
                for slot in slots {
                    self.s[sreg] = slot;
                    sreg += 1;
                }
            }
        }
        let env = self
            .new_env(func, ChunkId::NIL)
            .map_err(|err| err.message)?;
        self.frames.push(Frame {
            func,
            pc: 0,
            sbase: 0,
            rbase: 0,
            env,
        });
        Ok(())
    }

    fn new_env(&mut self, func: u32, parent: ChunkId) -> Result<ChunkId, RuntimeError> {
        let slots = self.loaded.funcs[func as usize].env_slots;
        if slots == 0 {
            return Ok(parent);
        }
        let links = self.loaded.program.functions[func as usize]
            .env_links
            .clone();
        let pieces = (slots as usize).div_ceil(ENV_CAP);
        let mut next = ChunkId::NIL;
        for piece in (0..pieces).rev() {
            let mut chunk = Chunk::new(Kind::Env);
            chunk.set_link(0, if piece == 0 { parent } else { ChunkId::NIL });
            for pos in 0..ENV_CAP {
                if links.get(piece * ENV_CAP + pos).copied().unwrap_or(false) {
                    chunk.set_link(1 + pos, ChunkId::NIL);
                }
            }
            chunk.set_link(31, next);
            next = self.store.alloc(chunk);
        }
        Ok(next)
    }

    fn env_at(&self, env: ChunkId, depth: u16) -> Result<ChunkId, StoreError> {
        let mut env = env;
        for _ in 0..depth {
            env = self
                .store
                .try_get(env)?
                .link(0)
                .ok_or(StoreError::Missing(ChunkId::NIL))?;
        }
        Ok(env)
    }

    fn env_slot(
        &self,
        env: ChunkId,
        depth: u16,
        slot: u16,
    ) -> Result<(ChunkId, usize), StoreError> {
        let mut id = self.env_at(env, depth)?;
        let mut slot = slot as usize;
        while slot >= ENV_CAP {
            id = self
                .store
                .try_get(id)?
                .link(31)
                .ok_or(StoreError::Missing(ChunkId::NIL))?;
            slot -= ENV_CAP;
        }
        Ok((id, slot + 1))
    }

    fn env_get(&self, env: ChunkId, depth: u16, slot: u16) -> Result<u64, StoreError> {
        let (id, pos) = self.env_slot(env, depth, slot)?;
        Ok(self.store.try_get(id)?.get(pos))
    }

    fn env_set(
        &mut self,
        env: ChunkId,
        depth: u16,
        slot: u16,
        value: u64,
        link: bool,
    ) -> Result<(), StoreError> {
        let (id, pos) = self.env_slot(env, depth, slot)?;
        let chunk = self.store.get_mut(id)?;
        if link {
            chunk.set_link(pos, ChunkId(value));
        } else {
            chunk.set_scalar(pos, value);
        }
        Ok(())
    }

    /// A runtime error at code offset `pc` of the innermost frame.
    pub(crate) fn error_at(&self, pc: u32, message: impl Into<String>) -> RuntimeError {
        let mut trace = Vec::new();
        let depth = self.frames.len();
        for (idx, frame) in self.frames.iter().enumerate().rev() {
            let at = if idx + 1 == depth {
                pc
            } else {
                frame.pc.saturating_sub(1)
            };
            let lf = &self.loaded.funcs[frame.func as usize];
            let span = lf.spans.get(at as usize).copied().unwrap_or_default();
            trace.push((
                self.loaded.program.functions[frame.func as usize]
                    .name
                    .clone(),
                span,
            ));
        }
        RuntimeError {
            message: message.into(),
            span: trace.first().map(|it| it.1).unwrap_or_default(),
            trace,
        }
    }

    /// Collects the data chunks that nothing the thread holds links to.
    pub fn collect_garbage(&mut self) -> usize {
        let regs = std::mem::take(&mut self.r);
        let removed = self.collect_garbage_with(&regs);
        self.r = regs;
        removed
    }

    /// Collects garbage while the reference registers are `regs` (out of `self`).
    fn collect_garbage_with(&mut self, regs: &[ChunkId]) -> usize {
        let mut roots: Vec<ChunkId> = regs.iter().copied().filter(|id| !id.is_nil()).collect();
        roots.extend(
            self.frames
                .iter()
                .map(|frame| frame.env)
                .filter(|id| !id.is_nil()),
        );
        roots.extend(self.pinned.iter().copied());
        if let Some((id, _)) = &self.image {
            roots.push(*id);
        }
        if let Some(Value::Image { id, .. } | Value::Closure { id, .. }) = &self.result {
            roots.push(*id);
        }
        self.store.collect(&roots)
    }

    fn check_chunks(&mut self, pc: u32) -> Result<(), RuntimeError> {
        let regs = std::mem::take(&mut self.r);
        let checked = self.check_chunks_with(&regs);
        self.r = regs;
        checked.map_err(|message| self.error_at(pc, message))
    }

    /// Makes sure `needed` more chunks fit the quota (collecting garbage first if they
    /// would not), before anything is allocated.
    fn room_for(&mut self, regs: &[ChunkId], needed: Option<u64>) -> Result<(), String> {
        let quota = self.limits.chunks as u64;
        let needed = needed.unwrap_or(u64::MAX);
        if (self.store.data_len() as u64).saturating_add(needed) <= quota {
            return Ok(());
        }
        self.collect_garbage_with(regs);
        let live = self.store.data_len() as u64;
        if live.saturating_add(needed) > quota {
            return Err(format!(
                "chunk quota exceeded: the thread holds {}, needs {} more, and the limit is {quota}",
                crate::diag::plural(live, "chunk"),
                if needed == u64::MAX { "too many".to_string() } else { needed.to_string() }
            ));
        }
        Ok(())
    }

    /// Collects garbage when the store has grown, then enforces the chunk quota.
    fn check_chunks_with(&mut self, regs: &[ChunkId]) -> Result<(), String> {
        if self.store.data_len() < self.gc_at {
            return Ok(());
        }
        self.collect_garbage_with(regs);
        let live = self.store.data_len();
        if live > self.limits.chunks {
            return Err(format!(
                "chunk quota exceeded: the thread holds {}, the limit is {}",
                crate::diag::plural(live as u64, "chunk"),
                self.limits.chunks
            ));
        }
        self.gc_at = (live * 2).max(1 << 16).min(self.limits.chunks + 1);
        Ok(())
    }

    /// Runs until the thread finishes or stops.
    pub fn run(&mut self) -> Result<Stop, RuntimeError> {
        if self.frames.is_empty() {
            return Ok(Stop::Finished(self.result.clone().unwrap_or(Value::Unit)));
        }
        let result = if self.debug.as_ref().is_some_and(|d| d.active()) {
            self.run_loop::<true>()
        } else {
            self.run_loop::<false>()
        };
        if result.is_err() {
            // A thread that failed cannot go on: drop its frames, keep the output.
            self.flush_line();
            self.frames.clear();
        }
        result
    }

    /// Runs the call begun by [`Vm::start`] to its end, through breakpoints, steps,
    /// pauses and safe points: its value, or the error that ended it.
    pub fn run_to_end(&mut self) -> Result<Value, RuntimeError> {
        loop {
            if let Stop::Finished(value) = self.run()? {
                return Ok(value);
            }
        }
    }

    fn flush_line(&mut self) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            let _ = writeln!(self.out, "{line}");
        }
    }

    fn print_value(&mut self, value: Value) {
        if !self.line.is_empty() {
            self.line.push(' ');
        }
        self.line.push_str(&value.to_string());
    }

    /// The name of the function whose chunk is `id`.
    pub fn function_name(&self, id: ChunkId) -> String {
        self.loaded
            .func_of_chunk
            .get(&id)
            .map(|idx| self.loaded.program.functions[*idx as usize].name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    /// The value of a reference of type `ty`.
    pub fn ref_value(&self, ty: &Type, id: ChunkId) -> Value {
        Value::from_ref(ty, id, &self.store, &|func| self.function_name(func))
    }

    fn poll(&mut self, pc: u32) -> Result<Option<Stop>, RuntimeError> {
        if self.count >= self.limits.instructions {
            return Err(self.error_at(
                pc,
                format!(
                    "instruction budget exhausted after {}",
                    crate::diag::plural(self.limits.instructions, "instruction")
                ),
            ));
        }
        self.check_chunks(pc)?;
        if self
            .cancel
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
        {
            return Err(self.error_at(pc, "cancelled"));
        }
        if self.pause.swap(false, Ordering::Relaxed) {
            return Ok(Some(Stop::Paused));
        }
        if self.count >= self.stop_at {
            self.stop_at = u64::MAX;
            return Ok(Some(Stop::SafePoint));
        }
        Ok(None)
    }

    fn next_check(&self) -> u64 {
        self.limits
            .instructions
            .min(self.stop_at)
            .min(self.count.saturating_add(POLL))
    }

    #[inline(never)]
    fn run_loop<const DEBUG: bool>(&mut self) -> Result<Stop, RuntimeError> {
        let loaded = self.loaded.clone();
        let Some(top) = self.frames.last().copied() else {
            return Ok(Stop::Finished(Value::Unit));
        };
        let mut func = top.func;
        let mut lf = &loaded.funcs[func as usize];
        let mut code: &[Instr] = &lf.code;
        let mut pc = top.pc as usize;
        let mut sb = top.sbase as usize;
        let mut rb = top.rbase as usize;
        let mut env = top.env;
        let mut s = std::mem::take(&mut self.s);
        let mut r = std::mem::take(&mut self.r);
        let mut check_at = self.next_check();
        let mut first = true;
        // Instructions are counted a run at a time: `count` holds those before `entry`,
        // the offset where the current straight run began; `save!` writes the sum back.
        let mut count = self.count;
        let mut entry = pc;

        macro_rules! save {
            () => {{
                self.count = count.saturating_add((pc - entry) as u64);
                if let Some(frame) = self.frames.last_mut() {
                    frame.pc = pc as u32;
                }
                self.s = std::mem::take(&mut s);
                self.r = std::mem::take(&mut r);
            }};
        }
        macro_rules! fail {
            ($at:expr, $msg:expr) => {{
                let at = $at as u32;
                save!();
                return Err(self.error_at(at, $msg));
            }};
        }
        macro_rules! store_err {
            ($at:expr, $res:expr) => {
                match $res {
                    Ok(value) => value,
                    Err(err) => fail!($at, format!("{err}")),
                }
            };
        }
        // At a safe point: poll the limits and flags when it is time. `$at` is where the
        // thread resumes if it stops here: the jump itself (not yet done, so it is not
        // counted), or the instruction after a finished return.
        macro_rules! safe_point {
            ($at:expr) => {
                count = count.saturating_add((pc - entry) as u64);
                entry = pc;
                if count >= check_at {
                    save!();
                    let at = $at;
                    let polled = self.poll(at as u32);
                    s = std::mem::take(&mut self.s);
                    r = std::mem::take(&mut self.r);
                    match polled {
                        Ok(None) => check_at = self.next_check(),
                        Ok(Some(stop)) => {
                            if at + 1 == pc {
                                count = count.saturating_sub(1);
                            }
                            pc = at;
                            entry = pc;
                            save!();
                            return Ok(stop);
                        }
                        Err(err) => {
                            save!();
                            return Err(err);
                        }
                    }
                }
            };
        }
        // A two-way branch: to `k.then` (low half) or `k.else` (high half).
        macro_rules! branch {
            ($cond:expr, $targets:expr) => {{
                pc = if $cond {
                    $targets as u32
                } else {
                    ($targets >> 32) as u32
                } as usize;
                entry = pc;
            }};
        }
        macro_rules! col {
            ($reg:expr) => {{
                let base = sb + $reg as usize;
                color_of(s[base], s[base + 1])
            }};
        }
        macro_rules! set_col {
            ($reg:expr, $c:expr) => {{
                let base = sb + $reg as usize;
                let (lo, hi) = color_slots($c);
                s[base] = lo;
                s[base + 1] = hi;
            }};
        }
        macro_rules! f {
            ($reg:expr) => {
                f64::from_bits(s[sb + $reg as usize])
            };
        }
        macro_rules! i {
            ($reg:expr) => {
                s[sb + $reg as usize] as i64
            };
        }

        loop {
            if DEBUG {
                if !first {
                    if let Some(stop) = self.debug_check(func, pc as u32) {
                        save!();
                        return Ok(stop);
                    }
                }
                first = false;
            }
            let ins = code[pc];
            pc += 1;
            let (a, b, c) = (ins.a as usize, ins.b as usize, ins.c as usize);
            match ins.op {
                Op::Nop => {}
                Op::Const => s[sb + a] = ins.k,
                Op::Const2 => {
                    let rgba = (ins.k as u32).to_le_bytes();
                    set_col!(
                        a,
                        [
                            from_u8(rgba[0]),
                            from_u8(rgba[1]),
                            from_u8(rgba[2]),
                            from_u8(rgba[3])
                        ]
                    );
                }
                Op::Mov => s[sb + a] = s[sb + b],
                Op::Mov2 => {
                    s[sb + a] = s[sb + b];
                    s[sb + a + 1] = s[sb + b + 1];
                }
                Op::MovR => r[rb + a] = r[rb + b],
                Op::AddI => s[sb + a] = i!(b).wrapping_add(i!(c)) as u64,
                Op::SubI => s[sb + a] = i!(b).wrapping_sub(i!(c)) as u64,
                Op::MulI => s[sb + a] = i!(b).wrapping_mul(i!(c)) as u64,
                Op::DivI => {
                    let divisor = i!(c);
                    if divisor == 0 {
                        fail!(pc - 1, "division by zero");
                    }
                    s[sb + a] = i!(b).wrapping_div(divisor) as u64;
                }
                Op::RemI => {
                    let divisor = i!(c);
                    if divisor == 0 {
                        fail!(pc - 1, "remainder by zero");
                    }
                    s[sb + a] = i!(b).wrapping_rem(divisor) as u64;
                }
                Op::NegI => s[sb + a] = i!(b).wrapping_neg() as u64,
                Op::AddIK => s[sb + a] = i!(b).wrapping_add(ins.k as i64) as u64,
                Op::MulIK => s[sb + a] = i!(b).wrapping_mul(ins.k as i64) as u64,
                Op::DivIK => s[sb + a] = i!(b).wrapping_div(ins.k as i64) as u64,
                Op::RemIK => s[sb + a] = i!(b).wrapping_rem(ins.k as i64) as u64,
                Op::AddFK => s[sb + a] = (f!(b) + f64::from_bits(ins.k)).to_bits(),
                Op::SubFK => s[sb + a] = (f!(b) - f64::from_bits(ins.k)).to_bits(),
                Op::RSubFK => s[sb + a] = (f64::from_bits(ins.k) - f!(b)).to_bits(),
                Op::MulFK => s[sb + a] = (f!(b) * f64::from_bits(ins.k)).to_bits(),
                Op::DivFK => s[sb + a] = (f!(b) / f64::from_bits(ins.k)).to_bits(),
                Op::MulCFK => {
                    let (x, k) = (col!(b), f64::from_bits(ins.k) as f32);
                    set_col!(a, [x[0] * k, x[1] * k, x[2] * k, x[3] * k]);
                }
                Op::DivCFK => {
                    let (x, k) = (col!(b), f64::from_bits(ins.k) as f32);
                    set_col!(a, [x[0] / k, x[1] / k, x[2] / k, x[3] / k]);
                }
                Op::AddF => s[sb + a] = (f!(b) + f!(c)).to_bits(),
                Op::SubF => s[sb + a] = (f!(b) - f!(c)).to_bits(),
                Op::MulF => s[sb + a] = (f!(b) * f!(c)).to_bits(),
                Op::DivF => s[sb + a] = (f!(b) / f!(c)).to_bits(),
                Op::RemF => s[sb + a] = (f!(b) % f!(c)).to_bits(),
                Op::NegF => s[sb + a] = (-f!(b)).to_bits(),
                Op::AddC => {
                    let (x, y) = (col!(b), col!(c));
                    set_col!(a, [x[0] + y[0], x[1] + y[1], x[2] + y[2], x[3] + y[3]]);
                }
                Op::SubC => {
                    let (x, y) = (col!(b), col!(c));
                    set_col!(a, [x[0] - y[0], x[1] - y[1], x[2] - y[2], x[3] - y[3]]);
                }
                Op::MulC => {
                    let (x, y) = (col!(b), col!(c));
                    set_col!(a, [x[0] * y[0], x[1] * y[1], x[2] * y[2], x[3] * y[3]]);
                }
                Op::MulCF => {
                    let (x, k) = (col!(b), f!(c) as f32);
                    set_col!(a, [x[0] * k, x[1] * k, x[2] * k, x[3] * k]);
                }
                Op::DivCF => {
                    let (x, k) = (col!(b), f!(c) as f32);
                    set_col!(a, [x[0] / k, x[1] / k, x[2] / k, x[3] / k]);
                }
                Op::NegC => {
                    let x = col!(b);
                    set_col!(a, [-x[0], -x[1], -x[2], -x[3]]);
                }
                Op::EqI => s[sb + a] = (s[sb + b] == s[sb + c]) as u64,
                Op::NeI => s[sb + a] = (s[sb + b] != s[sb + c]) as u64,
                Op::LtI => s[sb + a] = (i!(b) < i!(c)) as u64,
                Op::LeI => s[sb + a] = (i!(b) <= i!(c)) as u64,
                Op::EqF => s[sb + a] = (f!(b) == f!(c)) as u64,
                Op::NeF => s[sb + a] = (f!(b) != f!(c)) as u64,
                Op::LtF => s[sb + a] = (f!(b) < f!(c)) as u64,
                Op::LeF => s[sb + a] = (f!(b) <= f!(c)) as u64,
                Op::EqC => s[sb + a] = (col!(b) == col!(c)) as u64,
                Op::NeC => s[sb + a] = (col!(b) != col!(c)) as u64,
                Op::Not => s[sb + a] = (s[sb + b] == 0) as u64,
                Op::Jmp => {
                    safe_point!(pc - 1);
                    pc = ins.k as usize;
                    entry = pc;
                }
                Op::Br => {
                    safe_point!(pc - 1);
                    branch!(s[sb + a] != 0, ins.k);
                }
                Op::BrLtI => {
                    safe_point!(pc - 1);
                    branch!(i!(a) < i!(b), ins.k);
                }
                Op::BrLtF => {
                    safe_point!(pc - 1);
                    branch!(f!(a) < f!(b), ins.k);
                }
                Op::BrLtIK => {
                    safe_point!(pc - 1);
                    branch!(i!(a) < (c as u16 as i16) as i64, ins.k);
                }
                Op::ForStepK => {
                    safe_point!(pc - 1);
                    let next = i!(a).wrapping_add(1);
                    s[sb + a] = next as u64;
                    branch!(next < (c as u16 as i16) as i64, ins.k);
                }
                Op::ForStep => {
                    safe_point!(pc - 1);
                    let next = i!(a).wrapping_add(1);
                    s[sb + a] = next as u64;
                    branch!(next < i!(b), ins.k);
                }
                Op::Call | Op::CallV => {
                    safe_point!(pc - 1);
                    let (callee, parent_env) = if ins.op == Op::Call {
                        (ins.k as u32, ChunkId::NIL)
                    } else {
                        let clo = r[rb + c];
                        let chunk = store_err!(pc - 1, self.store.try_get(clo));
                        let fid = chunk.link(0).unwrap_or(ChunkId::NIL);
                        let parent = chunk.link(1).unwrap_or(ChunkId::NIL);
                        let Some(idx) = loaded.func_of_chunk.get(&fid).copied() else {
                            fail!(
                                pc - 1,
                                format!("closure {clo} links to unknown function {fid}")
                            );
                        };
                        (idx, parent)
                    };
                    if self.frames.len() >= self.limits.depth {
                        fail!(
                            pc - 1,
                            format!(
                                "recursion too deep: more than {} nested calls",
                                self.limits.depth
                            )
                        );
                    }
                    let callee_fn = &loaded.funcs[callee as usize];
                    let nsb = sb + a;
                    let nrb = rb + b;
                    if s.len() < nsb + callee_fn.nregs as usize + 2 {
                        s.resize(nsb + callee_fn.nregs as usize + 2, 0);
                    }
                    if r.len() < nrb + callee_fn.nrefs as usize + 1 {
                        r.resize(nrb + callee_fn.nrefs as usize + 1, ChunkId::NIL);
                    }
                    if let Some(frame) = self.frames.last_mut() {
                        frame.pc = pc as u32;
                    }
                    let new_env = if callee_fn.env_slots > 0 {
                        self.s = std::mem::take(&mut s);
                        self.r = std::mem::take(&mut r);
                        let made = self.new_env(callee, parent_env);
                        s = std::mem::take(&mut self.s);
                        r = std::mem::take(&mut self.r);
                        match made {
                            Ok(id) => id,
                            Err(err) => {
                                save!();
                                return Err(err);
                            }
                        }
                    } else {
                        parent_env
                    };
                    self.frames.push(Frame {
                        func: callee,
                        pc: 0,
                        sbase: nsb as u32,
                        rbase: nrb as u32,
                        env: new_env,
                    });
                    func = callee;
                    lf = callee_fn;
                    code = &lf.code;
                    pc = 0;
                    entry = 0;
                    sb = nsb;
                    rb = nrb;
                    env = new_env;
                }
                Op::Ret | Op::Ret2 | Op::RetR | Op::RetU => {
                    count = count.saturating_add((pc - entry) as u64);
                    match ins.op {
                        Op::Ret => s[sb] = s[sb + a],
                        Op::Ret2 => {
                            let (lo, hi) = (s[sb + a], s[sb + a + 1]);
                            s[sb] = lo;
                            s[sb + 1] = hi;
                        }
                        Op::RetR => r[rb] = r[rb + a],
                        _ => {}
                    }
                    self.frames.pop();
                    if self.frames.is_empty() && self.job.is_some() {
                        // A filter over a region: keep the pixel and go on with the next one
                        // without leaving the loop.
                        let next = store_err!(pc - 1, self.next_pixel(&mut s, &mut r));
                        if let Some(next) = next {
                            self.frames.push(next);
                            func = next.func;
                            lf = &loaded.funcs[func as usize];
                            code = &lf.code;
                            pc = 0;
                            entry = 0;
                            sb = 0;
                            rb = 0;
                            env = ChunkId::NIL;
                            safe_point!(pc);
                            continue;
                        }
                    }
                    let Some(caller) = self.frames.last().copied() else {
                        let value = match ins.op {
                            Op::RetR => {
                                let ty = self.result_type.clone();
                                self.ref_value(&ty, r[rb])
                            }
                            Op::RetU => Value::Unit,
                            _ => Value::from_slots(&self.result_type, &s[sb..]),
                        };
                        self.result = Some(value.clone());
                        self.count = count;
                        self.s = std::mem::take(&mut s);
                        self.r = std::mem::take(&mut r);
                        self.flush_line();
                        return Ok(Stop::Finished(value));
                    };
                    func = caller.func;
                    lf = &loaded.funcs[func as usize];
                    code = &lf.code;
                    pc = caller.pc as usize;
                    entry = pc;
                    sb = caller.sbase as usize;
                    rb = caller.rbase as usize;
                    env = caller.env;
                    safe_point!(pc);
                }
                Op::Rgb => set_col!(a, [f!(b) as f32, f!(b + 1) as f32, f!(b + 2) as f32, 1.0]),
                Op::Rgba => set_col!(
                    a,
                    [
                        f!(b) as f32,
                        f!(b + 1) as f32,
                        f!(b + 2) as f32,
                        f!(b + 3) as f32
                    ]
                ),
                Op::Chan => s[sb + a] = (col!(b)[c & 3] as f64).to_bits(),
                Op::At | Op::AtOff | Op::AtOffAcc => {
                    let img = r[rb + b];
                    let (x, y) = if ins.op == Op::At {
                        (i!(c), i!(c + 1))
                    } else {
                        let k = ins.k;
                        (
                            i!(k as u16).wrapping_add(i!((k >> 16) as u16)),
                            i!((k >> 32) as u16).wrapping_add(i!((k >> 48) as u16)),
                        )
                    };
                    let px = store_err!(pc - 1, self.pixel(img, x, y));
                    let px = [
                        from_u8(px[0]),
                        from_u8(px[1]),
                        from_u8(px[2]),
                        from_u8(px[3]),
                    ];
                    if ins.op == Op::AtOffAcc {
                        let sum = col!(a);
                        set_col!(
                            a,
                            [
                                sum[0] + px[0],
                                sum[1] + px[1],
                                sum[2] + px[2],
                                sum[3] + px[3]
                            ]
                        );
                    } else {
                        set_col!(a, px);
                    }
                }
                _ => {
                    if let Err(message) =
                        self.slow_op(ins, &mut s, &mut r, sb, rb, env, loaded.as_ref())
                    {
                        fail!(pc - 1, message);
                    }
                }
            }
        }
    }
    /// Pixel `(x, y)` of image `img`, edge-clamped, through the view of the last image
    /// read (a kernel reads one image over and over).
    #[inline]
    fn pixel(&mut self, img: ChunkId, x: i64, y: i64) -> Result<[u8; 4], StoreError> {
        if !matches!(&self.image, Some((id, _)) if *id == img) {
            self.image = Some((img, ImageView::open(&self.store, img)?));
        }
        match &mut self.image {
            Some((_, view)) => view.pixel(&self.store, x, y),
            None => Ok([0; 4]),
        }
    }

    /// The instructions that touch the store or print: out of the hot loop, so that
    /// the loop keeps its state in registers.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn slow_op(
        &mut self,
        ins: Instr,
        s: &mut [u64],
        r: &mut [ChunkId],
        sb: usize,
        rb: usize,
        env: ChunkId,
        loaded: &Loaded,
    ) -> Result<(), String> {
        let (a, b, c) = (ins.a as usize, ins.b as usize, ins.c as usize);
        macro_rules! se {
            ($res:expr) => {
                $res.map_err(|err| err.to_string())?
            };
        }
        macro_rules! i {
            ($reg:expr) => {
                s[sb + $reg as usize] as i64
            };
        }
        macro_rules! col {
            ($reg:expr) => {{
                let base = sb + $reg as usize;
                color_of(s[base], s[base + 1])
            }};
        }
        match ins.op {
            Op::Glob => s[sb + a] = self.globals.get(ins.k as usize).copied().unwrap_or(0),
            Op::Glob2 => {
                s[sb + a] = self.globals.get(ins.k as usize).copied().unwrap_or(0);
                s[sb + a + 1] = self.globals.get(ins.k as usize + 1).copied().unwrap_or(0);
            }
            Op::Str => {
                r[rb + a] = loaded
                    .ids
                    .strings
                    .get(ins.k as usize)
                    .copied()
                    .unwrap_or(ChunkId::NIL)
            }
            Op::ImgW | Op::ImgH => {
                let img = r[rb + b];
                let chunk = se!(self.store.try_get(img));
                let slot = if ins.op == Op::ImgW {
                    IMAGE_WIDTH
                } else {
                    IMAGE_WIDTH + 1
                };
                s[sb + a] = chunk.get(slot);
            }
            Op::Math => {
                let Some(op) = builtin_of_code(ins.k) else {
                    return Err("unknown builtin".into());
                };
                math(op, &mut s[sb..], a, b);
            }
            Op::Print | Op::PrintR => {
                let ty = loaded
                    .program
                    .types
                    .get(ins.k as usize)
                    .cloned()
                    .unwrap_or(Type::Unit);
                let value = if ins.op == Op::Print {
                    Value::from_slots(&ty, &s[sb + a..])
                } else {
                    self.ref_value(&ty, r[rb + a])
                };
                self.print_value(value);
            }
            Op::PrintEnd => {
                let line = std::mem::take(&mut self.line);
                if let Err(err) = writeln!(self.out, "{line}") {
                    return Err(if err.kind() == std::io::ErrorKind::BrokenPipe {
                        OUTPUT_CLOSED.into()
                    } else {
                        format!("cannot write the output: {err}")
                    });
                }
            }
            Op::NewArr => {
                let (len, width, link) = unpack_shape(ins.k);
                self.room_for(r, crate::chunk::array_chunk_count(len as u64, width as u64))?;
                let id = se!(array_new(&mut self.store, len as u64, width as u64, link));
                r[rb + a] = id;
                if self.store.data_len() >= self.gc_at {
                    self.check_chunks_with(r)?;
                }
            }
            Op::ArrGet | Op::ArrGet2 | Op::ArrGetR => {
                let arr = r[rb + b];
                let idx = i!(c);
                let element = u64::try_from(idx)
                    .map_err(|_| StoreError::OutOfBounds {
                        id: arr,
                        index: 0,
                        len: 0,
                    })
                    .and_then(|idx| array_element(&self.store, arr, idx));
                let [v0, v1] = match element {
                    Ok(values) => values,
                    Err(StoreError::OutOfBounds { .. }) => {
                        let len = se!(array_len(&self.store, arr));
                        return Err(format!(
                            "index {idx} out of range for an array of length {len}"
                        ));
                    }
                    Err(err) => return Err(err.to_string()),
                };
                match ins.op {
                    Op::ArrGet => s[sb + a] = v0,
                    Op::ArrGetR => r[rb + a] = ChunkId(v0),
                    _ => {
                        s[sb + a] = v0;
                        s[sb + a + 1] = v1;
                    }
                }
            }
            Op::ArrSet | Op::ArrSet2 | Op::ArrSetR => {
                let arr = r[rb + a];
                let idx = i!(b);
                let values = match ins.op {
                    Op::ArrSet => [s[sb + c], 0],
                    Op::ArrSetR => [r[rb + c].0, 0],
                    _ => [s[sb + c], s[sb + c + 1]],
                };
                let set = u64::try_from(idx)
                    .map_err(|_| StoreError::OutOfBounds {
                        id: arr,
                        index: 0,
                        len: 0,
                    })
                    .and_then(|idx| array_set_element(&mut self.store, arr, idx, values));
                match set {
                    Ok(()) => {}
                    Err(StoreError::OutOfBounds { .. }) => {
                        let len = se!(array_len(&self.store, arr));
                        return Err(format!(
                            "index {idx} out of range for an array of length {len}"
                        ));
                    }
                    Err(err) => return Err(err.to_string()),
                }
            }
            Op::ArrLen => {
                let len = se!(array_len(&self.store, r[rb + b]));
                s[sb + a] = len;
            }
            Op::ArrCopy => {
                let info = se!(array_info(&self.store, r[rb + b]));
                self.room_for(r, crate::chunk::array_chunk_count(info.len, info.width))?;
                let copy = se!(deep_copy(&mut self.store, r[rb + b]));
                r[rb + a] = copy;
            }
            Op::EnvGet | Op::EnvGetR => {
                let value = se!(self.env_get(env, b as u16, c as u16));
                if ins.op == Op::EnvGet {
                    s[sb + a] = value;
                } else {
                    r[rb + a] = ChunkId(value);
                }
            }
            Op::EnvGet2 => {
                let lo = se!(self.env_get(env, b as u16, c as u16));
                let hi = se!(self.env_get(env, b as u16, c as u16 + 1));
                s[sb + a] = lo;
                s[sb + a + 1] = hi;
            }
            Op::EnvSet => se!(self.env_set(env, a as u16, b as u16, s[sb + c], false)),
            Op::EnvSetR => se!(self.env_set(env, a as u16, b as u16, r[rb + c].0, true)),
            Op::EnvSet2 => {
                let (lo, hi) = (s[sb + c], s[sb + c + 1]);
                se!(self.env_set(env, a as u16, b as u16, lo, false));
                se!(self.env_set(env, a as u16, b as u16 + 1, hi, false));
            }
            Op::MkClo => {
                let fid = loaded
                    .ids
                    .functions
                    .get(ins.k as usize)
                    .copied()
                    .unwrap_or(ChunkId::NIL);
                let captured = if loaded
                    .program
                    .functions
                    .get(ins.k as usize)
                    .is_some_and(|f| f.is_closure)
                {
                    env
                } else {
                    ChunkId::NIL
                };
                let mut chunk = Chunk::new(Kind::Closure);
                chunk.set_link(0, fid);
                chunk.set_link(1, captured);
                r[rb + a] = self.store.alloc(chunk);
            }
            Op::Blank | Op::ImgNew => {
                let (w, h) = (i!(b), i!(b + 1));
                if !(0..=1 << 16).contains(&w) || !(0..=1 << 16).contains(&h) {
                    return Err(format!("image size {w}x{h} is out of range (0 to 65536)"));
                }
                let fill = if ins.op == Op::Blank {
                    let c = col!(b + 2);
                    [to_u8(c[0]), to_u8(c[1]), to_u8(c[2]), to_u8(c[3])]
                } else {
                    [0; 4]
                };
                let tiles = (w as u64).div_ceil(8) * (h as u64).div_ceil(8);
                if self.store.data_len() as u64 + tiles > self.limits.chunks as u64 {
                    return Err(format!(
                        "chunk quota exceeded: a {w}x{h} image needs {}, the limit is {}",
                        crate::diag::plural(tiles, "chunk"),
                        self.limits.chunks
                    ));
                }
                let pixels: Vec<u8> = fill
                    .iter()
                    .copied()
                    .cycle()
                    .take((w * h * 4) as usize)
                    .collect();
                let id = se!(image_from_rgba8(
                    &mut self.store,
                    w as u32,
                    h as u32,
                    &pixels
                ));
                r[rb + a] = id;
            }
            Op::ImgSet => {
                let img = r[rb + a];
                let (x, y) = (i!(b), i!(b + 1));
                let px = col!(c);
                se!(set_pixel(
                    &mut self.store,
                    img,
                    x,
                    y,
                    [to_u8(px[0]), to_u8(px[1]), to_u8(px[2]), to_u8(px[3])]
                ));
                if matches!(&self.image, Some((id, _)) if *id == img) {
                    self.image = None;
                }
            }
            _ => {
                return Err(format!(
                    "{} is not an instruction of the slow path",
                    ins.op.name()
                ))
            }
        }
        Ok(())
    }
}

/// Data slots per environment chunk (slot 0 links the parent, slot 31 the continuation).
pub const ENV_CAP: usize = 30;

fn scalar_slots(value: &Value, ty: &Type) -> Option<Vec<u64>> {
    Some(match (value, ty) {
        (Value::Int(v), Type::Int) => vec![*v as u64],
        (Value::Float(v), Type::Float) => vec![v.to_bits()],
        (Value::Int(v), Type::Float) => vec![(*v as f64).to_bits()],
        (Value::Bool(v), Type::Bool) => vec![*v as u64],
        (Value::Color(c), Type::Color) => {
            let (lo, hi) = color_slots(*c);
            vec![lo, hi]
        }
        _ => return None,
    })
}

/// Copies an array, and the arrays nested in it, so that the copy shares nothing mutable.
pub fn deep_copy(store: &mut Store, id: ChunkId) -> Result<ChunkId, StoreError> {
    deep_copy_within(store, id, 0)
}

/// Chop's types nest arrays a few levels deep; a deeper chain is a damaged (or looping)
/// chunk graph.
const MAX_ARRAY_NESTING: u32 = 64;

fn deep_copy_within(store: &mut Store, id: ChunkId, depth: u32) -> Result<ChunkId, StoreError> {
    if depth > MAX_ARRAY_NESTING {
        return Err(StoreError::Invalid(format!(
            "arrays nested more than {MAX_ARRAY_NESTING} deep under {id}"
        )));
    }
    let info = array_info(store, id)?;
    let copy = array_copy(store, id)?;
    if info.elem_is_link {
        for idx in 0..info.len {
            let elem = ChunkId(array_get_slot(store, copy, idx)?);
            if store
                .get(elem)
                .is_some_and(|chunk| chunk.kind == Kind::Array)
            {
                let inner = deep_copy_within(store, elem, depth + 1)?;
                array_set_slot(store, copy, idx, inner.0)?;
            }
        }
    }
    Ok(copy)
}

fn set_pixel(
    store: &mut Store,
    img: ChunkId,
    x: i64,
    y: i64,
    rgba: [u8; 4],
) -> Result<(), StoreError> {
    let root = store.try_get(img)?;
    let (w, h) = (
        root.get(IMAGE_WIDTH) as i64,
        root.get(IMAGE_WIDTH + 1) as i64,
    );
    if x < 0 || y < 0 || x >= w || y >= h {
        return Ok(());
    }
    let tiles = root
        .link(IMAGE_TILES)
        .ok_or(StoreError::Missing(ChunkId::NIL))?;
    let tiles_x = (w as u64).div_ceil(TILE_SIZE as u64);
    let tile_idx = (y as u64 / TILE_SIZE as u64) * tiles_x + x as u64 / TILE_SIZE as u64;
    let tile = ChunkId(array_get_slot(store, tiles, tile_idx)?);
    let chunk = store.get_mut(tile)?;
    set_tile_pixel(
        chunk,
        (x % TILE_SIZE as i64) as u32,
        (y % TILE_SIZE as i64) as u32,
        rgba,
    );
    Ok(())
}

/// Computes a pure builtin over a register window: arguments from `b`, result to `a`.
fn math(op: BuiltinOp, s: &mut [u64], a: usize, b: usize) {
    let f = |s: &[u64], idx: usize| f64::from_bits(s[b + idx]);
    let i = |s: &[u64], idx: usize| s[b + idx] as i64;
    let col = |s: &[u64], idx: usize| color_of(s[b + idx], s[b + idx + 1]);
    use BuiltinOp::*;
    let float = |value: f64| value.to_bits();
    let out: [u64; 2] = match op {
        Gray => {
            let v = f(s, 0) as f32;
            let (lo, hi) = color_slots([v, v, v, 1.0]);
            [lo, hi]
        }
        MixColor => {
            let (x, y, t) = (col(s, 0), col(s, 2), f(s, 4) as f32);
            let m = |i: usize| x[i] * (1.0 - t) + y[i] * t;
            let (lo, hi) = color_slots([m(0), m(1), m(2), m(3)]);
            [lo, hi]
        }
        ClampColor => {
            let (x, lo, hi) = (col(s, 0), f(s, 2) as f32, f(s, 3) as f32);
            let m = |i: usize| x[i].max(lo).min(hi);
            let (l, h) = color_slots([m(0), m(1), m(2), m(3)]);
            [l, h]
        }
        MixFloat => [float(f(s, 0) * (1.0 - f(s, 2)) + f(s, 1) * f(s, 2)), 0],
        ClampFloat => [float(f(s, 0).max(f(s, 1)).min(f(s, 2))), 0],
        ClampInt => [i(s, 0).max(i(s, 1)).min(i(s, 2)) as u64, 0],
        MinFloat => [float(f(s, 0).min(f(s, 1))), 0],
        MinInt => [i(s, 0).min(i(s, 1)) as u64, 0],
        MaxFloat => [float(f(s, 0).max(f(s, 1))), 0],
        MaxInt => [i(s, 0).max(i(s, 1)) as u64, 0],
        AbsFloat => [float(f(s, 0).abs()), 0],
        AbsInt => [i(s, 0).wrapping_abs() as u64, 0],
        Sqrt => [float(f(s, 0).sqrt()), 0],
        Pow => [float(f(s, 0).powf(f(s, 1))), 0],
        Exp => [float(f(s, 0).exp()), 0],
        Log => [float(f(s, 0).ln()), 0],
        Floor => [float(f(s, 0).floor()), 0],
        Ceil => [float(f(s, 0).ceil()), 0],
        Round => [float(f(s, 0).round()), 0],
        Fract => [float(f(s, 0) - f(s, 0).floor()), 0],
        Sin => [float(f(s, 0).sin()), 0],
        Cos => [float(f(s, 0).cos()), 0],
        Atan2 => [float(f(s, 0).atan2(f(s, 1))), 0],
        Smoothstep => {
            let (e0, e1, x) = (f(s, 0), f(s, 1), f(s, 2));
            let t = if e1 == e0 {
                if x < e0 {
                    0.0
                } else {
                    1.0
                }
            } else {
                ((x - e0) / (e1 - e0)).clamp(0.0, 1.0)
            };
            [float(t * t * (3.0 - 2.0 * t)), 0]
        }
        Luma => {
            let c = col(s, 0);
            [
                float(0.299 * c[0] as f64 + 0.587 * c[1] as f64 + 0.114 * c[2] as f64),
                0,
            ]
        }
        ToFloat => [float(i(s, 0) as f64), 0],
        ToInt => [(f(s, 0) as i64) as u64, 0],
        Print | Rgb | Rgba | Len | Blank | Render => [0, 0],
    };
    s[a] = out[0];
    if crate::compile::ir::math_widths(op).1 == 2 {
        s[a + 1] = out[1];
    }
}
