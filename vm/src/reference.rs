//! Native Rust references for the PhotoChop filter library (`filters/*.chop`).
//!
//! Each filter of the library has a plain Rust twin here, with the same params,
//! written to do the same arithmetic as the Chop code run by the VM:
//!
//! - a pixel's channels are `f32` in 0..1 (`v as f32 * (1 / 255)`), and a channel read
//!   in Chop (`c.r`) is that `f32` widened to `f64`;
//! - float arithmetic is in `f64`; `rgb`/`rgba`/`gray` narrow each channel to `f32`;
//! - colour arithmetic (`c1 + c2`, `c * f`, `c / f`, `mix`, `clamp` on colours) is per
//!   channel in `f32`, the float operand narrowed to `f32` first;
//! - `luma(c)` is `0.299 r + 0.587 g + 0.114 b` in `f64`;
//! - `src.at(x, y)` clamps its coordinates to the image;
//! - the output channel is clamped to 0..1 and rounded to the nearest byte.
//!
//! They are the yardstick the VM is measured against: by the tests
//! (`vm/tests/filters.rs`: point filters must match to the bit, kernel filters within
//! one level per channel) and by the benchmark. [`FILTERS`] lists every filter with
//! the param settings the tests and the benchmark use; [`PIPELINES`] lists the
//! pipelines of `filters/pipelines/`.

use crate::exec::Value;
use crate::photo::Rgba8;

/// A colour: red, green, blue, alpha, nominally 0 to 1.
type Color = [f32; 4];

/// One channel from 0..255 to 0..1, as the VM reads it.
fn channel(v: u8) -> f32 {
    v as f32 * (1.0 / 255.0)
}

/// One channel from 0..1 to 0..255, as the VM writes it: clamped (NaN to 0), then
/// rounded to the nearest.
fn byte(v: f32) -> u8 {
    let v = if v > 0.0 { v } else { 0.0 };
    let v = if v < 1.0 { v } else { 1.0 };
    (v * 255.0 + 0.5) as u8
}

/// The colour of pixel `(x, y)`, the coordinates clamped to the image (`src.at`).
fn at(src: &Rgba8, x: i64, y: i64) -> Color {
    let x = x.clamp(0, (src.width as i64 - 1).max(0)) as usize;
    let y = y.clamp(0, (src.height as i64 - 1).max(0)) as usize;
    let idx = (y * src.width as usize + x) * 4;
    match src.pixels.get(idx..idx + 4) {
        Some(px) => [
            channel(px[0]),
            channel(px[1]),
            channel(px[2]),
            channel(px[3]),
        ],
        None => [0.0; 4],
    }
}

/// A new image of the size of `src` whose pixel `(x, y)` is `pixel(x, y)`.
fn render(src: &Rgba8, mut pixel: impl FnMut(i64, i64) -> Color) -> Rgba8 {
    let mut pixels = Vec::with_capacity(src.width as usize * src.height as usize * 4);
    for y in 0..src.height as i64 {
        for x in 0..src.width as i64 {
            pixels.extend(pixel(x, y).map(byte));
        }
    }
    Rgba8 {
        width: src.width,
        height: src.height,
        pixels,
    }
}

/// A point filter: `f` of each pixel's colour.
fn point(src: &Rgba8, f: impl Fn(Color) -> Color) -> Rgba8 {
    render(src, |x, y| f(at(src, x, y)))
}

/// `rgba(r, g, b, a)`: each `f64` narrowed to `f32`.
fn rgba(r: f64, g: f64, b: f64, a: f64) -> Color {
    [r as f32, g as f32, b as f32, a as f32]
}

/// `c1 + c2`.
fn add(x: Color, y: Color) -> Color {
    [x[0] + y[0], x[1] + y[1], x[2] + y[2], x[3] + y[3]]
}

/// `c1 - c2`.
fn sub(x: Color, y: Color) -> Color {
    [x[0] - y[0], x[1] - y[1], x[2] - y[2], x[3] - y[3]]
}

/// `c * k`.
fn scale(x: Color, k: f64) -> Color {
    let k = k as f32;
    [x[0] * k, x[1] * k, x[2] * k, x[3] * k]
}

/// `c / k`.
fn divide(x: Color, k: f64) -> Color {
    let k = k as f32;
    [x[0] / k, x[1] / k, x[2] / k, x[3] / k]
}

/// `mix(x, y, t)` on colours.
fn mix(x: Color, y: Color, t: f64) -> Color {
    let t = t as f32;
    let m = |i: usize| x[i] * (1.0 - t) + y[i] * t;
    [m(0), m(1), m(2), m(3)]
}

/// `clamp(c, lo, hi)` on colours.
fn clamp(x: Color, lo: f64, hi: f64) -> Color {
    let (lo, hi) = (lo as f32, hi as f32);
    x.map(|v| v.max(lo).min(hi))
}

/// `clamp(v, lo, hi)` on floats.
fn clamp_float(v: f64, lo: f64, hi: f64) -> f64 {
    v.max(lo).min(hi)
}

/// `luma(c)`: Rec. 601.
fn luma(c: Color) -> f64 {
    0.299 * c[0] as f64 + 0.587 * c[1] as f64 + 0.114 * c[2] as f64
}

/// `smoothstep(e0, e1, x)`.
fn smoothstep(e0: f64, e1: f64, x: f64) -> f64 {
    let t = if e1 == e0 {
        if x < e0 {
            0.0
        } else {
            1.0
        }
    } else {
        ((x - e0) / (e1 - e0)).clamp(0.0, 1.0)
    };
    t * t * (3.0 - 2.0 * t)
}

/// `filters/invert.chop`: each channel `v` becomes `1 - v` (alpha kept), mixed with the
/// original by `amount` (0 to 1).
pub fn invert(src: &Rgba8, amount: f64) -> Rgba8 {
    point(src, |c| {
        let negative = rgba(
            1.0 - c[0] as f64,
            1.0 - c[1] as f64,
            1.0 - c[2] as f64,
            c[3] as f64,
        );
        mix(c, negative, amount)
    })
}

/// `filters/grayscale.chop`: the grey of each pixel's luma, Rec. 601
/// (`0.299 r + 0.587 g + 0.114 b`), or Rec. 709 (`0.2126 r + 0.7152 g + 0.0722 b`)
/// when `rec709`; alpha kept.
pub fn grayscale(src: &Rgba8, rec709: bool) -> Rgba8 {
    point(src, |c| {
        let y = if rec709 {
            0.2126 * c[0] as f64 + 0.7152 * c[1] as f64 + 0.0722 * c[2] as f64
        } else {
            luma(c)
        };
        rgba(y, y, y, c[3] as f64)
    })
}

/// `filters/brightness.chop`: `amount` (-1 to 1) added to red, green and blue.
pub fn brightness(src: &Rgba8, amount: f64) -> Rgba8 {
    point(src, |c| {
        let out = rgba(
            c[0] as f64 + amount,
            c[1] as f64 + amount,
            c[2] as f64 + amount,
            c[3] as f64,
        );
        clamp(out, 0.0, 1.0)
    })
}

/// `filters/contrast.chop`: each of red, green and blue `v` becomes
/// `(v - 0.5) * factor + 0.5`.
pub fn contrast(src: &Rgba8, factor: f64) -> Rgba8 {
    point(src, |c| {
        let stretch = |v: f32| (v as f64 - 0.5) * factor + 0.5;
        let out = rgba(stretch(c[0]), stretch(c[1]), stretch(c[2]), c[3] as f64);
        clamp(out, 0.0, 1.0)
    })
}

/// `filters/saturation.chop`: each of red, green and blue `v` becomes
/// `y + (v - y) * amount`, `y` the pixel's luma.
pub fn saturation(src: &Rgba8, amount: f64) -> Rgba8 {
    point(src, |c| {
        let y = luma(c);
        let out = rgba(
            y + (c[0] as f64 - y) * amount,
            y + (c[1] as f64 - y) * amount,
            y + (c[2] as f64 - y) * amount,
            c[3] as f64,
        );
        clamp(out, 0.0, 1.0)
    })
}

/// `filters/sepia.chop`: the classic sepia matrix, clamped, mixed with the original
/// by `amount` (0 to 1).
pub fn sepia(src: &Rgba8, amount: f64) -> Rgba8 {
    point(src, |c| {
        let (r, g, b) = (c[0] as f64, c[1] as f64, c[2] as f64);
        let toned = rgba(
            0.393 * r + 0.769 * g + 0.189 * b,
            0.349 * r + 0.686 * g + 0.168 * b,
            0.272 * r + 0.534 * g + 0.131 * b,
            c[3] as f64,
        );
        mix(c, clamp(toned, 0.0, 1.0), amount)
    })
}

/// `filters/threshold.chop`: white where the luma is at least `level`, black elsewhere.
/// The luma may fall short of `level` by `1e-9` (as the filter allows): the
/// weights of `luma` sum to 1 only up to rounding, and pure white must reach level 1.
pub fn threshold(src: &Rgba8, level: f64) -> Rgba8 {
    point(src, |c| {
        let v = if luma(c) >= level - 1.0e-9 { 1.0 } else { 0.0 };
        rgba(v, v, v, c[3] as f64)
    })
}

/// `filters/gamma.chop`: each of red, green and blue raised to `1 / value`.
pub fn gamma(src: &Rgba8, value: f64) -> Rgba8 {
    point(src, |c| {
        let e = 1.0 / value;
        rgba(
            (c[0] as f64).powf(e),
            (c[1] as f64).powf(e),
            (c[2] as f64).powf(e),
            c[3] as f64,
        )
    })
}

/// The sum, in `f32`, of the `(2 radius + 1)^2` pixels around `(x, y)`, row by row.
fn box_sum(src: &Rgba8, x: i64, y: i64, radius: i64) -> Color {
    let mut sum = [0.0; 4];
    for dy in -radius..radius + 1 {
        for dx in -radius..radius + 1 {
            sum = add(sum, at(src, x + dx, y + dy));
        }
    }
    sum
}

/// `filters/box_blur.chop`: the mean of the `(2 radius + 1)^2` pixels around each pixel.
pub fn box_blur(src: &Rgba8, radius: i64) -> Rgba8 {
    let side = 2 * radius + 1;
    render(src, |x, y| {
        divide(box_sum(src, x, y, radius), (side * side) as f64)
    })
}

/// `filters/gaussian_blur.chop`: the mean of the `(2 r + 1)^2` pixels around each pixel,
/// `r = ceil(3 sigma)`, weighted by the normalised Gaussian `w[dx] * w[dy]`: each row's
/// weighted sum, weighted by the row's weight.
pub fn gaussian_blur(src: &Rgba8, sigma: f64) -> Rgba8 {
    let r = (3.0 * sigma).ceil() as i64;
    let spread = 2.0 * sigma * sigma;
    let mut w: Vec<f64> = (-r..r + 1)
        .map(|k| {
            let k = k as f64;
            (-(k * k) / spread).exp()
        })
        .collect();
    let mut total = 0.0;
    for weight in &w {
        total += weight;
    }
    for weight in w.iter_mut() {
        *weight /= total;
    }
    render(src, |x, y| {
        let mut sum = [0.0; 4];
        for (j, wy) in w.iter().enumerate() {
            let mut row = [0.0; 4];
            for (i, wx) in w.iter().enumerate() {
                let px = at(src, x - r + i as i64, y - r + j as i64);
                row = add(row, scale(px, *wx));
            }
            sum = add(sum, scale(row, *wy));
        }
        sum
    })
}

/// `filters/sharpen.chop`: the unsharp mask `c + (c - blur) * amount`, `blur` the mean of
/// the `(2 radius + 1)^2` pixels around; alpha kept.
pub fn sharpen(src: &Rgba8, amount: f64, radius: i64) -> Rgba8 {
    let side = 2 * radius + 1;
    render(src, |x, y| {
        let blur = divide(box_sum(src, x, y, radius), (side * side) as f64);
        let c = at(src, x, y);
        let sharp = clamp(add(c, scale(sub(c, blur), amount)), 0.0, 1.0);
        [sharp[0], sharp[1], sharp[2], c[3]]
    })
}

/// `filters/sobel.chop`: the magnitude of the Sobel gradient of the luma, times `gain`,
/// as a grey; alpha kept.
pub fn sobel(src: &Rgba8, gain: f64) -> Rgba8 {
    render(src, |x, y| {
        let l = |dx: i64, dy: i64| luma(at(src, x + dx, y + dy));
        let (tl, t, tr) = (l(-1, -1), l(0, -1), l(1, -1));
        let (ml, mr) = (l(-1, 0), l(1, 0));
        let (bl, b, br) = (l(-1, 1), l(0, 1), l(1, 1));
        let gx = (tr + 2.0 * mr + br) - (tl + 2.0 * ml + bl);
        let gy = (bl + 2.0 * b + br) - (tl + 2.0 * t + tr);
        let m = clamp_float((gx * gx + gy * gy).sqrt() * gain, 0.0, 1.0);
        rgba(m, m, m, at(src, x, y)[3] as f64)
    })
}

/// `filters/emboss.chop`: the 3x3 kernel `[-2s, -s, 0; -s, 1, s; 0, s, 2s]`
/// (`s = strength`), computed as the pixel plus `2s` times the diagonal difference plus
/// `s` times the side differences, clamped; alpha kept.
pub fn emboss(src: &Rgba8, strength: f64) -> Rgba8 {
    render(src, |x, y| {
        let c = at(src, x, y);
        let diagonal = sub(at(src, x + 1, y + 1), at(src, x - 1, y - 1));
        let sides = sub(
            add(sub(at(src, x + 1, y), at(src, x - 1, y)), at(src, x, y + 1)),
            at(src, x, y - 1),
        );
        let relief = add(
            add(c, scale(diagonal, 2.0 * strength)),
            scale(sides, strength),
        );
        let out = clamp(relief, 0.0, 1.0);
        [out[0], out[1], out[2], c[3]]
    })
}

/// `filters/vignette.chop`: red, green and blue times
/// `1 - strength * smoothstep(radius, 1, d)`, `d` the distance from the centre over
/// the half-diagonal.
pub fn vignette(src: &Rgba8, strength: f64, radius: f64) -> Rgba8 {
    let cx = src.width as f64 / 2.0;
    let cy = src.height as f64 / 2.0;
    render(src, |x, y| {
        let dx = x as f64 + 0.5 - cx;
        let dy = y as f64 + 0.5 - cy;
        let d = (dx * dx + dy * dy).sqrt() / (cx * cx + cy * cy).sqrt();
        let f = 1.0 - strength * smoothstep(radius, 1.0, d);
        let c = at(src, x, y);
        rgba(
            c[0] as f64 * f,
            c[1] as f64 * f,
            c[2] as f64 * f,
            c[3] as f64,
        )
    })
}

/// `filters/pixelate.chop`: the mean of the `size x size` block (cut at the edges)
/// holding each pixel.
pub fn pixelate(src: &Rgba8, size: i64) -> Rgba8 {
    let size = size.max(1);
    render(src, |x, y| {
        let (x0, y0) = (x / size * size, y / size * size);
        let x1 = (x0 + size).min(src.width as i64);
        let y1 = (y0 + size).min(src.height as i64);
        let mut sum = [0.0; 4];
        for by in y0..y1 {
            for bx in x0..x1 {
                sum = add(sum, at(src, bx, by));
            }
        }
        divide(sum, ((x1 - x0) * (y1 - y0)) as f64)
    })
}

/// `filters/median3x3.chop`: each of red, green and blue the median of its 9 values
/// around the pixel (found here by sorting); alpha kept.
pub fn median3x3(src: &Rgba8) -> Rgba8 {
    render(src, |x, y| {
        let mut out = at(src, x, y);
        for (ch, value) in out.iter_mut().enumerate().take(3) {
            let mut nine = [0.0f32; 9];
            for (idx, v) in nine.iter_mut().enumerate() {
                let (dx, dy) = ((idx % 3) as i64 - 1, (idx / 3) as i64 - 1);
                *v = at(src, x + dx, y + dy)[ch];
            }
            nine.sort_by(f32::total_cmp);
            *value = nine[4];
        }
        out
    })
}

/// A param value in a [`Setting`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg {
    /// An `int` param.
    Int(i64),
    /// A `float` param.
    Float(f64),
    /// A `bool` param.
    Bool(bool),
}

impl Arg {
    /// The value to give `photo::RunOptions::params`.
    pub fn value(self) -> Value {
        match self {
            Arg::Int(v) => Value::Int(v),
            Arg::Float(v) => Value::Float(v),
            Arg::Bool(v) => Value::Bool(v),
        }
    }
}

/// Param values by name; a param not named keeps its default.
pub type Setting = &'static [(&'static str, Arg)];

/// One filter of the library and its reference.
#[derive(Clone, Copy, Debug)]
pub struct RefFilter {
    /// Its file, relative to `filters/`.
    pub file: &'static str,
    /// The filter's name.
    pub filter: &'static str,
    /// A point filter (`filter f(c: color) -> color`), else a kernel filter.
    pub point: bool,
    /// The param settings the tests run (the first is the one the benchmark runs).
    pub settings: &'static [Setting],
    /// The reference, with the params of a setting (defaults for those it does not name).
    pub apply: fn(&Rgba8, &[(&str, Arg)]) -> Rgba8,
}

impl RefFilter {
    /// The largest difference per channel allowed between the VM and the reference:
    /// none for point filters, one level for kernel filters.
    pub fn tolerance(&self) -> u8 {
        if self.point {
            0
        } else {
            1
        }
    }
}

/// The `float` param `name` of `args`, or `default`.
fn float_arg(args: &[(&str, Arg)], name: &str, default: f64) -> f64 {
    args.iter()
        .find_map(|(n, arg)| match arg {
            Arg::Float(v) if *n == name => Some(*v),
            _ => None,
        })
        .unwrap_or(default)
}

/// The `int` param `name` of `args`, or `default`.
fn int_arg(args: &[(&str, Arg)], name: &str, default: i64) -> i64 {
    args.iter()
        .find_map(|(n, arg)| match arg {
            Arg::Int(v) if *n == name => Some(*v),
            _ => None,
        })
        .unwrap_or(default)
}

/// The `bool` param `name` of `args`, or `default`.
fn bool_arg(args: &[(&str, Arg)], name: &str, default: bool) -> bool {
    args.iter()
        .find_map(|(n, arg)| match arg {
            Arg::Bool(v) if *n == name => Some(*v),
            _ => None,
        })
        .unwrap_or(default)
}

/// Every filter of `filters/`, with its reference. The defaults written here are
/// those of the `.chop` files.
pub const FILTERS: &[RefFilter] = &[
    RefFilter {
        file: "invert.chop",
        filter: "invert",
        point: true,
        settings: &[
            &[("amount", Arg::Float(1.0))],
            &[("amount", Arg::Float(0.35))],
        ],
        apply: |src, args| invert(src, float_arg(args, "amount", 1.0)),
    },
    RefFilter {
        file: "grayscale.chop",
        filter: "grayscale",
        point: true,
        settings: &[
            &[("rec709", Arg::Bool(false))],
            &[("rec709", Arg::Bool(true))],
        ],
        apply: |src, args| grayscale(src, bool_arg(args, "rec709", false)),
    },
    RefFilter {
        file: "brightness.chop",
        filter: "brightness",
        point: true,
        settings: &[
            &[("amount", Arg::Float(0.2))],
            &[("amount", Arg::Float(-0.3))],
        ],
        apply: |src, args| brightness(src, float_arg(args, "amount", 0.1)),
    },
    RefFilter {
        file: "contrast.chop",
        filter: "contrast",
        point: true,
        settings: &[
            &[("factor", Arg::Float(1.44))],
            &[("factor", Arg::Float(0.6))],
        ],
        apply: |src, args| contrast(src, float_arg(args, "factor", 1.25)),
    },
    RefFilter {
        file: "saturation.chop",
        filter: "saturation",
        point: true,
        settings: &[
            &[("amount", Arg::Float(1.8))],
            &[("amount", Arg::Float(0.3))],
        ],
        apply: |src, args| saturation(src, float_arg(args, "amount", 1.5)),
    },
    RefFilter {
        file: "sepia.chop",
        filter: "sepia",
        point: true,
        settings: &[
            &[("amount", Arg::Float(1.0))],
            &[("amount", Arg::Float(0.45))],
        ],
        apply: |src, args| sepia(src, float_arg(args, "amount", 1.0)),
    },
    RefFilter {
        file: "threshold.chop",
        filter: "threshold",
        point: true,
        settings: &[&[("level", Arg::Float(0.5))], &[("level", Arg::Float(0.3))]],
        apply: |src, args| threshold(src, float_arg(args, "level", 0.5)),
    },
    RefFilter {
        file: "gamma.chop",
        filter: "gamma",
        point: true,
        settings: &[&[("value", Arg::Float(2.2))], &[("value", Arg::Float(0.5))]],
        apply: |src, args| gamma(src, float_arg(args, "value", 2.2)),
    },
    RefFilter {
        file: "box_blur.chop",
        filter: "box_blur",
        point: false,
        settings: &[&[("radius", Arg::Int(2))], &[("radius", Arg::Int(1))]],
        apply: |src, args| box_blur(src, int_arg(args, "radius", 2)),
    },
    RefFilter {
        file: "gaussian_blur.chop",
        filter: "gaussian_blur",
        point: false,
        settings: &[&[("sigma", Arg::Float(1.5))], &[("sigma", Arg::Float(0.8))]],
        apply: |src, args| gaussian_blur(src, float_arg(args, "sigma", 1.5)),
    },
    RefFilter {
        file: "sharpen.chop",
        filter: "sharpen",
        point: false,
        settings: &[
            &[("amount", Arg::Float(1.0)), ("radius", Arg::Int(1))],
            &[("amount", Arg::Float(2.5)), ("radius", Arg::Int(2))],
        ],
        apply: |src, args| {
            sharpen(
                src,
                float_arg(args, "amount", 1.0),
                int_arg(args, "radius", 1),
            )
        },
    },
    RefFilter {
        file: "sobel.chop",
        filter: "sobel",
        point: false,
        settings: &[&[("gain", Arg::Float(1.0))], &[("gain", Arg::Float(2.5))]],
        apply: |src, args| sobel(src, float_arg(args, "gain", 1.0)),
    },
    RefFilter {
        file: "emboss.chop",
        filter: "emboss",
        point: false,
        settings: &[
            &[("strength", Arg::Float(1.0))],
            &[("strength", Arg::Float(0.5))],
        ],
        apply: |src, args| emboss(src, float_arg(args, "strength", 1.0)),
    },
    RefFilter {
        file: "vignette.chop",
        filter: "vignette",
        point: false,
        settings: &[
            &[("strength", Arg::Float(0.6)), ("radius", Arg::Float(0.4))],
            &[("strength", Arg::Float(1.0)), ("radius", Arg::Float(0.0))],
        ],
        apply: |src, args| {
            vignette(
                src,
                float_arg(args, "strength", 0.6),
                float_arg(args, "radius", 0.4),
            )
        },
    },
    RefFilter {
        file: "pixelate.chop",
        filter: "pixelate",
        point: false,
        settings: &[&[("size", Arg::Int(8))], &[("size", Arg::Int(5))]],
        apply: |src, args| pixelate(src, int_arg(args, "size", 8)),
    },
    RefFilter {
        file: "median3x3.chop",
        filter: "median3x3",
        point: false,
        settings: &[&[]],
        apply: |src, _| median3x3(src),
    },
];

/// The filter called `name` in [`FILTERS`].
pub fn find(name: &str) -> Option<&'static RefFilter> {
    FILTERS.iter().find(|f| f.filter == name)
}

/// One pipeline of `filters/pipelines/`: its stages, each a filter of [`FILTERS`] and
/// the params the stage sets (the others keep their defaults).
#[derive(Clone, Copy, Debug)]
pub struct RefPipeline {
    /// Its file, relative to `filters/`.
    pub file: &'static str,
    /// The pipeline's name.
    pub pipeline: &'static str,
    /// The stages in order: a filter name and its arguments.
    pub stages: &'static [(&'static str, Setting)],
}

impl RefPipeline {
    /// The references of the stages applied in order (`None` if a stage names no
    /// filter of [`FILTERS`]).
    pub fn apply(&self, src: &Rgba8) -> Option<Rgba8> {
        let mut image = src.clone();
        for (name, args) in self.stages {
            image = (find(name)?.apply)(&image, args);
        }
        Some(image)
    }
}

/// Every pipeline of `filters/pipelines/`, stage by stage as written there.
pub const PIPELINES: &[RefPipeline] = &[
    RefPipeline {
        file: "pipelines/old_photo.chop",
        pipeline: "old_photo",
        stages: &[
            ("grayscale", &[]),
            ("sepia", &[("amount", Arg::Float(0.8))]),
            ("vignette", &[("strength", Arg::Float(0.7))]),
        ],
    },
    RefPipeline {
        file: "pipelines/soft_glow.chop",
        pipeline: "soft_glow",
        stages: &[
            ("gaussian_blur", &[("sigma", Arg::Float(2.0))]),
            ("brightness", &[("amount", Arg::Float(0.05))]),
            ("contrast", &[("factor", Arg::Float(1.1))]),
        ],
    },
    RefPipeline {
        file: "pipelines/comic.chop",
        pipeline: "comic",
        stages: &[
            ("median3x3", &[]),
            ("saturation", &[("amount", Arg::Float(1.8))]),
            ("contrast", &[("factor", Arg::Float(1.3))]),
        ],
    },
    RefPipeline {
        file: "pipelines/sketch.chop",
        pipeline: "sketch",
        stages: &[("median3x3", &[]), ("sobel", &[]), ("invert", &[])],
    },
];
