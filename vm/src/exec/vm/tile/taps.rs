//! A kernel's row of taps in one go: the inner loop of a box or Gaussian blur (a
//! `for` over `dx` whose body is one read of `src.at(x + dx, y + dy)` added to a sum,
//! times a weight of an array indexed by the loop's counter or the same every time), or
//! of a pixelated block's row (`for bx in x0..x1`, `x0` each lane's), run over all its
//! remaining iterations at once, straight from the decoded row, with none of the
//! dispatch of its instructions one by one.
//!
//! It does exactly what the instructions would do, in the same order: each iteration
//! adds each lane's pixel (times the weight, narrowed to `f32` as `AtOffMulAcc`
//! narrows it) to the lane's sum, as an image read of [`Vm::lanes_at`] adds it; the
//! registers the loop writes end as the last iteration leaves them; the instructions
//! are counted as if they ran. It is taken only for every lane of a span, with as many
//! iterations left in each lane, `x` the counter plus another register, `y` the same in
//! every lane, and every pixel the iterations read inside the image and within one
//! stretch of the row that `lanes_at` would read at once; and only when the count stays
//! below the allowance, so that no budget stop falls inside it. Anywhere else the loop
//! runs instruction by instruction as before.

use super::image::GATHER;
use super::lanes::*;
use super::*;

/// The most constants and array reads before a row's tap.
const MAX_SETUP: usize = 4;

/// The loop's last instruction (its `ForStep`) and where it jumps back to.
pub(super) struct Back<'c> {
    /// The function's code.
    pub code: &'c [Instr],
    /// Which of its instructions are recomputations (counted, not run).
    pub recomputed: &'c [bool],
    /// The `ForStep`'s position.
    pub at: usize,
    /// The `ForStep`.
    pub ins: Instr,
}

/// What a loop that is a row of taps holds, as its code says (its registers' values
/// are looked at when it runs).
struct Shape {
    /// Where its body starts (the `ForStep` jumps back there).
    start: usize,
    /// Its read of an array at the counter, if it has one.
    get: Option<Instr>,
}

/// The shape of the loop that the `ForStep`/`ForStepK` at `at` closes, when its body
/// is a row of taps: constants and params (the same every iteration), at most one read
/// of an array, then the tap; the tap, the array read and the step run as written (a
/// recomputation is counted, not run, and only a constant's may be one: it writes what
/// is there).
fn shape(code: &[Instr], recomputed: &[bool], at: usize) -> Option<Shape> {
    let step = code.get(at)?;
    if !matches!(step.op, Op::ForStep | Op::ForStepK) {
        return None;
    }
    let start = (step.k as u32) as usize;
    let (tap, setup) = code.get(start..at)?.split_last()?;
    if !matches!(tap.op, Op::AtOffAcc | Op::AtOffMulAcc) || setup.len() > MAX_SETUP {
        return None;
    }
    let mut get = None;
    for (i, ins) in setup.iter().enumerate() {
        match ins.op {
            Op::Const | Op::Glob => {}
            Op::ArrGet if get.is_none() => get = Some((start + i, *ins)),
            _ => return None,
        }
    }
    let runs = |pos: usize| recomputed.get(pos) != Some(&true);
    if !runs(at) || !runs(at - 1) || get.is_some_and(|(pos, _)| !runs(pos)) {
        return None;
    }
    Some(Shape {
        start,
        get: get.map(|(_, get)| get),
    })
}

/// Per instruction of a function's code: whether it is the `ForStep` of a row of taps
/// by its code (`LoadedFn::tap_rows`): the dispatch loop tries [`Vm::fused_taps`] only
/// there.
pub(crate) fn tap_rows(code: &[Instr], recomputed: &[bool]) -> Vec<bool> {
    (0..code.len())
        .map(|at| shape(code, recomputed, at).is_some())
        .collect()
}

/// The position of the `ForStep` that closes the loop a `BrLtI`/`BrLtIK` enters (its
/// `then` block loops on itself with the branch's counter and bound), if it is one.
pub(super) fn entered(code: &[Instr], br: Instr) -> Option<usize> {
    let then = (br.k as u32) as usize;
    // A row of taps is at most its setup, the tap and its `ForStep`.
    let at = (then..code.len().min(then + MAX_SETUP + 2)).find(|&i| is_jump(code[i].op))?;
    let step = code[at];
    let same_bound = match (br.op, step.op) {
        (Op::BrLtI, Op::ForStep) => step.b == br.b,
        (Op::BrLtIK, Op::ForStepK) => step.c == br.c,
        _ => false,
    };
    (same_bound && step.a == br.a && (step.k as u32) as usize == then).then_some(at)
}

/// Whether the instruction ends a block.
fn is_jump(op: Op) -> bool {
    use Op::*;
    matches!(
        op,
        Jmp | Br | BrLtI | BrLtF | BrLtIK | ForStep | ForStepK | Ret | Ret2 | RetR | RetU
    )
}

impl Vm {
    /// Runs the remaining iterations of the loop that `back` closes, which all the lanes
    /// of the span are about to run (entered or gone round again: the counter `s[a]`
    /// holds each lane's next value, below its bound), when its body is a kernel's row
    /// of taps (see the module's docs).
    /// Returns the instructions it ran, `None` when the loop is not such a row (nothing
    /// is changed then but the body's constants, written as the next iteration, which
    /// runs then, writes them). `same_image` is the reference register last found to
    /// hold one image in every lane; `left` the instructions the group may still count.
    #[inline(never)]
    pub(super) fn fused_taps(
        &mut self,
        st: &mut Lanes,
        back: Back<'_>,
        sb: usize,
        rb: usize,
        same_image: usize,
        left: u64,
    ) -> Ran<Option<u64>> {
        let Back {
            code,
            recomputed,
            at,
            ins,
        } = back;
        let Some(Shape { start, get }) = shape(code, recomputed, at) else {
            return Ok(None);
        };
        let body = &code[start..at];
        let Some((tap, setup)) = body.split_last() else {
            return Ok(None);
        };
        let counter = sb + ins.a as usize;
        let bound_reg = (ins.op == Op::ForStep).then(|| sb + ins.b as usize);
        let bound_of = |l: usize| match bound_reg {
            Some(b) => st.s[b][l] as i64,
            None => (ins.c as i16) as i64,
        };
        // The iterations left: the same in every lane (where the counter or the bound
        // differs from lane to lane, as a pixelated block's columns do, each lane's).
        let from = st.s[counter][0] as i64;
        let Some(trips) = bound_of(0).checked_sub(from).filter(|n| *n > 0) else {
            return Ok(None);
        };
        let same_counter = st.u[counter] && bound_reg.is_none_or(|b| st.u[b]);
        if !same_counter
            && (0..LANES).any(|l| bound_of(l).checked_sub(st.s[counter][l] as i64) != Some(trips))
        {
            return Ok(None);
        }
        let trips = trips as u64;
        // The constants, written now as each iteration writes them (the same values):
        // none of them may be the counter, the bound, the sum or the array read's.
        let sum = sb + tap.a as usize;
        let get_dst = get.map(|get| sb + get.a as usize);
        let constants = || setup.iter().filter(|step| step.op != Op::ArrGet);
        for step in constants() {
            let dst = sb + step.a as usize;
            if dst == counter
                || Some(dst) == bound_reg
                || Some(dst) == get_dst
                || dst == sum
                || dst == sum + 1
            {
                return Ok(None);
            }
        }
        for step in constants() {
            let dst = sb + step.a as usize;
            let v = match step.op {
                Op::Glob => self.globals.get(step.k as usize).copied().unwrap_or(0),
                _ => step.k,
            };
            st.s[dst].fill(v);
            st.u[dst] = true;
            forget(&mut st.step, dst);
        }
        let Some(total) = trips
            .checked_mul(body.len() as u64 + 1)
            .and_then(|n| n.checked_mul(LANES as u64))
            .filter(|n| *n < left)
        else {
            return Ok(None);
        };
        // The tap's registers: x the counter plus another register; y the sum of two
        // registers the same in every lane, neither the counter; the sum two registers
        // apart from all of those.
        let reg = |shift: u32| sb + ((tap.k >> shift) as u16) as usize;
        let (x0, x1, y0, y1) = (reg(0), reg(16), reg(32), reg(48));
        let plus = if x1 == counter && x0 != counter {
            x0
        } else if x0 == counter && x1 != counter {
            x1
        } else {
            return Ok(None);
        };
        let img_reg = rb + tap.b as usize;
        let weight_reg = sb + tap.c as usize;
        let read = [plus, counter, y0, y1];
        if !st.u[y0]
            || !st.u[y1]
            || y0 == counter
            || y1 == counter
            || Some(plus) == bound_reg
            || bound_reg.is_some_and(|b| b == sum || b == sum + 1)
            || same_image != img_reg
            || read.iter().any(|r| *r == sum || *r == sum + 1)
        {
            return Ok(None);
        }
        // The weight of each iteration: the array element at the counter (the same in
        // every lane), or one register the loop does not write (the same in every lane).
        let weights = match (tap.op, get) {
            (Op::AtOffAcc, None) => Weight::None,
            (Op::AtOffMulAcc, None) => {
                if !st.u[weight_reg] || weight_reg == sum || weight_reg == sum + 1 {
                    return Ok(None);
                }
                Weight::One(f64::from_bits(st.s[weight_reg][0]) as f32)
            }
            (Op::AtOffMulAcc, Some(get)) => {
                let dst = sb + get.a as usize;
                let arr_reg = rb + get.b as usize;
                if !same_counter
                    || dst != weight_reg
                    || Some(dst) == bound_reg
                    || sb + get.c as usize != counter
                    || read.contains(&dst)
                    || dst == sum
                    || dst == sum + 1
                {
                    return Ok(None);
                }
                let head = st.r[arr_reg][0];
                let RVal::Arr(id) = head else {
                    return Ok(None);
                };
                if !st.ru[arr_reg] && st.r[arr_reg].iter().any(|r| *r != head) {
                    return Ok(None);
                }
                let Some(arr) = st.arrays.get(id as usize) else {
                    return Ok(None);
                };
                let Ok(first) = usize::try_from(from) else {
                    return Ok(None);
                };
                let end = first.saturating_add(trips as usize);
                if arr.width != 1 || end as u64 > arr.len {
                    return Ok(None);
                }
                if !arr.same[first..end].iter().all(|same| *same) {
                    return Ok(None);
                }
                Weight::Array(id as usize, first, dst)
            }
            _ => return Ok(None),
        };
        // The image the tap reads, as an earlier read left it open in the VM's view.
        let Some((img, view, rows)) = self.image.as_mut() else {
            return Ok(None);
        };
        if st.r[img_reg][0] != RVal::Id(*img) {
            return Ok(None);
        }
        // Each lane's x at the first iteration: `v + lane` (a row from `v`) when the
        // counter is the same in every lane and the other register is the pixel's x
        // (`Lanes::step`), else each lane's, all within one stretch of the row.
        let (p, q) = (&st.s[plus], &st.s[counter]);
        let first_x = (p[0] as i64).wrapping_add(q[0] as i64);
        let (xs, lo_x, hi_x) = if st.u[counter] && st.step[plus] {
            (None, first_x, first_x.wrapping_add(LANES as i64 - 1))
        } else {
            let xs: [i64; LANES] = std::array::from_fn(|l| (p[l] as i64).wrapping_add(q[l] as i64));
            let (mut lo_x, mut hi_x) = (first_x, first_x);
            for x in xs {
                lo_x = lo_x.min(x);
                hi_x = hi_x.max(x);
            }
            (Some(xs), lo_x, hi_x)
        };
        let max_x = view.width() as i64 - 1;
        if lo_x < 0
            || hi_x.checked_sub(lo_x).is_none_or(|d| d >= GATHER as i64)
            || hi_x.checked_add(trips as i64 - 1).is_none_or(|x| x > max_x)
            || view.height() == 0
        {
            return Ok(None);
        }
        let y = (st.s[y0][0] as i64).wrapping_add(st.s[y1][0] as i64);
        let row = rows
            .row(view, &self.store, y, lo_x, hi_x + trips as i64 - 1)
            .map_err(|_| Bail::Here)?;
        let xs = match xs {
            None => Xs::Row(lo_x as usize),
            Some(xs) => Xs::Each(xs.map(|x| x as usize)),
        };
        let Lanes {
            s, u, step, arrays, ..
        } = st;
        let Some(([d0, d1], _)) = around(s, sum, 2) else {
            return Ok(None);
        };
        let by = match weights {
            Weight::None => By::None,
            Weight::One(k) => By::One(k),
            Weight::Array(id, first, _) => By::Each(&arrays[id].data, first),
        };
        add_taps([d0, d1], [row.lo, row.hi], &xs, trips as usize, by);
        // What the last iteration leaves: the counter at its bound (the same in every
        // lane, or each lane's), the weight read from the array at the last index.
        if u[counter] {
            s[counter].fill(from.wrapping_add(trips as i64) as u64);
        } else {
            for v in s[counter].iter_mut() {
                *v = (*v as i64).wrapping_add(trips as i64) as u64;
            }
        }
        forget(step, counter);
        if let Weight::Array(id, first, dst) = weights {
            s[dst].fill(arrays[id].data[(first + trips as usize - 1) * LANES]);
            u[dst] = true;
            forget(step, dst);
        }
        self.taps_fused += 1;
        Ok(Some(total))
    }
}

/// The weight of a row of taps' iterations.
#[derive(Clone, Copy)]
enum Weight {
    /// None (`AtOffAcc`).
    None,
    /// The same in every iteration.
    One(f32),
    /// The lane array `.0`'s element at the counter (from index `.1` on), read into
    /// register `.2`.
    Array(usize, usize, usize),
}

/// Where each lane reads in the first iteration of a row of taps (the next one reads
/// one pixel to the right). One lives on the stack for one call: the lanes' positions
/// inline, not boxed.
#[allow(clippy::large_enum_variant)]
enum Xs {
    /// Lane `l` at `x + l`.
    Row(usize),
    /// Each lane at its own.
    Each([usize; LANES]),
}

/// The weights of a row of taps' iterations, as `add_taps` reads them.
#[derive(Clone, Copy)]
enum By<'a> {
    /// None.
    None,
    /// The same in every iteration.
    One(f32),
    /// Iteration `n`'s is the `f64` of `data[(first + n) * LANES]` narrowed.
    Each(&'a [u64], usize),
}

/// Adds `trips` iterations of the row's pixels (`row`: a decoded row's two slots per
/// pixel) to the two colour registers `d`, times the weights `by`, in order: compiled
/// for AVX2 when the processor has it (the same IEEE operations, no FMA).
fn add_taps(d: [&mut Lane; 2], row: [&[u64]; 2], xs: &Xs, trips: usize, by: By<'_>) {
    #[cfg(target_arch = "x86_64")]
    if crate::exec::simd::avx2() {
        // SAFETY: the processor has AVX2 (`avx2` checks it).
        return unsafe { add_taps_avx2(d, row, xs, trips, by) };
    }
    add_taps_body(d, row, xs, trips, by)
}

/// [`add_taps`] compiled for AVX2.
///
/// # Safety
/// Only on a processor with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn add_taps_avx2(d: [&mut Lane; 2], row: [&[u64]; 2], xs: &Xs, trips: usize, by: By<'_>) {
    add_taps_body(d, row, xs, trips, by)
}

#[inline(always)]
fn add_taps_body(d: [&mut Lane; 2], row: [&[u64]; 2], xs: &Xs, trips: usize, by: By<'_>) {
    let [d0, d1] = d;
    let mut add = |n: usize, lo: &[u64], hi: &[u64]| {
        let k = match by {
            By::None => {
                zip_halves_in(d0, lo, |p, q| p + q);
                zip_halves_in(d1, hi, |p, q| p + q);
                return;
            }
            By::One(k) => k,
            By::Each(data, first) => f64::from_bits(data[(first + n) * LANES]) as f32,
        };
        zip_halves_in(d0, lo, |p, q| p + q * k);
        zip_halves_in(d1, hi, |p, q| p + q * k);
    };
    match xs {
        Xs::Row(x) => {
            for n in 0..trips {
                let at = x + n..x + n + LANES;
                add(n, &row[0][at.clone()], &row[1][at]);
            }
        }
        Xs::Each(xs) => {
            let (mut lo, mut hi) = ([0u64; LANES], [0u64; LANES]);
            for n in 0..trips {
                for (l, x) in xs.iter().enumerate() {
                    (lo[l], hi[l]) = (row[0][x + n], row[1][x + n]);
                }
                add(n, &lo, &hi);
            }
        }
    }
}
