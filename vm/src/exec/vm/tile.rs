//! Tile-wide execution of a filter job: one dispatch of each instruction for a span of
//! up to [`LANES`] pixels of a row, each pixel a lane of plain `[u64; LANES]` register
//! arrays.
//!
//! A span starts at a pixel boundary of a job (the thread's only frame is the filter's,
//! at its first instruction) and covers the pixels up to the next multiple of
//! [`LANES`] of the row (never a stage's last pixel, so a span never ends a stage).
//! Lanes run in lock step; a branch that sends lanes different ways splits them in two
//! groups, each run to the end of the filter on its own with masked writes (no
//! reconvergence: correct first, and the filters of the library rarely diverge).
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

use super::ops::math;
use super::*;
use crate::chunk::array_chunk_count;
use crate::compile::ir::math_widths;

/// Pixels per span: the lanes of every register.
pub const LANES: usize = 64;

/// A scalar register over the lanes.
type Lane = [u64; LANES];

/// Every lane active.
const FULL: u64 = u64::MAX;

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
}

/// A caller's place in a group's stack.
#[derive(Clone, Copy, Debug)]
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

/// The scratch state of tile-wide runs, kept between spans to reuse its memory.
#[derive(Debug, Default)]
pub(crate) struct Lanes {
    s: Vec<Lane>,
    r: Vec<[RVal; LANES]>,
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

#[inline(always)]
fn bits(mask: u64) -> impl Iterator<Item = usize> {
    let mut left = mask;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let lane = left.trailing_zeros() as usize;
        left &= left - 1;
        Some(lane)
    })
}

/// Writes `out` into the lanes of `dst` that `mask` holds.
#[inline(always)]
fn put(dst: &mut Lane, out: &Lane, mask: u64) {
    if mask == FULL {
        *dst = *out;
    } else {
        for lane in bits(mask) {
            dst[lane] = out[lane];
        }
    }
}

/// `s[a] := f(s[b])` over the lanes.
#[inline(always)]
fn map1(s: &mut [Lane], mask: u64, a: usize, b: usize, f: impl Fn(u64) -> u64) {
    let x = &s[b];
    let out: Lane = std::array::from_fn(|l| f(x[l]));
    put(&mut s[a], &out, mask);
}

/// `s[a] := f(s[b], s[c])` over the lanes.
#[inline(always)]
fn map2(s: &mut [Lane], mask: u64, a: usize, b: usize, c: usize, f: impl Fn(u64, u64) -> u64) {
    let (x, y) = (&s[b], &s[c]);
    let out: Lane = std::array::from_fn(|l| f(x[l], y[l]));
    put(&mut s[a], &out, mask);
}

/// Colour `s[a..a+2] := f(colour s[b..b+2], s[c], s[c+1])` over the lanes (`c` is read
/// as the caller's instruction says: a colour, a float, or not at all).
#[inline(always)]
fn cmap(
    s: &mut [Lane],
    mask: u64,
    a: usize,
    b: usize,
    c: usize,
    f: impl Fn([f32; 4], u64, u64) -> [f32; 4],
) {
    let c1 = (c + 1).min(s.len() - 1);
    let (x0, x1, y0, y1) = (&s[b], &s[b + 1], &s[c], &s[c1]);
    let mut lo = [0u64; LANES];
    let mut hi = [0u64; LANES];
    for l in 0..LANES {
        let (p, q) = color_slots(f(color_of(x0[l], x1[l]), y0[l], y1[l]));
        lo[l] = p;
        hi[l] = q;
    }
    put(&mut s[a], &lo, mask);
    put(&mut s[a + 1], &hi, mask);
}

/// `f` over the two `f32` halves of slots `x` and `y`: one slot of a colour's channels.
#[inline(always)]
fn halves(x: u64, y: u64, f: impl Fn(f32, f32) -> f32) -> u64 {
    let lo = f(f32::from_bits(x as u32), f32::from_bits(y as u32));
    let hi = f(
        f32::from_bits((x >> 32) as u32),
        f32::from_bits((y >> 32) as u32),
    );
    lo.to_bits() as u64 | (hi.to_bits() as u64) << 32
}

/// Colour `s[a..a+2] := f(colour s[b..b+2], y)` channel by channel over the lanes (`y`
/// read before anything is written, so registers may overlap).
#[inline(always)]
fn chalves(
    s: &mut [Lane],
    mask: u64,
    a: usize,
    b: usize,
    y: &[Lane; 2],
    f: impl Fn(f32, f32) -> f32 + Copy,
) {
    let (x0, x1) = (&s[b], &s[b + 1]);
    let lo: Lane = std::array::from_fn(|l| halves(x0[l], y[0][l], f));
    let hi: Lane = std::array::from_fn(|l| halves(x1[l], y[1][l], f));
    put(&mut s[a], &lo, mask);
    put(&mut s[a + 1], &hi, mask);
}

/// The lanes of `mask` where `cond` holds.
#[inline(always)]
fn test(mask: u64, cond: impl Fn(usize) -> bool) -> u64 {
    let lanes: [bool; LANES] = std::array::from_fn(cond);
    pack(&lanes) & mask
}

/// The lanes whose flag is set, as a mask: eight flags at a time, each byte 0 or 1
/// moved to its bit by one multiplication.
#[inline(always)]
fn pack(flags: &[bool; LANES]) -> u64 {
    let mut out = 0u64;
    for (idx, eight) in flags.chunks_exact(8).enumerate() {
        let mut bytes = [0u8; 8];
        for (byte, flag) in bytes.iter_mut().zip(eight) {
            *byte = *flag as u8;
        }
        let gathered = u64::from_le_bytes(bytes).wrapping_mul(0x0102_0408_1020_4080) >> 56;
        out |= gathered << (idx * 8);
    }
    out
}

#[inline(always)]
fn fl(v: u64) -> f64 {
    f64::from_bits(v)
}

/// Whether register `x` holds the same value in every lane of `mask` (not empty).
#[inline(always)]
fn uniform(x: &Lane, mask: u64) -> bool {
    let v = x[mask.trailing_zeros() as usize];
    test(mask, |l| x[l] != v) == 0
}

/// The bits of channel byte `b & 0xff` as a unit `f32`: the value of the interpreter's
/// `from_u8` (its table holds this very product), computed so that it vectorizes.
#[inline(always)]
fn unit_bits(b: u32) -> u64 {
    ((b & 0xff) as f32 * (1.0f32 / 255.0)).to_bits() as u64
}

/// A pixel (`u32::from_le_bytes([r, g, b, a])`) as a colour's two slots.
#[inline(always)]
fn pixel_slots(px: u32) -> (u64, u64) {
    (
        unit_bits(px) | unit_bits(px >> 8) << 32,
        unit_bits(px >> 16) | unit_bits(px >> 24) << 32,
    )
}

/// The two `f32` halves of slot `x` plus those of `y`, as one slot (half a colour sum).
#[inline(always)]
fn add_halves(x: u64, y: u64) -> u64 {
    halves(x, y, |p, q| p + q)
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
                for lane in 0..n {
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
        st.s.clear();
        st.s.resize(need_s.max(3), [0; LANES]);
        st.r.clear();
        st.r.resize(need_r.max(1), [RVal::Id(ChunkId::NIL); LANES]);
        st.arrays.clear();
        st.pending.clear();
        let mask = if n >= LANES { FULL } else { (1u64 << n) - 1 };
        match job.kind {
            super::super::filter::FilterKind::Kernel => {
                st.r[0] = [RVal::Id(job.src); LANES];
                for lane in 0..LANES {
                    st.s[0][lane] = (job.x as u64).wrapping_add(lane.min(n - 1) as u64);
                    st.s[1][lane] = job.y as u64;
                }
            }
            super::super::filter::FilterKind::Point => {
                for lane in 0..n {
                    let px = job
                        .view
                        .pixel(&self.store, job.x as i64 + lane as i64, job.y as i64)
                        .map_err(|_| Bail::Here)?;
                    let (lo, hi) = color_slots(px.map(from_u8));
                    st.s[0][lane] = lo;
                    st.s[1][lane] = hi;
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
        while let Some(group) = st.pending.pop() {
            self.run_group(st, group, &loaded, &mut counted, allowance)?;
        }
        Ok(counted)
    }

    /// Runs one group of lanes to the filter's return.
    #[inline(never)]
    fn run_group(
        &mut self,
        st: &mut Lanes,
        group: Group,
        loaded: &Loaded,
        counted: &mut u64,
        allowance: u64,
    ) -> Ran<()> {
        let Group {
            mut callers,
            mut func,
            mut pc,
            mut sb,
            mut rb,
            mask,
        } = group;
        let mut lf = &loaded.funcs[func as usize];
        let mut code: &[Instr] = &lf.code;
        let weight = mask.count_ones() as u64;
        // Instructions of this group not yet added to `counted` (a straight run).
        let mut run = 0u64;
        let mut flags_at = POLL;
        let depth_limit = self.limits.depth;
        // The reference register last found to hold one image in every lane of the
        // group (kernels read `src` over and over); forgotten when a reference
        // register is written.
        let mut same_image = usize::MAX;
        macro_rules! at_jump {
            () => {{
                *counted = counted.saturating_add(run.saturating_mul(weight));
                run = 0;
                if *counted >= allowance {
                    return Err(Bail::Here);
                }
                if *counted >= flags_at {
                    flags_at = counted.saturating_add(POLL);
                    let cancel = self
                        .cancel
                        .as_ref()
                        .is_some_and(|flag| flag.load(Ordering::Relaxed));
                    if cancel || self.pause.load(Ordering::Relaxed) {
                        return Err(Bail::Here);
                    }
                }
            }};
        }
        // Goes to `then` for the lanes of `t`, to `otherwise` for the others; lanes
        // that go the other way from the ones going on wait as a group of their own.
        macro_rules! branch {
            ($t:expr, $k:expr) => {{
                let t: u64 = $t;
                let (then, otherwise) = (($k as u32) as usize, (($k >> 32) as u32) as usize);
                if t == mask {
                    pc = then;
                } else if t == 0 {
                    pc = otherwise;
                } else {
                    st.pending.push(Group {
                        callers: callers.clone(),
                        func,
                        pc: otherwise,
                        sb,
                        rb,
                        mask: mask & !t,
                    });
                    return self.run_group(
                        st,
                        Group {
                            callers,
                            func,
                            pc: then,
                            sb,
                            rb,
                            mask: t,
                        },
                        loaded,
                        counted,
                        allowance,
                    );
                }
            }};
        }
        loop {
            let Some(ins) = code.get(pc).copied() else {
                return Err(Bail::Here);
            };
            pc += 1;
            run += 1;
            let (a, b, c) = (
                sb + ins.a as usize,
                sb + ins.b as usize,
                sb + ins.c as usize,
            );
            if matches!(ins.op, Op::MovR | Op::RetR | Op::NewArr | Op::ArrCopy) {
                same_image = usize::MAX;
            }
            let s = &mut st.s;
            match ins.op {
                Op::Nop => {}
                Op::Const => put(&mut s[a], &[ins.k; LANES], mask),
                Op::Const2 => {
                    let rgba = (ins.k as u32).to_le_bytes();
                    let (lo, hi) = color_slots(rgba.map(from_u8));
                    put(&mut s[a], &[lo; LANES], mask);
                    put(&mut s[a + 1], &[hi; LANES], mask);
                }
                Op::Mov => map1(s, mask, a, b, |x| x),
                Op::Mov2 => {
                    map1(s, mask, a, b, |x| x);
                    map1(s, mask, a + 1, b + 1, |x| x);
                }
                Op::MovR => {
                    let (ra, rbb) = (rb + ins.a as usize, rb + ins.b as usize);
                    let src = st.r[rbb];
                    for lane in bits(mask) {
                        st.r[ra][lane] = src[lane];
                    }
                }
                Op::AddI => map2(s, mask, a, b, c, |x, y| {
                    (x as i64).wrapping_add(y as i64) as u64
                }),
                Op::SubI => map2(s, mask, a, b, c, |x, y| {
                    (x as i64).wrapping_sub(y as i64) as u64
                }),
                Op::MulI => map2(s, mask, a, b, c, |x, y| {
                    (x as i64).wrapping_mul(y as i64) as u64
                }),
                Op::DivI | Op::RemI => {
                    if bits(mask).any(|lane| s[c][lane] == 0) {
                        return Err(Bail::Here);
                    }
                    let rem = ins.op == Op::RemI;
                    map2(s, mask, a, b, c, |x, y| {
                        let (x, y) = (x as i64, y as i64);
                        match (y, rem) {
                            (0, _) => 0,
                            (_, false) => x.wrapping_div(y) as u64,
                            (_, true) => x.wrapping_rem(y) as u64,
                        }
                    })
                }
                Op::NegI => map1(s, mask, a, b, |x| (x as i64).wrapping_neg() as u64),
                Op::AddIK => map1(s, mask, a, b, |x| {
                    (x as i64).wrapping_add(ins.k as i64) as u64
                }),
                Op::MulIK => map1(s, mask, a, b, |x| {
                    (x as i64).wrapping_mul(ins.k as i64) as u64
                }),
                Op::DivIK | Op::RemIK => {
                    let k = ins.k as i64;
                    if k == 0 {
                        return Err(Bail::Here);
                    }
                    if ins.op == Op::DivIK {
                        map1(s, mask, a, b, |x| (x as i64).wrapping_div(k) as u64)
                    } else {
                        map1(s, mask, a, b, |x| (x as i64).wrapping_rem(k) as u64)
                    }
                }
                Op::AddFK => map1(s, mask, a, b, |x| (fl(x) + fl(ins.k)).to_bits()),
                Op::SubFK => map1(s, mask, a, b, |x| (fl(x) - fl(ins.k)).to_bits()),
                Op::RSubFK => map1(s, mask, a, b, |x| (fl(ins.k) - fl(x)).to_bits()),
                Op::MulFK => map1(s, mask, a, b, |x| (fl(x) * fl(ins.k)).to_bits()),
                Op::DivFK => map1(s, mask, a, b, |x| (fl(x) / fl(ins.k)).to_bits()),
                Op::MulCFK => {
                    let k = fl(ins.k) as f32;
                    cmap(s, mask, a, b, b, |x, _, _| x.map(|v| v * k))
                }
                Op::DivCFK => {
                    let k = fl(ins.k) as f32;
                    cmap(s, mask, a, b, b, |x, _, _| x.map(|v| v / k))
                }
                Op::AddF => map2(s, mask, a, b, c, |x, y| (fl(x) + fl(y)).to_bits()),
                Op::SubF => map2(s, mask, a, b, c, |x, y| (fl(x) - fl(y)).to_bits()),
                Op::MulF => map2(s, mask, a, b, c, |x, y| (fl(x) * fl(y)).to_bits()),
                Op::DivF => map2(s, mask, a, b, c, |x, y| (fl(x) / fl(y)).to_bits()),
                Op::RemF => map2(s, mask, a, b, c, |x, y| (fl(x) % fl(y)).to_bits()),
                Op::NegF => map1(s, mask, a, b, |x| (-fl(x)).to_bits()),
                Op::AddC => {
                    let y = [s[c], s[c + 1]];
                    chalves(s, mask, a, b, &y, |p, q| p + q)
                }
                Op::SubC => {
                    let y = [s[c], s[c + 1]];
                    chalves(s, mask, a, b, &y, |p, q| p - q)
                }
                Op::MulC => {
                    let y = [s[c], s[c + 1]];
                    chalves(s, mask, a, b, &y, |p, q| p * q)
                }
                Op::MulCF | Op::DivCF => {
                    let k = &s[c];
                    let kk: Lane = std::array::from_fn(|l| {
                        let bits = (fl(k[l]) as f32).to_bits() as u64;
                        bits | bits << 32
                    });
                    let y = [kk, kk];
                    if ins.op == Op::MulCF {
                        chalves(s, mask, a, b, &y, |p, q| p * q)
                    } else {
                        chalves(s, mask, a, b, &y, |p, q| p / q)
                    }
                }
                Op::NegC => cmap(s, mask, a, b, b, |x, _, _| [-x[0], -x[1], -x[2], -x[3]]),
                Op::EqI => map2(s, mask, a, b, c, |x, y| (x == y) as u64),
                Op::NeI => map2(s, mask, a, b, c, |x, y| (x != y) as u64),
                Op::LtI => map2(s, mask, a, b, c, |x, y| ((x as i64) < (y as i64)) as u64),
                Op::LeI => map2(s, mask, a, b, c, |x, y| ((x as i64) <= (y as i64)) as u64),
                Op::EqF => map2(s, mask, a, b, c, |x, y| (fl(x) == fl(y)) as u64),
                Op::NeF => map2(s, mask, a, b, c, |x, y| (fl(x) != fl(y)) as u64),
                Op::LtF => map2(s, mask, a, b, c, |x, y| (fl(x) < fl(y)) as u64),
                Op::LeF => map2(s, mask, a, b, c, |x, y| (fl(x) <= fl(y)) as u64),
                Op::EqC | Op::NeC => {
                    let eq = ins.op == Op::EqC;
                    let (x0, x1, y0, y1) = (&s[b], &s[b + 1], &s[c], &s[c + 1]);
                    let out: Lane = std::array::from_fn(|l| {
                        ((color_of(x0[l], x1[l]) == color_of(y0[l], y1[l])) == eq) as u64
                    });
                    put(&mut s[a], &out, mask);
                }
                Op::Not => map1(s, mask, a, b, |x| (x == 0) as u64),
                Op::Jmp => {
                    at_jump!();
                    pc = ins.k as usize;
                }
                Op::Br => {
                    at_jump!();
                    let x = &s[a];
                    branch!(test(mask, |l| x[l] != 0), ins.k);
                }
                Op::BrLtI => {
                    at_jump!();
                    let (x, y) = (&s[a], &s[b]);
                    branch!(test(mask, |l| (x[l] as i64) < (y[l] as i64)), ins.k);
                }
                Op::BrLtF => {
                    at_jump!();
                    let (x, y) = (&s[a], &s[b]);
                    branch!(test(mask, |l| fl(x[l]) < fl(y[l])), ins.k);
                }
                Op::BrLtIK => {
                    at_jump!();
                    let k = (ins.c as i16) as i64;
                    let x = &s[a];
                    branch!(test(mask, |l| (x[l] as i64) < k), ins.k);
                }
                Op::ForStepK | Op::ForStep => {
                    at_jump!();
                    map1(s, mask, a, a, |x| (x as i64).wrapping_add(1) as u64);
                    let x = &s[a];
                    if ins.op == Op::ForStepK {
                        let k = (ins.c as i16) as i64;
                        branch!(test(mask, |l| (x[l] as i64) < k), ins.k);
                    } else {
                        let y = &s[b];
                        branch!(test(mask, |l| (x[l] as i64) < (y[l] as i64)), ins.k);
                    }
                }
                Op::Call => {
                    at_jump!();
                    let callee = ins.k as u32;
                    // The job's frame is the first of the thread's frames.
                    if callers.len() + 2 > depth_limit {
                        return Err(Bail::Here);
                    }
                    let Some(callee_fn) = loaded.funcs.get(callee as usize) else {
                        return Err(Bail::Here);
                    };
                    let (nsb, nrb) = (a, rb + ins.b as usize);
                    let want_s = nsb + callee_fn.nregs as usize + 2;
                    if st.s.len() < want_s {
                        st.s.resize(want_s, [0; LANES]);
                    }
                    let want_r = nrb + callee_fn.nrefs as usize + 1;
                    if st.r.len() < want_r {
                        st.r.resize(want_r, [RVal::Id(ChunkId::NIL); LANES]);
                    }
                    callers.push(TFrame { func, pc, sb, rb });
                    func = callee;
                    lf = callee_fn;
                    code = &lf.code;
                    pc = 0;
                    sb = nsb;
                    rb = nrb;
                }
                Op::Ret | Op::Ret2 | Op::RetR | Op::RetU => {
                    match ins.op {
                        Op::Ret => map1(s, mask, sb, a, |x| x),
                        Op::Ret2 => {
                            map1(s, mask, sb, a, |x| x);
                            map1(s, mask, sb + 1, a + 1, |x| x);
                        }
                        Op::RetR => {
                            let src = st.r[rb + ins.a as usize];
                            for lane in bits(mask) {
                                st.r[rb][lane] = src[lane];
                            }
                        }
                        _ => {}
                    }
                    at_jump!();
                    let Some(caller) = callers.pop() else {
                        return Ok(());
                    };
                    func = caller.func;
                    lf = &loaded.funcs[func as usize];
                    code = &lf.code;
                    pc = caller.pc;
                    sb = caller.sb;
                    rb = caller.rb;
                }
                Op::Glob => {
                    let v = self.globals.get(ins.k as usize).copied().unwrap_or(0);
                    put(&mut s[a], &[v; LANES], mask);
                }
                Op::Glob2 => {
                    let lo = self.globals.get(ins.k as usize).copied().unwrap_or(0);
                    let hi = self.globals.get(ins.k as usize + 1).copied().unwrap_or(0);
                    put(&mut s[a], &[lo; LANES], mask);
                    put(&mut s[a + 1], &[hi; LANES], mask);
                }
                Op::Rgb | Op::Rgba => {
                    let alpha = ins.op == Op::Rgba;
                    let mut lo = [0u64; LANES];
                    let mut hi = [0u64; LANES];
                    let (p, q, u) = (&s[b], &s[b + 1], &s[b + 2]);
                    let w = if alpha { &s[b + 3] } else { &s[b] };
                    for l in 0..LANES {
                        let av = if alpha { fl(w[l]) as f32 } else { 1.0 };
                        let (x, y) =
                            color_slots([fl(p[l]) as f32, fl(q[l]) as f32, fl(u[l]) as f32, av]);
                        lo[l] = x;
                        hi[l] = y;
                    }
                    put(&mut s[a], &lo, mask);
                    put(&mut s[a + 1], &hi, mask);
                }
                Op::Chan => {
                    let ch = ins.c as usize & 3;
                    let (x0, x1) = (&s[b], &s[b + 1]);
                    let out: Lane =
                        std::array::from_fn(|l| (color_of(x0[l], x1[l])[ch] as f64).to_bits());
                    put(&mut s[a], &out, mask);
                }
                Op::At | Op::AtOff | Op::AtOffAcc => {
                    let img_reg = rb + ins.b as usize;
                    let img = match st.r[img_reg][mask.trailing_zeros() as usize] {
                        RVal::Id(id) => id,
                        RVal::Arr(_) => return Err(Bail::Here),
                    };
                    if img_reg != same_image {
                        if bits(mask).any(|lane| st.r[img_reg][lane] != RVal::Id(img)) {
                            return Err(Bail::Here);
                        }
                        same_image = img_reg;
                    }
                    if !matches!(&self.image, Some((id, _)) if *id == img) {
                        let view = ImageView::open(&self.store, img).map_err(|_| Bail::Here)?;
                        self.image = Some((img, view));
                    }
                    let Some((_, view)) = self.image.as_mut() else {
                        return Err(Bail::Here);
                    };
                    let s = &mut st.s;
                    let (xs, ys): (Lane, Lane) = if ins.op == Op::At {
                        (s[c], s[c + 1])
                    } else {
                        let k = ins.k;
                        let reg = |shift: u32| sb + ((k >> shift) as u16) as usize;
                        let (p, q, u, v) = (&s[reg(0)], &s[reg(16)], &s[reg(32)], &s[reg(48)]);
                        (
                            std::array::from_fn(|l| (p[l] as i64).wrapping_add(q[l] as i64) as u64),
                            std::array::from_fn(|l| (u[l] as i64).wrapping_add(v[l] as i64) as u64),
                        )
                    };
                    // Lanes reading a row of neighbouring pixels (x + lane, the same y:
                    // a kernel's tap over a span) read it at once, by direct indexing.
                    let first = mask.trailing_zeros() as usize;
                    let y0 = ys[first];
                    let xb = xs[first].wrapping_sub(first as u64);
                    let off_row = test(FULL, |l| {
                        (ys[l] != y0) | (xs[l] != xb.wrapping_add(l as u64))
                    });
                    let mut lo = [0u64; LANES];
                    let mut hi = [0u64; LANES];
                    if off_row & mask == 0 {
                        // Only the active lanes' pixels: their tiles are all a per-pixel
                        // run would read.
                        let mut row = [0u32; LANES];
                        let last = LANES - 1 - mask.leading_zeros() as usize;
                        let x0 = xs[first] as i64;
                        view.row(&self.store, x0, y0 as i64, &mut row[first..=last])
                            .map_err(|_| Bail::Here)?;
                        for l in 0..LANES {
                            (lo[l], hi[l]) = pixel_slots(row[l]);
                        }
                    } else {
                        for lane in bits(mask) {
                            let px = view
                                .pixel(&self.store, xs[lane] as i64, ys[lane] as i64)
                                .map_err(|_| Bail::Here)?;
                            (lo[lane], hi[lane]) = pixel_slots(u32::from_le_bytes(px));
                        }
                    }
                    if ins.op == Op::AtOffAcc {
                        let (x0, x1) = (&s[a], &s[a + 1]);
                        for l in 0..LANES {
                            lo[l] = add_halves(x0[l], lo[l]);
                            hi[l] = add_halves(x1[l], hi[l]);
                        }
                    }
                    put(&mut s[a], &lo, mask);
                    put(&mut s[a + 1], &hi, mask);
                }
                Op::ImgW | Op::ImgH => {
                    let img_reg = rb + ins.b as usize;
                    let img = match st.r[img_reg][mask.trailing_zeros() as usize] {
                        RVal::Id(id) => id,
                        RVal::Arr(_) => return Err(Bail::Here),
                    };
                    if bits(mask).any(|lane| st.r[img_reg][lane] != RVal::Id(img)) {
                        return Err(Bail::Here);
                    }
                    let chunk = self.store.try_get(img).map_err(|_| Bail::Here)?;
                    let slot = if ins.op == Op::ImgW {
                        IMAGE_WIDTH
                    } else {
                        IMAGE_WIDTH + 1
                    };
                    let v = chunk.get(slot);
                    put(&mut st.s[a], &[v; LANES], mask);
                }
                Op::Math => {
                    let Some(op) = builtin_of_code(ins.k) else {
                        return Err(Bail::Here);
                    };
                    let (args, res) = math_widths(op);
                    let (args, res) = (args as usize, res as usize);
                    if b + args > s.len() || a + res > s.len() {
                        return Err(Bail::Here);
                    }
                    let mut out0 = [0u64; LANES];
                    let mut out1 = [0u64; LANES];
                    if (0..args).all(|idx| uniform(&s[b + idx], mask)) {
                        // The same arguments in every lane: one computation (a builtin
                        // depends on its arguments only).
                        let first = mask.trailing_zeros() as usize;
                        let mut win = [0u64; 8];
                        for (idx, slot) in win.iter_mut().enumerate().take(args) {
                            *slot = s[b + idx][first];
                        }
                        math(op, &mut win, 0, 0);
                        put(&mut s[a], &[win[0]; LANES], mask);
                        if res == 2 {
                            put(&mut s[a + 1], &[win[1]; LANES], mask);
                        }
                        continue;
                    }
                    for l in 0..LANES {
                        let mut win = [0u64; 8];
                        for (idx, slot) in win.iter_mut().enumerate().take(args) {
                            *slot = s[b + idx][l];
                        }
                        math(op, &mut win, 0, 0);
                        out0[l] = win[0];
                        out1[l] = win[1];
                    }
                    put(&mut s[a], &out0, mask);
                    if res == 2 {
                        put(&mut s[a + 1], &out1, mask);
                    }
                }
                Op::NewArr => {
                    let (len, width, link) = unpack_shape(ins.k);
                    let (len, width) = (len as u64, width as u64);
                    if link || !(1..=2).contains(&width) || len * width > 1 << 14 {
                        return Err(Bail::Here);
                    }
                    // A per-pixel run would make the array's chunks: what would not fit
                    // the quota there is the interpreter's to report.
                    let chunks = array_chunk_count(len, width).ok_or(Bail::Here)?;
                    if self.store.data_len() as u64 + chunks > self.limits.chunks as u64 {
                        return Err(Bail::Here);
                    }
                    let id = st.arrays.len() as u32;
                    st.arrays.push(LaneArray {
                        len,
                        width,
                        data: vec![0; (len * width) as usize * LANES],
                    });
                    let ra = rb + ins.a as usize;
                    for lane in bits(mask) {
                        st.r[ra][lane] = RVal::Arr(id);
                    }
                }
                Op::ArrCopy => {
                    let (ra, rsrc) = (rb + ins.a as usize, rb + ins.b as usize);
                    let first = st.r[rsrc][mask.trailing_zeros() as usize];
                    let RVal::Arr(src) = first else {
                        return Err(Bail::Here);
                    };
                    if bits(mask).any(|lane| st.r[rsrc][lane] != first) {
                        return Err(Bail::Here);
                    }
                    let Some(from) = st.arrays.get(src as usize) else {
                        return Err(Bail::Here);
                    };
                    let copy = LaneArray {
                        len: from.len,
                        width: from.width,
                        data: from.data.clone(),
                    };
                    let id = st.arrays.len() as u32;
                    st.arrays.push(copy);
                    for lane in bits(mask) {
                        st.r[ra][lane] = RVal::Arr(id);
                    }
                }
                Op::ArrLen => {
                    let rsrc = rb + ins.b as usize;
                    let mut out = [0u64; LANES];
                    for lane in bits(mask) {
                        let RVal::Arr(id) = st.r[rsrc][lane] else {
                            return Err(Bail::Here);
                        };
                        out[lane] = st.arrays.get(id as usize).ok_or(Bail::Here)?.len;
                    }
                    put(&mut st.s[a], &out, mask);
                }
                Op::ArrGet | Op::ArrGet2 => {
                    let wide = ins.op == Op::ArrGet2;
                    let rsrc = rb + ins.b as usize;
                    let mut lo = [0u64; LANES];
                    let mut hi = [0u64; LANES];
                    let first = mask.trailing_zeros() as usize;
                    let head = st.r[rsrc][first];
                    let same = bits(mask).all(|lane| st.r[rsrc][lane] == head);
                    if let (RVal::Arr(id), true, true) = (head, same, uniform(&st.s[c], mask)) {
                        // One array and one index in every lane (a kernel's table): the
                        // element's lanes at once.
                        let arr = st.arrays.get(id as usize).ok_or(Bail::Here)?;
                        let idx = st.s[c][first];
                        if idx >= arr.len || arr.width != 1 + wide as u64 {
                            return Err(Bail::Here);
                        }
                        let at = (idx * arr.width) as usize * LANES;
                        let width = arr.width as usize * LANES;
                        let data = arr.data.get(at..at + width).ok_or(Bail::Here)?;
                        for (dst, src) in
                            [&mut lo, &mut hi].into_iter().zip(data.chunks_exact(LANES))
                        {
                            dst.copy_from_slice(src);
                        }
                        put(&mut st.s[a], &lo, mask);
                        if wide {
                            put(&mut st.s[a + 1], &hi, mask);
                        }
                        continue;
                    }
                    for lane in bits(mask) {
                        let RVal::Arr(id) = st.r[rsrc][lane] else {
                            return Err(Bail::Here);
                        };
                        let arr = st.arrays.get(id as usize).ok_or(Bail::Here)?;
                        let idx = st.s[c][lane];
                        if idx >= arr.len || arr.width != 1 + wide as u64 {
                            return Err(Bail::Here);
                        }
                        let at = (idx * arr.width) as usize * LANES + lane;
                        lo[lane] = arr.data[at];
                        if wide {
                            hi[lane] = arr.data[at + LANES];
                        }
                    }
                    put(&mut st.s[a], &lo, mask);
                    if wide {
                        put(&mut st.s[a + 1], &hi, mask);
                    }
                }
                Op::ArrSet | Op::ArrSet2 => {
                    let wide = ins.op == Op::ArrSet2;
                    let rdst = rb + ins.a as usize;
                    for lane in bits(mask) {
                        let RVal::Arr(id) = st.r[rdst][lane] else {
                            return Err(Bail::Here);
                        };
                        let (idx, v0) = (st.s[b][lane], st.s[c][lane]);
                        let v1 = if wide { st.s[c + 1][lane] } else { 0 };
                        let arr = st.arrays.get_mut(id as usize).ok_or(Bail::Here)?;
                        if idx >= arr.len || arr.width != 1 + wide as u64 {
                            return Err(Bail::Here);
                        }
                        let at = (idx * arr.width) as usize * LANES + lane;
                        arr.data[at] = v0;
                        if wide {
                            arr.data[at + LANES] = v1;
                        }
                    }
                }
                _ => return Err(Bail::Here),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_bytes_convert_as_the_interpreter_converts_them() {
        for b in 0..=255u32 {
            assert_eq!(unit_bits(b), from_u8(b as u8).to_bits() as u64, "{b}");
        }
        let px = u32::from_le_bytes([1, 2, 250, 255]);
        assert_eq!(pixel_slots(px), color_slots([1, 2, 250, 255].map(from_u8)));
    }

    #[test]
    fn halves_add_as_colour_channels_add() {
        let (x, y) = ([0.1f32, 0.7, 3.5, -2.0], [0.2f32, 1e-8, 0.25, 2.0]);
        let (x0, x1) = color_slots(x);
        let (y0, y1) = color_slots(y);
        let sum = color_of(add_halves(x0, y0), add_halves(x1, y1));
        assert_eq!(sum, [x[0] + y[0], x[1] + y[1], x[2] + y[2], x[3] + y[3]]);
    }

    #[test]
    fn uniform_looks_at_the_masked_lanes_only() {
        let mut x = [5u64; LANES];
        assert!(uniform(&x, FULL));
        x[3] = 6;
        assert!(!uniform(&x, FULL));
        assert!(uniform(&x, FULL & !(1 << 3)));
        assert!(uniform(&x, 1 << 3));
    }

    #[test]
    fn flags_pack_to_their_bits() {
        for seed in [
            0u64,
            1,
            0x8000_0000_0000_0001,
            0xdead_beef_0bad_f00d,
            u64::MAX,
        ] {
            let flags: [bool; LANES] = std::array::from_fn(|l| seed >> l & 1 == 1);
            assert_eq!(pack(&flags), seed);
            assert_eq!(test(0xff00, |l| seed >> l & 1 == 1), seed & 0xff00);
        }
    }
}
