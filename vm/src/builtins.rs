//! The builtin functions, methods and fields of Chop, with their docs.
//!
//! One table serves the checker (signatures), the compiler (each overload
//! is one VM operation, [`BuiltinOp`]) and the editor (the docs).

use crate::types::Type;

/// The VM operation of one builtin overload.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BuiltinOp {
    Print,
    Rgb,
    Rgba,
    Gray,
    MixColor,
    MixFloat,
    ClampFloat,
    ClampInt,
    ClampColor,
    /// `clamp(v: color, lo: color, hi: color)`: per channel, bounds per channel.
    ClampColors,
    /// `min(a: color, b: color)`: per channel.
    MinColor,
    /// `max(a: color, b: color)`: per channel.
    MaxColor,
    MinFloat,
    MinInt,
    MaxFloat,
    MaxInt,
    AbsFloat,
    AbsInt,
    Sqrt,
    Pow,
    Exp,
    Log,
    Floor,
    Ceil,
    Round,
    Fract,
    Sin,
    Cos,
    Atan2,
    Smoothstep,
    Luma,
    ToFloat,
    ToInt,
    Len,
    Blank,
    Render,
}

/// A parameter type in a builtin signature.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum P {
    Int,
    Float,
    Color,
    Image,
    /// Any array.
    AnyArray,
    /// `fn(int, int) -> color`
    PixelFn,
    /// Any number of printable values.
    Variadic,
    /// Nothing (a return type only).
    Unit,
}

impl P {
    /// The Chop type (`AnyArray` and `Variadic` have none: they are checked apart).
    pub fn to_type(self) -> Type {
        match self {
            P::Int => Type::Int,
            P::Float => Type::Float,
            P::Color => Type::Color,
            P::Image => Type::Image,
            P::PixelFn => Type::func(vec![Type::Int, Type::Int], Type::Color),
            P::Unit => Type::Unit,
            P::AnyArray | P::Variadic => Type::Error,
        }
    }
}

/// One signature of a builtin.
#[derive(Clone, Copy, Debug)]
pub struct Overload {
    /// Parameter names and types.
    pub params: &'static [(&'static str, P)],
    /// Return type.
    pub ret: P,
    /// The VM operation.
    pub op: BuiltinOp,
}

/// A builtin function.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    /// Its name.
    pub name: &'static str,
    /// Its signatures; the first whose parameter types fit is chosen.
    pub overloads: &'static [Overload],
    /// What it does, in Markdown.
    pub doc: &'static str,
}

impl Builtin {
    /// The signatures as written in Chop, one per line.
    pub fn signatures(&self) -> Vec<String> {
        self.overloads
            .iter()
            .map(|overload| {
                let ret = match overload.ret {
                    P::Unit => String::new(),
                    other => format!(" -> {}", other.to_type()),
                };
                format!("fn {}({}){ret}", self.name, params_text(overload.params))
            })
            .collect()
    }
}

/// Parameters as written in a signature: `x: int, values...`.
fn params_text(params: &[(&str, P)]) -> String {
    let params: Vec<String> = params
        .iter()
        .map(|(name, ty)| match ty {
            P::Variadic => format!("{name}..."),
            P::AnyArray => format!("{name}: [T; N]"),
            other => format!("{name}: {}", other.to_type()),
        })
        .collect();
    params.join(", ")
}

macro_rules! ov {
    ($op:ident, [$($name:literal : $ty:ident),*] -> $ret:ident) => {
        Overload { params: &[$(($name, P::$ty)),*], ret: P::$ret, op: BuiltinOp::$op }
    };
}

/// Every builtin function.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "print",
        overloads: &[ov!(Print, ["values": Variadic] -> Unit)],
        doc: "Prints its arguments on one line, separated by spaces. Floats always show a decimal point; colours print as `rgba(r, g, b, a)`.",
    },
    Builtin {
        name: "rgb",
        overloads: &[ov!(Rgb, ["r": Float, "g": Float, "b": Float] -> Color)],
        doc: "An opaque colour from red, green and blue, each nominally from 0 to 1.",
    },
    Builtin {
        name: "rgba",
        overloads: &[ov!(Rgba, ["r": Float, "g": Float, "b": Float, "a": Float] -> Color)],
        doc: "A colour from red, green, blue and alpha, each nominally from 0 to 1.",
    },
    Builtin {
        name: "gray",
        overloads: &[ov!(Gray, ["v": Float] -> Color)],
        doc: "The opaque grey `rgb(v, v, v)`.",
    },
    Builtin {
        name: "mix",
        overloads: &[
            ov!(MixColor, ["a": Color, "b": Color, "t": Float] -> Color),
            ov!(MixFloat, ["a": Float, "b": Float, "t": Float] -> Float),
        ],
        doc: "Linear interpolation: `a * (1 - t) + b * t`, per channel for colours.",
    },
    Builtin {
        name: "clamp",
        overloads: &[
            ov!(ClampFloat, ["v": Float, "lo": Float, "hi": Float] -> Float),
            ov!(ClampInt, ["v": Int, "lo": Int, "hi": Int] -> Int),
            ov!(ClampColor, ["v": Color, "lo": Float, "hi": Float] -> Color),
            ov!(ClampColors, ["v": Color, "lo": Color, "hi": Color] -> Color),
        ],
        doc: "`v` limited to `lo..hi` (inclusive); per channel for colours (with colour bounds, each channel to its own bounds).",
    },
    Builtin {
        name: "min",
        overloads: &[
            ov!(MinFloat, ["a": Float, "b": Float] -> Float),
            ov!(MinInt, ["a": Int, "b": Int] -> Int),
            ov!(MinColor, ["a": Color, "b": Color] -> Color),
        ],
        doc: "The smaller of `a` and `b`; per channel for colours.",
    },
    Builtin {
        name: "max",
        overloads: &[
            ov!(MaxFloat, ["a": Float, "b": Float] -> Float),
            ov!(MaxInt, ["a": Int, "b": Int] -> Int),
            ov!(MaxColor, ["a": Color, "b": Color] -> Color),
        ],
        doc: "The larger of `a` and `b`; per channel for colours.",
    },
    Builtin {
        name: "abs",
        overloads: &[ov!(AbsFloat, ["v": Float] -> Float), ov!(AbsInt, ["v": Int] -> Int)],
        doc: "The absolute value of `v`.",
    },
    Builtin {
        name: "sqrt",
        overloads: &[ov!(Sqrt, ["v": Float] -> Float)],
        doc: "The square root of `v` (NaN below 0).",
    },
    Builtin {
        name: "pow",
        overloads: &[ov!(Pow, ["base": Float, "exponent": Float] -> Float)],
        doc: "`base` raised to `exponent`.",
    },
    Builtin {
        name: "exp",
        overloads: &[ov!(Exp, ["v": Float] -> Float)],
        doc: "e raised to `v`.",
    },
    Builtin {
        name: "log",
        overloads: &[ov!(Log, ["v": Float] -> Float)],
        doc: "The natural logarithm of `v`.",
    },
    Builtin {
        name: "floor",
        overloads: &[ov!(Floor, ["v": Float] -> Float)],
        doc: "The largest whole number not above `v`.",
    },
    Builtin {
        name: "ceil",
        overloads: &[ov!(Ceil, ["v": Float] -> Float)],
        doc: "The smallest whole number not below `v`.",
    },
    Builtin {
        name: "round",
        overloads: &[ov!(Round, ["v": Float] -> Float)],
        doc: "`v` rounded to the nearest whole number, halves away from zero.",
    },
    Builtin {
        name: "fract",
        overloads: &[ov!(Fract, ["v": Float] -> Float)],
        doc: "The fractional part `v - floor(v)`.",
    },
    Builtin {
        name: "sin",
        overloads: &[ov!(Sin, ["radians": Float] -> Float)],
        doc: "The sine of an angle in radians.",
    },
    Builtin {
        name: "cos",
        overloads: &[ov!(Cos, ["radians": Float] -> Float)],
        doc: "The cosine of an angle in radians.",
    },
    Builtin {
        name: "atan2",
        overloads: &[ov!(Atan2, ["y": Float, "x": Float] -> Float)],
        doc: "The angle in radians of the point `(x, y)`, from -pi to pi.",
    },
    Builtin {
        name: "smoothstep",
        overloads: &[ov!(Smoothstep, ["edge0": Float, "edge1": Float, "x": Float] -> Float)],
        doc: "0 below `edge0`, 1 above `edge1`, and a smooth Hermite curve `t * t * (3 - 2 * t)` between.",
    },
    Builtin {
        name: "luma",
        overloads: &[ov!(Luma, ["c": Color] -> Float)],
        doc: "The brightness of a colour, Rec. 601: `0.299 r + 0.587 g + 0.114 b`.",
    },
    Builtin {
        name: "float",
        overloads: &[ov!(ToFloat, ["v": Int] -> Float)],
        doc: "The integer `v` as a float.",
    },
    Builtin {
        name: "int",
        overloads: &[ov!(ToInt, ["v": Float] -> Int)],
        doc: "The float `v` as an integer, truncated towards zero (NaN gives 0; values beyond the range saturate).",
    },
    Builtin {
        name: "len",
        overloads: &[ov!(Len, ["array": AnyArray] -> Int)],
        doc: "The number of elements of an array.",
    },
    Builtin {
        name: "blank",
        overloads: &[ov!(Blank, ["width": Int, "height": Int, "fill": Color] -> Image)],
        doc: "A new image of `width` x `height` pixels, all `fill`.",
    },
    Builtin {
        name: "render",
        overloads: &[ov!(Render, ["width": Int, "height": Int, "pixel": PixelFn] -> Image)],
        doc: "A new image of `width` x `height` pixels whose pixel `(x, y)` is `pixel(x, y)`.",
    },
];

/// A method of a builtin type.
#[derive(Clone, Copy, Debug)]
pub struct Method {
    /// The receiver's type name.
    pub receiver: &'static str,
    /// The method's name.
    pub name: &'static str,
    /// Its parameters.
    pub params: &'static [(&'static str, P)],
    /// Its return type.
    pub ret: P,
    /// What it does.
    pub doc: &'static str,
}

/// Every method.
pub const METHODS: &[Method] = &[Method {
    receiver: "image",
    name: "at",
    params: &[("x", P::Int), ("y", P::Int)],
    ret: P::Color,
    doc: "The colour of pixel `(x, y)`; coordinates outside the image are clamped to its edge.",
}];

/// A field of a builtin type.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// The receiver's type name.
    pub receiver: &'static str,
    /// The field's name.
    pub name: &'static str,
    /// Its type.
    pub ty: P,
    /// What it holds.
    pub doc: &'static str,
}

/// Every field.
pub const FIELDS: &[Field] = &[
    Field {
        receiver: "color",
        name: "r",
        ty: P::Float,
        doc: "The red channel.",
    },
    Field {
        receiver: "color",
        name: "g",
        ty: P::Float,
        doc: "The green channel.",
    },
    Field {
        receiver: "color",
        name: "b",
        ty: P::Float,
        doc: "The blue channel.",
    },
    Field {
        receiver: "color",
        name: "a",
        ty: P::Float,
        doc: "The alpha channel (1 is opaque).",
    },
    Field {
        receiver: "image",
        name: "width",
        ty: P::Int,
        doc: "The width in pixels.",
    },
    Field {
        receiver: "image",
        name: "height",
        ty: P::Int,
        doc: "The height in pixels.",
    },
];

/// The builtin function called `name`.
pub fn lookup(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|builtin| builtin.name == name)
}

/// The field `name` of values of type `receiver`.
pub fn field(receiver: &Type, name: &str) -> Option<&'static Field> {
    let receiver = receiver.to_string();
    FIELDS
        .iter()
        .find(|field| field.receiver == receiver && field.name == name)
}

/// The method `name` of values of type `receiver`.
pub fn method(receiver: &Type, name: &str) -> Option<&'static Method> {
    let receiver = receiver.to_string();
    METHODS
        .iter()
        .find(|method| method.receiver == receiver && method.name == name)
}

/// The reference of every builtin function, method and field, in Markdown:
/// the text of `docs/builtins.md` (a test keeps that file equal to it).
pub fn reference_markdown() -> String {
    let mut doc = String::from(
        "# Builtins\n\n\
         The builtin functions, methods and fields of Chop. This file is generated from\n\
         the one table of builtins (`vm/src/builtins.rs`) by\n\
         `UPDATE_DOCS=1 cargo test -p chop-ide --test docs`.\n\n## Functions\n",
    );
    for builtin in BUILTINS {
        doc.push_str(&format!("\n### `{}`\n\n```\n", builtin.name));
        for signature in builtin.signatures() {
            doc.push_str(&signature);
            doc.push('\n');
        }
        doc.push_str(&format!("```\n\n{}\n", builtin.doc));
    }
    doc.push_str("\n## Methods\n\n| method | returns | meaning |\n| --- | --- | --- |\n");
    for method in METHODS {
        doc.push_str(&format!(
            "| `{}.{}({})` | `{}` | {} |\n",
            method.receiver,
            method.name,
            params_text(method.params),
            method.ret.to_type(),
            method.doc
        ));
    }
    doc.push_str("\n## Fields\n\n| field | type | meaning |\n| --- | --- | --- |\n");
    for field in FIELDS {
        doc.push_str(&format!(
            "| `{}.{}` | `{}` | {} |\n",
            field.receiver,
            field.name,
            field.ty.to_type(),
            field.doc
        ));
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_is_documented_and_unique() {
        let mut names = std::collections::HashSet::new();
        for builtin in BUILTINS {
            assert!(names.insert(builtin.name), "{} twice", builtin.name);
            assert!(builtin.doc.ends_with('.'), "{} doc", builtin.name);
            assert!(!builtin.overloads.is_empty());
        }
        assert_eq!(
            lookup("mix").unwrap().signatures(),
            vec![
                "fn mix(a: color, b: color, t: float) -> color",
                "fn mix(a: float, b: float, t: float) -> float"
            ]
        );
        assert!(field(&Type::Color, "r").is_some());
        assert!(method(&Type::Image, "at").is_some());
    }
}
