//! Decoded rows of the image a kernel reads: each pixel's colour slots (what
//! [`pixel_slots`] makes of it), kept between the taps of a span and between spans, so
//! that a tap at `(x + dx, y + dy)` over the lanes neither looks its tiles up again nor
//! converts their bytes again when an earlier read of the row already did.
//!
//! The cache belongs to the VM's open image (`Vm::image`, beside its view): whatever
//! replaces or drops that view (another image read, a write to the image, the image
//! freed) drops the cache with it, so it never outlives the tiles it was decoded from.
//! A row is decoded a tile's width (8 pixels) at a time, the first time a read covers
//! that stretch: it reads the same tiles a direct read of the row would.

use super::lanes::pixel_slots;
use crate::chunk::{ImageView, Store, StoreError, TILE_SIZE};

/// Rows kept: the most a kernel of the library reads at once (pixelate's largest
/// blocks; a Gaussian of sigma 5 reads 31), a row per `y % ROWS`.
const ROWS: usize = 64;

/// The decoded rows of one image (see the module's docs).
#[derive(Debug, Default)]
pub(crate) struct RowCache {
    rows: Vec<Row>,
}

/// One decoded row.
#[derive(Debug)]
struct Row {
    /// The row (clamped into the image), or `None` for a slot not used yet.
    y: Option<u64>,
    /// Per pixel, the colour's two slots.
    lo: Vec<u64>,
    hi: Vec<u64>,
    /// Per tile column (a bit each): whether its stretch of `lo`/`hi` is decoded.
    ready: Vec<u64>,
}

/// A decoded row: per pixel of the image's row, the two slots of its colour.
pub(crate) struct Decoded<'a> {
    pub lo: &'a [u64],
    pub hi: &'a [u64],
}

impl RowCache {
    /// Row `y` (clamped into the image as [`ImageView::pixel`] clamps it), decoded at
    /// least over the pixels `x0..=x1` (clamped; all the row's when `x1 < x0`, as a
    /// read that wraps around would cover): its tiles are read from `store` the first
    /// time (an error if one is not there). `view` is the image's view, and the
    /// image has a pixel.
    pub(crate) fn row<'a>(
        &'a mut self,
        view: &mut ImageView,
        store: &Store,
        y: i64,
        x0: i64,
        x1: i64,
    ) -> Result<Decoded<'a>, StoreError> {
        let (width, height) = (view.width() as usize, view.height() as i64);
        let y = y.min(height - 1).max(0) as u64;
        let max_x = width as i64 - 1;
        let clamp = |v: i64| v.min(max_x).max(0) as usize;
        let tile = TILE_SIZE as usize;
        let (lo_tile, hi_tile) = if x1 >= x0 {
            (clamp(x0) / tile, clamp(x1) / tile)
        } else {
            (0, max_x as usize / tile)
        };
        if self.rows.is_empty() {
            self.rows = (0..ROWS)
                .map(|_| Row {
                    y: None,
                    lo: Vec::new(),
                    hi: Vec::new(),
                    ready: Vec::new(),
                })
                .collect();
        }
        let row = &mut self.rows[y as usize % ROWS];
        if row.y != Some(y) {
            if row.lo.len() != width {
                row.lo = vec![0; width];
                row.hi = vec![0; width];
            }
            row.ready.clear();
            row.ready.resize(width.div_ceil(tile).div_ceil(64), 0);
            row.y = Some(y);
        }
        if !all_set(&row.ready, lo_tile, hi_tile) {
            decode(row, view, store, y, lo_tile, hi_tile)?;
        }
        Ok(Decoded {
            lo: &row.lo,
            hi: &row.hi,
        })
    }
}

/// Whether bits `lo..=hi` of `words` are all set.
#[inline(always)]
fn all_set(words: &[u64], lo: usize, hi: usize) -> bool {
    (lo / 64..=hi / 64).all(|at| {
        let from = if at == lo / 64 { lo % 64 } else { 0 };
        let to = if at == hi / 64 { hi % 64 } else { 63 };
        let want = (u64::MAX >> (63 - to)) & (u64::MAX << from);
        words.get(at).is_some_and(|word| word & want == want)
    })
}

/// Decodes the tile columns `lo_tile..=hi_tile` of `row` (row `y` of the image) not
/// decoded yet.
#[cold]
fn decode(
    row: &mut Row,
    view: &mut ImageView,
    store: &Store,
    y: u64,
    lo_tile: usize,
    hi_tile: usize,
) -> Result<(), StoreError> {
    let (width, tile) = (view.width() as usize, TILE_SIZE as usize);
    for tx in lo_tile..=hi_tile {
        if row.ready[tx / 64] >> (tx % 64) & 1 == 0 {
            let start = tx * tile;
            let end = (start + tile).min(width);
            let mut px = [0u32; TILE_SIZE as usize];
            let px = &mut px[..end - start];
            view.row(store, start as i64, y as i64, px)?;
            for (k, p) in px.iter().enumerate() {
                (row.lo[start + k], row.hi[start + k]) = pixel_slots(*p);
            }
            row.ready[tx / 64] |= 1 << (tx % 64);
        }
    }
    Ok(())
}

#[cfg(test)]
impl RowCache {
    /// How many rows hold decoded pixels.
    fn rows_decoded(&self) -> usize {
        self.rows
            .iter()
            .filter(|row| row.ready.iter().any(|bits| *bits != 0))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::*;
    use crate::exec::Capture;

    const BLUR: &str = "\
filter blur(src: image, x: int, y: int) -> color {
    var sum = rgba(0.0, 0.0, 0.0, 0.0);
    for dy in -1..2 {
        for dx in -1..2 {
            sum = sum + src.at(x + dx, y + dy);
        }
    }
    sum / 9.0
}
";

    fn vm(tiles: bool) -> Vm {
        let (_, program) = crate::driver::build(BLUR).expect("builds");
        let mut vm = Vm::new(program);
        vm.set_output(Box::new(Capture::new()));
        vm.set_tiles(tiles);
        vm
    }

    fn pattern(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        for y in 0..h {
            for x in 0..w {
                out.extend_from_slice(&[(x * 37 + y * 11) as u8, (x ^ y) as u8, 7, 255]);
            }
        }
        out
    }

    /// The blur of `pixels` run per pixel in a thread of its own.
    fn blur_fresh(w: u32, h: u32, pixels: &[u8]) -> Vec<u8> {
        let mut vm = vm(false);
        let image = vm.store_image(w, h, pixels).expect("stores");
        let (blur, _) = vm.program().function("blur").expect("a filter");
        vm.apply_region(blur, image, (0, 0, w, h)).expect("runs")
    }

    #[test]
    fn rows_decoded_before_a_write_to_the_image_are_not_read_after_it() {
        let (w, h) = (130, 12);
        let mut pixels = pattern(w, h);
        let mut vm = vm(true);
        let image = vm.store_image(w, h, &pixels).expect("stores");
        let (blur, _) = vm.program().function("blur").expect("a filter");
        let before = vm.apply_region(blur, image, (0, 0, w, h)).expect("runs");
        assert!(vm.tile_pixels() > 0, "nothing ran tile-wide");
        assert_eq!(before, blur_fresh(w, h, &pixels));
        assert!(
            matches!(&vm.image, Some((id, _, rows)) if *id == image && rows.rows_decoded() > 0),
            "the run left no decoded rows of the image"
        );
        // The image's pixel (70, 5) written as `render` writes its image: through
        // the instruction, in this thread.
        let (x, y, rgba) = (70u32, 5u32, [250u8, 3, 128, 9]);
        let (lo, hi) = color_slots(rgba.map(from_u8));
        let mut s = vec![x as u64, y as u64, lo, hi];
        let mut r = vec![image];
        let loaded = vm.loaded.clone();
        vm.slow_op(
            Instr::new(Op::ImgSet, 0, 0, 2),
            &mut s,
            &mut r,
            0,
            0,
            ChunkId::NIL,
            &loaded,
        )
        .expect("writes");
        let at = ((y * w + x) * 4) as usize;
        pixels[at..at + 4].copy_from_slice(&rgba);
        let after = vm.apply_region(blur, image, (0, 0, w, h)).expect("runs");
        assert_ne!(after, before, "the write changed nothing");
        assert_eq!(after, blur_fresh(w, h, &pixels), "a stale row was read");
    }
}
