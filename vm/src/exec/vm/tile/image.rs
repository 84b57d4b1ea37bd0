//! Image reads over the lanes: a pixel per lane, a row of neighbouring pixels at once
//! when the lanes ask for one (a kernel's tap), and an image's width and height.

use super::lanes::*;
use super::rows::RowCache;
use super::*;

/// The widest stretch of a row read at once for lanes whose x are close but not
/// consecutive.
pub(super) const GATHER: usize = 2 * LANES;

impl Vm {
    /// `At`, `AtOff`, `AtOffAcc`, `AtOffMulAcc` over the lanes of group `w`: each
    /// lane's pixel of the image, as a colour (added to the destination's for
    /// `AtOffAcc`, times the lane's weight for `AtOffMulAcc`). `same_image` is the
    /// reference register last found to hold one image in every lane.
    #[inline(always)]
    pub(super) fn lanes_at(
        &mut self,
        st: &mut Lanes,
        ins: Instr,
        w: W,
        sb: usize,
        rb: usize,
        same_image: &mut usize,
    ) -> Ran<()> {
        let (a, c) = (sb + ins.a as usize, sb + ins.c as usize);
        let mask = w.mask;
        let img_reg = rb + ins.b as usize;
        let img = match st.r[img_reg][mask.trailing_zeros() as usize] {
            RVal::Id(id) => id,
            RVal::Arr(_) => return Err(Bail::Here),
        };
        if img_reg != *same_image {
            if bits(mask).any(|lane| st.r[img_reg][lane] != RVal::Id(img)) {
                return Err(Bail::Here);
            }
            *same_image = img_reg;
        }
        if !matches!(&self.image, Some((id, ..)) if *id == img) {
            let view = self.open_image(img).map_err(|_| Bail::Here)?;
            self.image = Some((img, view, RowCache::default()));
        }
        let Some((_, view, rows)) = self.image.as_mut() else {
            return Err(Bail::Here);
        };
        let first = w.first;
        let last = LANES - 1 - mask.leading_zeros() as usize;
        // Added to the destination (`AtOffAcc`, `AtOffMulAcc`); times each lane's
        // weight, narrowed as `MulCF` narrows it (`AtOffMulAcc`): `one` when it is the
        // same in every lane.
        let acc = matches!(ins.op, Op::AtOffAcc | Op::AtOffMulAcc);
        let weights: Option<Weights> = (ins.op == Op::AtOffMulAcc).then(|| {
            let k = &st.s[c];
            if st.u[c] {
                Weights::One(f64::from_bits(k[first]) as f32)
            } else {
                Weights::Each(Box::new(lanes_from(|l| f64::from_bits(k[l]) as f32)))
            }
        });
        // No weight, or one the same in every lane: the row paths apply it on the way.
        let uniform = !matches!(weights, Some(Weights::Each(_)));
        // The registers whose sums are x and y (`At` reads x and y whole).
        let (xr, yr) = if ins.op == Op::At {
            ([c, c], [c + 1, c + 1])
        } else {
            let reg = |shift: u32| sb + ((ins.k >> shift) as u16) as usize;
            ([reg(0), reg(16)], [reg(32), reg(48)])
        };
        let (s, u, step) = (&st.s, &st.u, &st.step);
        let coord = |r: [usize; 2], l: usize| -> u64 {
            if ins.op == Op::At {
                s[r[0]][l]
            } else {
                (s[r[0]][l] as i64).wrapping_add(s[r[1]][l] as i64) as u64
            }
        };
        // x is `v + lane` and y the same in every lane (a kernel's tap at the pixel's
        // x plus an offset): a row, known without looking at the lanes.
        let x_step = if ins.op == Op::At {
            step[xr[0]]
        } else {
            (step[xr[0]] && u[xr[1]]) || (u[xr[0]] && step[xr[1]])
        };
        let y_same = u[yr[0]] && u[yr[1]];
        // Each lane's colour slots (a lane not read holds pixel 0's, as all do for an
        // image of no pixel), zeroed only on the ways that need them (not on a row
        // read straight into the destination).
        let mut lo: Lane;
        let mut hi: Lane;
        let max_x = view.width() as i64 - 1;
        let clamp = |x: i64| x.min(max_x).max(0) as usize;
        if view.width() == 0 || view.height() == 0 {
            // Every pixel reads 0.
            (lo, hi) = ([0; LANES], [0; LANES]);
        } else if x_step && y_same {
            // Only the active lanes' pixels: their tiles are all a per-pixel run
            // would read.
            let (x0, y0) = (coord(xr, first) as i64, coord(yr, first) as i64);
            let x1 = x0.wrapping_add((last - first) as i64);
            let row = rows
                .row(view, &self.store, y0, x0, x1)
                .map_err(|_| Bail::Here)?;
            if x0 >= 0 && x1 >= x0 && x1 <= max_x {
                let (x0, x1) = (x0 as usize, x1 as usize);
                let (row_lo, row_hi) = (&row.lo[x0..=x1], &row.hi[x0..=x1]);
                // Straight from the row into the destination (a weight the same in
                // every lane applied on the way).
                let by = weights.as_ref().and_then(Weights::one);
                if w.wmask == FULL && uniform {
                    if let Some(([d0, d1], _)) = around(&mut st.s, a, 2) {
                        put_row(d0, row_lo, first, acc, by);
                        put_row(d1, row_hi, first, acc, by);
                        return Ok(());
                    }
                }
                (lo, hi) = ([0; LANES], [0; LANES]);
                lo[first..=last].copy_from_slice(&row.lo[x0..=x1]);
                hi[first..=last].copy_from_slice(&row.hi[x0..=x1]);
            } else {
                (lo, hi) = ([0; LANES], [0; LANES]);
                for l in first..=last {
                    let at = clamp(x0.wrapping_add((l - first) as i64));
                    (lo[l], hi[l]) = (row.lo[at], row.hi[at]);
                }
            }
        } else {
            if mask == FULL && y_same && uniform {
                // Every lane of a whole span, one row (a block's columns, a stride): when
                // the lanes' x all lie in the image and close together, each lane's pixel
                // straight from the decoded row into the destination (added to it, times
                // a weight the same in every lane), with no clamp.
                // Plain loops over the lanes (`array::from_fn` was not inlined here).
                let mut xs = [0i64; LANES];
                let (p, q) = (&s[xr[0]], &s[xr[1]]);
                if ins.op == Op::At {
                    for l in 0..LANES {
                        xs[l] = p[l] as i64;
                    }
                } else {
                    for l in 0..LANES {
                        xs[l] = (p[l] as i64).wrapping_add(q[l] as i64);
                    }
                }
                let (mut min, mut max) = (xs[0], xs[0]);
                for x in xs {
                    min = min.min(x);
                    max = max.max(x);
                }
                let y0 = coord(yr, first) as i64;
                if min >= 0 && max <= max_x && max - min < GATHER as i64 {
                    let row = rows
                        .row(view, &self.store, y0, min, max)
                        .map_err(|_| Bail::Here)?;
                    let (min, max) = (min as usize, max as usize);
                    let (row_lo, row_hi) = (&row.lo[min..=max], &row.hi[min..=max]);
                    let Some(([d0, d1], _)) = around(&mut st.s, a, 2) else {
                        return Err(Bail::Here);
                    };
                    let at = |l: usize| (xs[l] - min as i64) as usize;
                    if !acc {
                        for l in 0..LANES {
                            (d0[l], d1[l]) = (row_lo[at(l)], row_hi[at(l)]);
                        }
                        return Ok(());
                    }
                    // Gathered first, then added over whole registers (vectorized).
                    let (mut lo, mut hi) = ([0u64; LANES], [0u64; LANES]);
                    for l in 0..LANES {
                        (lo[l], hi[l]) = (row_lo[at(l)], row_hi[at(l)]);
                    }
                    if let Some(k) = weights.as_ref().and_then(Weights::one) {
                        zip_halves_in(d0, &lo, |p, q| p + q * k);
                        zip_halves_in(d1, &hi, |p, q| p + q * k);
                    } else {
                        zip_halves_in(d0, &lo, |p, q| p + q);
                        zip_halves_in(d1, &hi, |p, q| p + q);
                    }
                    return Ok(());
                }
            }
            (lo, hi) = ([0; LANES], [0; LANES]);
            let xs: Lane = lanes_from(|l| coord(xr, l));
            // y the same in every lane when the flags say so (a block's row), else
            // each lane's.
            let ys: Lane = if y_same {
                [coord(yr, first); LANES]
            } else {
                lanes_from(|l| coord(yr, l))
            };
            let y0 = ys[first];
            let off_y = if y_same {
                0
            } else {
                test(mask, |l| ys[l] != y0)
            };
            // The lanes' x from the first's (as i64, wrapping): a row decoded from the
            // smallest to the largest covers them all (each pixel clamped as one read
            // alone is) when they are close: a kernel's tap over a span, a block's
            // columns, a stride.
            let rel: [i64; LANES] = lanes_from(|l| (xs[l] as i64).wrapping_sub(xs[first] as i64));
            let (mut min, mut max) = (0i64, 0i64);
            for l in bits(mask) {
                min = min.min(rel[l]);
                max = max.max(rel[l]);
            }
            if off_y == 0 && max.checked_sub(min).is_some_and(|d| d < GATHER as i64) {
                let x0 = (xs[first] as i64).wrapping_add(min);
                let x1 = x0.wrapping_add(max - min);
                let row = rows
                    .row(view, &self.store, y0 as i64, x0, x1)
                    .map_err(|_| Bail::Here)?;
                for l in bits(mask) {
                    let at = clamp(xs[l] as i64);
                    (lo[l], hi[l]) = (row.lo[at], row.hi[at]);
                }
            } else {
                for lane in bits(mask) {
                    let px = view
                        .pixel(&self.store, xs[lane] as i64, ys[lane] as i64)
                        .map_err(|_| Bail::Here)?;
                    (lo[lane], hi[lane]) = pixel_slots(u32::from_le_bytes(px));
                }
            }
        }
        // Each lane's colour times its weight (`AtOffMulAcc`), rounded as `MulCF` rounds.
        if let Some(weights) = &weights {
            for l in 0..LANES {
                lo[l] = scale_halves(lo[l], weights.of(l));
                hi[l] = scale_halves(hi[l], weights.of(l));
            }
        }
        // The colours (added to the destination's for `AtOffAcc` and `AtOffMulAcc`),
        // straight into the destination when the group writes it whole.
        let s = &mut st.s;
        if w.wmask == FULL {
            if let Some(([d0, d1], _)) = around(s, a, 2) {
                if acc {
                    zip_halves_in(d0, &lo, |p, q| p + q);
                    zip_halves_in(d1, &hi, |p, q| p + q);
                } else {
                    *d0 = lo;
                    *d1 = hi;
                }
                return Ok(());
            }
        }
        if acc {
            let (x0, x1) = (&s[a], &s[a + 1]);
            for l in 0..LANES {
                lo[l] = add_halves(x0[l], lo[l]);
                hi[l] = add_halves(x1[l], hi[l]);
            }
        }
        put(&mut s[a], &lo, w.wmask);
        put(&mut s[a + 1], &hi, w.wmask);
        Ok(())
    }

    /// `ImgW`/`ImgH` over the lanes of `mask`: the image's width or height into `a`.
    #[inline(always)]
    pub(super) fn lanes_img_dim(
        &mut self,
        st: &mut Lanes,
        ins: Instr,
        mask: u64,
        rb: usize,
        a: usize,
    ) -> Ran<()> {
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
        Ok(())
    }
}

/// The weights of `AtOffMulAcc`'s lanes, narrowed to `f32`.
enum Weights {
    /// The same in every lane.
    One(f32),
    /// Each lane's.
    Each(Box<[f32; LANES]>),
}

impl Weights {
    /// The weight of every lane, when it is one.
    fn one(&self) -> Option<f32> {
        match self {
            Weights::One(k) => Some(*k),
            Weights::Each(_) => None,
        }
    }

    /// Lane `l`'s weight.
    fn of(&self, l: usize) -> f32 {
        match self {
            Weights::One(k) => *k,
            Weights::Each(all) => all[l],
        }
    }
}

/// Both halves of colour slot `x` times `k`.
#[inline(always)]
fn scale_halves(x: u64, k: f32) -> u64 {
    let lo = f32::from_bits(x as u32) * k;
    let hi = f32::from_bits((x >> 32) as u32) * k;
    u64::from(lo.to_bits()) | (u64::from(hi.to_bits()) << 32)
}

/// Lanes `first..first + row.len()` of `dest` set to the colour slots of `row` (added
/// to theirs for `acc`, each times `by` first when there is one); the others as if they
/// read pixel 0 (slot 0).
#[inline(always)]
fn put_row(dest: &mut Lane, row: &[u64], first: usize, acc: bool, by: Option<f32>) {
    let (before, rest) = dest.split_at_mut(first);
    let (read, after) = rest.split_at_mut(row.len().min(rest.len()));
    if let Some(k) = by {
        zip_halves_in(read, row, |p, q| p + q * k);
        let zero = scale_halves(0, k);
        for d in before.iter_mut().chain(after.iter_mut()) {
            *d = add_halves(*d, zero);
        }
    } else if acc {
        zip_halves_in(read, row, |p, q| p + q);
        for d in before.iter_mut().chain(after.iter_mut()) {
            *d = add_halves(*d, 0);
        }
    } else {
        read.copy_from_slice(&row[..read.len()]);
        before.fill(0);
        after.fill(0);
    }
}
