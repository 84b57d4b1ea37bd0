//! The typed abstract syntax tree of a Chop file.
//!
//! Built from the tree-sitter CST by `lower`. Every expression carries an
//! [`ExprId`] and every name introduced by `let`, `var`, `for` or a
//! parameter a [`BindingId`]; both are dense indices, so the checker's
//! results are plain vectors indexed by them. A piece of source that did not
//! parse becomes [`ExprKind::Error`] or [`TypeExpr::Error`]: the tree is
//! always complete, and the checker stays quiet about error nodes.

use super::span::Span;
use std::sync::Arc;

/// Index of an expression in its file (dense, from 0).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ExprId(pub u32);

/// Index of a local binding (parameter, `let`, `var`, `for` variable) in its file.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct BindingId(pub u32);

/// Index of an item in [`SourceFile::items`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ItemId(pub u32);

/// A name as written, with its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The text of the name.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// A whole `.chop` file.
#[derive(Clone, Debug, Default)]
pub struct SourceFile {
    /// The `//!` comments at the top, joined by newlines, without the markers.
    pub doc: Option<String>,
    /// The `use` items, in source order (they are not [`Item`]s: they name no
    /// item of this file; `crate::modules` loads what they name).
    pub uses: Vec<Use>,
    /// The items in source order. Shared: an edit re-lowers only the items
    /// it touched, and the next version of the file shares the others.
    pub items: Vec<Arc<Item>>,
    /// Number of expressions (`ExprId`s run from 0 below this).
    pub expr_count: u32,
    /// Number of bindings (`BindingId`s run from 0 below this).
    pub binding_count: u32,
}

/// `use "PATH";` or `use "PATH" as ALIAS;`.
#[derive(Clone, Debug, PartialEq)]
pub struct Use {
    /// The path as written (escapes resolved), relative to the using file or
    /// to a folder of the library's search path.
    pub path: String,
    /// Where the path's string literal is.
    pub path_span: Span,
    /// `as ALIAS`: the file's items are then reachable only as `ALIAS.name`.
    pub alias: Option<Ident>,
    /// The whole `use` item.
    pub span: Span,
}

/// A top-level item.
#[derive(Clone, Debug)]
pub struct Item {
    /// Its name.
    pub name: Ident,
    /// The `///` comments before it, joined by newlines, without the markers.
    pub doc: Option<String>,
    /// The whole item.
    pub span: Span,
    /// What kind of item.
    pub kind: ItemKind,
}

/// The kinds of item.
#[derive(Clone, Debug)]
pub enum ItemKind {
    /// `param NAME: TYPE = DEFAULT in MIN..MAX;`
    Param(ParamItem),
    /// `filter NAME(...) -> color { ... }` (`is_filter` set) or `fn NAME(...) { ... }`.
    Function(FnItem),
    /// `pipeline NAME = a |> b(p: 1.0);`
    Pipeline(PipelineItem),
}

/// A filter parameter, a global the editor shows as a slider.
#[derive(Clone, Debug)]
pub struct ParamItem {
    /// Its declared type.
    pub ty: TypeExpr,
    /// Its default value (a constant expression).
    pub default: Expr,
    /// Its inclusive range, when given.
    pub range: Option<(Expr, Expr)>,
}

/// A function or filter.
#[derive(Clone, Debug)]
pub struct FnItem {
    /// `filter` rather than `fn`.
    pub is_filter: bool,
    /// Its parameters.
    pub params: Vec<Param>,
    /// Its declared return type (`None`: returns nothing).
    pub ret: Option<TypeExpr>,
    /// Its body.
    pub body: Block,
}

/// One parameter of a function, filter or closure.
#[derive(Clone, Debug)]
pub struct Param {
    /// The name it binds.
    pub binding: Binding,
    /// Its declared type.
    pub ty: TypeExpr,
    /// The whole `name: type`.
    pub span: Span,
}

/// A name introduced by a declaration.
#[derive(Clone, Debug)]
pub struct Binding {
    /// Its id.
    pub id: BindingId,
    /// The name and where it is declared.
    pub name: Ident,
}

/// `pipeline NAME = stage |> stage;`
#[derive(Clone, Debug)]
pub struct PipelineItem {
    /// The stages, applied left to right.
    pub stages: Vec<Stage>,
}

/// One stage of a pipeline: a filter and parameter overrides.
#[derive(Clone, Debug)]
pub struct Stage {
    /// `m.` before the filter's name: the namespace of a used file.
    pub module: Option<Ident>,
    /// The filter's name.
    pub name: Ident,
    /// `param: value` overrides.
    pub args: Vec<(Ident, Expr)>,
    /// The whole stage.
    pub span: Span,
}

/// A type as written.
#[derive(Clone, Debug)]
pub enum TypeExpr {
    /// `int`, `float`, `bool`, `color`, `image`, `str`, or an unknown name.
    Named(Ident),
    /// `[T; N]` (`None` when the length did not parse as an integer).
    Array(Box<TypeExpr>, Option<i64>, Span),
    /// `fn(T, U) -> R` (`None`: returns nothing).
    Fn(Vec<TypeExpr>, Option<Box<TypeExpr>>, Span),
    /// A type that did not parse.
    Error(Span),
}

impl TypeExpr {
    /// Where the type is written.
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Named(ident) => ident.span,
            TypeExpr::Array(_, _, span) | TypeExpr::Fn(_, _, span) | TypeExpr::Error(span) => *span,
        }
    }
}

/// `{ statements; value }`
#[derive(Clone, Debug)]
pub struct Block {
    /// The statements.
    pub stmts: Vec<Stmt>,
    /// The trailing expression without `;`, the block's value.
    pub value: Option<Box<Expr>>,
    /// From `{` to `}`.
    pub span: Span,
}

/// A statement.
#[derive(Clone, Debug)]
pub struct Stmt {
    /// What it does.
    pub kind: StmtKind,
    /// Where it is, `;` included.
    pub span: Span,
}

/// The kinds of statement.
#[derive(Clone, Debug)]
pub enum StmtKind {
    /// `let x: T = e;` or `var x: T = e;`
    Let {
        /// The name introduced.
        binding: Binding,
        /// `var` rather than `let`.
        mutable: bool,
        /// The declared type, if any.
        ty: Option<TypeExpr>,
        /// The initial value.
        value: Expr,
    },
    /// `target = value;` or, with `op`, `target op= value;`
    Assign {
        /// A name, an index expression (or anything else, which the checker refuses).
        target: Expr,
        /// The operator of a compound assignment (`+=` has `Some(BinOp::Add)`).
        op: Option<BinOp>,
        /// The value assigned.
        value: Expr,
    },
    /// An expression evaluated for its effect.
    Expr(Expr),
    /// `return;` or `return e;`
    Return(Option<Expr>),
    /// `break;`
    Break,
    /// `continue;`
    Continue,
    /// `while cond { body }`
    While {
        /// The condition.
        cond: Expr,
        /// The loop body.
        body: Block,
    },
    /// `for i in start..end { body }`
    For {
        /// The loop variable.
        binding: Binding,
        /// First value.
        start: Expr,
        /// One past the last value.
        end: Expr,
        /// The loop body.
        body: Block,
    },
}

/// An expression.
#[derive(Clone, Debug)]
pub struct Expr {
    /// Its id, an index into the checker's tables.
    pub id: ExprId,
    /// What it is.
    pub kind: ExprKind,
    /// Where it is (parentheses around it included).
    pub span: Span,
}

/// The kinds of expression.
#[derive(Clone, Debug)]
pub enum ExprKind {
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// A string literal, escapes resolved.
    Str(String),
    /// A name: a local, a param, a function or a builtin.
    Name(String),
    /// `a op b`
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `op a`
    Unary(UnOp, Box<Expr>),
    /// `f(args)`; a method call `v.m(args)` is a call of a `Field`.
    Call(Box<Expr>, Vec<Expr>),
    /// `v.field`
    Field(Box<Expr>, Ident),
    /// `a[i]`
    Index(Box<Expr>, Box<Expr>),
    /// `[a, b, c]`
    Array(Vec<Expr>),
    /// `[value; count]`
    ArrayRepeat(Box<Expr>, Box<Expr>),
    /// `fn(params) -> ret { body }`
    Closure(Box<Closure>),
    /// `if cond { then } else ...`; the else part is a `Block` or an `If` expression.
    If(Box<Expr>, Block, Option<Box<Expr>>),
    /// `{ ... }`
    Block(Block),
    /// Source that did not parse (already reported as a syntax error).
    Error,
}

/// A closure expression.
#[derive(Clone, Debug)]
pub struct Closure {
    /// Its parameters.
    pub params: Vec<Param>,
    /// Its declared return type; `None` infers it from the body.
    pub ret: Option<TypeExpr>,
    /// Its body.
    pub body: Block,
}

/// Binary operators.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&&`
    And,
    /// `||`
    Or,
}

impl BinOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }

    /// Parses an operator as written.
    pub fn parse(text: &str) -> Option<BinOp> {
        Some(match text {
            "+" => BinOp::Add,
            "-" => BinOp::Sub,
            "*" => BinOp::Mul,
            "/" => BinOp::Div,
            "%" => BinOp::Rem,
            "==" => BinOp::Eq,
            "!=" => BinOp::Ne,
            "<" => BinOp::Lt,
            "<=" => BinOp::Le,
            ">" => BinOp::Gt,
            ">=" => BinOp::Ge,
            "&&" => BinOp::And,
            "||" => BinOp::Or,
            _ => return None,
        })
    }
}

/// Unary operators.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum UnOp {
    /// `-`
    Neg,
    /// `!`
    Not,
}

impl SourceFile {
    /// The item named `name`, if any (the first one when duplicated).
    pub fn item(&self, name: &str) -> Option<(ItemId, &Item)> {
        self.items
            .iter()
            .enumerate()
            .find(|(_, item)| item.name.name == name)
            .map(|(idx, item)| (ItemId(idx as u32), &**item))
    }
}
