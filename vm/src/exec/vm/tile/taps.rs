//! A kernel's row of taps in one go: the inner loop of a box or Gaussian blur (a
//! `for` over `dx` whose body is one read of `src.at(x + dx, y + dy)` added to a sum,
//! times a weight of an array indexed by the loop's counter or the same every time)
//! run over all its remaining iterations at once, straight from the decoded row, with
//! none of the dispatch of its instructions one by one.
//!
//! It does exactly what the instructions would do, in the same order: each iteration
//! adds each lane's pixel (times the weight, narrowed to `f32` as `AtOffMulAcc`
//! narrows it) to the lane's sum, as the row read of [`Vm::lanes_at`] adds it; the
//! registers the loop writes end as the last iteration leaves them; the instructions
//! are counted as if they ran. It is taken only where that read is the row read (every
//! lane of the span, `x` the pixel's plus the counter, `y` the same in every lane, the
//! whole row in the image), and only when the count stays below the allowance, so that
//! no budget stop falls inside it: anywhere else the loop runs instruction by
//! instruction as before.

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
    /// holds the next iteration's value, below the bound, the same in every lane), when
    /// its body is a kernel's row of taps (see the module's docs).
    /// Returns the instructions it ran, `None` when the loop is not such a row (nothing
    /// is changed then but the body's constants, written as the next iteration, which
    /// runs then, writes them). `same_image` is the reference register last found to
    /// hold one image in every lane; `left` the instructions the group may still count.
    #[inline(always)]
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
        let start = ((ins.k as u32) as usize).min(at);
        let body = &code[start..at];
        // The body: constants and params (the same every iteration), at most one read of
        // an array at the counter, then the tap.
        let Some((tap, setup)) = body.split_last() else {
            return Ok(None);
        };
        if !matches!(tap.op, Op::AtOffAcc | Op::AtOffMulAcc) || setup.len() > MAX_SETUP {
            return Ok(None);
        }
        let mut get = None;
        for (i, step) in setup.iter().enumerate() {
            match step.op {
                Op::Const | Op::Glob => {}
                Op::ArrGet if get.is_none() => get = Some((start + i, *step)),
                _ => return Ok(None),
            }
        }
        // The tap, the array read and the loop's step run as written (a recomputation is
        // counted, not run, and only a constant's may be one: it writes what is there).
        let runs = |pos: usize| recomputed.get(pos) != Some(&true);
        if !runs(at) || !runs(at - 1) || get.is_some_and(|(pos, _)| !runs(pos)) {
            return Ok(None);
        }
        let get = get.map(|(_, get)| get);
        let counter = sb + ins.a as usize;
        let from = st.s[counter][0] as i64;
        let bound = if ins.op == Op::ForStepK {
            (ins.c as i16) as i64
        } else {
            let b = sb + ins.b as usize;
            if !st.u[b] {
                return Ok(None);
            }
            st.s[b][0] as i64
        };
        if !st.u[counter] || from >= bound {
            return Ok(None);
        }
        // The constants, written now as each iteration writes them (the same values):
        // none of them may be the counter, the bound, the sum or the array read's.
        let sum = sb + tap.a as usize;
        let bound_reg = (ins.op == Op::ForStep).then(|| sb + ins.b as usize);
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
        let trips = (bound - from) as u64;
        let Some(total) = trips
            .checked_mul(body.len() as u64 + 1)
            .and_then(|n| n.checked_mul(LANES as u64))
            .filter(|n| *n < left)
        else {
            return Ok(None);
        };
        // The tap's registers: x is a register that is the pixel's x (`v + lane`) plus
        // the counter; y the sum of two registers the same in every lane, neither the
        // counter; the sum two registers apart from all of those.
        let reg = |shift: u32| sb + ((tap.k >> shift) as u16) as usize;
        let (x0, x1, y0, y1) = (reg(0), reg(16), reg(32), reg(48));
        let pixel_x = if x1 == counter && x0 != counter {
            x0
        } else if x0 == counter && x1 != counter {
            x1
        } else {
            return Ok(None);
        };
        let img_reg = rb + tap.b as usize;
        let weight_reg = sb + tap.c as usize;
        let read = [pixel_x, counter, y0, y1];
        if !st.step[pixel_x]
            || !st.u[y0]
            || !st.u[y1]
            || y0 == counter
            || y1 == counter
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
                if dst != weight_reg
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
                if arr.width != 1 || from < 0 || bound as u64 > arr.len {
                    return Ok(None);
                }
                if !arr.same[from as usize..bound as usize]
                    .iter()
                    .all(|same| *same)
                {
                    return Ok(None);
                }
                Weight::Array(id as usize, dst)
            }
            _ => return Ok(None),
        };
        // Every iteration's row lies in the image: lane 0 reads `v + i`, lane 63
        // `v + 63 + i`, for the counter's values `i` from `from` to `bound - 1`.
        let Some((img, view, rows)) = self.image.as_mut() else {
            return Ok(None);
        };
        if st.r[img_reg][0] != RVal::Id(*img) {
            return Ok(None);
        }
        let v = st.s[pixel_x][0] as i64;
        let (lo_x, hi_x) = (
            v.wrapping_add(from),
            v.wrapping_add(LANES as i64 - 1).wrapping_add(bound - 1),
        );
        let max_x = view.width() as i64 - 1;
        if lo_x < 0 || hi_x < lo_x || hi_x > max_x || view.height() == 0 {
            return Ok(None);
        }
        let y = (st.s[y0][0] as i64).wrapping_add(st.s[y1][0] as i64);
        let row = rows
            .row(view, &self.store, y, lo_x, hi_x)
            .map_err(|_| Bail::Here)?;
        let Lanes {
            s, u, step, arrays, ..
        } = st;
        let Some(([d0, d1], _)) = around(s, sum, 2) else {
            return Ok(None);
        };
        for (n, x) in (lo_x as usize..).take(trips as usize).enumerate() {
            let (row_lo, row_hi) = (&row.lo[x..x + LANES], &row.hi[x..x + LANES]);
            let k = match weights {
                Weight::None => {
                    zip_halves_in(d0, row_lo, |p, q| p + q);
                    zip_halves_in(d1, row_hi, |p, q| p + q);
                    continue;
                }
                Weight::One(k) => k,
                Weight::Array(id, _) => {
                    f64::from_bits(arrays[id].data[(from as usize + n) * LANES]) as f32
                }
            };
            zip_halves_in(d0, row_lo, |p, q| p + q * k);
            zip_halves_in(d1, row_hi, |p, q| p + q * k);
        }
        // What the last iteration leaves: the counter at its bound, the weight read
        // from the array at `bound - 1`.
        s[counter].fill(bound as u64);
        forget(step, counter);
        if let Weight::Array(id, dst) = weights {
            s[dst].fill(arrays[id].data[(bound as usize - 1) * LANES]);
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
    /// The lane array `.0`'s element at the counter, read into register `.1`.
    Array(usize, usize),
}
