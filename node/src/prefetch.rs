//! The prefetch policy of a migration: which chunks go to the node with the
//! `Migrate` (up front) and which go with each answer to its `Fetch`es.
//!
//! * [`Prefetch::OnDemand`]: the Thread chunk up front, and exactly the
//!   chunks asked for afterwards.
//! * [`Prefetch::Eager`]: everything reachable from the Thread chunk (code
//!   included) up front, as much as one message holds; exactly what is asked
//!   afterwards.
//! * [`Prefetch::Graph`]: up front, the chunks the first safe points need: a
//!   breadth-first walk from the Thread chunk that does not descend into
//!   code chunks, Tile chunks (except those of the tile row being made,
//!   which restoring a job reads), nor a Job's finished tiles (slot 9) and
//!   result (slot 11). With a fetch answer: for a code chunk, the whole code
//!   closure reachable from it (a node holds a program's code all or
//!   nothing); for a Tile, it and the next [`TILE_RUN`] tiles of the same
//!   image in scan order; for anything else, the chunk and its non-code,
//!   non-tile subgraph, at most [`SUBGRAPH`] chunks.
//!
//! A [`Policy`] remembers every id it sent (and the ids the node is known to
//! hold already), so no chunk crosses the wire twice in one migration.

use std::collections::VecDeque;

use chunkvm::chunk::{
    array_slots, Chunk, ChunkId, IdMap, IdSet, Kind, Store, ENTRY_LEN, IMAGE_TILES, SLOTS,
};

use crate::wire::ChunkList;

/// Tiles sent after an asked tile, in the image's scan order (`Graph`).
pub const TILE_RUN: usize = 64;

/// The most chunks of a subgraph sent with an asked chunk (`Graph`).
pub const SUBGRAPH: usize = 256;

/// Slot of the Thread chunk linking its Job.
const THREAD_JOB: usize = 9;
/// Slot of a segment of finished tiles holding its count.
const SEGMENT_COUNT: usize = 30;
/// The Job slot linking its finished tiles.
const JOB_FINISHED: usize = 9;
/// The Job slot linking the tile row being made.
const JOB_ROW: usize = 10;
/// The Job slot linking its result image.
const JOB_RESULT: usize = 11;
/// The Regs slot linking the next chunk of a register chain.
const REGS_NEXT: usize = SLOTS - 1;

/// Which chunks travel before they are asked for (see the module
/// documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Prefetch {
    /// Only the Thread chunk up front; only what is asked afterwards.
    OnDemand,
    /// What the first safe points need up front; closures, tile runs and
    /// bounded subgraphs with the answers.
    #[default]
    Graph,
    /// Everything reachable up front.
    Eager,
}

impl Prefetch {
    /// The policy's name, as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Prefetch::OnDemand => "on-demand",
            Prefetch::Graph => "graph",
            Prefetch::Eager => "eager",
        }
    }

    /// The policy named `name` (`on-demand`, `graph`, `eager`).
    pub fn from_name(name: &str) -> Option<Prefetch> {
        match name {
            "on-demand" | "ondemand" => Some(Prefetch::OnDemand),
            "graph" => Some(Prefetch::Graph),
            "eager" => Some(Prefetch::Eager),
            _ => None,
        }
    }
}

/// What answers one `Fetch`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The chunks: those asked for first, then those sent along.
    pub chunks: ChunkList,
    /// How many of them were asked for.
    pub asked: usize,
}

impl Answer {
    /// How many were sent beyond what was asked (prefetched).
    pub fn extra(&self) -> usize {
        self.chunks.len() - self.asked
    }
}

/// One migration's policy: what to send, and what was sent.
#[derive(Debug)]
pub struct Policy {
    prefetch: Prefetch,
    root: ChunkId,
    /// Ids sent in this migration, or held by the node already.
    sent: IdSet,
    /// The most chunks one message may carry.
    max_chunks: usize,
    /// Each tile's image and position (built on the first tile asked for).
    tiles: Option<IdMap<(usize, usize)>>,
    /// The tile ids of each image of the index, in scan order.
    images: Vec<Vec<ChunkId>>,
}

impl Policy {
    /// A policy for migrating the thread whose Thread chunk is `root`;
    /// `held` are chunks the node holds already (code it received earlier),
    /// never sent; `max_message` bounds each message's chunks.
    pub fn new(prefetch: Prefetch, root: ChunkId, held: IdSet, max_message: usize) -> Policy {
        Policy {
            prefetch,
            root,
            sent: held,
            max_chunks: (max_message.saturating_sub(1024) / ENTRY_LEN).max(1),
            tiles: None,
            images: Vec::new(),
        }
    }

    /// The policy's kind.
    pub fn prefetch(&self) -> Prefetch {
        self.prefetch
    }

    /// Whether `id` was sent (or is held by the node).
    pub fn was_sent(&self, id: ChunkId) -> bool {
        self.sent.contains(&id)
    }

    /// The chunks to send with the `Migrate`, the Thread chunk first; fails
    /// when `store` lacks the Thread chunk.
    pub fn ahead(&mut self, store: &Store) -> Result<ChunkList, String> {
        let root = self.root;
        if !store.contains(root) {
            return Err(format!("the thread's root {root} is not in the store"));
        }
        let ids = match self.prefetch {
            Prefetch::OnDemand => vec![root],
            Prefetch::Eager => store.reachable_partial(&[root]).0,
            Prefetch::Graph => self.first_safe_points(store),
        };
        let mut out = Vec::new();
        for id in ids {
            if out.len() >= self.max_chunks {
                break;
            }
            self.take(store, id, &mut out);
        }
        Ok(out)
    }

    /// The answer to a `Fetch` of `ids`; fails when `store` lacks one of
    /// them (the message names it).
    pub fn answer(&mut self, store: &Store, ids: &[ChunkId]) -> Result<Answer, String> {
        let mut chunks = Vec::with_capacity(ids.len());
        for &id in ids {
            let chunk = store
                .get(id)
                .ok_or_else(|| format!("chunk {id} is not on the client"))?;
            // Asked for: sent even if it went before (the node lost it).
            self.sent.insert(id);
            chunks.push((id, chunk.clone()));
        }
        let asked = chunks.len();
        if self.prefetch == Prefetch::Graph {
            for &id in ids {
                let more = if id.is_code() {
                    self.code_closure(store, id)
                } else if store.get(id).is_some_and(|c| c.kind == Kind::Tile) {
                    self.tile_run(store, id)
                } else {
                    self.subgraph(store, id)
                };
                for more in more {
                    if chunks.len() >= self.max_chunks {
                        break;
                    }
                    self.take(store, more, &mut chunks);
                }
            }
        }
        Ok(Answer { chunks, asked })
    }

    /// Adds chunk `id` to `out` unless it was sent or is not in `store`.
    fn take(&mut self, store: &Store, id: ChunkId, out: &mut ChunkList) {
        if self.sent.contains(&id) {
            return;
        }
        if let Some(chunk) = store.get(id) {
            self.sent.insert(id);
            out.push((id, chunk.clone()));
        }
    }

    /// The `Graph` walk from the Thread chunk (see the module
    /// documentation), breadth-first, the root first.
    fn first_safe_points(&self, store: &Store) -> Vec<ChunkId> {
        let mut row_regs = IdSet::default();
        walk(
            store,
            self.root,
            usize::MAX,
            |id, chunk, slot, link, target| {
                if link.is_code() {
                    return false;
                }
                if chunk.kind == Kind::Job {
                    if slot == JOB_ROW {
                        row_regs.insert(link);
                    }
                    return slot != JOB_FINISHED && slot != JOB_RESULT;
                }
                if row_regs.contains(&id) && chunk.kind == Kind::Regs {
                    if slot == REGS_NEXT {
                        row_regs.insert(link);
                    }
                    return true;
                }
                target.is_none_or(|t| t.kind != Kind::Tile)
            },
        )
    }

    /// The code chunks reachable from `id` through code links, not sent.
    fn code_closure(&self, store: &Store, id: ChunkId) -> Vec<ChunkId> {
        walk(store, id, usize::MAX, |_, _, _, link, _| link.is_code())
            .into_iter()
            .filter(|id| !self.sent.contains(id))
            .collect()
    }

    /// The next [`TILE_RUN`] tiles after tile `id` in its image's scan
    /// order, not sent.
    fn tile_run(&mut self, store: &Store, id: ChunkId) -> Vec<ChunkId> {
        if self.tiles.is_none() {
            self.index_tiles(store);
        }
        let Some(&(image, pos)) = self.tiles.as_ref().and_then(|index| index.get(&id)) else {
            return Vec::new();
        };
        let tiles = &self.images[image];
        tiles
            .iter()
            .skip(pos + 1)
            .take(TILE_RUN * 4)
            .filter(|tile| !self.sent.contains(tile))
            .take(TILE_RUN)
            .copied()
            .collect()
    }

    /// Indexes the tiles of every image reachable from the root.
    fn index_tiles(&mut self, store: &Store) {
        let mut index = IdMap::default();
        let (reachable, _) = store.reachable_partial(&[self.root]);
        for image in reachable {
            let Some(chunk) = store.get(image) else {
                continue;
            };
            if chunk.kind != Kind::Image {
                continue;
            }
            let Some(array) = chunk.link(IMAGE_TILES) else {
                continue;
            };
            let Ok(slots) = array_slots(store, array) else {
                continue;
            };
            let n = self.images.len();
            let tiles: Vec<ChunkId> = slots.into_iter().map(ChunkId).collect();
            for (pos, tile) in tiles.iter().enumerate() {
                index.entry(*tile).or_insert((n, pos));
            }
            self.images.push(tiles);
        }
        // The tiles the thread's job made here (its finished rows of tiles, in a list of
        // segments, newest first) are in no image yet: they are one more scan order.
        let finished = store
            .get(self.root)
            .and_then(|thread| thread.link(THREAD_JOB))
            .and_then(|job| store.get(job).filter(|c| c.kind == Kind::Job))
            .and_then(|job| job.link(JOB_FINISHED));
        let mut segments = Vec::new();
        let mut next = finished;
        while let Some(id) = next {
            let Some(chunk) = store.get(id).filter(|c| c.kind == Kind::Regs) else {
                break;
            };
            let count = (chunk.get(SEGMENT_COUNT) as usize).min(SEGMENT_COUNT);
            segments.push(
                (0..count)
                    .filter_map(|pos| chunk.link(pos))
                    .collect::<Vec<_>>(),
            );
            next = chunk.link(REGS_NEXT);
            if segments.len() > 1 << 22 {
                break;
            }
        }
        let tiles: Vec<ChunkId> = segments.into_iter().rev().flatten().collect();
        if !tiles.is_empty() {
            let n = self.images.len();
            for (pos, tile) in tiles.iter().enumerate() {
                index.entry(*tile).or_insert((n, pos));
            }
            self.images.push(tiles);
        }
        self.tiles = Some(index);
    }

    /// Chunk `id`'s non-code, non-tile subgraph (a Job's finished tiles and
    /// result left out), at most [`SUBGRAPH`] chunks not sent.
    fn subgraph(&self, store: &Store, id: ChunkId) -> Vec<ChunkId> {
        let sent = &self.sent;
        let mut found = 0usize;
        walk(store, id, SUBGRAPH * 4, |_, chunk, slot, link, target| {
            if link.is_code() || found >= SUBGRAPH {
                return false;
            }
            if chunk.kind == Kind::Job && (slot == JOB_FINISHED || slot == JOB_RESULT) {
                return false;
            }
            let follow = target.is_some_and(|t| t.kind != Kind::Tile);
            if follow && !sent.contains(&link) {
                found += 1;
            }
            follow
        })
        .into_iter()
        .filter(|id| !sent.contains(id))
        .take(SUBGRAPH)
        .collect()
    }
}

/// A breadth-first walk of the chunks of `store` from `root` (included),
/// following a link when `follow(id, chunk, slot, link, target)` says so
/// (`target` is the linked chunk, `None` when `store` lacks it); visits at
/// most `limit` chunks.
fn walk(
    store: &Store,
    root: ChunkId,
    limit: usize,
    mut follow: impl FnMut(ChunkId, &Chunk, usize, ChunkId, Option<&Chunk>) -> bool,
) -> Vec<ChunkId> {
    let mut seen = IdSet::default();
    let mut queue = VecDeque::new();
    let mut out = Vec::new();
    if store.contains(root) {
        seen.insert(root);
        queue.push_back(root);
    }
    while let Some(id) = queue.pop_front() {
        if out.len() >= limit {
            break;
        }
        let Some(chunk) = store.get(id) else {
            continue;
        };
        out.push(id);
        for slot in 0..SLOTS {
            let Some(link) = chunk.link(slot) else {
                continue;
            };
            if seen.contains(&link) {
                continue;
            }
            let target = store.get(link);
            if target.is_some() && follow(id, chunk, slot, link, target) {
                seen.insert(link);
                queue.push_back(link);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chunkvm::chunk::{image_from_rgba8, NodeId};

    /// A store with a thread, a job over a 24x16 image (6 tiles) and code.
    fn sample() -> (Store, ChunkId, ChunkId, ChunkId) {
        let mut store = Store::new(NodeId(1));
        let image = image_from_rgba8(&mut store, 24, 16, &[7u8; 24 * 16 * 4]).unwrap_or_default();
        let mut block = Chunk::new(Kind::Block);
        block.set_scalar(0, 5);
        let block_id = block.content_id();
        store.insert_code(block_id, block);
        let mut program = Chunk::new(Kind::Program);
        program.set_link(0, block_id);
        let program_id = program.content_id();
        store.insert_code(program_id, program);
        let mut job = Chunk::new(Kind::Job);
        job.set_link(0, image);
        let job = store.alloc(job);
        let mut thread = Chunk::new(Kind::Thread);
        thread.set_link(0, program_id);
        thread.set_link(9, job);
        let root = store.alloc(thread);
        (store, root, image, program_id)
    }

    fn tiles_of(store: &Store, image: ChunkId) -> Vec<ChunkId> {
        let array = store.get(image).and_then(|c| c.link(IMAGE_TILES));
        array
            .and_then(|a| array_slots(store, a).ok())
            .unwrap_or_default()
            .into_iter()
            .map(ChunkId)
            .collect()
    }

    #[test]
    fn graph_sends_no_code_and_no_tiles_up_front() {
        let (store, root, image, program) = sample();
        let mut policy = Policy::new(Prefetch::Graph, root, IdSet::default(), 1 << 20);
        let ahead = policy.ahead(&store).unwrap_or_default();
        assert_eq!(ahead.first().map(|c| c.0), Some(root));
        assert!(ahead.iter().any(|(id, _)| *id == image));
        assert!(ahead
            .iter()
            .all(|(id, c)| !id.is_code() && c.kind != Kind::Tile));
        // Asking for the program brings the whole code closure.
        let answer = policy.answer(&store, &[program]).unwrap_or_default();
        assert_eq!((answer.asked, answer.extra()), (1, 1));
        // Asking for the first tile brings the next ones in scan order.
        let tiles = tiles_of(&store, image);
        assert_eq!(tiles.len(), 6);
        let answer = policy.answer(&store, &tiles[..1]).unwrap_or_default();
        let got: Vec<ChunkId> = answer.chunks.iter().map(|c| c.0).collect();
        assert_eq!(got, tiles);
    }

    #[test]
    fn no_chunk_is_sent_twice_and_held_ones_never() {
        for prefetch in [Prefetch::OnDemand, Prefetch::Graph, Prefetch::Eager] {
            let (store, root, image, program) = sample();
            let held: IdSet = [program].into_iter().collect();
            let mut policy = Policy::new(prefetch, root, held, 1 << 20);
            let mut all: Vec<ChunkId> = policy
                .ahead(&store)
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.0)
                .collect();
            let tiles = tiles_of(&store, image);
            for tile in &tiles {
                if !policy.was_sent(*tile) {
                    let answer = policy.answer(&store, &[*tile]).unwrap_or_default();
                    all.extend(answer.chunks.iter().map(|c| c.0));
                }
            }
            let unique: IdSet = all.iter().copied().collect();
            assert_eq!(unique.len(), all.len(), "{prefetch:?}");
            assert!(!all.contains(&program), "{prefetch:?}");
            assert!(tiles.iter().all(|t| unique.contains(t)), "{prefetch:?}");
        }
    }

    #[test]
    fn on_demand_sends_the_thread_chunk_and_what_is_asked() {
        let (store, root, image, _) = sample();
        let mut policy = Policy::new(Prefetch::OnDemand, root, IdSet::default(), 1 << 20);
        let ahead = policy.ahead(&store).unwrap_or_default();
        assert_eq!(ahead.len(), 1);
        let answer = policy.answer(&store, &[image]).unwrap_or_default();
        assert_eq!(answer.chunks.len(), 1);
        let missing = ChunkId::data(NodeId(9), 1);
        let err = policy.answer(&store, &[missing]).err().unwrap_or_default();
        assert!(err.contains("not on the client"), "{err}");
    }
}
