//! The thread's heap: environment chunks, garbage collection under the chunk quota,
//! fetching the chunks the store lacks ([`Fetch`]), and deep copies of arrays.

use super::*;

/// Why a chunk could not be fetched (the connection to the node that holds it was
/// lost, say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchError(pub String);

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the chunks of a thread that is not all here come from: a node that received a
/// thread fetches what it lacks from the thread's last home. The VM knows no network:
/// it calls this (on its own thread, blocking) when an instruction needs a chunk the
/// store does not hold, inserts what comes back, and runs the instruction again.
pub trait Fetch: Send {
    /// Chunk `id`, and any others the source chooses to send with it (prefetch).
    fn fetch(&mut self, id: ChunkId) -> Result<Vec<(ChunkId, Chunk)>, FetchError>;
}

impl Vm {
    /// Lets the thread fetch the chunks it needs and does not hold (see [`Fetch`]):
    /// an instruction that finds a chunk missing stops before it changes anything, the
    /// chunk is fetched and inserted, and the instruction runs again.
    pub fn set_fetch(&mut self, fetch: Box<dyn Fetch>) {
        self.fetch = Some(fetch);
    }

    /// Takes the fetcher back (a thread that is all here again, or moves on).
    pub fn take_fetch(&mut self) -> Option<Box<dyn Fetch>> {
        self.fetch.take()
    }

    /// Fetches every chunk reachable from `roots` that the store lacks (the output of a
    /// thread that ran partly elsewhere, before it is read); returns how many came.
    pub fn fetch_reachable(&mut self, roots: &[ChunkId]) -> Result<u64, FetchError> {
        let before = self.fetched.0;
        loop {
            let (_, missing) = self.store.reachable_partial(roots);
            if missing.is_empty() {
                return Ok(self.fetched.0 - before);
            }
            for id in missing {
                if !self.store.contains(id) {
                    self.fetch_chunk(id)?;
                }
            }
        }
    }

    /// Takes in chunks that come back from a node (a thread's result, the chunks it made
    /// or changed there): each replaces any chunk of its id.
    pub fn absorb(&mut self, chunks: impl IntoIterator<Item = (ChunkId, Chunk)>) {
        for (id, chunk) in chunks {
            self.store.insert(id, chunk);
        }
    }

    /// Chunks fetched so far, and the fetches (round trips) that brought them.
    pub fn fetched(&self) -> (u64, u64) {
        self.fetched
    }

    pub(super) fn new_env(&mut self, func: u32, parent: ChunkId) -> ChunkId {
        let slots = self.loaded.funcs[func as usize].env_slots;
        if slots == 0 {
            return parent;
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
        next
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

    pub(super) fn env_get(&self, env: ChunkId, depth: u16, slot: u16) -> Result<u64, StoreError> {
        let (id, pos) = self.env_slot(env, depth, slot)?;
        Ok(self.store.try_get(id)?.get(pos))
    }

    pub(crate) fn env_set(
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
        if let Some((id, ..)) = &self.image {
            roots.push(*id);
        }
        if let Some(job) = &self.job {
            roots.extend(job.roots());
        }
        if let Some(Value::Image { id, .. } | Value::Closure { id, .. }) = &self.result {
            roots.push(*id);
        }
        self.collections += 1;
        self.store.collect(&roots)
    }

    pub(super) fn check_chunks(&mut self, pc: u32) -> Result<(), RuntimeError> {
        let regs = std::mem::take(&mut self.r);
        let checked = self.check_chunks_with(&regs);
        self.r = regs;
        checked.map_err(|message| self.error_at(pc, message))
    }

    /// Makes sure `needed` more chunks fit the quota (collecting garbage first if they
    /// would not), before anything is allocated.
    pub(super) fn room_for(&mut self, regs: &[ChunkId], needed: Option<u64>) -> Result<(), Fault> {
        let quota = self.limits.chunks as u64;
        let needed = needed.unwrap_or(u64::MAX);
        if (self.store.data_len() as u64).saturating_add(needed) <= quota {
            return Ok(());
        }
        self.collect_garbage_with(regs);
        let live = self.store.data_len() as u64;
        if live.saturating_add(needed) > quota {
            return Err(Fault::new(
                ErrorKind::Quota,
                format!(
                    "chunk quota exceeded: the thread holds {}, needs {} more, and the limit is {quota}",
                    crate::diag::plural(live, "chunk"),
                    if needed == u64::MAX { "too many".to_string() } else { needed.to_string() }
                ),
            ));
        }
        Ok(())
    }

    /// Collects garbage when the store has grown, then enforces the chunk quota.
    pub(super) fn check_chunks_with(&mut self, regs: &[ChunkId]) -> Result<(), Fault> {
        // A job's output so far is live: only the rest of the store's growth counts.
        let held = self.job.as_ref().map_or(0, |job| job.held);
        let len = self.store.data_len();
        if len.saturating_sub(held) < self.gc_at && len <= self.limits.chunks {
            return Ok(());
        }
        self.collect_garbage_with(regs);
        let live = self.store.data_len();
        if live > self.limits.chunks {
            return Err(Fault::new(
                ErrorKind::Quota,
                format!(
                    "chunk quota exceeded: the thread holds {}, the limit is {}",
                    crate::diag::plural(live as u64, "chunk"),
                    self.limits.chunks
                ),
            ));
        }
        self.collect_after(live.saturating_sub(held));
        Ok(())
    }

    /// The next collection comes once the store has grown to twice `live` chunks (those
    /// that count: not a job's output), at least [`GC_FLOOR`], at most past the quota.
    pub(crate) fn collect_after(&mut self, live: usize) {
        self.gc_at = live
            .saturating_mul(2)
            .max(self.gc_floor)
            .min(self.limits.chunks.saturating_add(1));
    }

    /// Fetches chunk `id` (and what comes with it) into the store.
    pub(super) fn fetch_chunk(&mut self, id: ChunkId) -> Result<(), FetchError> {
        let fetch = self
            .fetch
            .as_mut()
            .ok_or_else(|| FetchError("no node to fetch it from".into()))?;
        let chunks = fetch.fetch(id)?;
        if !chunks.iter().any(|(got, _)| *got == id) {
            return Err(FetchError("the node that had it does not".into()));
        }
        self.fetched.1 += 1;
        for (got, chunk) in chunks {
            if self.store.insert(got, chunk) {
                self.fetched.0 += 1;
            }
        }
        Ok(())
    }
}

/// Data chunks a store holds before its first collection, and the least it holds
/// before the next one: collecting a small store costs more than it frees.
pub(crate) const GC_FLOOR: usize = 1 << 16;

/// Data slots per environment chunk (slot 0 links the parent, slot 31 the continuation).
pub const ENV_CAP: usize = 30;

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
