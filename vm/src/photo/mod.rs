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

/// What is wrong with an image's bytes, or why an image could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// The bytes are not an image format chunkvm knows.
    NotAnImage,
    /// An image format chunkvm does not read (GIF, WebP...).
    Unsupported {
        /// The format's name.
        format: String,
    },
    /// A PNG or JPEG that does not decode.
    Corrupt {
        /// `PNG` or `JPEG`.
        format: &'static str,
        /// The decoder's reason, on one line.
        why: String,
    },
    /// The encoder failed.
    Encode {
        /// `PNG` or `JPEG`.
        format: &'static str,
        /// The encoder's reason.
        why: String,
    },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::NotAnImage => f.write_str("not a PNG or JPEG image"),
            ImageError::Unsupported { format } => {
                write!(f, "{format} images are not supported (PNG and JPEG are)")
            }
            ImageError::Corrupt { format, why } => write!(f, "corrupt {format} image: {why}"),
            ImageError::Encode { format, why } => write!(f, "cannot encode {format}: {why}"),
        }
    }
}

impl std::error::Error for ImageError {}

/// Why a photo file could not be read or written, or an output format chosen. Each
/// says what and which file, on one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhotoError {
    /// The file could not be read (missing, unreadable...).
    Read {
        /// The file.
        path: PathBuf,
        /// Why, as [`crate::diag::io_reason`] says it.
        reason: String,
    },
    /// The file was read but its bytes are not an image chunkvm reads.
    Decode {
        /// The file.
        path: PathBuf,
        /// What is wrong with the bytes.
        error: ImageError,
    },
    /// The image could not be encoded.
    Encode(ImageError),
    /// The output's extension names a format chunkvm does not write.
    OutputFormat {
        /// The output file.
        path: PathBuf,
        /// Its extension, in lower case, without the dot.
        ext: String,
    },
    /// A JPEG quality was given for a PNG output.
    QualityForPng {
        /// The output file.
        path: PathBuf,
    },
    /// A JPEG quality outside 1 to 100.
    Quality(u8),
    /// The output is a folder.
    IsFolder {
        /// The output.
        path: PathBuf,
    },
    /// The output is neither a regular file, a device nor a pipe (a socket, say).
    NotRegular {
        /// The output.
        path: PathBuf,
    },
    /// The output's folder does not exist.
    NoFolder {
        /// The output.
        path: PathBuf,
        /// Its folder.
        dir: PathBuf,
    },
    /// A symbolic link on the way to the output could not be read.
    Link {
        /// The output.
        path: PathBuf,
        /// The link.
        link: PathBuf,
        /// Why, as [`crate::diag::io_reason`] says it.
        reason: String,
    },
    /// The output's links go round (or are more than 40 deep).
    LinkLoop {
        /// The output.
        path: PathBuf,
    },
    /// Writing the output failed.
    Write {
        /// The output.
        path: PathBuf,
        /// Why, as [`crate::diag::io_reason`] says it.
        reason: String,
    },
}

impl PhotoError {
    /// The file the error is about, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            PhotoError::Read { path, .. }
            | PhotoError::Decode { path, .. }
            | PhotoError::OutputFormat { path, .. }
            | PhotoError::QualityForPng { path }
            | PhotoError::IsFolder { path }
            | PhotoError::NotRegular { path }
            | PhotoError::NoFolder { path, .. }
            | PhotoError::Link { path, .. }
            | PhotoError::LinkLoop { path }
            | PhotoError::Write { path, .. } => Some(path),
            PhotoError::Encode(_) | PhotoError::Quality(_) => None,
        }
    }
}

impl fmt::Display for PhotoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cannot_write = |f: &mut fmt::Formatter<'_>, path: &Path| {
            write!(f, "cannot write {}: ", path.display())
        };
        match self {
            PhotoError::Read { path, reason } => {
                write!(f, "cannot read {}: {reason}", path.display())
            }
            PhotoError::Decode { path, error } => {
                write!(f, "cannot read {}: {error}", path.display())
            }
            PhotoError::Encode(error) => write!(f, "{error}"),
            PhotoError::OutputFormat { path, ext } => {
                cannot_write(f, path)?;
                write!(
                    f,
                    "`.{ext}` is not a format chunkvm writes; name the file .png, .jpg or .jpeg"
                )
            }
            PhotoError::QualityForPng { path } => write!(
                f,
                "--quality is for JPEG output (.jpg, .jpeg), and {} is PNG",
                path.display()
            ),
            PhotoError::Quality(q) => write!(f, "--quality {q}: give a JPEG quality from 1 to 100"),
            PhotoError::IsFolder { path } => {
                cannot_write(f, path)?;
                f.write_str("it is a folder")
            }
            PhotoError::NotRegular { path } => {
                cannot_write(f, path)?;
                f.write_str("not a regular file, a device or a pipe")
            }
            PhotoError::NoFolder { path, dir } => {
                cannot_write(f, path)?;
                write!(f, "no folder {}", dir.display())
            }
            PhotoError::Link { path, link, reason } => {
                cannot_write(f, path)?;
                write!(f, "cannot read the link {}: {reason}", link.display())
            }
            PhotoError::LinkLoop { path } => {
                cannot_write(f, path)?;
                f.write_str("too many levels of symbolic links")
            }
            PhotoError::Write { path, reason } => {
                cannot_write(f, path)?;
                f.write_str(reason)
            }
        }
    }
}

impl std::error::Error for PhotoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PhotoError::Decode { error, .. } | PhotoError::Encode(error) => Some(error),
            _ => None,
        }
    }
}

/// The formats photos are written in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ImageFormat {
    /// PNG, lossless.
    Png,
    /// JPEG at a quality from 1 to 100.
    Jpeg {
        /// 1 (smallest) to 100 (best).
        quality: u8,
    },
}

/// The JPEG quality when none is given.
pub const JPEG_QUALITY: u8 = 90;

impl ImageFormat {
    /// The format the extension of `path` names: `.png`, `.jpg` or `.jpeg` (any case);
    /// a path without an extension (`/dev/stdout`) is PNG. `quality` is for JPEG only.
    /// The error is one line naming the path and the formats there are.
    pub fn from_path(path: &Path, quality: Option<u8>) -> Result<ImageFormat, PhotoError> {
        let ext = path
            .extension()
            .map(|ext| ext.to_string_lossy().to_lowercase());
        let format = match ext.as_deref() {
            None | Some("png") => ImageFormat::Png,
            Some("jpg" | "jpeg") => ImageFormat::Jpeg {
                quality: quality.unwrap_or(JPEG_QUALITY),
            },
            Some(other) => {
                return Err(PhotoError::OutputFormat {
                    path: path.to_path_buf(),
                    ext: other.to_string(),
                })
            }
        };
        match (format, quality) {
            (ImageFormat::Png, Some(_)) => Err(PhotoError::QualityForPng {
                path: path.to_path_buf(),
            }),
            (_, Some(q)) if !(1..=100).contains(&q) => Err(PhotoError::Quality(q)),
            _ => Ok(format),
        }
    }
}

/// An RGBA8 image in memory, row by row.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Rgba8 {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 4` bytes: r, g, b, a.
    pub pixels: Vec<u8>,
}

impl Rgba8 {
    /// An image of one colour.
    pub fn filled(width: u32, height: u32, rgba: [u8; 4]) -> Rgba8 {
        Rgba8 {
            width,
            height,
            pixels: rgba
                .iter()
                .copied()
                .cycle()
                .take(width as usize * height as usize * 4)
                .collect(),
        }
    }

    /// Decodes a PNG or JPEG file. The error names the file and the cause.
    pub fn load(path: &Path) -> Result<Rgba8, PhotoError> {
        let bytes = std::fs::read(path).map_err(|err| PhotoError::Read {
            path: path.to_path_buf(),
            reason: crate::diag::io_reason(&err),
        })?;
        Rgba8::decode(&bytes).map_err(|error| PhotoError::Decode {
            path: path.to_path_buf(),
            error,
        })
    }

    /// Decodes PNG or JPEG bytes.
    pub fn decode(bytes: &[u8]) -> Result<Rgba8, ImageError> {
        let format = image::guess_format(bytes).map_err(|_| ImageError::NotAnImage)?;
        if !matches!(format, image::ImageFormat::Png | image::ImageFormat::Jpeg) {
            return Err(ImageError::Unsupported {
                format: format!("{format:?}"),
            });
        }
        let kind = if format == image::ImageFormat::Png {
            "PNG"
        } else {
            "JPEG"
        };
        let decoded = image::load_from_memory_with_format(bytes, format).map_err(|err| {
            // One line: the decoders' messages may hold line breaks.
            let why: Vec<String> = err
                .to_string()
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_string)
                .collect();
            ImageError::Corrupt {
                format: kind,
                why: why.join("; "),
            }
        })?;
        let rgba = decoded.to_rgba8();
        Ok(Rgba8 {
            width: rgba.width(),
            height: rgba.height(),
            pixels: rgba.into_raw(),
        })
    }

    /// Encodes as PNG.
    pub fn encode_png(&self) -> Result<Vec<u8>, ImageError> {
        let mut out = Vec::new();
        let encoder = image::codecs::png::PngEncoder::new(&mut out);
        image::ImageEncoder::write_image(
            encoder,
            &self.pixels,
            self.width,
            self.height,
            image::ExtendedColorType::Rgba8,
        )
        .map_err(|err| ImageError::Encode {
            format: "PNG",
            why: err.to_string(),
        })?;
        Ok(out)
    }

    /// Encodes as JPEG at `quality` (1 to 100). JPEG has no alpha: it is dropped.
    pub fn encode_jpeg(&self, quality: u8) -> Result<Vec<u8>, ImageError> {
        let mut out = Vec::new();
        let rgb: Vec<u8> = self
            .pixels
            .chunks_exact(4)
            .flat_map(|px| [px[0], px[1], px[2]])
            .collect();
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
        image::ImageEncoder::write_image(
            encoder,
            &rgb,
            self.width,
            self.height,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|err| ImageError::Encode {
            format: "JPEG",
            why: err.to_string(),
        })?;
        Ok(out)
    }

    /// Encodes in `format`.
    pub fn encode(&self, format: ImageFormat) -> Result<Vec<u8>, ImageError> {
        match format {
            ImageFormat::Png => self.encode_png(),
            ImageFormat::Jpeg { quality } => self.encode_jpeg(quality),
        }
    }

    /// Writes the image as a file in `format` with [`write_atomic`]: a failure leaves no
    /// partial file behind.
    pub fn save(&self, path: &Path, format: ImageFormat) -> Result<(), PhotoError> {
        write_atomic(path, &self.encode(format).map_err(PhotoError::Encode)?)
    }

    /// Writes a PNG file with [`write_atomic`].
    pub fn save_png(&self, path: &Path) -> Result<(), PhotoError> {
        self.save(path, ImageFormat::Png)
    }

    /// A copy resized to `width` x `height` by bilinear sampling (for making large test
    /// photos from small ones).
    pub fn resized(&self, width: u32, height: u32) -> Rgba8 {
        let mut pixels = Vec::with_capacity(width as usize * height as usize * 4);
        let (sw, sh) = (self.width.max(1) as f32, self.height.max(1) as f32);
        for y in 0..height {
            let fy = ((y as f32 + 0.5) * sh / height as f32 - 0.5).max(0.0);
            let y0 = (fy as u32).min(self.height.saturating_sub(1));
            let y1 = (y0 + 1).min(self.height.saturating_sub(1));
            let ty = fy - y0 as f32;
            for x in 0..width {
                let fx = ((x as f32 + 0.5) * sw / width as f32 - 0.5).max(0.0);
                let x0 = (fx as u32).min(self.width.saturating_sub(1));
                let x1 = (x0 + 1).min(self.width.saturating_sub(1));
                let tx = fx - x0 as f32;
                for ch in 0..4 {
                    let at = |x: u32, y: u32| {
                        self.pixels[(y as usize * self.width as usize + x as usize) * 4 + ch] as f32
                    };
                    let top = at(x0, y0) * (1.0 - tx) + at(x1, y0) * tx;
                    let bottom = at(x0, y1) * (1.0 - tx) + at(x1, y1) * tx;
                    pixels.push((top * (1.0 - ty) + bottom * ty).round().clamp(0.0, 255.0) as u8);
                }
            }
        }
        Rgba8 {
            width,
            height,
            pixels,
        }
    }
}

/// Writes `bytes` to `path`, the one way the command line writes a file.
///
/// - A regular file (or a new one) is replaced atomically: the bytes go to a temporary
///   file in the same folder, which is synced and renamed over it (it keeps the old
///   file's permissions), so a failure leaves the old file or nothing, never half a file.
/// - A symbolic link is followed: the file it points to is replaced, in its own folder,
///   and the link stays a link.
/// - A character device or a named pipe (`/dev/stdout`, a FIFO) is written in place,
///   and a failure (`/dev/full`) is an error.
/// - A folder, or any other kind of file, is refused and nothing is written.
///
/// Errors are one line naming `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PhotoError> {
    let path_buf = || path.to_path_buf();
    let io = |err: std::io::Error| PhotoError::Write {
        path: path_buf(),
        reason: crate::diag::io_reason(&err),
    };
    let target = follow_links(path)?;
    match std::fs::metadata(&target) {
        Ok(meta) if meta.is_dir() => Err(PhotoError::IsFolder { path: path_buf() }),
        Ok(meta) if meta.is_file() => replace_file(path, &target, bytes, Some(meta.permissions())),
        Ok(meta) if is_stream(&meta.file_type()) => write_in_place(&target, bytes).map_err(io),
        Ok(_) => Err(PhotoError::NotRegular { path: path_buf() }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            replace_file(path, &target, bytes, None)
        }
        Err(err) => Err(io(err)),
    }
}

/// `path` with its symbolic links followed (the last component only, as `open` would,
/// and through chains of links); a dangling link gives the path it points to.
fn follow_links(path: &Path) -> Result<PathBuf, PhotoError> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let to = std::fs::read_link(&current).map_err(|err| PhotoError::Link {
                    path: path.to_path_buf(),
                    link: current.clone(),
                    reason: crate::diag::io_reason(&err),
                })?;
                current = match current.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(PhotoError::LinkLoop {
        path: path.to_path_buf(),
    })
}

#[cfg(unix)]
fn is_stream(kind: &std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    kind.is_char_device() || kind.is_fifo()
}

#[cfg(not(unix))]
fn is_stream(_: &std::fs::FileType) -> bool {
    false
}

fn write_in_place(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    file.write_all(bytes).and_then(|()| file.flush())
}

/// Replaces (or makes) the regular file `path` (what `output`, the path the caller
/// named, leads to) through a temporary file in its folder.
fn replace_file(
    output: &Path,
    path: &Path,
    bytes: &[u8],
    permissions: Option<std::fs::Permissions>,
) -> Result<(), PhotoError> {
    use std::io::Write;
    static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(PhotoError::NoFolder {
            path: output.to_path_buf(),
            dir: dir.to_path_buf(),
        });
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{serial}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)?;
        }
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    written.map_err(|err| {
        let _ = std::fs::remove_file(&tmp);
        PhotoError::Write {
            path: output.to_path_buf(),
            reason: crate::diag::io_reason(&err),
        }
    })
}

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

/// What to run: a filter or a pipeline, by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A `filter` item.
    Filter(String),
    /// A `pipeline` item.
    Pipeline(String),
}

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The pyramid level to run on (0: full resolution).
    pub level: usize,
    /// Worker threads (1: run on this thread).
    pub threads: usize,
    /// Limits of each thread.
    pub limits: Limits,
    /// `param` values set by the user (a pipeline stage's own arguments win over them).
    pub params: Vec<(String, Value)>,
    /// Set it from any thread to stop the run (it ends with [`RunError::Cancelled`]).
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            level: 0,
            threads: 1,
            limits: Limits::default(),
            params: Vec::new(),
            cancel: None,
        }
    }
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// The output image.
    pub image: Rgba8,
    /// Instructions executed, all stages and threads together.
    pub instructions: u64,
    /// The stages run: filter names in order.
    pub stages: Vec<String>,
}

/// Why a run failed.
#[derive(Clone, Debug)]
pub enum RunError {
    /// The cancel flag of [`RunOptions`] was set: the run stopped at a safe point.
    Cancelled,
    /// A runtime error in a filter.
    Runtime(RuntimeError),
    /// Anything else: a missing filter, a bad param, a level that does not exist...
    Other(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Cancelled => f.write_str("cancelled"),
            RunError::Runtime(err) => write!(f, "{}", err.message),
            RunError::Other(message) => f.write_str(message),
        }
    }
}

/// One stage of a run: a filter and the params it overrides.
struct Stage {
    func: u32,
    name: String,
    overrides: Vec<(String, Value)>,
}

fn const_value(value: Const) -> Value {
    match value {
        Const::Int(v) => Value::Int(v),
        Const::Float(v) => Value::Float(v),
        Const::Bool(v) => Value::Bool(v),
        Const::Color(c) => Value::Color(c.map(|v| v as f32)),
    }
}

/// What a run takes: a checked file (for the stages of its pipelines) and the program
/// compiled from it, never its text: the caller analysed and compiled it once
/// ([`crate::driver::build`], or [`crate::driver::compile_analyzed`] for a file
/// already analysed, as an editor's document is).
pub struct Compiled<'a> {
    /// The file's AST.
    pub file: &'a SourceFile,
    /// Its checked facts (the pipelines' stages and their arguments).
    pub analysis: &'a Analysis,
    /// The program compiled from them.
    pub program: Program,
}

impl<'a> Compiled<'a> {
    /// A file analysed by [`crate::driver::analyze`] and its program.
    pub fn of(analyzed: &'a crate::driver::Analyzed, program: Program) -> Compiled<'a> {
        Compiled {
            file: &analyzed.parsed.file,
            analysis: &analyzed.analysis,
            program,
        }
    }
}

/// The stages of `target` (or of the file's only pipeline or filter when `None`).
fn stages(compiled: &Compiled<'_>, target: Option<&Target>) -> Result<Vec<Stage>, String> {
    use crate::syntax::ast::{ItemId, ItemKind};
    let (file, program) = (compiled.file, &compiled.program);
    let filters: Vec<&str> = file
        .items
        .iter()
        .filter(|item| matches!(&item.kind, ItemKind::Function(f) if f.is_filter))
        .map(|item| item.name.name.as_str())
        .collect();
    let pipelines: Vec<&str> = file
        .items
        .iter()
        .filter(|item| matches!(item.kind, ItemKind::Pipeline(_)))
        .map(|item| item.name.name.as_str())
        .collect();
    let choices = || {
        let mut all: Vec<String> = filters.iter().map(|f| format!("--filter {f}")).collect();
        all.extend(pipelines.iter().map(|p| format!("--pipeline {p}")));
        if all.is_empty() {
            "it has no filter and no pipeline".to_string()
        } else {
            format!("choose one of: {}", all.join(", "))
        }
    };
    let target = match target {
        Some(target) => target.clone(),
        None => match (pipelines.as_slice(), filters.as_slice()) {
            ([one], _) => Target::Pipeline(one.to_string()),
            ([], [one]) => Target::Filter(one.to_string()),
            _ => return Err(format!("which filter or pipeline? {}", choices())),
        },
    };
    let func_of = |name: &str| program.function(name).map(|(idx, _)| idx);
    match &target {
        Target::Filter(name) => {
            if !filters.contains(&name.as_str()) {
                return Err(format!("no filter `{name}`; {}", choices()));
            }
            let func = func_of(name).ok_or_else(|| format!("no filter `{name}`"))?;
            Ok(vec![Stage {
                func,
                name: name.clone(),
                overrides: Vec::new(),
            }])
        }
        Target::Pipeline(name) => {
            let (item_id, item) = file
                .item(name)
                .filter(|(_, item)| matches!(item.kind, ItemKind::Pipeline(_)))
                .ok_or_else(|| format!("no pipeline `{name}`; {}", choices()))?;
            let ItemKind::Pipeline(pipeline) = &item.kind else {
                return Err(format!("no pipeline `{name}`"));
            };
            let mut out = Vec::new();
            for idx in 0..pipeline.stages.len() {
                let info = compiled
                    .analysis
                    .stages
                    .get(&(item_id, idx))
                    .ok_or_else(|| format!("stage {} of `{name}` did not check", idx + 1))?;
                let filter_item = file
                    .items
                    .get(info.filter.0 as usize)
                    .ok_or_else(|| format!("stage {} of `{name}` has no filter", idx + 1))?;
                let func = func_of(&filter_item.name.name)
                    .ok_or_else(|| format!("no filter `{}`", filter_item.name.name))?;
                let overrides = info
                    .overrides
                    .iter()
                    .filter_map(|(param, value)| {
                        let param: &ItemId = param;
                        file.items
                            .get(param.0 as usize)
                            .map(|item| (item.name.name.clone(), const_value(*value)))
                    })
                    .collect();
                out.push(Stage {
                    func,
                    name: filter_item.name.name.clone(),
                    overrides,
                });
            }
            Ok(out)
        }
    }
}

/// What a run reads: an image in memory (borrowed or owned: a run never copies
/// it) or a photo stored as chunks.
#[derive(Clone, Debug)]
pub enum Input<'a> {
    /// Decoded pixels (a PNG or JPEG file).
    Image(std::borrow::Cow<'a, Rgba8>),
    /// A photo chunk graph, as `chunkvm import` writes it: the set's root is the photo.
    Chunks(crate::chunk::ChunkSet),
}

/// Runs a filter or pipeline of a compiled file over `input` at the level
/// `options.level` of its pyramid.
pub fn run(
    compiled: Compiled<'_>,
    target: Option<&Target>,
    input: &Rgba8,
    options: &RunOptions,
) -> Result<RunOutput, RunError> {
    run_input(
        compiled,
        target,
        &Input::Image(std::borrow::Cow::Borrowed(input)),
        options,
        &|_, _| {},
    )
}

/// Called as work gets done: rows done and rows in all, over every stage.
pub type Progress<'p> = &'p (dyn Fn(u64, u64) + Sync);

/// Rows of an image that one piece of work covers (four rows of tiles).
pub const BAND_ROWS: u32 = 32;

/// Runs a filter or pipeline of a compiled file over `input`, with progress reports.
pub fn run_input(
    compiled: Compiled<'_>,
    target: Option<&Target>,
    input: &Input<'_>,
    options: &RunOptions,
    progress: Progress<'_>,
) -> Result<RunOutput, RunError> {
    let stages = stages(&compiled, target).map_err(RunError::Other)?;
    let cancelled = || {
        options
            .cancel
            .as_ref()
            .is_some_and(|flag| flag.load(std::sync::atomic::Ordering::Relaxed))
    };
    if cancelled() {
        return Err(RunError::Cancelled);
    }
    let other = |err: StoreError| RunError::Other(err.to_string());
    let mut vm = Vm::new(compiled.program);
    vm.set_limits(options.limits);
    if let Some(flag) = &options.cancel {
        vm.set_cancel(flag.clone());
    }
    let photo = match input {
        Input::Image(image) => photo_new(&mut vm.store, image).map_err(other)?,
        Input::Chunks(set) => vm.store.import(set.clone()),
    };
    let (width, height, levels) = photo_info(&vm.store, photo)
        .map_err(|err| RunError::Other(format!("not a photo: {err}")))?;
    if options.level >= levels {
        return Err(RunError::Other(format!(
            "a {width}x{height} photo has levels 0 to {}, not {}",
            levels - 1,
            options.level
        )));
    }
    let (w, h) = level_size(width, height, options.level);
    let tiles = w.div_ceil(8) as u64 * h.div_ceil(8) as u64;
    if tiles.saturating_mul(stages.len() as u64 + 2) > options.limits.chunks as u64 {
        return Err(RunError::Other(format!(
            "a {w}x{h} image is {}; with {} that is over the chunk quota of {} (raise it with --quota)",
            crate::diag::plural(tiles, "chunk"),
            crate::diag::plural(stages.len() as u64, "stage"),
            options.limits.chunks
        )));
    }
    let mut image = photo_level(&mut vm.store, photo, options.level).map_err(other)?;
    vm.pin(photo);
    let defaults = vm.loaded.program.global_defaults.clone();
    let mut globals = Vec::new();
    for stage in &stages {
        vm.reset_globals(&defaults);
        for (name, value) in options.params.iter().chain(&stage.overrides) {
            vm.set_global(name, value)
                .map_err(|err| RunError::Other(err.to_string()))?;
        }
        globals.push(vm.globals().to_vec());
    }
    let total_rows = h as u64 * stages.len() as u64;
    let mut instructions = 0;
    let mut names = Vec::new();
    for (idx, stage) in stages.iter().enumerate() {
        let done_before = h as u64 * idx as u64;
        let report = |rows: u64| progress(done_before + rows, total_rows);
        let (pixels, count) = run_stage(
            &mut vm,
            stage.func,
            image,
            &globals[idx],
            options.threads,
            &report,
        )
        .map_err(|err| match err {
            // The VM ends a cancelled thread with a runtime error of kind
            // `Cancelled`; whatever else a cancelled run ended with (a worker that
            // failed first), the caller asked it to stop.
            RunError::Runtime(err) if err.kind == ErrorKind::Cancelled || cancelled() => {
                RunError::Cancelled
            }
            err => err,
        })?;
        instructions += count;
        let next = image_from_rgba8(&mut vm.store, w, h, &pixels).map_err(other)?;
        vm.pin(next);
        image = next;
        names.push(stage.name.clone());
    }
    let (width, height, pixels) = image_to_rgba8(&vm.store, image).map_err(other)?;
    Ok(RunOutput {
        image: Rgba8 {
            width,
            height,
            pixels,
        },
        instructions,
        stages: names,
    })
}

/// Runs one filter over the whole of `image` in bands of rows, on `threads` threads;
/// returns the pixels and the instructions executed.
fn run_stage(
    vm: &mut Vm,
    func: u32,
    image: ChunkId,
    globals: &[u64],
    threads: usize,
    report: &(dyn Fn(u64) + Sync),
) -> Result<(Vec<u8>, u64), RunError> {
    let view = ImageView::open(&vm.store, image).map_err(|err| RunError::Other(err.to_string()))?;
    let (w, h) = (view.width(), view.height());
    let bands = h.div_ceil(BAND_ROWS) as usize;
    let threads = threads.clamp(1, bands.max(1));
    vm.reset_globals(globals);
    if threads == 1 {
        let before = vm.instructions();
        let mut pixels = Vec::with_capacity(w as usize * h as usize * 4);
        for band in 0..bands as u32 {
            let (y0, y1) = (band * BAND_ROWS, ((band + 1) * BAND_ROWS).min(h));
            let out = vm
                .apply_region(func, image, (0, y0, w, y1))
                .map_err(RunError::Runtime)?;
            pixels.extend_from_slice(&out);
            report(y1 as u64);
        }
        return Ok((pixels, vm.instructions() - before));
    }
    // Each worker has a VM and a store of its own, sharing the code and the photo's
    // chunks (read-only) with this one; workers take bands in turn.
    let mut roots = vec![vm.loaded.ids.root, image];
    roots.extend(vm.loaded.ids.strings.iter().copied());
    let next_band = std::sync::atomic::AtomicUsize::new(0);
    let rows_done = std::sync::atomic::AtomicU64::new(0);
    let failed = std::sync::atomic::AtomicBool::new(false);
    let results: std::sync::Mutex<Vec<Option<Vec<u8>>>> = std::sync::Mutex::new(vec![None; bands]);
    let mut worker_vms = Vec::new();
    for worker in 0..threads {
        let mut store = Store::new(crate::chunk::NodeId(2 + worker as u16));
        vm.store
            .share_into(&mut store, &roots)
            .map_err(|err| RunError::Other(err.to_string()))?;
        let mut worker_vm = Vm::with_store(vm.loaded.clone(), store);
        worker_vm.set_limits(vm.limits());
        if let Some(flag) = &vm.cancel {
            worker_vm.set_cancel(flag.clone());
        }
        worker_vm.reset_globals(globals);
        worker_vms.push(worker_vm);
    }
    let outcomes: Vec<Result<u64, RuntimeError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = worker_vms
            .into_iter()
            .map(|mut worker_vm| {
                let (next_band, rows_done, failed, results) =
                    (&next_band, &rows_done, &failed, &results);
                scope.spawn(move || -> Result<u64, RuntimeError> {
                    use std::sync::atomic::Ordering;
                    loop {
                        if failed.load(Ordering::Relaxed) {
                            return Ok(worker_vm.instructions());
                        }
                        let band = next_band.fetch_add(1, Ordering::Relaxed);
                        if band >= bands {
                            return Ok(worker_vm.instructions());
                        }
                        let (y0, y1) = (
                            band as u32 * BAND_ROWS,
                            ((band as u32 + 1) * BAND_ROWS).min(h),
                        );
                        match worker_vm.apply_region(func, image, (0, y0, w, y1)) {
                            Ok(out) => {
                                if let Ok(mut slots) = results.lock() {
                                    slots[band] = Some(out);
                                }
                                let done = rows_done.fetch_add((y1 - y0) as u64, Ordering::Relaxed);
                                report(done + (y1 - y0) as u64);
                            }
                            Err(err) => {
                                failed.store(true, Ordering::Relaxed);
                                return Err(err);
                            }
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle.join().unwrap_or_else(|_| {
                    Err(RuntimeError {
                        kind: Default::default(),
                        message: "a worker thread stopped unexpectedly".into(),
                        span: Default::default(),
                        trace: Vec::new(),
                    })
                })
            })
            .collect()
    });
    let mut instructions = 0;
    for outcome in outcomes {
        instructions += outcome.map_err(RunError::Runtime)?;
    }
    let slots = results
        .into_inner()
        .map_err(|_| RunError::Other("a worker thread stopped unexpectedly".into()))?;
    let mut pixels = Vec::with_capacity(w as usize * h as usize * 4);
    for (band, slot) in slots.into_iter().enumerate() {
        let out = slot.ok_or_else(|| RunError::Other(format!("band {band} was not computed")))?;
        pixels.extend_from_slice(&out);
    }
    Ok((pixels, instructions))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch folder of this test process, under the system's temporary folder.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("chunkvm-photo-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        dir
    }

    /// Reading tells a file that cannot be read from one that is not an image, and
    /// each names the file; the text is what the command line has always printed.
    #[test]
    fn reading_errors_say_which_file_and_why() {
        let missing = Path::new("/no/such/photo.png");
        let err = Rgba8::load(missing).expect_err("no file");
        assert_eq!(
            err,
            PhotoError::Read {
                path: missing.to_path_buf(),
                reason: "no such file".into()
            }
        );
        assert_eq!(err.path(), Some(missing));
        assert_eq!(
            err.to_string(),
            "cannot read /no/such/photo.png: no such file"
        );

        let dir = scratch("read");
        let text = dir.join("text.png");
        std::fs::write(&text, b"hello").expect("writes");
        let err = Rgba8::load(&text).expect_err("not an image");
        assert_eq!(
            err,
            PhotoError::Decode {
                path: text.clone(),
                error: ImageError::NotAnImage
            }
        );
        assert_eq!(
            err.to_string(),
            format!("cannot read {}: not a PNG or JPEG image", text.display())
        );
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert_eq!(
            Rgba8::decode(gif),
            Err(ImageError::Unsupported {
                format: "Gif".into()
            })
        );
        let png = Rgba8::filled(2, 2, [1, 2, 3, 255])
            .encode_png()
            .expect("encodes");
        assert!(matches!(
            Rgba8::decode(&png[..png.len() / 2]),
            Err(ImageError::Corrupt { format: "PNG", .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The output's name and the quality are checked before anything is made.
    #[test]
    fn output_formats_are_refused_by_variant() {
        let gif = Path::new("out.gif");
        let err = ImageFormat::from_path(gif, None).expect_err("no GIF");
        assert_eq!(
            err,
            PhotoError::OutputFormat {
                path: gif.to_path_buf(),
                ext: "gif".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "cannot write out.gif: `.gif` is not a format chunkvm writes; name the file .png, .jpg or .jpeg"
        );
        assert_eq!(
            ImageFormat::from_path(Path::new("out.png"), Some(80)),
            Err(PhotoError::QualityForPng {
                path: "out.png".into()
            })
        );
        assert_eq!(
            ImageFormat::from_path(Path::new("out.JPG"), Some(0)),
            Err(PhotoError::Quality(0))
        );
        assert_eq!(
            ImageFormat::from_path(Path::new("out.jpeg"), None),
            Ok(ImageFormat::Jpeg {
                quality: JPEG_QUALITY
            })
        );
    }

    /// A folder, a missing folder and a link loop are refused by what they are, and
    /// nothing is written.
    #[test]
    fn writing_errors_say_what_the_output_is() {
        let dir = scratch("write");
        let err = write_atomic(&dir, b"x").expect_err("a folder");
        assert_eq!(err, PhotoError::IsFolder { path: dir.clone() });
        assert_eq!(
            err.to_string(),
            format!("cannot write {}: it is a folder", dir.display())
        );
        let nowhere = dir.join("no/such/folder/out.png");
        assert_eq!(
            write_atomic(&nowhere, b"x"),
            Err(PhotoError::NoFolder {
                path: nowhere.clone(),
                dir: dir.join("no/such/folder")
            })
        );
        assert!(!nowhere.exists());
        #[cfg(unix)]
        {
            let (a, b) = (dir.join("a.png"), dir.join("b.png"));
            std::os::unix::fs::symlink(&b, &a).expect("a link");
            std::os::unix::fs::symlink(&a, &b).expect("a link back");
            let err = write_atomic(&a, b"x").expect_err("a loop");
            assert_eq!(err, PhotoError::LinkLoop { path: a.clone() });
            assert!(err
                .to_string()
                .ends_with(": too many levels of symbolic links"));
        }
        let photo = Rgba8::filled(2, 2, [9, 9, 9, 255]);
        let err = photo
            .save(&dir, ImageFormat::Png)
            .expect_err("a folder again");
        assert!(matches!(err, PhotoError::IsFolder { .. }), "{err:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `chunkvm run FILTER.chop` analyses the text once and compiles it once: the run
    /// takes the compiled program and the checked file, and does neither again.
    #[test]
    fn a_run_analyses_and_compiles_its_file_once() {
        let source = "param amount: float = 1.0 in 0.0..1.0;\nfilter invert(c: color) -> color {\n    mix(c, rgba(1.0 - c.r, 1.0 - c.g, 1.0 - c.b, c.a), amount)\n}\npipeline twice = invert |> invert(amount: 0.5);\n";
        let before = crate::driver::counts::now();
        let (analyzed, program) = crate::driver::build(source).expect("builds");
        let photo = Rgba8::filled(40, 40, [200, 100, 0, 255]);
        let out = run(
            Compiled::of(&analyzed, program),
            Some(&Target::Pipeline("twice".into())),
            &photo,
            &RunOptions::default(),
        )
        .expect("runs");
        assert_eq!(out.stages, ["invert", "invert"]);
        let (analyses, compiles) = crate::driver::counts::now();
        assert_eq!(
            (analyses - before.0, compiles - before.1),
            (1, 1),
            "analyses and compilations of one run"
        );
    }

    /// An already analysed file compiles without being parsed again, and one with
    /// errors gives its diagnostics.
    #[test]
    fn compile_analyzed_does_not_parse_again() {
        let analyzed = crate::driver::analyze("fn main() { print(1); }\n");
        let before = crate::driver::counts::now();
        let program = crate::driver::compile_analyzed(&analyzed.parsed, &analyzed.analysis)
            .expect("compiles");
        assert!(program.function("main").is_some());
        assert_eq!(crate::driver::counts::now(), (before.0, before.1 + 1));
        let broken = crate::driver::analyze("fn main() -> int { true }\n");
        let diags = broken.compile().expect_err("has errors");
        assert!(
            diags.iter().any(crate::diag::Diagnostic::is_error),
            "{diags:?}"
        );
    }
}
