//! Values written by hand: on the command line (`--param NAME=VALUE`,
//! `--arg VALUE`) or sent by an editor (the params of `chop/preview`), read
//! against a declared type and range.
//!
//! [`read_value`] is the one reader for all of them, so every way a value
//! enters refuses the same things with the same words ([`ValueError`]): text
//! not in the type's form, NaN and the infinities (also a literal such as
//! `1e999`, which Rust reads as infinite), an int beyond 64 bits, a colour
//! channel outside 0 to 1, and a number outside the declared range. The range
//! check is written so that a value comparing false both ways (NaN) cannot
//! pass it.

use crate::check::consts::{show, within};
use crate::check::Const;
use crate::exec::Value;
use crate::types::Type;
use std::num::IntErrorKind;

/// A value as it was written.
#[derive(Clone, Copy, Debug)]
pub enum Written<'a> {
    /// Command-line text: `4`, `0.5`, `true`, `#ff8800`.
    Text(&'a str),
    /// A value from an editor, as its client read it (from JSON): a number, a
    /// boolean, `[r, g, b]` or `[r, g, b, a]`; text is read as command-line text.
    Sent {
        /// The value.
        value: &'a Sent,
        /// How it was written (its JSON), for messages.
        shown: &'a str,
    },
}

/// A structured value an editor sent, in plain Rust: the client (the language
/// server) reads its protocol's JSON into this, and the core reads this against a
/// param's type.
#[derive(Clone, Debug, PartialEq)]
pub enum Sent {
    /// A whole number within `i64`.
    Int(i64),
    /// A whole number above `i64::MAX` (up to `u64::MAX`).
    BigInt(u64),
    /// Any other number.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// Text: read as command-line text is.
    Text(String),
    /// A list of values.
    List(Vec<Sent>),
    /// Anything else (null, an object): no type reads it.
    Other,
}

impl Sent {
    /// The value as an `i64`, when it is a whole number within `i64`.
    fn as_i64(&self) -> Option<i64> {
        match self {
            Sent::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as a float, when it is a number.
    fn as_f64(&self) -> Option<f64> {
        match self {
            Sent::Int(v) => Some(*v as f64),
            Sent::BigInt(v) => Some(*v as f64),
            Sent::Float(v) => Some(*v),
            _ => None,
        }
    }
}

/// Why a written value was refused. Its `Display` is the one message every
/// way in shows (callers put where it came from in front: `--param x=...: `).
#[derive(Clone, Debug, PartialEq)]
pub enum ValueError {
    /// Not written in the form of its type.
    NotOfType {
        /// The param or argument.
        name: String,
        /// Its type.
        ty: Type,
        /// What was written.
        given: String,
        /// Whether it came as JSON (a colour may then be an array).
        json: bool,
    },
    /// NaN or an infinity (or a number too large to be a float).
    NotFinite {
        /// The param or argument.
        name: String,
        /// What was written.
        given: String,
    },
    /// An int beyond the 64 bits of `int`.
    IntOverflow {
        /// The param or argument.
        name: String,
        /// What was written.
        given: String,
    },
    /// Outside the declared (inclusive) range.
    OutOfRange {
        /// The param.
        name: String,
        /// What was written.
        given: String,
        /// The least and the greatest value allowed (boxed: colours make
        /// constants large, and this error travels in every `Result`).
        range: Box<(Const, Const)>,
    },
    /// Of a type no written value can stand for (an image, an array, a function).
    Unwritable {
        /// The param or argument.
        name: String,
        /// Its type.
        ty: Type,
    },
}

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueError::NotOfType {
                name,
                ty,
                given,
                json,
            } => {
                let form = match (ty, json) {
                    (Type::Color, true) => {
                        "a colour such as \"#ff8800\", [1.0, 0.5, 0.0] or [1.0, 0.5, 0.0, 1.0] (channels from 0 to 1)"
                    }
                    _ => form(ty),
                };
                write!(f, "`{name}` is {}, {form}, not {given}", a(ty))
            }
            ValueError::NotFinite { name, given } => {
                let numeral = given
                    .trim_start_matches(['+', '-'])
                    .starts_with(|c: char| c.is_ascii_digit() || c == '.');
                write!(f, "`{name}` must be a finite number, not {given}")?;
                if numeral {
                    f.write_str(" (too large for a float)")?;
                }
                Ok(())
            }
            ValueError::IntOverflow { name, given } => write!(
                f,
                "`{name}` is an int, and {given} is out of range for an int ({}..{})",
                i64::MIN,
                i64::MAX
            ),
            ValueError::OutOfRange { name, given, range } => write!(
                f,
                "`{name}` must lie in {}..{} (both ends included), not {given}",
                show(range.0),
                show(range.1)
            ),
            ValueError::Unwritable { name, ty } => write!(
                f,
                "`{name}` is {}, a type no value can be written for",
                a(ty)
            ),
        }
    }
}

impl std::error::Error for ValueError {}

/// "an int", "a float".
pub fn a(ty: &Type) -> String {
    let name = ty.to_string();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

/// How a value of `ty` is written on the command line.
pub fn form(ty: &Type) -> &'static str {
    match ty {
        Type::Int => "an integer such as 4",
        Type::Float => "a finite number such as 0.5",
        Type::Bool => "true or false",
        Type::Color => "a colour such as #ff8800 or #ff880080",
        _ => "a value no one can write",
    }
}

/// Reads `written` as a value of `ty` for the param or argument `name`, and
/// checks it against `range` (inclusive) when there is one.
pub fn read_value(
    name: &str,
    ty: &Type,
    written: Written<'_>,
    range: Option<(Const, Const)>,
) -> Result<Value, ValueError> {
    let value = match written {
        Written::Text(text) => read_text(name, ty, text)?,
        Written::Sent {
            value: Sent::Text(text),
            ..
        } => read_text(name, ty, text)?,
        Written::Sent { value, shown } => read_sent(name, ty, value, shown)?,
    };
    if let Some((min, max)) = range {
        if !in_range(&value, min, max) {
            let given = match written {
                Written::Text(text) => text.trim().to_string(),
                Written::Sent {
                    value: Sent::Text(text),
                    ..
                } => text.trim().to_string(),
                Written::Sent { shown, .. } => shown.to_string(),
            };
            return Err(ValueError::OutOfRange {
                name: name.to_string(),
                given,
                range: Box::new((min, max)),
            });
        }
    }
    Ok(value)
}

/// Whether `value` lies in `min..=max`: the checker's own test of constants
/// ([`within`]), false for NaN whatever the bounds. Ranges are declared for
/// numbers only.
fn in_range(value: &Value, min: Const, max: Const) -> bool {
    match value {
        Value::Int(v) => within(Const::Int(*v), min, max),
        Value::Float(v) => within(Const::Float(*v), min, max),
        _ => true,
    }
}

fn read_text(name: &str, ty: &Type, text: &str) -> Result<Value, ValueError> {
    let text = text.trim();
    let not_of_type = || ValueError::NotOfType {
        name: name.to_string(),
        ty: ty.clone(),
        given: text.to_string(),
        json: false,
    };
    match ty {
        Type::Int => match text.parse::<i64>() {
            Ok(v) => Ok(Value::Int(v)),
            Err(err)
                if matches!(
                    err.kind(),
                    IntErrorKind::PosOverflow | IntErrorKind::NegOverflow
                ) =>
            {
                Err(ValueError::IntOverflow {
                    name: name.to_string(),
                    given: text.to_string(),
                })
            }
            Err(_) => Err(not_of_type()),
        },
        Type::Float => {
            let v: f64 = text.parse().map_err(|_| not_of_type())?;
            if v.is_finite() {
                Ok(Value::Float(v))
            } else {
                Err(ValueError::NotFinite {
                    name: name.to_string(),
                    given: text.to_string(),
                })
            }
        }
        Type::Bool => text.parse().map(Value::Bool).map_err(|_| not_of_type()),
        Type::Color => hex_color(text).map(Value::Color).ok_or_else(not_of_type),
        other => Err(ValueError::Unwritable {
            name: name.to_string(),
            ty: other.clone(),
        }),
    }
}

/// `#rrggbb` or `#rrggbbaa`, channels from 0 to 1.
fn hex_color(text: &str) -> Option<[f32; 4]> {
    let hex = text.strip_prefix('#')?;
    if (hex.len() != 6 && hex.len() != 8) || !hex.is_ascii() {
        return None;
    }
    let byte = |idx: usize| u8::from_str_radix(hex.get(idx..idx + 2)?, 16).ok();
    let alpha = if hex.len() == 8 { byte(6)? } else { 255 };
    Some([byte(0)?, byte(2)?, byte(4)?, alpha].map(|b| b as f32 / 255.0))
}

/// Reads a value an editor sent (not text), shown as `shown` in messages.
fn read_sent(name: &str, ty: &Type, sent: &Sent, shown: &str) -> Result<Value, ValueError> {
    let not_of_type = || ValueError::NotOfType {
        name: name.to_string(),
        ty: ty.clone(),
        given: shown.to_string(),
        json: true,
    };
    let not_finite = || ValueError::NotFinite {
        name: name.to_string(),
        given: shown.to_string(),
    };
    let overflow = || ValueError::IntOverflow {
        name: name.to_string(),
        given: shown.to_string(),
    };
    match ty {
        Type::Int => {
            if let Some(v) = sent.as_i64() {
                return Ok(Value::Int(v));
            }
            if let Sent::BigInt(_) = sent {
                return Err(overflow());
            }
            let v = sent.as_f64().ok_or_else(not_of_type)?;
            if !v.is_finite() {
                return Err(not_finite());
            }
            if v.fract() != 0.0 {
                return Err(not_of_type());
            }
            // -2^63 is exact as f64 and fits; 2^63 and beyond do not.
            if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&v) {
                Ok(Value::Int(v as i64))
            } else {
                Err(overflow())
            }
        }
        Type::Float => {
            let v = sent.as_f64().ok_or_else(not_of_type)?;
            if v.is_finite() {
                Ok(Value::Float(v))
            } else {
                Err(not_finite())
            }
        }
        Type::Bool => match sent {
            Sent::Bool(v) => Ok(Value::Bool(*v)),
            _ => Err(not_of_type()),
        },
        Type::Color => {
            let Sent::List(items) = sent else {
                return Err(not_of_type());
            };
            let mut channels = Vec::with_capacity(4);
            for item in items {
                let v = item.as_f64().ok_or_else(not_of_type)?;
                // NaN fails too.
                if !(0.0..=1.0).contains(&v) {
                    return Err(not_of_type());
                }
                channels.push(v as f32);
            }
            match channels[..] {
                [r, g, b] => Ok(Value::Color([r, g, b, 1.0])),
                [r, g, b, a] => Ok(Value::Color([r, g, b, a])),
                _ => Err(not_of_type()),
            }
        }
        other => Err(ValueError::Unwritable {
            name: name.to_string(),
            ty: other.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Option<(Const, Const)> = Some((Const::Float(0.0), Const::Float(1.0)));

    #[test]
    fn the_range_check_cannot_be_passed_by_nan() {
        assert!(!in_range(
            &Value::Float(f64::NAN),
            Const::Float(0.0),
            Const::Float(1.0)
        ));
        assert!(!in_range(
            &Value::Float(f64::INFINITY),
            Const::Float(0.0),
            Const::Float(1.0)
        ));
        assert!(!in_range(
            &Value::Float(0.5),
            Const::Float(f64::NAN),
            Const::Float(1.0)
        ));
        assert!(in_range(
            &Value::Float(1.0),
            Const::Float(0.0),
            Const::Float(1.0)
        ));
        assert!(in_range(&Value::Int(3), Const::Int(0), Const::Int(3)));
        // Ints compare as ints: i64::MAX is not "equal" to i64::MAX - 1 as f64.
        assert!(!in_range(
            &Value::Int(i64::MAX),
            Const::Int(0),
            Const::Int(i64::MAX - 1)
        ));
    }

    #[test]
    fn every_non_finite_spelling_is_refused_with_one_message() {
        for text in ["NaN", "nan", "inf", "-inf", "+inf", "infinity", "-Infinity"] {
            let err = read_value("amount", &Type::Float, Written::Text(text), UNIT).unwrap_err();
            assert_eq!(
                err,
                ValueError::NotFinite {
                    name: "amount".into(),
                    given: text.into()
                }
            );
            assert_eq!(
                err.to_string(),
                format!("`amount` must be a finite number, not {text}")
            );
            // With no range to catch it either.
            assert!(read_value("x", &Type::Float, Written::Text(text), None).is_err());
        }
        for text in ["1e999", "-1e999", " 1e400 "] {
            let err = read_value("x", &Type::Float, Written::Text(text), None).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "`x` must be a finite number, not {} (too large for a float)",
                    text.trim()
                )
            );
        }
        assert_eq!(
            read_value("x", &Type::Float, Written::Text("1e-999"), None),
            Ok(Value::Float(0.0))
        );
    }

    #[test]
    fn ints_beyond_64_bits_say_the_range_of_an_int() {
        for text in ["99999999999999999999", "-9223372036854775809"] {
            let err = read_value("radius", &Type::Int, Written::Text(text), None).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "`radius` is an int, and {text} is out of range for an int \
                     (-9223372036854775808..9223372036854775807)"
                )
            );
        }
        assert_eq!(
            read_value("n", &Type::Int, Written::Text("-9223372036854775808"), None),
            Ok(Value::Int(i64::MIN))
        );
        let sent = Written::Sent {
            value: &Sent::Float(9.3e18),
            shown: "9.3e18",
        };
        assert_eq!(
            read_value("n", &Type::Int, sent, None),
            Err(ValueError::IntOverflow {
                name: "n".into(),
                given: "9.3e18".into()
            })
        );
        let sent = Written::Sent {
            value: &Sent::BigInt(u64::MAX),
            shown: "18446744073709551615",
        };
        assert!(matches!(
            read_value("n", &Type::Int, sent, None),
            Err(ValueError::IntOverflow { .. })
        ));
    }

    #[test]
    fn values_in_form_and_range_are_read() {
        let steps = Some((Const::Int(1), Const::Int(8)));
        assert_eq!(
            read_value("n", &Type::Int, Written::Text(" 4 "), steps),
            Ok(Value::Int(4))
        );
        assert_eq!(
            read_value("n", &Type::Int, Written::Text("9"), steps)
                .unwrap_err()
                .to_string(),
            "`n` must lie in 1..8 (both ends included), not 9"
        );
        assert_eq!(
            read_value("a", &Type::Float, Written::Text("1.5"), UNIT)
                .unwrap_err()
                .to_string(),
            "`a` must lie in 0.0..1.0 (both ends included), not 1.5"
        );
        assert_eq!(
            read_value("a", &Type::Float, Written::Text("high"), UNIT)
                .unwrap_err()
                .to_string(),
            "`a` is a float, a finite number such as 0.5, not high"
        );
        assert_eq!(
            read_value("b", &Type::Bool, Written::Text("true"), None),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            read_value("c", &Type::Color, Written::Text("#ff000080"), None),
            Ok(Value::Color([1.0, 0.0, 0.0, 128.0 / 255.0]))
        );
        assert_eq!(
            read_value("c", &Type::Color, Written::Text("#ff00"), None)
                .unwrap_err()
                .to_string(),
            "`c` is a color, a colour such as #ff8800 or #ff880080, not #ff00"
        );
        let image = read_value("src", &Type::Image, Written::Text("x"), None).unwrap_err();
        assert_eq!(
            image.to_string(),
            "`src` is an image, a type no value can be written for"
        );
    }

    #[test]
    fn sent_values_are_read_by_their_shape_and_shown_as_sent() {
        let sent = |value: &Sent, shown: &str, ty: &Type| {
            read_value(
                "x",
                ty,
                Written::Sent { value, shown },
                Some((Const::Int(1), Const::Int(8))),
            )
        };
        let rgb = Sent::List(vec![Sent::Int(1), Sent::Float(0.5), Sent::Int(0)]);
        assert_eq!(
            sent(&rgb, "[1,0.5,0]", &Type::Color),
            Ok(Value::Color([1.0, 0.5, 0.0, 1.0]))
        );
        assert_eq!(
            sent(&Sent::Float(4.0), "4.0", &Type::Int),
            Ok(Value::Int(4))
        );
        assert_eq!(
            sent(&Sent::Int(9), "9", &Type::Int)
                .unwrap_err()
                .to_string(),
            "`x` must lie in 1..8 (both ends included), not 9"
        );
        // Text is read as the command line reads it, and shown trimmed.
        assert_eq!(
            sent(&Sent::Text(" 9 ".into()), "\" 9 \"", &Type::Int)
                .unwrap_err()
                .to_string(),
            "`x` must lie in 1..8 (both ends included), not 9"
        );
        assert_eq!(
            sent(&Sent::Other, "{\"a\":1}", &Type::Color)
                .unwrap_err()
                .to_string(),
            "`x` is a color, a colour such as \"#ff8800\", [1.0, 0.5, 0.0] or \
             [1.0, 0.5, 0.0, 1.0] (channels from 0 to 1), not {\"a\":1}"
        );
        assert_eq!(
            sent(&Sent::Bool(true), "true", &Type::Float)
                .unwrap_err()
                .to_string(),
            "`x` is a float, a finite number such as 0.5, not true"
        );
    }
}
