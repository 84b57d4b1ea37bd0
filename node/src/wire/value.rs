//! Values in the wire format: a finished thread's result in [`Message::Done`]
//! ([`encode_value`], [`decode_value`]).

#[cfg(doc)]
use super::Message;
use super::{Reader, WireError, Writer};
use chunkvm::chunk::ChunkId;
use chunkvm::exec::Value;

/// Value tags of [`encode_value`].
mod vtag {
    pub const UNIT: u8 = 0;
    pub const INT: u8 = 1;
    pub const FLOAT: u8 = 2;
    pub const BOOL: u8 = 3;
    pub const COLOR: u8 = 4;
    pub const STR: u8 = 5;
    pub const ARRAY: u8 = 6;
    pub const IMAGE: u8 = 7;
    pub const CLOSURE: u8 = 8;
}

/// How deeply arrays may nest in an encoded value.
pub const MAX_VALUE_DEPTH: usize = 64;

/// Encodes a finished thread's value for [`Message::Done`]: a tag byte
/// (0 unit, 1 int i64, 2 float f64 bits, 3 bool, 4 colour as four f32 bits,
/// 5 string, 6 array: a `u32` count and the items, 7 image: width u32,
/// height u32, chunk id, 8 closure: name string, chunk id) and its fields,
/// little endian as the messages are. Never empty.
pub fn encode_value(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = Writer { out: &mut out };
    w.value(value);
    out
}

/// Decodes a value [`encode_value`] wrote (the whole input); arrays nest
/// at most [`MAX_VALUE_DEPTH`] deep.
pub fn decode_value(bytes: &[u8]) -> Result<Value, WireError> {
    let mut r = Reader { bytes, pos: 0 };
    let value = r.value(0)?;
    r.end()?;
    Ok(value)
}

impl Writer<'_> {
    pub(crate) fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn value(&mut self, value: &Value) {
        match value {
            Value::Unit => self.out.push(vtag::UNIT),
            Value::Int(v) => {
                self.out.push(vtag::INT);
                self.u64(*v as u64);
            }
            Value::Float(v) => {
                self.out.push(vtag::FLOAT);
                self.u64(v.to_bits());
            }
            Value::Bool(v) => {
                self.out.push(vtag::BOOL);
                self.out.push(u8::from(*v));
            }
            Value::Color(c) => {
                self.out.push(vtag::COLOR);
                for channel in c {
                    self.u32(channel.to_bits());
                }
            }
            Value::Str(text) => {
                self.out.push(vtag::STR);
                self.str(text);
            }
            Value::Array(items) => {
                self.out.push(vtag::ARRAY);
                self.count(items.len());
                for item in items {
                    self.value(item);
                }
            }
            Value::Image { width, height, id } => {
                self.out.push(vtag::IMAGE);
                self.u32(*width);
                self.u32(*height);
                self.u64(id.0);
            }
            Value::Closure { name, id } => {
                self.out.push(vtag::CLOSURE);
                self.str(name);
                self.u64(id.0);
            }
        }
    }
}

impl Reader<'_> {
    pub(crate) fn value(&mut self, depth: usize) -> Result<Value, WireError> {
        let at = self.pos;
        Ok(match self.u8()? {
            vtag::UNIT => Value::Unit,
            vtag::INT => Value::Int(self.u64()? as i64),
            vtag::FLOAT => Value::Float(f64::from_bits(self.u64()?)),
            vtag::BOOL => Value::Bool(self.bool()?),
            vtag::COLOR => {
                let mut c = [0f32; 4];
                for channel in &mut c {
                    *channel = f32::from_bits(self.u32()?);
                }
                Value::Color(c)
            }
            vtag::STR => Value::Str(self.string()?),
            vtag::ARRAY => {
                if depth >= MAX_VALUE_DEPTH {
                    return Err(WireError::BadValue {
                        at,
                        why: "arrays nest too deeply",
                    });
                }
                // Every item takes at least one byte.
                let count = self.count(1)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            vtag::IMAGE => Value::Image {
                width: self.u32()?,
                height: self.u32()?,
                id: ChunkId(self.u64()?),
            },
            vtag::CLOSURE => Value::Closure {
                name: self.string()?,
                id: ChunkId(self.u64()?),
            },
            _ => {
                return Err(WireError::BadValue {
                    at,
                    why: "unknown value tag",
                })
            }
        })
    }
}
