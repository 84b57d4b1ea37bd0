//! Reading an image fast: [`ImageView`], over its tiles (read from the store the
//! first time a pixel of them is read) or over pixels held beside the store.

use std::sync::Arc;

use super::array::{array_info, array_slots};
use super::id::ChunkId;
use super::image::{conversion_threads, image_size, in_groups, tiles_along, IMAGE_TILES};
use super::slots::{Chunk, Kind};
use super::store::{Store, StoreError};

/// An image opened for fast reading. Opening reads the root and the tile
/// array (the tiles' ids); a tile itself is fetched from the store the first
/// time a pixel of it is read, then held (an `Arc`, so the store may change
/// afterwards). [`ImageView::loaded`] says how many tiles were read: a filter
/// over part of an image reads only the tiles it touches.
///
/// A view may instead hold the image's pixels themselves, row-major
/// ([`ImageView::of_pixels`]): how a run that only wants the image reads its input
/// and the output of one stage in the next, without making tiles of them. It reads
/// the same pixels the same way, and has no tiles.
#[derive(Clone, Debug)]
pub struct ImageView {
    width: u32,
    height: u32,
    tiles_x: u32,
    tiles_y: u32,
    /// `width - 1` (-1 for an empty image), for clamping.
    max_x: i64,
    /// `height - 1` (-1 for an empty image), for clamping.
    max_y: i64,
    ids: Vec<ChunkId>,
    tiles: Vec<Option<Arc<Chunk>>>,
    loaded: usize,
    /// The pixels, row-major, each `u32::from_le_bytes([r, g, b, a])`, for a view
    /// made of them (no tiles then).
    pixels: Option<Arc<Vec<u32>>>,
}

impl ImageView {
    /// Opens image `id`: checks its shape and reads the ids of its tiles.
    pub fn open(store: &Store, id: ChunkId) -> Result<ImageView, StoreError> {
        let (width, height) = image_size(store, id)?;
        let root = store.try_get(id)?;
        let bad = |what: String| StoreError::BadShape(id, what);
        let array = root
            .link(IMAGE_TILES)
            .ok_or_else(|| bad("slot 2 does not link to the tile array".into()))?;
        let (tiles_x, tiles_y) = (tiles_along(width), tiles_along(height));
        let count = tiles_x as u64 * tiles_y as u64;
        let info = array_info(store, array)?;
        if info.width != 1 || !info.elem_is_link || info.len != count {
            return Err(bad(format!(
                "a {width}x{height} image needs an array of {count} tile links, found {} elements of width {}{}",
                info.len,
                info.width,
                if info.elem_is_link { "" } else { " (not links)" }
            )));
        }
        let ids: Vec<ChunkId> = array_slots(store, array)?
            .into_iter()
            .map(ChunkId)
            .collect();
        if let Some(pos) = ids.iter().position(|tid| tid.is_nil()) {
            return Err(bad(format!("tile {pos} is nil")));
        }
        let tiles = vec![None; ids.len()];
        Ok(ImageView {
            width,
            height,
            tiles_x,
            tiles_y,
            max_x: width as i64 - 1,
            max_y: height as i64 - 1,
            ids,
            tiles,
            loaded: 0,
            pixels: None,
        })
    }

    /// A view of no image (0x0): every pixel reads `[0; 4]`.
    pub fn empty() -> ImageView {
        ImageView {
            width: 0,
            height: 0,
            tiles_x: 0,
            tiles_y: 0,
            max_x: -1,
            max_y: -1,
            ids: Vec::new(),
            tiles: Vec::new(),
            loaded: 0,
            pixels: None,
        }
    }

    /// A view of the `width` x `height` image whose pixels are `pixels`, row-major,
    /// each `u32::from_le_bytes([r, g, b, a])`; `None` when there are not
    /// `width * height` of them. It has no tiles ([`ImageView::tile_ids`] is empty).
    pub fn of_pixels(width: u32, height: u32, pixels: Arc<Vec<u32>>) -> Option<ImageView> {
        if pixels.len() as u64 != width as u64 * height as u64 {
            return None;
        }
        let mut view = ImageView::empty();
        view.width = width;
        view.height = height;
        view.tiles_x = tiles_along(width);
        view.tiles_y = tiles_along(height);
        view.max_x = width as i64 - 1;
        view.max_y = height as i64 - 1;
        view.pixels = Some(pixels);
        Some(view)
    }

    /// [`ImageView::of_pixels`] of RGBA8 bytes, row-major (copied; a large image on
    /// several threads, as [`image_from_rgba8`] converts it).
    pub fn of_rgba8(width: u32, height: u32, rgba: &[u8]) -> Option<ImageView> {
        if rgba.len() as u64 != width as u64 * height as u64 * 4 {
            return None;
        }
        let count = rgba.len() / 4;
        let mut pixels = vec![0u32; count];
        // Parts of 32768 pixels (128 KB of input); the threads counted as for as many
        // tiles of 64 pixels.
        const PART: usize = 1 << 15;
        let parts: Vec<(&[u8], &mut [u32])> =
            rgba.chunks(PART * 4).zip(pixels.chunks_mut(PART)).collect();
        let threads = conversion_threads(count / 64);
        in_groups(parts, threads, |parts| {
            for (bytes, out) in parts {
                for (px, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *px = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
            }
        })
        .ok()?;
        ImageView::of_pixels(width, height, Arc::new(pixels))
    }

    /// Opens image `id` and reads all its tiles now.
    pub fn open_all(store: &Store, id: ChunkId) -> Result<ImageView, StoreError> {
        let mut view = ImageView::open(store, id)?;
        for idx in 0..view.ids.len() {
            view.load(store, idx)?;
        }
        Ok(view)
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Number of tile columns (`ceil(width / 8)`).
    pub fn tiles_x(&self) -> u32 {
        self.tiles_x
    }

    /// Number of tile rows (`ceil(height / 8)`).
    pub fn tiles_y(&self) -> u32 {
        self.tiles_y
    }

    /// The ids of the tiles, row-major.
    pub fn tile_ids(&self) -> &[ChunkId] {
        &self.ids
    }

    /// How many tiles have been read from the store so far.
    pub fn loaded(&self) -> usize {
        self.loaded
    }

    #[cold]
    fn load(&mut self, store: &Store, idx: usize) -> Result<(), StoreError> {
        let Some(tid) = self.ids.get(idx).copied() else {
            return Ok(());
        };
        if matches!(self.tiles.get(idx), Some(Some(_))) {
            return Ok(());
        }
        let tile = store.get_arc(tid).ok_or(StoreError::Missing(tid))?;
        if tile.kind != Kind::Tile {
            return Err(StoreError::WrongKind {
                id: tid,
                expected: Kind::Tile,
                found: tile.kind,
            });
        }
        self.tiles[idx] = Some(tile);
        self.loaded += 1;
        Ok(())
    }

    /// The pixel at `(x, y)` as `[r, g, b, a]`, with edge clamping: a
    /// coordinate below 0 reads 0, one at or past the size reads the last
    /// column or row. An empty image reads `[0; 4]` everywhere. The first read
    /// of a tile fetches it from `store` (an error if it is not there).
    ///
    /// This is the VM's hot loop (a 3x3 blur calls it 9 times per pixel):
    /// two clamps, one tile index, one slot read, no hashing.
    #[inline]
    pub fn pixel(&mut self, store: &Store, x: i64, y: i64) -> Result<[u8; 4], StoreError> {
        // min then max: an empty image (max -1) clamps to 0 and finds no
        // tile, where `clamp` would panic.
        let x = x.min(self.max_x).max(0) as u64;
        let y = y.min(self.max_y).max(0) as u64;
        if let Some(pixels) = &self.pixels {
            let at = y as usize * self.width as usize + x as usize;
            return Ok(pixels.get(at).map_or([0; 4], |p| p.to_le_bytes()));
        }
        let tile = ((y >> 3) * self.tiles_x as u64 + (x >> 3)) as usize;
        if !matches!(self.tiles.get(tile), Some(Some(_))) {
            self.load(store, tile)?;
        }
        Ok(match self.tiles.get(tile) {
            Some(Some(t)) => {
                let p = ((y & 7) << 3) | (x & 7);
                let word = t.slots[(p >> 1) as usize];
                ((word >> ((p & 1) * 32)) as u32).to_le_bytes()
            }
            _ => [0; 4],
        })
    }

    /// The `out.len()` pixels of row `y` from column `x` on, each as
    /// `u32::from_le_bytes([r, g, b, a])`, edge-clamped as [`ImageView::pixel`]
    /// clamps (pixel `i` is the one at `x + i`, wrapping as `i64`): what a kernel
    /// reads for a row of neighbouring pixels at once. Every tile of the row
    /// between the clamped ends is read from `store` first if it was not yet
    /// (an error if one is not there), so the pixels come by direct indexing.
    pub fn row(
        &mut self,
        store: &Store,
        x: i64,
        y: i64,
        out: &mut [u32],
    ) -> Result<(), StoreError> {
        let n = out.len() as i64;
        if self.max_x < 0 || self.max_y < 0 || n == 0 {
            out.fill(0);
            return Ok(());
        }
        let y = y.min(self.max_y).max(0) as u64;
        let last = x.wrapping_add(n - 1);
        let inside = x >= 0 && last >= x && last <= self.max_x;
        let max_x = self.max_x;
        let clamp = move |v: i64| v.min(max_x).max(0) as u64;
        if let Some(pixels) = &self.pixels {
            let start = y as usize * self.width as usize;
            let row = pixels
                .get(start..start + self.width as usize)
                .unwrap_or(&[]);
            if inside {
                let from = row.get(x as usize..x as usize + out.len()).unwrap_or(&[]);
                if from.len() == out.len() {
                    out.copy_from_slice(from);
                    return Ok(());
                }
            }
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = row
                    .get(clamp(x.wrapping_add(i as i64)) as usize)
                    .copied()
                    .unwrap_or(0);
            }
            return Ok(());
        }
        let base = ((y >> 3) * self.tiles_x as u64) as usize;
        let py = ((y & 7) << 3) as usize;
        let (lo, hi) = if last >= x {
            (clamp(x) >> 3, clamp(last) >> 3)
        } else {
            (0, self.max_x as u64 >> 3)
        };
        for tx in lo..=hi {
            let idx = base + tx as usize;
            if !matches!(self.tiles.get(idx), Some(Some(_))) {
                self.load(store, idx)?;
            }
        }
        let row = self
            .tiles
            .get(base..base + self.tiles_x as usize)
            .unwrap_or(&[]);
        let at = |px: u64| -> u32 {
            match row.get((px >> 3) as usize) {
                Some(Some(t)) => {
                    let p = py | (px & 7) as usize;
                    (t.slots[p >> 1] >> ((p & 1) * 32)) as u32
                }
                _ => 0,
            }
        };
        if inside {
            // Whole stretches of a tile's row at a time.
            let mut done = 0usize;
            while done < out.len() {
                let px = x as u64 + done as u64;
                let take = (8 - (px & 7) as usize).min(out.len() - done);
                match row.get((px >> 3) as usize) {
                    Some(Some(t)) if take == 8 => {
                        // A whole row of the tile: its four slots, two pixels each.
                        let slots = t.slots.get(py >> 1..(py >> 1) + 4).unwrap_or(&[]);
                        for (pair, slot) in out[done..done + 8].chunks_exact_mut(2).zip(slots) {
                            pair[0] = *slot as u32;
                            pair[1] = (*slot >> 32) as u32;
                        }
                    }
                    Some(Some(t)) => {
                        let first = py | (px & 7) as usize;
                        for (k, slot) in out[done..done + take].iter_mut().enumerate() {
                            let p = first + k;
                            *slot = (t.slots[p >> 1] >> ((p & 1) * 32)) as u32;
                        }
                    }
                    _ => out[done..done + take].fill(0),
                }
                done += take;
            }
        } else {
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = at(clamp(x.wrapping_add(i as i64)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::id::NodeId;
    use crate::chunk::image::image_from_rgba8;
    use crate::chunk::image::tests::pattern;

    #[test]
    fn pixel_clamps_at_the_edges() {
        let mut s = Store::new(NodeId(1));
        let (w, h) = (17, 33);
        let px = pattern(w, h);
        let id = image_from_rgba8(&mut s, w, h, &px).unwrap();
        let mut v = ImageView::open(&s, id).unwrap();
        let at = |x: u32, y: u32| {
            let i = ((y * w + x) * 4) as usize;
            [px[i], px[i + 1], px[i + 2], px[i + 3]]
        };
        assert_eq!(v.pixel(&s, -1, -1).unwrap(), at(0, 0));
        assert_eq!(v.pixel(&s, i64::MIN, 5).unwrap(), at(0, 5));
        assert_eq!(v.pixel(&s, 17, 0).unwrap(), at(16, 0));
        assert_eq!(v.pixel(&s, 1000, 1000).unwrap(), at(16, 32));
        assert_eq!(v.pixel(&s, i64::MAX, i64::MAX).unwrap(), at(16, 32));
        assert_eq!(v.pixel(&s, 3, 40).unwrap(), at(3, 32));
        assert_eq!(v.pixel(&s, -5, 40).unwrap(), at(0, 32));
        for y in -2..36i64 {
            for x in -2..20i64 {
                let (cx, cy) = (x.clamp(0, 16) as u32, y.clamp(0, 32) as u32);
                assert_eq!(v.pixel(&s, x, y).unwrap(), at(cx, cy));
            }
        }
        let empty = image_from_rgba8(&mut s, 0, 0, &[]).unwrap();
        let mut e = ImageView::open(&s, empty).unwrap();
        assert_eq!(e.pixel(&s, 0, 0).unwrap(), [0; 4]);
        assert_eq!(e.pixel(&s, -3, 9).unwrap(), [0; 4]);
    }

    #[test]
    fn a_row_reads_what_pixel_reads() {
        let mut s = Store::new(NodeId(1));
        for (w, h) in [(17, 33), (1, 1), (64, 2), (130, 9), (0, 0)] {
            let id = image_from_rgba8(&mut s, w, h, &pattern(w, h)).unwrap();
            let mut v = ImageView::open(&s, id).unwrap();
            let mut one = ImageView::open(&s, id).unwrap();
            let xs = [
                -70,
                -64,
                -3,
                0,
                1,
                7,
                8,
                9,
                60,
                66,
                129,
                200,
                i64::MIN,
                i64::MAX - 10,
            ];
            for y in [-2i64, 0, 5, 8, 32, 40] {
                for x in xs {
                    for n in [1usize, 5, 8, 64] {
                        let mut row = vec![7u32; n];
                        v.row(&s, x, y, &mut row).unwrap();
                        for (i, got) in row.iter().enumerate() {
                            let want = one.pixel(&s, x.wrapping_add(i as i64), y).unwrap();
                            assert_eq!(got.to_le_bytes(), want, "{w}x{h}: ({x} + {i}, {y})");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_view_of_the_pixels_reads_what_a_view_of_the_tiles_reads() {
        let mut s = Store::new(NodeId(1));
        for (w, h) in [(17, 33), (1, 1), (64, 2), (130, 9), (1, 20)] {
            let px = pattern(w, h);
            let id = image_from_rgba8(&mut s, w, h, &px).unwrap();
            let mut tiles = ImageView::open(&s, id).unwrap();
            let mut pixels = ImageView::of_rgba8(w, h, &px).unwrap();
            assert!(!tiles.tile_ids().is_empty());
            assert_eq!(
                (pixels.width(), pixels.height(), pixels.tiles_x()),
                (w, h, tiles.tiles_x())
            );
            assert!(pixels.tile_ids().is_empty());
            // The store is not read: an empty one will do.
            let none = Store::new(NodeId(2));
            for y in [-2i64, 0, 5, 8, 32, 40] {
                for x in [-70, -3, 0, 1, 7, 9, 60, 129, 200, i64::MIN, i64::MAX - 10] {
                    assert_eq!(
                        pixels.pixel(&none, x, y).unwrap(),
                        tiles.pixel(&s, x, y).unwrap(),
                        "{w}x{h}: ({x}, {y})"
                    );
                    for n in [1usize, 5, 8, 64] {
                        let (mut a, mut b) = (vec![7u32; n], vec![9u32; n]);
                        pixels.row(&none, x, y, &mut a).unwrap();
                        tiles.row(&s, x, y, &mut b).unwrap();
                        assert_eq!(a, b, "{w}x{h}: {n} from ({x}, {y})");
                    }
                }
            }
        }
        assert!(ImageView::of_rgba8(2, 2, &[0; 12]).is_none());
        assert!(ImageView::of_rgba8(2, 2, &[0; 15]).is_none());
    }
}
