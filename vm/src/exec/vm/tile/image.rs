//! Image reads over the lanes: a pixel per lane, a row of neighbouring pixels at once
//! when the lanes ask for one (a kernel's tap), and an image's width and height.

use super::lanes::*;
use super::*;

/// The widest stretch of a row read at once for lanes whose x are close but not
/// consecutive.
const GATHER: usize = 2 * LANES;

impl Vm {
    /// `At`, `AtOff`, `AtOffAcc` over the lanes of group `w`: each lane's pixel of the
    /// image, as a colour (added to the destination's for `AtOffAcc`). `same_image` is
    /// the reference register last found to hold one image in every lane.
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
        if !matches!(&self.image, Some((id, _)) if *id == img) {
            let view = ImageView::open(&self.store, img).map_err(|_| Bail::Here)?;
            self.image = Some((img, view));
        }
        let Some((_, view)) = self.image.as_mut() else {
            return Err(Bail::Here);
        };
        let first = w.first;
        let last = LANES - 1 - mask.leading_zeros() as usize;
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
        let mut row = [0u32; LANES];
        if x_step && y_same {
            // Only the active lanes' pixels: their tiles are all a per-pixel run
            // would read.
            let (x0, y0) = (coord(xr, first) as i64, coord(yr, first) as i64);
            view.row(&self.store, x0, y0, &mut row[first..=last])
                .map_err(|_| Bail::Here)?;
        } else {
            let xs: Lane = std::array::from_fn(|l| coord(xr, l));
            let ys: Lane = std::array::from_fn(|l| coord(yr, l));
            // Lanes reading a row of neighbouring pixels (x + lane, the same y:
            // a kernel's tap over a span) read it at once, by direct indexing.
            let y0 = ys[first];
            let xb = xs[first].wrapping_sub(first as u64);
            let off_y = test(mask, |l| ys[l] != y0);
            let off_row = test(mask, |l| xs[l] != xb.wrapping_add(l as u64));
            // The lanes' x from the first's (as i64, wrapping): a row read from the
            // smallest covers them all when they are close.
            let rel: [i64; LANES] =
                std::array::from_fn(|l| (xs[l] as i64).wrapping_sub(xs[first] as i64));
            let (mut min, mut max) = (0i64, 0i64);
            for l in bits(mask) {
                min = min.min(rel[l]);
                max = max.max(rel[l]);
            }
            if off_y | off_row == 0 {
                let x0 = xs[first] as i64;
                view.row(&self.store, x0, y0 as i64, &mut row[first..=last])
                    .map_err(|_| Bail::Here)?;
            } else if off_y == 0 && max.checked_sub(min).is_some_and(|d| d < GATHER as i64) {
                // One y and x close together (a block's columns, a stride): the
                // stretch between the smallest and the largest x read once (each
                // pixel clamped as one read alone is), each lane's picked from it.
                let mut stretch = [0u32; GATHER];
                let width = (max - min) as usize + 1;
                let x0 = (xs[first] as i64).wrapping_add(min);
                view.row(&self.store, x0, y0 as i64, &mut stretch[..width])
                    .map_err(|_| Bail::Here)?;
                for l in bits(mask) {
                    row[l] = stretch[(rel[l] - min) as usize];
                }
            } else {
                for lane in bits(mask) {
                    let px = view
                        .pixel(&self.store, xs[lane] as i64, ys[lane] as i64)
                        .map_err(|_| Bail::Here)?;
                    row[lane] = u32::from_le_bytes(px);
                }
            }
        }
        // The pixels as colours (added to the destination's for `AtOffAcc`),
        // straight into the destination when the group writes it whole.
        let acc = ins.op == Op::AtOffAcc;
        let s = &mut st.s;
        if w.wmask == FULL {
            if let Some(([d0, d1], _)) = around(s, a, 2) {
                if acc {
                    for l in 0..LANES {
                        let (p, q) = pixel_slots(row[l]);
                        d0[l] = add_halves(d0[l], p);
                        d1[l] = add_halves(d1[l], q);
                    }
                } else {
                    for l in 0..LANES {
                        (d0[l], d1[l]) = pixel_slots(row[l]);
                    }
                }
                return Ok(());
            }
        }
        let mut lo = [0u64; LANES];
        let mut hi = [0u64; LANES];
        for l in 0..LANES {
            (lo[l], hi[l]) = pixel_slots(row[l]);
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
