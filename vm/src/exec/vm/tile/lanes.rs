//! Lane registers and masks: the per-lane helpers every tile-wide instruction is made
//! of (masked writes, maps over the lanes, colour halves, branch masks).

use super::*;

#[inline(always)]
pub(super) fn bits(mask: u64) -> impl Iterator<Item = usize> {
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
pub(super) fn put(dst: &mut Lane, out: &Lane, mask: u64) {
    if mask == FULL {
        *dst = *out;
    } else {
        // A blend over every lane, not a loop over the mask's bits: it vectorizes.
        for (lane, (d, o)) in dst.iter_mut().zip(out).enumerate() {
            let keep = (mask >> lane & 1).wrapping_sub(1);
            *d = (*d & keep) | (*o & !keep);
        }
    }
}

/// The registers other than the `n` from `a` (see [`around`]).
pub(super) struct Around<'s> {
    left: &'s [Lane],
    right: &'s [Lane],
    end: usize,
}

impl<'s> Around<'s> {
    /// Register `r`, unless it is one of those taken out.
    #[inline(always)]
    pub(super) fn get(&self, r: usize) -> Option<&'s Lane> {
        if r < self.left.len() {
            self.left.get(r)
        } else {
            r.checked_sub(self.end).and_then(|i| self.right.get(i))
        }
    }
}

/// Registers `a..a + n` to write, and the others to read: a whole write straight
/// into the destination (no copy of a result) when the operands are elsewhere.
#[inline(always)]
pub(super) fn around(s: &mut [Lane], a: usize, n: usize) -> Option<(&mut [Lane], Around<'_>)> {
    if a.checked_add(n)? > s.len() {
        return None;
    }
    let (left, rest) = s.split_at_mut(a);
    let (dst, right) = rest.split_at_mut(n);
    Some((
        dst,
        Around {
            left,
            right,
            end: a + n,
        },
    ))
}

/// `s[a] := f(s[b])` over the lanes.
#[inline(always)]
pub(super) fn map1(s: &mut [Lane], mask: u64, a: usize, b: usize, f: impl Fn(u64) -> u64) {
    if mask == FULL {
        if let Some((dst, rest)) = around(s, a, 1) {
            let dst = &mut dst[0];
            match rest.get(b) {
                Some(x) => {
                    for l in 0..LANES {
                        dst[l] = f(x[l]);
                    }
                }
                None => {
                    for v in dst.iter_mut() {
                        *v = f(*v);
                    }
                }
            }
            return;
        }
    }
    let x = &s[b];
    let out: Lane = lanes_from(|l| f(x[l]));
    put(&mut s[a], &out, mask);
}

/// `s[a] := f(s[b], s[c])` over the lanes.
#[inline(always)]
pub(super) fn map2(
    s: &mut [Lane],
    mask: u64,
    a: usize,
    b: usize,
    c: usize,
    f: impl Fn(u64, u64) -> u64,
) {
    if mask == FULL {
        if let Some((dst, rest)) = around(s, a, 1) {
            let dst = &mut dst[0];
            match (rest.get(b), rest.get(c)) {
                (Some(x), Some(y)) => {
                    for l in 0..LANES {
                        dst[l] = f(x[l], y[l]);
                    }
                }
                (None, Some(y)) => {
                    for l in 0..LANES {
                        dst[l] = f(dst[l], y[l]);
                    }
                }
                (Some(x), None) => {
                    for l in 0..LANES {
                        dst[l] = f(x[l], dst[l]);
                    }
                }
                (None, None) => {
                    for v in dst.iter_mut() {
                        *v = f(*v, *v);
                    }
                }
            }
            return;
        }
    }
    let (x, y) = (&s[b], &s[c]);
    let out: Lane = lanes_from(|l| f(x[l], y[l]));
    put(&mut s[a], &out, mask);
}

/// Colour `s[a..a+2] := f(colour s[b..b+2], s[c], s[c+1])` over the lanes (`c` is read
/// as the caller's instruction says: a colour, a float, or not at all).
#[inline(always)]
pub(super) fn cmap(
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
pub(super) fn halves(x: u64, y: u64, f: impl Fn(f32, f32) -> f32) -> u64 {
    let lo = f(f32::from_bits(x as u32), f32::from_bits(y as u32));
    let hi = f(
        f32::from_bits((x >> 32) as u32),
        f32::from_bits((y >> 32) as u32),
    );
    lo.to_bits() as u64 | (hi.to_bits() as u64) << 32
}

/// A lane register's slots as their `f32` halves, two a lane, in memory order: which
/// half of a slot comes first does not matter to an operation done alike on both
/// halves of every slot (a colour's channels), which then is one loop over plain `f32`
/// that vectorizes with no shuffle.
#[inline(always)]
pub(crate) fn halves_of(x: &[u64]) -> &[f32] {
    // SAFETY: `2 * len` `f32` take the slots' bytes exactly, `u64`'s alignment is a
    // multiple of `f32`'s, and every bit pattern is an `f32`.
    unsafe { std::slice::from_raw_parts(x.as_ptr().cast::<f32>(), 2 * x.len()) }
}

/// [`halves_of`], to write.
#[inline(always)]
pub(super) fn halves_of_mut(x: &mut [u64]) -> &mut [f32] {
    // SAFETY: as for `halves_of`, and every bit pattern is a `u64`.
    unsafe { std::slice::from_raw_parts_mut(x.as_mut_ptr().cast::<f32>(), 2 * x.len()) }
}

/// `d := f(x, y)` half by half (see [`halves_of`]); `x`, `y` as long as `d`.
#[inline(always)]
pub(super) fn zip_halves(d: &mut [u64], x: &[u64], y: &[u64], f: impl Fn(f32, f32) -> f32) {
    let (d, x, y) = (halves_of_mut(d), halves_of(x), halves_of(y));
    for ((d, x), y) in d.iter_mut().zip(x).zip(y) {
        *d = f(*x, *y);
    }
}

/// `d := f(x)` half by half (see [`halves_of`]); `d := f(d)` when `x` is empty.
#[inline(always)]
pub(super) fn map_halves(d: &mut [u64], x: &[u64], f: impl Fn(f32) -> f32) {
    let d = halves_of_mut(d);
    if x.is_empty() {
        for d in d.iter_mut() {
            *d = f(*d);
        }
    } else {
        for (d, x) in d.iter_mut().zip(halves_of(x)) {
            *d = f(*x);
        }
    }
}

/// `d := f(d, y)` half by half (see [`halves_of`]).
#[inline(always)]
pub(super) fn zip_halves_in(d: &mut [u64], y: &[u64], f: impl Fn(f32, f32) -> f32) {
    let (d, y) = (halves_of_mut(d), halves_of(y));
    for (d, y) in d.iter_mut().zip(y) {
        *d = f(*d, *y);
    }
}

/// Colour `s[a..a+2] := f(colour s[b..b+2], colour s[c..c+2])` channel by channel over
/// the lanes (both read before anything is written, so registers may overlap).
#[inline(always)]
pub(super) fn chalves(
    s: &mut [Lane],
    mask: u64,
    a: usize,
    b: usize,
    c: usize,
    f: impl Fn(f32, f32) -> f32 + Copy,
) {
    if mask == FULL {
        if let Some(([d0, d1], rest)) = around(s, a, 2) {
            let (x, y) = (
                (rest.get(b), rest.get(b + 1)),
                (rest.get(c), rest.get(c + 1)),
            );
            match (x, y) {
                ((Some(x0), Some(x1)), (Some(y0), Some(y1))) => {
                    zip_halves(d0, x0, y0, f);
                    zip_halves(d1, x1, y1, f);
                    return;
                }
                ((None, None), (Some(y0), Some(y1))) if b == a => {
                    zip_halves_in(d0, y0, f);
                    zip_halves_in(d1, y1, f);
                    return;
                }
                ((Some(x0), Some(x1)), (None, None)) if c == a => {
                    zip_halves_in(d0, x0, |p, q| f(q, p));
                    zip_halves_in(d1, x1, |p, q| f(q, p));
                    return;
                }
                _ => {}
            }
        }
    }
    let (x0, x1, y0, y1) = (&s[b], &s[b + 1], &s[c], &s[c + 1]);
    let lo: Lane = lanes_from(|l| halves(x0[l], y0[l], f));
    let hi: Lane = lanes_from(|l| halves(x1[l], y1[l], f));
    put(&mut s[a], &lo, mask);
    put(&mut s[a + 1], &hi, mask);
}

/// Colour `s[a..a+2] := f(colour s[b..b+2], k)` channel by channel over the lanes, `k`
/// one `f32` for every lane and channel.
#[inline(always)]
pub(super) fn chalves_k(
    s: &mut [Lane],
    mask: u64,
    a: usize,
    b: usize,
    k: f32,
    f: impl Fn(f32, f32) -> f32 + Copy,
) {
    let kk = k.to_bits() as u64 | (k.to_bits() as u64) << 32;
    if mask == FULL {
        if let Some(([d0, d1], rest)) = around(s, a, 2) {
            match (rest.get(b), rest.get(b + 1)) {
                (Some(x0), Some(x1)) => {
                    map_halves(d0, x0, |p| f(p, k));
                    map_halves(d1, x1, |p| f(p, k));
                    return;
                }
                (None, None) if b == a => {
                    map_halves(d0, &[], |p| f(p, k));
                    map_halves(d1, &[], |p| f(p, k));
                    return;
                }
                _ => {}
            }
        }
    }
    let (x0, x1) = (&s[b], &s[b + 1]);
    let lo: Lane = lanes_from(|l| halves(x0[l], kk, f));
    let hi: Lane = lanes_from(|l| halves(x1[l], kk, f));
    put(&mut s[a], &lo, mask);
    put(&mut s[a + 1], &hi, mask);
}

/// Colour `s[a..a+2] := f(colour s[b..b+2], s[c] as f32)` channel by channel over the
/// lanes, the float `s[c]` narrowed per lane.
#[inline(always)]
pub(super) fn chalves_f(
    s: &mut [Lane],
    mask: u64,
    a: usize,
    b: usize,
    c: usize,
    f: impl Fn(f32, f32) -> f32 + Copy,
) {
    let (x0, x1, y) = (&s[b], &s[b + 1], &s[c]);
    let kk: Lane = lanes_from(|l| {
        let bits = (fl(y[l]) as f32).to_bits() as u64;
        bits | bits << 32
    });
    let lo: Lane = lanes_from(|l| halves(x0[l], kk[l], f));
    let hi: Lane = lanes_from(|l| halves(x1[l], kk[l], f));
    put(&mut s[a], &lo, mask);
    put(&mut s[a + 1], &hi, mask);
}

/// The lanes of `mask` where `cond` holds.
#[inline(always)]
pub(super) fn test(mask: u64, cond: impl Fn(usize) -> bool) -> u64 {
    pack(&lanes_from(cond)) & mask
}

/// `f` of each lane, in a plain loop: `std::array::from_fn` over the lanes was at
/// times a call, not inlined, that did not vectorize (`test` alone was a tenth of a
/// median filter's time).
#[inline(always)]
pub(super) fn lanes_from<T: Copy + Default>(mut f: impl FnMut(usize) -> T) -> [T; LANES] {
    let mut out = [T::default(); LANES];
    for (l, v) in out.iter_mut().enumerate() {
        *v = f(l);
    }
    out
}

/// The lanes whose flag is set, as a mask: eight flags at a time, each byte 0 or 1
/// moved to its bit by one multiplication.
#[inline(always)]
pub(super) fn pack(flags: &[bool; LANES]) -> u64 {
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
pub(super) fn fl(v: u64) -> f64 {
    f64::from_bits(v)
}

/// Whether register `x` holds the same value in every lane of `mask` (not empty).
#[inline(always)]
pub(super) fn uniform(x: &Lane, mask: u64) -> bool {
    let v = x[mask.trailing_zeros() as usize];
    if mask == FULL {
        // Stops at the first lane that differs: most often the second, where the
        // test of every lane below took a tenth of a median filter's time.
        return x.iter().all(|&y| y == v);
    }
    test(mask, |l| x[l] != v) == 0
}

/// The bits of channel byte `b & 0xff` as a unit `f32`: the value of the interpreter's
/// `from_u8` (its table holds this very product), computed so that it vectorizes.
#[inline(always)]
pub(super) fn unit_bits(b: u32) -> u64 {
    ((b & 0xff) as f32 * (1.0f32 / 255.0)).to_bits() as u64
}

/// A pixel (`u32::from_le_bytes([r, g, b, a])`) as a colour's two slots.
#[inline(always)]
pub(super) fn pixel_slots(px: u32) -> (u64, u64) {
    (
        unit_bits(px) | unit_bits(px >> 8) << 32,
        unit_bits(px >> 16) | unit_bits(px >> 24) << 32,
    )
}

/// The pixels of `row` as colours' slots, `lo` and `hi`: compiled for AVX2 when the
/// processor has it (the same operations, eight at a time).
pub(super) fn row_slots(row: &[u32; LANES], lo: &mut Lane, hi: &mut Lane) {
    #[cfg(target_arch = "x86_64")]
    if crate::exec::simd::avx2() {
        // SAFETY: the processor has AVX2 (`avx2` checks it).
        return unsafe { row_slots_avx2(row, lo, hi) };
    }
    row_slots_body(row, lo, hi)
}

/// [`row_slots`] compiled for AVX2.
///
/// # Safety
/// Only on a processor with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn row_slots_avx2(row: &[u32; LANES], lo: &mut Lane, hi: &mut Lane) {
    row_slots_body(row, lo, hi)
}

#[inline(always)]
fn row_slots_body(row: &[u32; LANES], lo: &mut Lane, hi: &mut Lane) {
    for lane in 0..LANES {
        (lo[lane], hi[lane]) = pixel_slots(row[lane]);
    }
}

/// The two `f32` halves of slot `x` plus those of `y`, as one slot (half a colour sum).
#[inline(always)]
pub(super) fn add_halves(x: u64, y: u64) -> u64 {
    halves(x, y, |p, q| p + q)
}

/// How a group writes: its lanes (`mask`), `full` when it has every lane of the span (it writes whole
/// registers, `wmask` then [`FULL`], and keeps a value the same in every lane as
/// such), and its first lane.
#[derive(Clone, Copy, Debug)]
pub(super) struct W {
    pub mask: u64,
    pub full: bool,
    pub wmask: u64,
    pub first: usize,
}

/// Whether the instruction keeps the uniform flags of what it writes itself (or
/// writes no scalar register); the others' destinations `a`, `a + 1` are forgotten
/// before they run.
#[inline(always)]
pub(super) fn keeps_flags(op: Op) -> bool {
    use Op::*;
    matches!(
        op,
        Nop | Const
            | Const2
            | Mov
            | Mov2
            | AddI
            | SubI
            | MulI
            | DivI
            | RemI
            | NegI
            | AddIK
            | MulIK
            | DivIK
            | RemIK
            | AddFK
            | SubFK
            | RSubFK
            | MulFK
            | DivFK
            | AddF
            | SubF
            | MulF
            | DivF
            | RemF
            | NegF
            | EqI
            | NeI
            | LtI
            | LeI
            | EqF
            | NeF
            | LtF
            | LeF
            | Not
            | Jmp
            | Br
            | BrLtI
            | BrLtF
            | BrLtIK
            | ForStep
            | ForStepK
            | Call
            | Ret
            | Ret2
            | RetU
            | Glob
            | Glob2
            | Math
            // What writes no scalar register: the flags of `a`, `a + 1` (registers of
            // the caller's, or scalars that only share a number with the reference or
            // array register `a`) stay true.
            | RetR
            | MovR
            | NewArr
            | ArrCopy
            | ArrSet
            | ArrSet2
    )
}

/// Whether the instruction writes scalar register `a` (and maybe `a + 1`): all but
/// jumps, calls, returns (they write the frame's first registers) and the writes of
/// references and arrays.
#[inline(always)]
pub(super) fn writes_a(op: Op) -> bool {
    use Op::*;
    !matches!(
        op,
        Nop | Jmp
            | Br
            | BrLtI
            | BrLtF
            | BrLtIK
            | Call
            | Ret
            | Ret2
            | RetR
            | RetU
            | MovR
            | NewArr
            | ArrCopy
            | ArrSet
            | ArrSet2
    )
}

/// Whether the instruction's result is `v + lane` (`Lanes::step`) when its operands
/// are as `step` and `u` say, before it runs (it may overwrite them).
#[inline(always)]
pub(super) fn stays_step(op: Op, step: &[bool], u: &[bool], b: usize, c: usize) -> bool {
    let st = |r: usize| step.get(r).copied().unwrap_or(false);
    let un = |r: usize| u.get(r).copied().unwrap_or(false);
    match op {
        Op::Mov | Op::AddIK => st(b),
        Op::AddI => (st(b) && un(c)) || (un(b) && st(c)),
        Op::SubI => st(b) && un(c),
        _ => false,
    }
}

/// Forgets that register `r` is the same in every lane.
#[inline(always)]
pub(super) fn forget(u: &mut [bool], r: usize) {
    if let Some(flag) = u.get_mut(r) {
        *flag = false;
    }
}

/// `s[r] := v` in the group's lanes: the same value in every lane.
#[inline(always)]
pub(super) fn fill(s: &mut [Lane], u: &mut [bool], w: W, r: usize, v: u64) {
    if w.wmask == FULL {
        s[r].fill(v);
    } else {
        put(&mut s[r], &[v; LANES], w.wmask);
    }
    u[r] = w.full;
}

/// `s[a] := f(s[b])` over the group's lanes, once when `s[b]` is the same in every lane.
#[inline(always)]
pub(super) fn m1(s: &mut [Lane], u: &mut [bool], w: W, a: usize, b: usize, f: impl Fn(u64) -> u64) {
    if u[b] {
        let v = f(s[b][w.first]);
        fill(s, u, w, a, v);
    } else {
        map1(s, w.wmask, a, b, f);
        u[a] = false;
    }
}

/// `s[a] := f(s[b], s[c])` over the group's lanes, once when both are the same in
/// every lane.
#[inline(always)]
pub(super) fn m2(
    s: &mut [Lane],
    u: &mut [bool],
    w: W,
    a: usize,
    b: usize,
    c: usize,
    f: impl Fn(u64, u64) -> u64,
) {
    if u[b] && u[c] {
        let v = f(s[b][w.first], s[c][w.first]);
        fill(s, u, w, a, v);
    } else {
        map2(s, w.wmask, a, b, c, f);
        u[a] = false;
    }
}

/// The lanes of `mask` where `cond` holds; one test when the operands are the same in
/// every lane (`same`).
#[inline(always)]
pub(super) fn when(mask: u64, first: usize, same: bool, cond: impl Fn(usize) -> bool) -> u64 {
    if same {
        if cond(first) {
            mask
        } else {
            0
        }
    } else {
        test(mask, cond)
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
        // Lanes past a span read 0: both slots 0.
        assert_eq!(pixel_slots(0), (0, 0));
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
    fn colours_done_half_by_half_in_place_are_colours_done_slot_by_slot() {
        let vals = [0.1f32, -0.7, 3.5, f32::NAN, 1e-40, -0.0, 2.0, 255.0];
        let x: Lane =
            std::array::from_fn(|l| color_slots([vals[l % 8], vals[(l + 3) % 8], 0.0, 0.0]).0);
        let y: Lane = std::array::from_fn(|l| {
            color_slots([vals[(l + 5) % 8], vals[(l * 7) % 8], 0.0, 0.0]).0
        });
        let f = |p: f32, q: f32| p * q - q;
        let mut d = [0u64; LANES];
        zip_halves(&mut d, &x, &y, f);
        let mut e = x;
        zip_halves_in(&mut e, &y, f);
        let mut m = [0u64; LANES];
        map_halves(&mut m, &x, |p| f(p, 0.5));
        for l in 0..LANES {
            assert_eq!(d[l], halves(x[l], y[l], f), "lane {l}");
            assert_eq!(e[l], d[l], "lane {l}");
            let k = 0.5f32.to_bits() as u64;
            assert_eq!(m[l], halves(x[l], k | k << 32, f), "lane {l}");
        }
    }

    #[test]
    fn what_writes_no_scalar_register_keeps_the_flags() {
        // A reference or array write whose `a` shares a number with a scalar register
        // (a kernel's `y`, a radius) must not make that register vary.
        for op in Op::ALL {
            assert!(writes_a(*op) || keeps_flags(*op), "{op:?}");
        }
    }

    #[test]
    fn a_masked_write_changes_the_masks_lanes_only() {
        let out: Lane = std::array::from_fn(|l| 1000 + l as u64);
        for mask in [
            0u64,
            1,
            0b1010_0000,
            0x8000_0000_0000_0001,
            0x0f0f_0f0f_0f0f_0f0f,
            u64::MAX >> 1,
            FULL,
        ] {
            let mut dst: Lane = std::array::from_fn(|l| l as u64);
            put(&mut dst, &out, mask);
            for l in 0..LANES {
                let want = if mask >> l & 1 == 1 { out[l] } else { l as u64 };
                assert_eq!(dst[l], want, "lane {l} of {mask:#x}");
            }
            let mut s = vec![std::array::from_fn(|l| l as u64)];
            let mut u = vec![false];
            let w = W {
                mask,
                full: false,
                wmask: mask,
                first: mask.trailing_zeros() as usize,
            };
            fill(&mut s, &mut u, w, 0, 7);
            for (l, got) in s[0].iter().enumerate() {
                let want = if mask >> l & 1 == 1 { 7 } else { l as u64 };
                assert_eq!(*got, want, "lane {l} of {mask:#x}");
            }
        }
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

    #[test]
    fn a_register_the_same_in_every_lane_is_computed_once_and_stays_known() {
        let mut s = vec![[0u64; LANES]; 3];
        let mut u = vec![true, false, true];
        s[1] = std::array::from_fn(|l| l as u64);
        let full = W {
            mask: FULL,
            full: true,
            wmask: FULL,
            first: 0,
        };
        fill(&mut s, &mut u, full, 0, 7);
        m2(&mut s, &mut u, full, 2, 0, 0, |x, y| x + y);
        assert_eq!((s[2], u[2]), ([14; LANES], true));
        m2(&mut s, &mut u, full, 2, 0, 1, |x, y| x + y);
        assert_eq!((s[2][5], u[2]), (12, false));
        // A group of some lanes only: its writes leave the register varying.
        let some = W {
            mask: 0b110,
            full: false,
            wmask: 0b110,
            first: 1,
        };
        m1(&mut s, &mut u, some, 0, 0, |x| x + 1);
        assert_eq!((s[0][0], s[0][1], s[0][2], u[0]), (7, 8, 8, false));
        assert_eq!(when(0b110, 1, true, |l| s[0][l] == 8), 0b110);
        assert_eq!(when(0b111, 0, false, |l| s[0][l] == 8), 0b110);
    }
}
