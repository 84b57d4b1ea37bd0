//! Images as trees of tile chunks.
//!
//! An image is a root chunk of kind [`Kind::Image`]:
//!
//! | slot | meaning |
//! | --- | --- |
//! | 0 | width in pixels |
//! | 1 | height in pixels |
//! | 2 | link to the tile array: an array (see the `array` module) of width 1 whose elements are links to [`Kind::Tile`] chunks |
//!
//! The tiles are in row-major order, `tiles_x = ceil(width / 8)` by
//! `tiles_y = ceil(height / 8)`. A tile is 8x8 RGBA8 pixels in its 32
//! slots: pixel `p = ty * 8 + tx` (coordinates inside the tile) lives in
//! slot `p / 2`, bits `(p % 2) * 32 .. + 32`, as
//! `u32::from_le_bytes([r, g, b, a])`. Pixels of edge tiles that fall
//! outside the image are zero. An image of width or height 0 has an empty
//! tile array.
//!
//! Today the root holds one resolution. Issue 3 adds a pyramid of levels
//! (full, 1/2, 1/4, ... thumbnail, made on demand) to the root, so that a
//! client reads only the level it needs; the tile layout of each level stays
//! the one described here.

use std::sync::Arc;

use super::array::{array_from_slots, array_info, array_slots};
use super::id::ChunkId;
use super::slots::{Chunk, Kind};
use super::store::{Store, StoreError};

/// Slot of the root holding the width.
pub const IMAGE_WIDTH: usize = 0;
/// Slot of the root holding the height.
pub const IMAGE_HEIGHT: usize = 1;
/// Slot of the root linking to the tile array.
pub const IMAGE_TILES: usize = 2;
/// Side of a tile in pixels.
pub const TILE_SIZE: u32 = 8;

/// The pixel at `(tx, ty)` (each below 8) of a tile chunk.
#[inline]
pub fn tile_pixel(tile: &Chunk, tx: u32, ty: u32) -> [u8; 4] {
    let p = ((ty & 7) << 3) | (tx & 7);
    let word = tile.slots[(p >> 1) as usize];
    ((word >> ((p & 1) * 32)) as u32).to_le_bytes()
}

/// Sets the pixel at `(tx, ty)` (each below 8) of a tile chunk.
#[inline]
pub fn set_tile_pixel(tile: &mut Chunk, tx: u32, ty: u32, rgba: [u8; 4]) {
    let p = ((ty & 7) << 3) | (tx & 7);
    let shift = (p & 1) * 32;
    let slot = &mut tile.slots[(p >> 1) as usize];
    *slot = (*slot & !(0xffff_ffffu64 << shift)) | ((u32::from_le_bytes(rgba) as u64) << shift);
}

/// The number of tiles along a side of `n` pixels.
fn tiles_along(n: u32) -> u32 {
    n.div_ceil(TILE_SIZE)
}

/// Stores an image given as `width * height` RGBA8 pixels, row-major, and
/// returns its root. Fails if `rgba` has another length.
pub fn image_from_rgba8(
    store: &mut Store,
    width: u32,
    height: u32,
    rgba: &[u8],
) -> Result<ChunkId, StoreError> {
    let (w, h) = (width as usize, height as usize);
    let expected = (w as u64) * (h as u64) * 4;
    if rgba.len() as u64 != expected {
        return Err(StoreError::Invalid(format!(
            "a {width}x{height} RGBA8 image needs {expected} bytes, got {}",
            rgba.len()
        )));
    }
    let (tiles_x, tiles_y) = (tiles_along(width), tiles_along(height));
    let mut tiles = Vec::with_capacity(tiles_x as usize * tiles_y as usize);
    for ty in 0..tiles_y {
        for tx in 0..tiles_x {
            let mut tile = Chunk::new(Kind::Tile);
            for py in 0..TILE_SIZE {
                let y = (ty * TILE_SIZE + py) as usize;
                if y >= h {
                    break;
                }
                for px in 0..TILE_SIZE {
                    let x = (tx * TILE_SIZE + px) as usize;
                    if x >= w {
                        break;
                    }
                    let at = (y * w + x) * 4;
                    let mut pixel = [0u8; 4];
                    pixel.copy_from_slice(&rgba[at..at + 4]);
                    set_tile_pixel(&mut tile, px, py, pixel);
                }
            }
            tiles.push(store.alloc(tile).0);
        }
    }
    let array = array_from_slots(store, &tiles, 1, true)?;
    let mut root = Chunk::new(Kind::Image);
    root.set_scalar(IMAGE_WIDTH, width as u64);
    root.set_scalar(IMAGE_HEIGHT, height as u64);
    root.set_link(IMAGE_TILES, array);
    Ok(store.alloc(root))
}

/// An Image chunk over `tiles` (row-major, made already) of a `width` x `height`
/// image: how the rows of tiles of bands computed apart become one image.
pub fn image_from_tiles(
    store: &mut Store,
    width: u32,
    height: u32,
    tiles: &[ChunkId],
) -> Result<ChunkId, StoreError> {
    let expected = tiles_along(width) as usize * tiles_along(height) as usize;
    if tiles.len() != expected {
        return Err(StoreError::Invalid(format!(
            "a {width}x{height} image has {expected} tiles, not {}",
            tiles.len()
        )));
    }
    let slots: Vec<u64> = tiles.iter().map(|id| id.0).collect();
    let array = array_from_slots(store, &slots, 1, true)?;
    let mut root = Chunk::new(Kind::Image);
    root.set_scalar(IMAGE_WIDTH, width as u64);
    root.set_scalar(IMAGE_HEIGHT, height as u64);
    root.set_link(IMAGE_TILES, array);
    Ok(store.alloc(root))
}

/// Reads image `id` back as `(width, height, RGBA8 pixels row-major)`.
pub fn image_to_rgba8(store: &Store, id: ChunkId) -> Result<(u32, u32, Vec<u8>), StoreError> {
    let view = ImageView::open(store, id)?;
    let (w, h) = (view.width() as usize, view.height() as usize);
    let mut out = vec![0u8; w * h * 4];
    let tiles_x = view.tiles_x() as usize;
    for (i, tid) in view.tile_ids().iter().enumerate() {
        let tile = store.try_get(*tid)?;
        if tile.kind != Kind::Tile {
            return Err(StoreError::WrongKind {
                id: *tid,
                expected: Kind::Tile,
                found: tile.kind,
            });
        }
        let (x0, y0) = ((i % tiles_x) * 8, (i / tiles_x) * 8);
        for py in 0..(h - y0).min(8) {
            for px in 0..(w - x0).min(8) {
                let at = ((y0 + py) * w + x0 + px) * 4;
                out[at..at + 4].copy_from_slice(&tile_pixel(tile, px as u32, py as u32));
            }
        }
    }
    Ok((view.width(), view.height(), out))
}

/// An image opened for fast reading. Opening reads the root and the tile
/// array (the tiles' ids); a tile itself is fetched from the store the first
/// time a pixel of it is read, then held (an `Arc`, so the store may change
/// afterwards). [`ImageView::loaded`] says how many tiles were read: a filter
/// over part of an image reads only the tiles it touches.
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
}

impl ImageView {
    /// Opens image `id`: checks its shape and reads the ids of its tiles.
    pub fn open(store: &Store, id: ChunkId) -> Result<ImageView, StoreError> {
        let root = store.try_get(id)?;
        if root.kind != Kind::Image {
            return Err(StoreError::WrongKind {
                id,
                expected: Kind::Image,
                found: root.kind,
            });
        }
        let bad = |what: String| StoreError::BadShape(id, what);
        let dim = |slot: usize, name: &str| -> Result<u32, StoreError> {
            if root.is_link(slot) {
                return Err(bad(format!("the {name} (slot {slot}) is a link")));
            }
            u32::try_from(root.get(slot))
                .map_err(|_| bad(format!("{name} {} does not fit 32 bits", root.get(slot))))
        };
        let width = dim(IMAGE_WIDTH, "width")?;
        let height = dim(IMAGE_HEIGHT, "height")?;
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
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::id::NodeId;

    fn pattern(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        for y in 0..h {
            for x in 0..w {
                out.extend_from_slice(&[x as u8, y as u8, (x * 7 + y * 13) as u8, 255 - x as u8]);
            }
        }
        out
    }

    #[test]
    fn round_trips_odd_sizes() {
        for (w, h) in [
            (1, 1),
            (9, 7),
            (17, 33),
            (8, 8),
            (16, 1),
            (0, 0),
            (0, 5),
            (3, 0),
        ] {
            let mut s = Store::new(NodeId(1));
            let px = pattern(w, h);
            let id = image_from_rgba8(&mut s, w, h, &px).unwrap();
            let (w2, h2, back) = image_to_rgba8(&s, id).unwrap();
            assert_eq!((w2, h2), (w, h));
            assert_eq!(back, px, "{w}x{h}");
            let view = ImageView::open(&s, id).unwrap();
            assert_eq!(view.tiles_x(), w.div_ceil(8));
            assert_eq!(view.tiles_y(), h.div_ceil(8));
            assert_eq!(
                view.tile_ids().len() as u32,
                view.tiles_x() * view.tiles_y()
            );
        }
    }

    #[test]
    fn tile_layout_is_as_documented() {
        let mut s = Store::new(NodeId(1));
        let (w, h) = (9, 7);
        let px = pattern(w, h);
        let id = image_from_rgba8(&mut s, w, h, &px).unwrap();
        let view = ImageView::open(&s, id).unwrap();
        // Pixel (3, 2) is in tile 0 at p = 2*8+3 = 19: slot 9, high half.
        let t0 = s.get(view.tile_ids()[0]).unwrap();
        let want = u32::from_le_bytes([3, 2, (3 * 7 + 2 * 13) as u8, 252]) as u64;
        assert_eq!(t0.slots[9] >> 32, want);
        // Pixel (8, 0) is in tile 1 at p = 0; the rest of that tile's
        // columns and the eighth row of tile 0 are zero.
        let t1 = s.get(view.tile_ids()[1]).unwrap();
        assert_eq!(tile_pixel(t1, 0, 0), [8, 0, 56, 247]);
        assert_eq!(tile_pixel(t1, 1, 0), [0; 4]);
        assert_eq!(tile_pixel(t0, 0, 7), [0; 4]);
        assert_eq!(t1.links, 0);
        let mut t = Chunk::new(Kind::Tile);
        set_tile_pixel(&mut t, 7, 7, [1, 2, 3, 4]);
        set_tile_pixel(&mut t, 6, 7, [5, 6, 7, 8]);
        assert_eq!(t.slots[31], u64::from_le_bytes([5, 6, 7, 8, 1, 2, 3, 4]));
        set_tile_pixel(&mut t, 7, 7, [9, 9, 9, 9]);
        assert_eq!(tile_pixel(&t, 7, 7), [9; 4]);
        assert_eq!(tile_pixel(&t, 6, 7), [5, 6, 7, 8]);
    }

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
    fn bad_input_and_shapes_are_errors() {
        let mut s = Store::new(NodeId(1));
        assert!(matches!(
            image_from_rgba8(&mut s, 2, 2, &[0; 15]),
            Err(StoreError::Invalid(_))
        ));
        let id = image_from_rgba8(&mut s, 9, 9, &pattern(9, 9)).unwrap();
        // Wrong size for the tile array.
        s.get_mut(id).unwrap().set_scalar(IMAGE_WIDTH, 17);
        assert!(matches!(
            ImageView::open(&s, id),
            Err(StoreError::BadShape(..))
        ));
        s.get_mut(id).unwrap().set_scalar(IMAGE_WIDTH, 1 << 40);
        assert!(matches!(
            ImageView::open(&s, id),
            Err(StoreError::BadShape(..))
        ));
        s.get_mut(id).unwrap().set_scalar(IMAGE_WIDTH, 9);
        assert!(ImageView::open(&s, id).is_ok());
        // A missing tile.
        let array = s.get(id).unwrap().link(IMAGE_TILES).unwrap();
        let first = ChunkId(crate::chunk::array::array_get_slot(&s, array, 0).unwrap());
        s.remove(first);
        // Opening reads only the tile ids; the missing tile is an error when read.
        let mut view = ImageView::open(&s, id).unwrap();
        assert_eq!(view.pixel(&s, 0, 0).err(), Some(StoreError::Missing(first)));
        assert_eq!(view.loaded(), 0);
        assert!(view.pixel(&s, 8, 8).is_ok());
        assert_eq!(view.loaded(), 1);
        assert_eq!(
            ImageView::open_all(&s, id).err(),
            Some(StoreError::Missing(first))
        );
        let frame = s.alloc(Chunk::new(Kind::Frame));
        assert!(matches!(
            ImageView::open(&s, frame),
            Err(StoreError::WrongKind { .. })
        ));
    }
}
