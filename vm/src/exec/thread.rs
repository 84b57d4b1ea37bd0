//! A thread's whole state as chunks, and back.
//!
//! ```text
//! Thread [0] -> Program  [1] -> top Frame  [2] instructions executed  [3] status
//!        [4] -> globals (Regs)  [5] -> pending output line (Text)
//!        [6] instruction budget  [7] chunk quota  [8] depth limit
//! Frame  [0] -> caller Frame  [1] -> Function  [2] -> Block (the PC's block)
//!        [3] instruction index in that block  [4] -> environment
//!        [5] #scalar registers  [6] #reference registers
//!        [7] -> scalar registers (Regs)  [8] -> reference registers (Regs, links)
//!        [9] scalar window base  [10] reference window base
//! Regs   [0..=30] values  [31] -> continuation
//! ```
//!
//! At a safe point [`Vm::materialize`] writes this graph; everything else the
//! thread holds (arrays, closures, environments, images, code) is chunks
//! already. [`Vm::snapshot`] encodes the graph reachable from the Thread
//! chunk; [`Vm::from_snapshot`] decodes it into a fresh store and resumes.

use super::vm::{Frame, Limits, Loaded, Vm};
use crate::chunk::{
    decode_set, encode_set, read_text, text_chunks, Chunk, ChunkId, ChunkSet, DecodeError, Kind,
    NodeId, Store, StoreError, SLOTS,
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
        self.store.alloc(thread)
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
        let thread = chunk_of(&store, root, Kind::Thread, "thread")?.clone();
        let program_root = thread
            .link(0)
            .ok_or_else(|| malformed(root, "thread without a program"))?;
        let (program, ids) = load_program(&store, program_root).map_err(ThreadError::Code)?;
        let loaded = Arc::new(Loaded::from_parts(program, ids));
        let mut vm = Vm::with_store(loaded.clone(), store);
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
        Ok(vm)
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
