//! The math builtins over the lanes: once when every active lane has the same
//! arguments, lane by lane otherwise.

use super::lanes::*;
use super::*;
use crate::compile::ir::math_widths;
use crate::exec::vm::ops::math;

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
    let mut out0 = [0u64; LANES];
    let mut out1 = [0u64; LANES];
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
    for l in 0..LANES {
        let mut win = [0u64; 8];
        for (idx, slot) in win.iter_mut().enumerate().take(args) {
            *slot = s[b + idx][l];
        }
        math(op, &mut win, 0, 0);
        out0[l] = win[0];
        out1[l] = win[1];
    }
    put(&mut s[a], &out0, w.wmask);
    u[a] = false;
    if res == 2 {
        put(&mut s[a + 1], &out1, w.wmask);
        u[a + 1] = false;
    }
    Ok(())
}
