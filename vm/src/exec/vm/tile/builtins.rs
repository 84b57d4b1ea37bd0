//! The math builtins over the lanes: once when every active lane has the same
//! arguments, lane by lane otherwise.

use super::lanes::*;
use super::*;
use crate::compile::ir::math_widths;
use crate::exec::vm::ops::{math, math_of};

/// `Math` over the lanes of `mask`: the builtin `ins.k` of the arguments from `b`, its
/// result (one or two slots) into `a`.
#[inline(always)]
pub(super) fn lanes_math(
    s: &mut [Lane],
    u: &mut [bool],
    w: W,
    ins: Instr,
    mask: u64,
    a: usize,
    b: usize,
) -> Ran<()> {
    let Some(op) = builtin_of_code(ins.k) else {
        return Err(Bail::Here);
    };
    let (args, res) = math_widths(op);
    let (args, res) = (args as usize, res as usize);
    if b + args > s.len() || a + res > s.len() || a + res > u.len() || b + args > u.len() {
        return Err(Bail::Here);
    }
    let known = (0..args).all(|idx| u[b + idx]);
    if known || (0..args).all(|idx| uniform(&s[b + idx], mask)) {
        // The same arguments in every lane: one computation (a builtin
        // depends on its arguments only).
        let first = mask.trailing_zeros() as usize;
        let mut win = [0u64; 8];
        for (idx, slot) in win.iter_mut().enumerate().take(args) {
            *slot = s[b + idx][first];
        }
        math(op, &mut win, 0, 0);
        for (idx, v) in win.iter().enumerate().take(res) {
            fill(s, u, w, a + idx, *v);
        }
        return Ok(());
    }
    // A group of every lane writes the result straight into its registers when the
    // arguments are other registers (no copy of a result).
    if w.wmask == FULL {
        if let Some((dst, rest)) = around(s, a, res) {
            // Past the arguments, a row no builtin of fewer arguments reads.
            let rows: [Option<&Lane>; ARGS] =
                std::array::from_fn(|i| rest.get(if i < args { b + i } else { b }));
            if let [Some(r0), Some(r1), Some(r2), Some(r3), Some(r4), Some(r5)] = rows {
                let rows = [r0, r1, r2, r3, r4, r5];
                match dst {
                    [d0] => lanes_of(op, rows, d0, &mut [0; LANES]),
                    [d0, d1] => lanes_of(op, rows, d0, d1),
                    _ => return Err(Bail::Here),
                }
                u[a] = false;
                if res == 2 {
                    u[a + 1] = false;
                }
                return Ok(());
            }
        }
    }
    let last = s.len() - 1;
    let rows: [&Lane; ARGS] = std::array::from_fn(|i| &s[(b + i).min(last)]);
    let (mut out0, mut out1) = ([0u64; LANES], [0u64; LANES]);
    lanes_of(op, rows, &mut out0, &mut out1);
    put(&mut s[a], &out0, w.wmask);
    u[a] = false;
    if res == 2 {
        put(&mut s[a + 1], &out1, w.wmask);
        u[a + 1] = false;
    }
    Ok(())
}

/// Builtin `op` of each lane's arguments (the registers of `rows`) into `out0`/`out1`.
/// The common builtins get a lane loop of their own code (the builtin a constant, so
/// the loop vectorizes); the others go through the whole match.
/// Compiled for AVX2 when the processor has it (the same operations, more lanes at a
/// time).
#[inline(never)]
fn lanes_of(op: BuiltinOp, rows: [&Lane; ARGS], out0: &mut Lane, out1: &mut Lane) {
    #[cfg(target_arch = "x86_64")]
    if crate::exec::simd::avx2() {
        // SAFETY: the processor has AVX2 (`avx2` checks it).
        return unsafe { lanes_of_avx2(op, rows, out0, out1) };
    }
    lanes_of_body(op, rows, out0, out1)
}

/// [`lanes_of`] compiled for AVX2.
///
/// # Safety
/// Only on a processor with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn lanes_of_avx2(op: BuiltinOp, rows: [&Lane; ARGS], out0: &mut Lane, out1: &mut Lane) {
    lanes_of_body(op, rows, out0, out1)
}

#[inline(always)]
fn lanes_of_body(op: BuiltinOp, rows: [&Lane; ARGS], out0: &mut Lane, out1: &mut Lane) {
    macro_rules! loops {
        ($($name:ident),*) => {
            match op {
                $(BuiltinOp::$name => lane_loop(rows, out0, out1, |x| {
                    math_of(BuiltinOp::$name, x)
                }),)*
                _ => lane_loop(rows, out0, out1, |x| math_of(op, x)),
            }
        };
    }
    loops!(
        MinColor,
        MaxColor,
        ClampColor,
        ClampColors,
        MixColor,
        Gray,
        Luma,
        Sqrt,
        AbsFloat,
        ClampFloat,
        MinFloat,
        MaxFloat,
        MixFloat,
        Smoothstep,
        Floor,
        ToFloat,
        ToInt,
        MinInt,
        MaxInt,
        ClampInt
    );
}

/// The most arguments of a builtin, in slots.
const ARGS: usize = 6;

/// `f` of each lane's arguments (the registers of `rows`: the arguments', then rows
/// no builtin of fewer arguments reads) into `out0`/`out1`.
#[inline(always)]
fn lane_loop(
    rows: [&Lane; ARGS],
    out0: &mut Lane,
    out1: &mut Lane,
    f: impl Fn(&[u64]) -> [u64; 2],
) {
    for l in 0..LANES {
        // Written out, as `lanes_from` does for a lane register.
        let args: [u64; ARGS] = [
            rows[0][l], rows[1][l], rows[2][l], rows[3][l], rows[4][l], rows[5][l],
        ];
        let [lo, hi] = f(&args);
        out0[l] = lo;
        out1[l] = hi;
    }
}
