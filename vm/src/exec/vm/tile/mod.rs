//! Tile-wide execution of a filter job: one dispatch of each instruction for a span of
//! up to [`LANES`] pixels of a row, each pixel a lane of plain `[u64; LANES]` register
//! arrays.
//!
//! A span starts at a pixel boundary of a job (the thread's only frame is the filter's,
//! at its first instruction) and covers the pixels up to the next multiple of
//! [`LANES`] of the row (never a stage's last pixel, so a span never ends a stage).
//! Lanes run in lock step; a branch that sends lanes different ways splits them in two
//! groups, each run on its own with masked writes. The groups meet again where the
//! two ways join: a group of some lanes that jumps to or past where another group of
//! the same call waits stops there, the one furthest behind runs first, and groups at
//! one place of one call run on as one (`next_group`), so the code after an `if`
//! whose lanes differ, or after a loop whose trip counts differ, runs once for all
//! the lanes again.
//!
//! Nothing here changes the thread until the span is done: the lanes are scratch
//! registers, arrays made inside the filter live in lane arrays (never chunks), and the
//! colours go to the job only when every lane returned. Whatever the lanes cannot do
//! exactly as the interpreter would (an instruction with effects, a division by zero,
//! an index out of range, a chunk missing, the budget reached within the span) *bails*:
//! the span is dropped and the interpreter runs those pixels one by one, so it fails or
//! reports exactly as a per-pixel run does. A stop asked for by `Vm::stop_after` lands
//! on the end of the span that crosses it, the first safe point of this mode after it.
//! Instructions are
//! counted per lane: a tile-wide span adds what its pixels would add run one by one.
//!
//! Each scalar register carries a flag: whether it holds one value in every lane of
//! the span (constants, params, loop counters, kernel indices). An instruction whose
//! operands are all such runs once for the span, and a branch on them is one test, so
//! a kernel's loop over its taps runs its control once per span. A group that has
//! every lane of the span (no lane diverged) writes whole registers, with no mask
//! work; a group of some lanes writes through its mask and leaves what it writes
//! flagged varying, so the flags stay true for every group.
//!
//! The files: this one (the span: when one runs, its lanes set up and handed back),
//! `lanes` (lane registers, masks and the per-lane helpers), `group` (the dispatch loop
//! of a group of lanes), `image` (image reads), `rows` (the decoded rows of the image
//! kernels read), `builtins` (the math builtins) and `arrays` (lane arrays).

mod arrays;
mod builtins;
mod group;
mod image;
mod lanes;
mod rows;
mod taps;

pub(crate) use lanes::halves_of;
pub(crate) use rows::RowCache;
pub(crate) use taps::tap_rows;

use super::*;

/// Pixels per span: the lanes of every register.
pub const LANES: usize = 64;

/// A scalar register over the lanes.
pub(super) type Lane = [u64; LANES];

/// Every lane active.
pub(super) const FULL: u64 = u64::MAX;

/// A reference register's value in one lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RVal {
    /// A chunk (the source image of a kernel filter).
    Id(ChunkId),
    /// A lane array of the span's arena.
    Arr(u32),
}

/// An array made inside a filter during a span: `len` elements of `width` slots, each
/// slot over the lanes (`data[(idx * width + slot) * LANES + lane]`).
#[derive(Debug)]
struct LaneArray {
    len: u64,
    width: u64,
    data: Vec<u64>,
    /// Per element: whether each of its slots holds one value in all [`LANES`] lanes
    /// (a fresh element, or one written whole with values the same in every lane by a
    /// group of every lane), so a read of it at an index the same in every lane is
    /// that one value. Any other write of the element clears it.
    same: Vec<bool>,
}

/// A caller's place in a group's stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TFrame {
    func: u32,
    pc: usize,
    sb: usize,
    rb: usize,
}

/// Lanes that run together: their callers, where they are, and which lanes.
#[derive(Clone, Debug)]
struct Group {
    callers: Vec<TFrame>,
    func: u32,
    pc: usize,
    sb: usize,
    rb: usize,
    mask: u64,
}

impl Group {
    /// Whether the group is in the same call as one in function `func` with those
    /// register bases and callers: lanes of both at one place can run as one group.
    fn same_call(&self, func: u32, sb: usize, rb: usize, callers: &[TFrame]) -> bool {
        self.func == func && self.sb == sb && self.rb == rb && self.callers == callers
    }
}

/// The scratch state of tile-wide runs, kept between spans to reuse its memory.
#[derive(Debug, Default)]
pub(crate) struct Lanes {
    s: Vec<Lane>,
    /// Per scalar register: whether it holds one value in every lane of the span
    /// (the lanes of `live`), so instructions on it run once.
    u: Vec<bool>,
    /// Per scalar register: whether it holds `v + lane` in every lane of `live` (`v` its
    /// value in lane 0, the adds wrapping), as the pixel's `x` does, so an image read
    /// at it plus an offset the same in every lane is a row.
    step: Vec<bool>,
    /// The span's lanes.
    live: u64,
    r: Vec<[RVal; LANES]>,
    /// Per reference register: whether it holds one reference in every lane of `live`.
    ru: Vec<bool>,
    arrays: Vec<LaneArray>,
    pending: Vec<Group>,
}

/// Why a span was dropped: the interpreter runs its pixels instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bail {
    /// Something only the interpreter does exactly (an error, a limit, a missing chunk).
    Here,
}

type Ran<T> = Result<T, Bail>;

/// Whether the instruction can run tile-wide at all (what it does has no effect beyond
/// the call's registers, and needs no chunk the span would make).
fn lane_op(ins: &Instr) -> bool {
    match ins.op {
        Op::Print
        | Op::PrintR
        | Op::PrintEnd
        | Op::Str
        | Op::EnvGet
        | Op::EnvGet2
        | Op::EnvGetR
        | Op::EnvSet
        | Op::EnvSet2
        | Op::EnvSetR
        | Op::MkClo
        | Op::CallV
        | Op::Blank
        | Op::ImgNew
        | Op::ImgSet
        | Op::ArrGetR
        | Op::ArrSetR => false,
        Op::NewArr => {
            let (_, width, link) = unpack_shape(ins.k);
            !link && (width == 1 || width == 2)
        }
        _ => true,
    }
}

impl Vm {
    /// Whether function `func` (and every function it calls) can run tile-wide,
    /// computed once per function.
    fn tileable(&mut self, func: u32) -> bool {
        let n = self.loaded.funcs.len();
        if self.tileable.len() != n {
            self.tileable = vec![0; n];
        }
        let mut stack = vec![func];
        let mut seen = vec![func];
        let mut ok = true;
        while let Some(f) = stack.pop() {
            match self.tileable.get(f as usize).copied() {
                Some(1) => continue,
                Some(2) | None => {
                    ok = false;
                    break;
                }
                _ => {}
            }
            let lf = &self.loaded.funcs[f as usize];
            if lf.env_slots > 0 || !lf.code.iter().all(lane_op) {
                ok = false;
                break;
            }
            for ins in &lf.code {
                if ins.op == Op::Call && !seen.contains(&(ins.k as u32)) {
                    seen.push(ins.k as u32);
                    stack.push(ins.k as u32);
                }
            }
        }
        // A function is marked only by the answer for its own call graph.
        if let Some(slot) = self.tileable.get_mut(func as usize) {
            *slot = if ok { 1 } else { 2 };
        }
        ok
    }

    /// Runs one span of the job tile-wide from its current pixel, when the thread is at
    /// a pixel boundary and tile-wide runs are on: the instructions it counted, or
    /// `None` when it ran nothing (the interpreter goes on per pixel). `count` is the
    /// thread's count before the span; `s`/`r` are the interpreter's registers, which
    /// end set for the pixel after the span, as [`Vm::next_pixel`] leaves them.
    pub(super) fn tile_span(
        &mut self,
        count: u64,
        s: &mut [u64],
        r: &mut [ChunkId],
    ) -> Result<Option<u64>, StoreError> {
        if !self.tiles || self.fetch.is_some() || self.frames.len() != 1 {
            return Ok(None);
        }
        let Some(job) = self.job.as_ref() else {
            return Ok(None);
        };
        if job.stage >= job.stages.len() || job.y >= job.y1 || job.x >= job.x1 {
            return Ok(None);
        }
        let (stage, x, y) = (job.stage, job.x, job.y);
        if let Some((st, sy, sx)) = self.tile_skip {
            if (stage, y) == (st, sy) && x < sx {
                return Ok(None);
            }
        }
        let lanes = LANES as u32;
        let mut end = (job.x0 + ((x - job.x0) / lanes + 1) * lanes).min(job.x1);
        if y + 1 == job.y1 && end == job.x1 {
            // The stage's last pixel ends the stage: the interpreter runs it.
            end -= 1;
        }
        if end <= x {
            return Ok(None);
        }
        let func = job.func;
        if self
            .frames
            .first()
            .is_some_and(|f| f.func != func || f.pc != 0)
            || !self.tileable(func)
        {
            return Ok(None);
        }
        let n = (end - x) as usize;
        // A budget reached within the span is the interpreter's to report, where a
        // per-pixel run would; a stop asked for (`stop_after`) waits for the span's end,
        // the first safe point of this mode after it.
        let allowance = self.limits.instructions.saturating_sub(count);
        let mut lanes_state = self.lanes.take().unwrap_or_default();
        let Some(mut job) = self.job.take() else {
            return Ok(None);
        };
        let ran = self.run_lanes(&mut lanes_state, &mut job, n, allowance);
        let outcome = match ran {
            Ok(counted) => {
                // Every lane returned: its colour goes to the job as the interpreter's
                // return would send it.
                let mut failed = None;
                // All lanes but the last at once when none of them ends the row.
                let batched = self.push_returns(
                    &mut job,
                    &lanes_state.s[0][..n - 1],
                    &lanes_state.s[1][..n - 1],
                );
                let from = if batched { n - 1 } else { 0 };
                for lane in from..n {
                    s[0] = lanes_state.s[0][lane];
                    s[1] = lanes_state.s[1][lane];
                    if let Err(err) = self.advance_job(&mut job, s, r) {
                        failed = Some(err);
                        break;
                    }
                }
                match failed {
                    Some(err) => Err(err),
                    None => {
                        self.tile_pixels += n as u64;
                        Ok(Some(counted))
                    }
                }
            }
            Err(Bail::Here) => {
                self.tile_skip = Some((stage, y, end));
                Ok(None)
            }
        };
        lanes_state.arrays.clear();
        self.lanes = Some(lanes_state);
        self.job = Some(job);
        outcome
    }

    /// Runs the filter over `n` lanes from the job's current pixel; the lane count of
    /// instructions, or a bail.
    fn run_lanes(
        &mut self,
        st: &mut Lanes,
        job: &mut super::super::filter::Job,
        n: usize,
        allowance: u64,
    ) -> Ran<u64> {
        let loaded = self.loaded.clone();
        let func = job.func;
        let lf = &loaded.funcs[func as usize];
        let need_s = lf.nregs as usize + 2;
        let need_r = lf.nrefs as usize + 1;
        // The registers keep what the last span left in them (only those missing are
        // made, 0): compiled code writes a register before it reads it (the
        // interpreter, too, keeps its registers from one pixel to the next), so only
        // the pixel's registers are set, below, in every lane. Clearing them all for
        // each span was a tenth of a point filter's time.
        if st.s.len() < need_s.max(3) {
            st.s.resize(need_s.max(3), [0; LANES]);
        }
        st.u.clear();
        st.u.resize(st.s.len(), true);
        st.u[0] = false;
        st.step.clear();
        st.step.resize(st.s.len(), false);
        // The same holds for the reference registers (an array's index into
        // `st.arrays`, emptied below, is read only after the span wrote it): setting
        // them all to nil for each span was a point filter's 1 KB of writes per span.
        if st.r.len() < need_r.max(1) {
            st.r.resize(need_r.max(1), [RVal::Id(ChunkId::NIL); LANES]);
        }
        st.ru.clear();
        st.ru.resize(st.r.len(), true);
        st.arrays.clear();
        st.pending.clear();
        let mask = if n >= LANES { FULL } else { (1u64 << n) - 1 };
        st.live = mask;
        match job.kind {
            super::super::filter::FilterKind::Kernel => {
                st.r[0] = [RVal::Id(job.src); LANES];
                for lane in 0..LANES {
                    st.s[0][lane] = (job.x as u64).wrapping_add(lane.min(n - 1) as u64);
                    st.s[1][lane] = job.y as u64;
                }
                // The live lanes are the first `n`: `x + lane` in each.
                st.step[0] = true;
            }
            super::super::filter::FilterKind::Point => {
                st.u[1] = false;
                // The span's pixels are neighbours of one row: read at once.
                let mut row = [0u32; LANES];
                let span = row.get_mut(..n).ok_or(Bail::Here)?;
                job.view
                    .row(&self.store, job.x as i64, job.y as i64, span)
                    .map_err(|_| Bail::Here)?;
                // Lanes past the span read pixel 0 (0 in both slots), as in every span:
                // `row` holds 0 there, whose slots are 0. One loop over whole arrays, so
                // that it vectorizes.
                if let [lo, hi, ..] = st.s.as_mut_slice() {
                    lanes::row_slots(&row, lo, hi);
                }
            }
        }
        st.pending.push(Group {
            callers: Vec::new(),
            func,
            pc: 0,
            sb: 0,
            rb: 0,
            mask,
        });
        let mut counted = 0u64;
        while let Some(group) = next_group(&mut st.pending) {
            self.run_group(st, group, &loaded, &mut counted, allowance)?;
        }
        Ok(counted)
    }
}

/// The group to run next: the one furthest behind (the smallest `pc`), with every
/// other group of the same call at the same place merged into it. A group of some
/// lanes waits whenever another of its call is at or behind where it goes, so the
/// lanes that split at a branch meet again where the two ways join (code is laid out
/// with a join after both of its ways) and run on as one group, with writes of more
/// lanes at once; whatever order groups run in, each lane runs its own way.
fn next_group(pending: &mut Vec<Group>) -> Option<Group> {
    let at = (0..pending.len()).min_by_key(|&i| pending[i].pc)?;
    let mut group = pending.swap_remove(at);
    let mut i = 0;
    while i < pending.len() {
        let g = &pending[i];
        if g.pc == group.pc && g.same_call(group.func, group.sb, group.rb, &group.callers) {
            group.mask |= g.mask;
            pending.swap_remove(i);
        } else {
            i += 1;
        }
    }
    Some(group)
}
