//! Photos as files: RGBA8 pixels read from and written to PNG and JPEG, and the
//! errors of reading, decoding and encoding them.

use super::*;

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
