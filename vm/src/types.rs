//! The types of Chop values.

use std::fmt;
use std::sync::Arc;

/// A Chop type.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Type {
    /// 64-bit signed integer, wrapping.
    Int,
    /// 64-bit float.
    Float,
    /// `true` or `false`.
    Bool,
    /// RGBA, four floats.
    Color,
    /// A read-only photo.
    Image,
    /// A string literal (printable only).
    Str,
    /// No value: what a function without `->` returns.
    Unit,
    /// `[T; N]`
    Array(Box<Type>, u32),
    /// `fn(T, U) -> R`, shared: a function type is cloned by a count, not by
    /// copying its parameters (the checker's tables clone types per expression),
    /// and keeps `Type` at 16 bytes.
    Fn(Arc<FnType>),
    /// The type of something ill-typed: compatible with everything, so one
    /// mistake gives one diagnostic.
    Error,
}

/// The signature of a function type: its parameters and its result.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct FnType {
    /// The parameters' types, in order.
    pub params: Vec<Type>,
    /// The result's type (`Unit` for none).
    pub ret: Type,
}

impl Type {
    /// The function type `fn(params) -> ret`.
    pub fn func(params: Vec<Type>, ret: Type) -> Type {
        Type::Fn(Arc::new(FnType { params, ret }))
    }

    /// Whether values of this type are links to chunks (arrays, images, closures).
    pub fn is_ref(&self) -> bool {
        matches!(
            self,
            Type::Image | Type::Array(..) | Type::Fn(..) | Type::Str
        )
    }

    /// Number of 64-bit slots a value takes in a register file or a chunk.
    pub fn width(&self) -> u32 {
        match self {
            Type::Color => 2,
            Type::Unit => 0,
            _ => 1,
        }
    }

    /// Whether `self` may be used where `expected` is wanted (error types fit anywhere).
    pub fn fits(&self, expected: &Type) -> bool {
        match (self, expected) {
            (Type::Error, _) | (_, Type::Error) => true,
            (Type::Array(a, n), Type::Array(b, m)) => n == m && a.fits(b),
            (Type::Fn(a), Type::Fn(b)) => {
                Arc::ptr_eq(a, b)
                    || (a.params.len() == b.params.len()
                        && a.params.iter().zip(&b.params).all(|(a, b)| a.fits(b))
                        && a.ret.fits(&b.ret))
            }
            (a, b) => a == b,
        }
    }

    /// Whether the type contains an error type (so diagnostics about it are noise).
    pub fn has_error(&self) -> bool {
        match self {
            Type::Error => true,
            Type::Array(elem, _) => elem.has_error(),
            Type::Fn(f) => f.params.iter().any(Type::has_error) || f.ret.has_error(),
            _ => false,
        }
    }

    /// The builtin type called `name`.
    pub fn from_name(name: &str) -> Option<Type> {
        Some(match name {
            "int" => Type::Int,
            "float" => Type::Float,
            "bool" => Type::Bool,
            "color" => Type::Color,
            "image" => Type::Image,
            "str" => Type::Str,
            _ => return None,
        })
    }

    /// Names of the builtin types.
    pub const NAMES: &'static [&'static str] = &["int", "float", "bool", "color", "image", "str"];
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Int => f.write_str("int"),
            Type::Float => f.write_str("float"),
            Type::Bool => f.write_str("bool"),
            Type::Color => f.write_str("color"),
            Type::Image => f.write_str("image"),
            Type::Str => f.write_str("str"),
            Type::Unit => f.write_str("()"),
            Type::Array(elem, len) => write!(f, "[{elem}; {len}]"),
            Type::Fn(func) => {
                f.write_str("fn(")?;
                for (idx, param) in func.params.iter().enumerate() {
                    if idx > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{param}")?;
                }
                f.write_str(")")?;
                if func.ret != Type::Unit {
                    write!(f, " -> {}", func.ret)?;
                }
                Ok(())
            }
            Type::Error => f.write_str("{unknown}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_fit() {
        let f = Type::func(
            vec![Type::Int, Type::Array(Box::new(Type::Float), 3)],
            Type::Color,
        );
        assert_eq!(f.to_string(), "fn(int, [float; 3]) -> color");
        assert!(Type::Error.fits(&Type::Int));
        assert!(!Type::Int.fits(&Type::Float));
        assert!(Type::Array(Box::new(Type::Error), 3).fits(&Type::Array(Box::new(Type::Int), 3)));
        assert!(!Type::Array(Box::new(Type::Int), 2).fits(&Type::Array(Box::new(Type::Int), 3)));
        // Function types: by their parameters and result, shared or not.
        assert!(f.fits(&f.clone()));
        assert!(f.fits(&Type::func(
            vec![Type::Error, Type::Array(Box::new(Type::Float), 3)],
            Type::Color,
        )));
        assert!(!f.fits(&Type::func(vec![Type::Int], Type::Color)));
        assert!(!f.fits(&Type::func(
            vec![Type::Int, Type::Array(Box::new(Type::Float), 3)],
            Type::Float,
        )));
        assert_eq!(f, f.clone());
        assert!(Type::func(vec![Type::Error], Type::Int).has_error());
        assert!(!f.has_error());
    }

    #[test]
    fn a_type_is_two_words() {
        // The checker keeps a type per expression and clones them per keystroke.
        assert_eq!(std::mem::size_of::<Type>(), 16);
    }
}
