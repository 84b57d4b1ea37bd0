//! Photos: image files to RGBA8 buffers to chunk graphs with a pyramid of
//! resolutions, and filters and pipelines run over them.
//!
//! A photo is a root chunk (`Kind::Photo`) linking to one Image chunk per
//! level: level 0 is full resolution, level k is 1/2^k of it, down to a
//! thumbnail whose longer side is at most [`THUMBNAIL`] pixels. Only level 0
//! exists at first; a level is made from the one above it the first time it
//! is asked for (each pixel the mean of a 2x2 block) and linked from the root,
//! so it is made once (distillation on demand). A filter run at level k reads
//! the tiles of level k only.

use crate::check::{Analysis, Const};
use crate::chunk::{
    image_from_rgba8, image_to_rgba8, Chunk, ChunkId, ImageView, Kind, Store, StoreError,
};
use crate::compile::Program;
use crate::exec::{ErrorKind, Limits, RuntimeError, Value, Vm};
use crate::syntax::ast::SourceFile;
use std::fmt;
use std::path::{Path, PathBuf};

/// The longest side of the smallest level.
pub const THUMBNAIL: u32 = 256;
/// The longest side a preview level may have.
pub const PREVIEW: u32 = 512;
/// Levels a photo can have (a 65536-pixel side needs 9).
pub const MAX_LEVELS: usize = 24;

/// Slots of the Photo root chunk.
const PHOTO_WIDTH: usize = 0;
const PHOTO_HEIGHT: usize = 1;
const PHOTO_LEVELS: usize = 2;
const PHOTO_FIRST_LEVEL: usize = 3;

mod bands;
mod files;
mod run;
#[cfg(test)]
mod tests;
mod write;

pub use bands::*;
pub use files::*;
pub use run::*;
pub use write::*;

/// The number of levels of a `width` x `height` photo: full size down to the first
/// level whose longer side is at most [`THUMBNAIL`].
pub fn level_count(width: u32, height: u32) -> usize {
    let mut levels = 1;
    let (mut w, mut h) = (width, height);
    while w.max(h) > THUMBNAIL && levels < MAX_LEVELS {
        w = w.div_ceil(2);
        h = h.div_ceil(2);
        levels += 1;
    }
    levels
}

/// The size of level `level`.
pub fn level_size(width: u32, height: u32, level: usize) -> (u32, u32) {
    let (mut w, mut h) = (width, height);
    for _ in 0..level {
        w = w.div_ceil(2);
        h = h.div_ceil(2);
    }
    (w, h)
}

/// The level a preview runs on: the first whose longer side is at most [`PREVIEW`].
pub fn preview_level(width: u32, height: u32) -> usize {
    let levels = level_count(width, height);
    (0..levels)
        .find(|level| {
            let (w, h) = level_size(width, height, *level);
            w.max(h) <= PREVIEW
        })
        .unwrap_or(levels - 1)
}

/// Stores `image` as a photo: its level 0, and a root with room for the others.
pub fn photo_new(store: &mut Store, image: &Rgba8) -> Result<ChunkId, StoreError> {
    let full = image_from_rgba8(store, image.width, image.height, &image.pixels)?;
    let mut root = Chunk::new(Kind::Photo);
    root.set_scalar(PHOTO_WIDTH, image.width as u64);
    root.set_scalar(PHOTO_HEIGHT, image.height as u64);
    root.set_scalar(PHOTO_LEVELS, level_count(image.width, image.height) as u64);
    root.set_link(PHOTO_FIRST_LEVEL, full);
    for level in 1..level_count(image.width, image.height) {
        root.set_link(PHOTO_FIRST_LEVEL + level, ChunkId::NIL);
    }
    Ok(store.alloc(root))
}

/// A photo's size and number of levels.
pub fn photo_info(store: &Store, photo: ChunkId) -> Result<(u32, u32, usize), StoreError> {
    let root = store.try_get(photo)?;
    if root.kind != Kind::Photo {
        return Err(StoreError::WrongKind {
            id: photo,
            expected: Kind::Photo,
            found: root.kind,
        });
    }
    let levels = root.get(PHOTO_LEVELS) as usize;
    let (w, h) = (root.get(PHOTO_WIDTH), root.get(PHOTO_HEIGHT));
    if levels == 0 || levels > MAX_LEVELS || w > u32::MAX as u64 || h > u32::MAX as u64 {
        return Err(StoreError::BadShape(
            photo,
            format!("a photo of {w}x{h} with {levels} levels"),
        ));
    }
    Ok((w as u32, h as u32, levels))
}

/// The Image chunk of level `level`, made from the level above (and cached) when it
/// does not exist yet.
pub fn photo_level(store: &mut Store, photo: ChunkId, level: usize) -> Result<ChunkId, StoreError> {
    let (_, _, levels) = photo_info(store, photo)?;
    if level >= levels {
        return Err(StoreError::Invalid(format!(
            "the photo has levels 0 to {}, not {level}",
            levels - 1
        )));
    }
    if let Some(id) = store.try_get(photo)?.link(PHOTO_FIRST_LEVEL + level) {
        return Ok(id);
    }
    let above = photo_level(store, photo, level - 1)?;
    let (w, h, pixels) = image_to_rgba8(store, above)?;
    let half = downsample(&Rgba8 {
        width: w,
        height: h,
        pixels,
    });
    let id = image_from_rgba8(store, half.width, half.height, &half.pixels)?;
    store
        .get_mut(photo)?
        .set_link(PHOTO_FIRST_LEVEL + level, id);
    Ok(id)
}

/// Half the size (rounding up): each pixel the mean of a 2x2 block (edge blocks clamp).
pub fn downsample(image: &Rgba8) -> Rgba8 {
    let (w, h) = (image.width.div_ceil(2), image.height.div_ceil(2));
    let mut pixels = Vec::with_capacity(w as usize * h as usize * 4);
    let at = |x: u32, y: u32, ch: usize| {
        let x = x.min(image.width - 1) as usize;
        let y = y.min(image.height - 1) as usize;
        image.pixels[(y * image.width as usize + x) * 4 + ch] as u32
    };
    for y in 0..h {
        for x in 0..w {
            for ch in 0..4 {
                let sum = at(2 * x, 2 * y, ch)
                    + at(2 * x + 1, 2 * y, ch)
                    + at(2 * x, 2 * y + 1, ch)
                    + at(2 * x + 1, 2 * y + 1, ch);
                pixels.push(((sum + 2) / 4) as u8);
            }
        }
    }
    Rgba8 {
        width: w,
        height: h,
        pixels,
    }
}
