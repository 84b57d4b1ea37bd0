//! Chop values as the host sees them: for arguments, results, printing and
//! the debugger's variables.

use crate::chunk::{array_info, array_slots, image_size, read_text, ChunkId, Kind, Store};
use crate::types::Type;
use std::fmt;

/// A Chop value.
#[derive(Clone, PartialEq, Debug)]
pub enum Value {
    /// No value.
    Unit,
    /// An int.
    Int(i64),
    /// A float.
    Float(f64),
    /// A bool.
    Bool(bool),
    /// A colour, RGBA.
    Color([f32; 4]),
    /// A string.
    Str(String),
    /// An array's elements.
    Array(Vec<Value>),
    /// An image: its size and root chunk.
    Image {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The Image chunk.
        id: ChunkId,
    },
    /// A closure or function value: the function's name and the Closure chunk.
    Closure {
        /// The function's name.
        name: String,
        /// The Closure chunk.
        id: ChunkId,
    },
}

/// Unpacks the four `f32` channels of a colour from its two slots.
#[inline(always)]
pub fn color_of(lo: u64, hi: u64) -> [f32; 4] {
    [
        f32::from_bits(lo as u32),
        f32::from_bits((lo >> 32) as u32),
        f32::from_bits(hi as u32),
        f32::from_bits((hi >> 32) as u32),
    ]
}

/// Packs the four `f32` channels of a colour into two slots.
#[inline(always)]
pub fn color_slots(c: [f32; 4]) -> (u64, u64) {
    (
        c[0].to_bits() as u64 | (c[1].to_bits() as u64) << 32,
        c[2].to_bits() as u64 | (c[3].to_bits() as u64) << 32,
    )
}

/// One channel from 0..1 to 0..255: clamped, then rounded to the nearest.
#[inline(always)]
pub fn to_u8(v: f32) -> u8 {
    // NaN clamps to 0.
    let v = if v > 0.0 { v } else { 0.0 };
    let v = if v < 1.0 { v } else { 1.0 };
    // 0.5..=255.5 here, truncated as a cast would (the saturating `as u8` it
    // replaced), in `f32` operations only so that a loop over pixels vectorizes (a
    // float-to-int cast is one scalar instruction per channel): adding and taking
    // 2^23 rounds `x` to the nearest integer, one less when that is above `x`; the
    // integer is then the low bits of its sum with 2^23.
    const M: f32 = 8_388_608.0;
    let x = v * 255.0 + 0.5;
    let r = (x + M) - M;
    let r = if r > x { r - 1.0 } else { r };
    (r + M).to_bits() as u8
}

/// A colour's two slots as an RGBA8 pixel, `u32::from_le_bytes([r, g, b, a])`: each
/// channel as [`to_u8`] writes it.
#[inline(always)]
pub fn pixel_of(lo: u64, hi: u64) -> u32 {
    let c = color_of(lo, hi);
    u32::from_le_bytes([to_u8(c[0]), to_u8(c[1]), to_u8(c[2]), to_u8(c[3])])
}

/// One channel from 0..255 to 0..1.
#[inline]
pub fn from_u8(v: u8) -> f32 {
    FROM_U8[v as usize]
}

/// `from_u8` for every byte: a table read is cheaper than a conversion and a product in
/// the pixel loop, and gives the same values.
static FROM_U8: [f32; 256] = {
    let mut table = [0f32; 256];
    let mut idx = 0;
    while idx < 256 {
        table[idx] = idx as f32 * (1.0 / 255.0);
        idx += 1;
    }
    table
};

/// The four channels of an RGBA8 pixel as a colour's two slots.
#[inline]
pub fn pixel_slots(px: [u8; 4]) -> (u64, u64) {
    color_slots([
        from_u8(px[0]),
        from_u8(px[1]),
        from_u8(px[2]),
        from_u8(px[3]),
    ])
}

impl Value {
    /// Reads a scalar value of type `ty` from its slots.
    pub fn from_slots(ty: &Type, slots: &[u64]) -> Value {
        let first = slots.first().copied().unwrap_or(0);
        match ty {
            Type::Int => Value::Int(first as i64),
            Type::Float => Value::Float(f64::from_bits(first)),
            Type::Bool => Value::Bool(first != 0),
            Type::Color => Value::Color(color_of(first, slots.get(1).copied().unwrap_or(0))),
            _ => Value::Unit,
        }
    }

    /// Reads a value of reference type `ty` from the store.
    pub fn from_ref(
        ty: &Type,
        id: ChunkId,
        store: &Store,
        names: &dyn Fn(ChunkId) -> String,
    ) -> Value {
        Self::from_ref_depth(ty, id, store, names, 0)
    }

    fn from_ref_depth(
        ty: &Type,
        id: ChunkId,
        store: &Store,
        names: &dyn Fn(ChunkId) -> String,
        depth: usize,
    ) -> Value {
        match ty {
            Type::Str => Value::Str(read_text(store, id).unwrap_or_else(|err| format!("<{err}>"))),
            Type::Image => {
                let (width, height) = image_size(store, id).unwrap_or((0, 0));
                Value::Image { width, height, id }
            }
            Type::Fn(..) => Value::Closure {
                name: store
                    .get(id)
                    .filter(|chunk| chunk.kind == Kind::Closure)
                    .and_then(|chunk| chunk.link(0))
                    .map(names)
                    .unwrap_or_else(|| "?".to_string()),
                id,
            },
            Type::Array(elem, _) => {
                let Ok(slots) = array_slots(store, id) else {
                    return Value::Array(Vec::new());
                };
                let width = array_info(store, id)
                    .map(|info| info.width as usize)
                    .unwrap_or(1)
                    .max(1);
                if depth > 64 {
                    return Value::Array(Vec::new());
                }
                Value::Array(
                    slots
                        .chunks(width)
                        .map(|elem_slots| {
                            if elem.is_ref() {
                                Self::from_ref_depth(
                                    elem,
                                    ChunkId(elem_slots[0]),
                                    store,
                                    names,
                                    depth + 1,
                                )
                            } else {
                                Value::from_slots(elem, elem_slots)
                            }
                        })
                        .collect(),
                )
            }
            _ => Value::Unit,
        }
    }

    /// The value's type name, for people.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Unit => "()",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Color(_) => "color",
            Value::Str(_) => "str",
            Value::Array(_) => "array",
            Value::Image { .. } => "image",
            Value::Closure { .. } => "fn",
        }
    }
}

/// Formats a float so that it always reads as a float: `2.0`, not `2`.
pub fn format_float(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

fn format_f32(v: f32) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e7 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Unit => f.write_str("()"),
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => f.write_str(&format_float(*v)),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Color([r, g, b, a]) => write!(
                f,
                "rgba({}, {}, {}, {})",
                format_f32(*r),
                format_f32(*g),
                format_f32(*b),
                format_f32(*a)
            ),
            Value::Str(text) => f.write_str(text),
            Value::Array(items) => {
                f.write_str("[")?;
                for (idx, item) in items.iter().enumerate() {
                    if idx > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Image { width, height, .. } => write!(f, "image({width}x{height})"),
            Value::Closure { name, .. } => write!(f, "<fn {name}>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_u8_rounds_as_the_saturating_cast_it_replaced() {
        let cast = |v: f32| {
            let v = if v > 0.0 { v } else { 0.0 };
            let v = if v < 1.0 { v } else { 1.0 };
            (v * 255.0 + 0.5) as u8
        };
        // Bit patterns all over (NaNs, infinities, subnormals, both signs), and a few
        // steps either side of every rounding boundary and of 0 and 1.
        for bits in (0..=u32::MAX).step_by(251) {
            let v = f32::from_bits(bits);
            assert_eq!(to_u8(v), cast(v), "{v:e} ({bits:#x})");
        }
        for k in 0..=256u32 {
            let edge = (k as f32 - 0.5) / 255.0;
            for near in [edge, 0.0, 1.0] {
                let bits = near.to_bits();
                for d in 0..64 {
                    for v in [
                        f32::from_bits(bits + d),
                        f32::from_bits(bits.saturating_sub(d)),
                    ] {
                        assert_eq!(to_u8(v), cast(v), "{v:e}");
                        assert_eq!(to_u8(-v), cast(-v), "{:e}", -v);
                    }
                }
            }
        }
    }

    #[test]
    fn a_pixel_is_its_channels_as_to_u8_writes_them() {
        for c in [
            [0.0f32, 1.0, 0.5, 0.25],
            [f32::NAN, -1.0, 2.0, 0.998_039_2],
            [1.0 / 255.0, 0.001_960_784, 0.501_960_8, f32::INFINITY],
        ] {
            let (lo, hi) = color_slots(c);
            assert_eq!(pixel_of(lo, hi), u32::from_le_bytes(c.map(to_u8)));
        }
    }

    #[test]
    fn formats() {
        assert_eq!(Value::Float(2.0).to_string(), "2.0");
        assert_eq!(Value::Float(0.1).to_string(), "0.1");
        assert_eq!(
            Value::Color([1.0, 0.5, 0.0, 1.0]).to_string(),
            "rgba(1.0, 0.5, 0.0, 1.0)"
        );
        assert_eq!(
            Value::Array(vec![Value::Int(1), Value::Int(2)]).to_string(),
            "[1, 2]"
        );
        let (lo, hi) = color_slots([0.25, 0.5, 0.75, 1.0]);
        assert_eq!(color_of(lo, hi), [0.25, 0.5, 0.75, 1.0]);
        assert_eq!(to_u8(1.5), 255);
        assert_eq!(to_u8(f32::NAN), 0);
        assert_eq!(to_u8(from_u8(128)), 128);
        for byte in 0..=255u8 {
            assert_eq!(from_u8(byte), byte as f32 * (1.0 / 255.0));
            assert_eq!(to_u8(from_u8(byte)), byte);
        }
    }
}

/// An output that keeps what is printed, for tests and editors.
#[derive(Clone, Default, Debug)]
pub struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Capture {
    /// An empty capture.
    pub fn new() -> Capture {
        Capture::default()
    }

    /// What was printed so far.
    pub fn text(&self) -> String {
        match self.0.lock() {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(poisoned) => String::from_utf8_lossy(&poisoned.into_inner()).into_owned(),
        }
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut bytes) => bytes.extend_from_slice(buf),
            Err(poisoned) => poisoned.into_inner().extend_from_slice(buf),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
