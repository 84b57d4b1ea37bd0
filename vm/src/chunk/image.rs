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

use super::array::array_from_slots;
use super::id::ChunkId;
use super::slots::{Chunk, Kind};
use super::store::{Store, StoreError};
use super::view::ImageView;

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
pub(super) fn tiles_along(n: u32) -> u32 {
    n.div_ceil(TILE_SIZE)
}

/// The bytes of row `py` (below 8) of a tile: its 8 pixels, RGBA8, left to right.
/// Slot `4 * py + i` holds pixels `2i` and `2i + 1` of the row, the first in its
/// low half, so the row is the four slots' little-endian bytes in order.
#[inline]
pub fn tile_row(tile: &Chunk, py: usize) -> [u8; 32] {
    let mut out = [0u8; 32];
    let first = (py & 7) * 4;
    for (bytes, slot) in out.chunks_exact_mut(8).zip(&tile.slots[first..first + 4]) {
        bytes.copy_from_slice(&slot.to_le_bytes());
    }
    out
}

/// Sets row `py` (below 8) of a tile from `rgba`: the row's first `rgba.len() / 4`
/// pixels (at most 8), RGBA8 left to right; the rest of the row becomes zero.
#[inline]
pub fn set_tile_row(tile: &mut Chunk, py: usize, rgba: &[u8]) {
    let mut row = [0u8; 32];
    match <&[u8; 32]>::try_from(rgba) {
        // A whole row (all but the right edge's tiles): a copy of known length, not a
        // call to `memcpy` per row.
        Ok(whole) => row = *whole,
        Err(_) => {
            let n = rgba.len().min(32) & !3;
            row[..n].copy_from_slice(&rgba[..n]);
        }
    }
    let first = (py & 7) * 4;
    for (slot, bytes) in tile.slots[first..first + 4]
        .iter_mut()
        .zip(row.chunks_exact(8))
    {
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        *slot = u64::from_le_bytes(word);
    }
}

/// Tiles an image must have before converting it uses more than one thread
/// (4096 tiles: a quarter of a megapixel); below that, starting threads costs
/// more than it saves.
const TILES_PER_THREAD: usize = 4096;

/// Threads to convert `tiles` tiles with: one per [`TILES_PER_THREAD`], at most
/// one per core and at most 8.
pub(super) fn conversion_threads(tiles: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (tiles / TILES_PER_THREAD).clamp(1, cores.clamp(1, 8))
}

/// Runs `work` on contiguous groups of `items`, one group per thread of
/// `threads` (this thread takes the first), and returns the results in order;
/// an error if a thread stopped without a result.
pub(super) fn in_groups<T: Send, R: Send>(
    items: Vec<T>,
    threads: usize,
    work: impl Fn(Vec<T>) -> R + Sync,
) -> Result<Vec<R>, StoreError> {
    let per = items.len().div_ceil(threads.max(1)).max(1);
    let mut groups = Vec::new();
    let mut items = items.into_iter();
    loop {
        let group: Vec<T> = items.by_ref().take(per).collect();
        if group.is_empty() {
            break;
        }
        groups.push(group);
    }
    if groups.len() <= 1 {
        return Ok(groups.into_iter().map(&work).collect());
    }
    let work = &work;
    std::thread::scope(|scope| {
        let mut groups = groups.into_iter();
        let first = groups.next();
        let handles: Vec<_> = groups.map(|g| scope.spawn(move || work(g))).collect();
        let mut out: Vec<R> = first.into_iter().map(work).collect();
        for handle in handles {
            let r = handle
                .join()
                .map_err(|_| StoreError::Invalid("a thread converting an image stopped".into()))?;
            out.push(r);
        }
        Ok(out)
    })
}

/// The tiles of one band of 8 rows (fewer at the bottom) of an image whose rows
/// are `stride` bytes: `tiles_x` chunks, left to right, each written in place.
fn band_tiles(band: &[u8], stride: usize, tiles_x: usize, out: &mut Vec<Arc<Chunk>>) {
    let rows = band.len() / stride.max(1);
    for tx in 0..tiles_x {
        let x0 = tx * 32;
        let x1 = (x0 + 32).min(stride);
        let mut tile = Arc::new(Chunk::new(Kind::Tile));
        // A fresh Arc is never shared, so `make_mut` writes in place.
        let chunk = Arc::make_mut(&mut tile);
        for py in 0..rows {
            let row = py * stride;
            set_tile_row(chunk, py, &band[row + x0..row + x1]);
        }
        out.push(tile);
    }
}

/// Stores an image given as `width * height` RGBA8 pixels, row-major, and
/// returns its root. Fails if `rgba` has another length.
///
/// The tiles get data ids in row-major order, then the tile array's chunks,
/// then the root: the same ids however the tiles are made. Each tile is 8
/// copies of a row of 32 bytes (fewer at the right edge), with no work per
/// pixel; a large image's tiles are made on several threads (bands of rows
/// each), then stored here in order.
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
    let (tiles_x, tiles_y) = (tiles_along(width) as usize, tiles_along(height) as usize);
    let count = tiles_x * tiles_y;
    let stride = w * 4;
    let bands: Vec<&[u8]> = if count == 0 {
        Vec::new()
    } else {
        rgba.chunks(stride * 8).collect()
    };
    let groups = in_groups(bands, conversion_threads(count), |bands| {
        let mut made = Vec::with_capacity(bands.len() * tiles_x);
        for band in bands {
            band_tiles(band, stride, tiles_x, &mut made);
        }
        made
    })?;
    image_from_tile_chunks(store, width, height, groups.into_iter().flatten())
}

/// Stores the tiles of a `width` x `height` image made already (row-major, as
/// [`image_from_rgba8`] makes them on its threads) and an Image chunk over them; returns its root.
/// The ids are the ones [`image_from_rgba8`] gives the same pixels: the tiles in
/// row-major order, then the tile array's chunks, then the root. The table is grown
/// once for all of them. Fails if the count is not the image's or a chunk is not a
/// tile (nothing stored then).
pub fn image_from_tile_chunks(
    store: &mut Store,
    width: u32,
    height: u32,
    tiles: impl IntoIterator<Item = Arc<Chunk>>,
) -> Result<ChunkId, StoreError> {
    let count = tiles_along(width) as usize * tiles_along(height) as usize;
    let tiles: Vec<Arc<Chunk>> = tiles.into_iter().collect();
    if tiles.len() != count {
        return Err(StoreError::Invalid(format!(
            "a {width}x{height} image has {count} tiles, not {}",
            tiles.len()
        )));
    }
    if let Some(pos) = tiles.iter().position(|tile| tile.kind != Kind::Tile) {
        return Err(StoreError::Invalid(format!(
            "tile {pos} of a {width}x{height} image is a {} chunk",
            tiles[pos].kind
        )));
    }
    // The tiles, the array's leaves and nodes, the root.
    store.reserve(count + count.div_ceil(31) + 2);
    let ids = store.alloc_batch(tiles);
    let slots: Vec<u64> = ids.iter().map(|id| id.0).collect();
    let array = array_from_slots(store, &slots, 1, true)?;
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
///
/// The output is written band by band (8 rows, one row of tiles): each tile is
/// looked up once, then each of its rows is one copy of 32 bytes (fewer at the
/// right edge). A large image's bands are shared out between threads, each
/// writing its own rows of the output.
pub fn image_to_rgba8(store: &Store, id: ChunkId) -> Result<(u32, u32, Vec<u8>), StoreError> {
    let view = ImageView::open(store, id)?;
    let (w, h) = (view.width() as usize, view.height() as usize);
    let stride = w * 4;
    let mut out = vec![0u8; stride * h];
    let tiles_x = view.tiles_x() as usize;
    if out.is_empty() {
        return Ok((view.width(), view.height(), out));
    }
    let bands: Vec<(&[ChunkId], &mut [u8])> = view
        .tile_ids()
        .chunks(tiles_x)
        .zip(out.chunks_mut(stride * 8))
        .collect();
    let threads = conversion_threads(view.tile_ids().len());
    let results = in_groups(bands, threads, |bands| -> Result<(), StoreError> {
        let mut tiles: Vec<&Chunk> = Vec::with_capacity(tiles_x);
        for (ids, rows) in bands {
            tiles.clear();
            for tid in ids {
                let tile = store.try_get(*tid)?;
                if tile.kind != Kind::Tile {
                    return Err(StoreError::WrongKind {
                        id: *tid,
                        expected: Kind::Tile,
                        found: tile.kind,
                    });
                }
                tiles.push(tile);
            }
            for (py, row) in rows.chunks_mut(stride).enumerate() {
                for (dst, tile) in row.chunks_mut(32).zip(&tiles) {
                    let bytes = tile_row(tile, py);
                    // A whole row of the tile (all but the right edge's): a copy of
                    // known length, not a call to `memcpy` per row.
                    match <&mut [u8; 32]>::try_from(&mut *dst) {
                        Ok(whole) => *whole = bytes,
                        Err(_) => dst.copy_from_slice(&bytes[..dst.len()]),
                    }
                }
            }
        }
        Ok(())
    })?;
    for result in results {
        result?;
    }
    Ok((view.width(), view.height(), out))
}

/// The size of image `id`, `(width, height)`, as its root chunk says it: an error if
/// `id` is not an Image chunk or a size is not a scalar of 32 bits. Reads nothing
/// else (an image whose pixels a VM holds beside the store has only its root).
pub fn image_size(store: &Store, id: ChunkId) -> Result<(u32, u32), StoreError> {
    let root = store.try_get(id)?;
    if root.kind != Kind::Image {
        return Err(StoreError::WrongKind {
            id,
            expected: Kind::Image,
            found: root.kind,
        });
    }
    let dim = |slot: usize, name: &str| -> Result<u32, StoreError> {
        let bad = |what: String| StoreError::BadShape(id, what);
        if root.is_link(slot) {
            return Err(bad(format!("the {name} (slot {slot}) is a link")));
        }
        u32::try_from(root.get(slot))
            .map_err(|_| bad(format!("{name} {} does not fit 32 bits", root.get(slot))))
    };
    Ok((dim(IMAGE_WIDTH, "width")?, dim(IMAGE_HEIGHT, "height")?))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::chunk::id::NodeId;

    /// The tiles of `rgba`, whole rows of a `width`-pixel-wide image that start at a
    /// row of tiles, made apart as one of [`image_from_rgba8`]'s threads makes them:
    /// their tiles row-major, stored nowhere yet.
    fn tiles_of_rows(width: u32, rgba: &[u8]) -> Vec<Arc<Chunk>> {
        let stride = width as usize * 4;
        let tiles_x = tiles_along(width) as usize;
        let mut made = Vec::new();
        if stride == 0 {
            return made;
        }
        for band in rgba.chunks(stride * 8) {
            band_tiles(band, stride, tiles_x, &mut made);
        }
        made
    }

    pub(crate) fn pattern(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        for y in 0..h {
            for x in 0..w {
                out.extend_from_slice(&[x as u8, y as u8, (x * 7 + y * 13) as u8, 255 - x as u8]);
            }
        }
        out
    }

    #[test]
    fn tiles_made_apart_are_stored_as_image_from_rgba8_stores_them() {
        for (w, h) in [(1, 1), (9, 7), (17, 33), (8, 8), (40, 70), (3, 0)] {
            let px = pattern(w, h);
            let mut whole = Store::new(NodeId(1));
            let expected = image_from_rgba8(&mut whole, w, h, &px).unwrap();
            // Bands of 16 rows made apart, as worker threads make them.
            let stride = w as usize * 4;
            let mut tiles = Vec::new();
            for band in px.chunks((stride * 16).max(1)) {
                tiles.extend(tiles_of_rows(w, band));
            }
            let mut apart = Store::new(NodeId(1));
            let got = image_from_tile_chunks(&mut apart, w, h, tiles).unwrap();
            assert_eq!(got, expected, "{w}x{h}");
            let mut ids: Vec<ChunkId> = whole.ids().collect();
            ids.sort();
            let mut other: Vec<ChunkId> = apart.ids().collect();
            other.sort();
            assert_eq!(ids, other, "{w}x{h}");
            for id in ids {
                assert_eq!(whole.get(id), apart.get(id), "{w}x{h} {id}");
            }
        }
    }

    #[test]
    fn tile_chunks_of_another_count_or_kind_are_refused() {
        let px = pattern(9, 9);
        let tiles = tiles_of_rows(9, &px);
        assert_eq!(tiles.len(), 4);
        let mut s = Store::new(NodeId(1));
        let short = image_from_tile_chunks(&mut s, 9, 9, tiles[..3].to_vec());
        assert!(matches!(short, Err(StoreError::Invalid(ref m)) if m.contains("4 tiles")));
        let mut wrong = tiles.clone();
        wrong[2] = Arc::new(Chunk::new(Kind::Env));
        assert!(image_from_tile_chunks(&mut s, 9, 9, wrong).is_err());
        assert!(s.is_empty());
        assert!(tiles_of_rows(0, &[]).is_empty());
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

    /// The conversion as it was before it copied rows: a pixel at a time, each
    /// tile allocated as it was made. The ids and chunks of stored photos came
    /// from it.
    fn image_from_rgba8_pixelwise(
        store: &mut Store,
        width: u32,
        height: u32,
        rgba: &[u8],
    ) -> ChunkId {
        let (w, h) = (width as usize, height as usize);
        let mut tiles = Vec::new();
        for ty in 0..tiles_along(height) {
            for tx in 0..tiles_along(width) {
                let mut tile = Chunk::new(Kind::Tile);
                for py in 0..TILE_SIZE {
                    for px in 0..TILE_SIZE {
                        let (x, y) = ((tx * 8 + px) as usize, (ty * 8 + py) as usize);
                        if x < w && y < h {
                            let at = (y * w + x) * 4;
                            let mut pixel = [0u8; 4];
                            pixel.copy_from_slice(&rgba[at..at + 4]);
                            set_tile_pixel(&mut tile, px, py, pixel);
                        }
                    }
                }
                tiles.push(store.alloc(tile).0);
            }
        }
        let array = array_from_slots(store, &tiles, 1, true).unwrap();
        let mut root = Chunk::new(Kind::Image);
        root.set_scalar(IMAGE_WIDTH, width as u64);
        root.set_scalar(IMAGE_HEIGHT, height as u64);
        root.set_link(IMAGE_TILES, array);
        store.alloc(root)
    }

    /// The sizes of the round trips: single pixels, rows and columns, sizes
    /// around and between multiples of 8, and one large enough to be made on
    /// several threads (8643 tiles) when the machine has several cores.
    const SIZES: [(u32, u32); 16] = [
        (1, 1),
        (1, 37),
        (37, 1),
        (7, 7),
        (8, 8),
        (9, 9),
        (15, 17),
        (16, 1),
        (1, 16),
        (31, 33),
        (100, 3),
        (0, 0),
        (0, 5),
        (3, 0),
        (1030, 530),
        (513, 1),
    ];

    #[test]
    fn rows_make_the_ids_and_chunks_pixels_made() {
        for (w, h) in SIZES {
            let px = pattern(w, h);
            let mut fast = Store::new(NodeId(1));
            let mut slow = Store::new(NodeId(1));
            // Chunks already in the store: ids go on from them.
            fast.alloc(Chunk::new(Kind::Env));
            slow.alloc(Chunk::new(Kind::Env));
            let a = image_from_rgba8(&mut fast, w, h, &px).unwrap();
            let b = image_from_rgba8_pixelwise(&mut slow, w, h, &px);
            assert_eq!(a, b, "{w}x{h}");
            assert_eq!(fast.len(), slow.len(), "{w}x{h}");
            let mut ids: Vec<ChunkId> = slow.ids().collect();
            ids.sort();
            for id in ids {
                assert_eq!(fast.get(id), slow.get(id), "{w}x{h}: chunk {id}");
            }
            assert_eq!(
                fast.alloc(Chunk::new(Kind::Env)),
                slow.alloc(Chunk::new(Kind::Env))
            );
        }
    }

    #[test]
    fn round_trips_are_byte_equal() {
        for (w, h) in SIZES {
            let mut s = Store::new(NodeId(3));
            let px = pattern(w, h);
            let id = image_from_rgba8(&mut s, w, h, &px).unwrap();
            let (w2, h2, back) = image_to_rgba8(&s, id).unwrap();
            assert_eq!((w2, h2), (w, h));
            assert!(back == px, "{w}x{h}");
            // The view reads the same pixels.
            let mut view = ImageView::open(&s, id).unwrap();
            for (y, x) in [(0, 0), (h / 2, w / 2), (h.max(1) - 1, w.max(1) - 1)] {
                if w > 0 && h > 0 {
                    let at = ((y * w + x) * 4) as usize;
                    let got = view.pixel(&s, x as i64, y as i64).unwrap();
                    assert_eq!(&got[..], &px[at..at + 4], "{w}x{h} at ({x}, {y})");
                }
            }
        }
    }

    #[test]
    fn rows_of_a_tile_are_its_pixels() {
        let mut t = Chunk::new(Kind::Tile);
        for py in 0..8u32 {
            for px in 0..8u32 {
                set_tile_pixel(&mut t, px, py, [px as u8, py as u8, 7, 200]);
            }
        }
        for py in 0..8usize {
            let row = tile_row(&t, py);
            for px in 0..8usize {
                assert_eq!(
                    &row[px * 4..px * 4 + 4],
                    &tile_pixel(&t, px as u32, py as u32)
                );
            }
        }
        // A short row leaves the rest of the row zero, and the other rows as they were.
        let mut u = t.clone();
        set_tile_row(&mut u, 2, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(tile_pixel(&u, 0, 2), [1, 2, 3, 4]);
        assert_eq!(tile_pixel(&u, 2, 2), [9, 10, 11, 12]);
        assert_eq!(tile_pixel(&u, 3, 2), [0; 4]);
        assert_eq!(tile_pixel(&u, 7, 2), [0; 4]);
        assert_eq!(tile_row(&u, 1), tile_row(&t, 1));
        assert_eq!(tile_row(&u, 3), tile_row(&t, 3));
        // More than 8 pixels, or a partial pixel, are not read.
        set_tile_row(&mut u, 5, &[9; 37]);
        assert_eq!(tile_row(&u, 5), [9; 32]);
        set_tile_row(&mut u, 6, &[9; 6]);
        assert_eq!(tile_pixel(&u, 0, 6), [9; 4]);
        assert_eq!(tile_pixel(&u, 1, 6), [0; 4]);
    }

    #[test]
    fn a_tile_missing_or_of_another_kind_is_an_error_reading_back() {
        let mut s = Store::new(NodeId(1));
        let id = image_from_rgba8(&mut s, 17, 9, &pattern(17, 9)).unwrap();
        let tiles = ImageView::open(&s, id).unwrap().tile_ids().to_vec();
        *s.get_mut(tiles[4]).unwrap() = Chunk::new(Kind::Env);
        assert_eq!(
            image_to_rgba8(&s, id).err(),
            Some(StoreError::WrongKind {
                id: tiles[4],
                expected: Kind::Tile,
                found: Kind::Env
            })
        );
        s.remove(tiles[4]);
        assert_eq!(
            image_to_rgba8(&s, id).err(),
            Some(StoreError::Missing(tiles[4]))
        );
    }

    #[test]
    fn work_is_shared_out_in_order() {
        let items: Vec<u32> = (0..10).collect();
        for threads in [1, 2, 3, 4, 16] {
            let groups = in_groups(items.clone(), threads, |g| g).unwrap();
            assert!(groups.len() <= threads, "{threads}");
            assert_eq!(groups.concat(), items, "{threads}");
        }
        assert!(in_groups(Vec::<u32>::new(), 4, |g| g).unwrap().is_empty());
        assert_eq!(conversion_threads(0), 1);
        assert_eq!(conversion_threads(TILES_PER_THREAD - 1), 1);
        assert!(conversion_threads(usize::MAX) <= 8);
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
