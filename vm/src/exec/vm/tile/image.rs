//! Image reads over the lanes: a pixel per lane, a row of neighbouring pixels at once
//! when the lanes ask for one (a kernel's tap), and an image's width and height.

use super::lanes::*;
use super::*;

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
