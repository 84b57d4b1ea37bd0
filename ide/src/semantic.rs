//! Semantic tokens: a colour for every meaningful token, from what it is.
//!
//! The tokens come from the tree-sitter tree (every leaf: keywords,
//! operators, literals, comments, names, also inside error nodes), and the
//! names are classified with the checker's resolution: a parameter, a `let`
//! (read-only) or a `var`, a `param` item (read-only, static), a function or
//! a builtin (default library), a field or a method. Tokens never overlap,
//! come in source order and never span lines.
//!
//! A token is a fact: a byte span, a [`TokenKind`] and a set of
//! [`Modifiers`]; a server encodes them for its protocol.

use super::Doc;
use crate::walk::{self, Binder, Visit};
use chunkvm::check::Res;
use chunkvm::syntax::ast::{
    Binding, BindingId, Expr, ExprKind, Ident, ItemKind, Param, Stmt, StmtKind, TypeExpr,
};
use chunkvm::syntax::span::Span;
use chunkvm::types::Type;
use foldhash::{HashMap, HashMapExt};

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A keyword, `true` and `false`.
    Keyword,
    /// A type name.
    Type,
    /// A function, filter or pipeline (declared, called or a pipeline stage).
    Function,
    /// A method of a builtin type.
    Method,
    /// A parameter of a function, filter or closure.
    Parameter,
    /// A variable (`let`, `var`, `for`), a `param` item or a named argument.
    Variable,
    /// A field of a builtin type.
    Property,
    /// A number literal.
    Number,
    /// A string literal.
    String,
    /// A comment.
    Comment,
    /// An operator.
    Operator,
}

impl TokenKind {
    /// Every kind, in declaration order.
    pub const ALL: [TokenKind; 11] = [
        TokenKind::Keyword,
        TokenKind::Type,
        TokenKind::Function,
        TokenKind::Method,
        TokenKind::Parameter,
        TokenKind::Variable,
        TokenKind::Property,
        TokenKind::Number,
        TokenKind::String,
        TokenKind::Comment,
        TokenKind::Operator,
    ];
}

/// A property of a token, beyond its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Modifier {
    /// Where the name is declared.
    Declaration,
    /// A name that cannot be assigned.
    Readonly,
    /// A `param` item (one value for the whole file).
    Static,
    /// A doc comment.
    Documentation,
    /// A builtin.
    DefaultLibrary,
    /// A variable where it is assigned.
    Modification,
}

impl Modifier {
    /// Every modifier, in declaration order.
    pub const ALL: [Modifier; 6] = [
        Modifier::Declaration,
        Modifier::Readonly,
        Modifier::Static,
        Modifier::Documentation,
        Modifier::DefaultLibrary,
        Modifier::Modification,
    ];

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of [`Modifier`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Modifiers(u8);

impl Modifiers {
    /// No modifier.
    pub const NONE: Modifiers = Modifiers(0);

    /// The set of `modifiers`.
    pub const fn of(modifiers: &[Modifier]) -> Modifiers {
        let mut bits = 0;
        let mut idx = 0;
        while idx < modifiers.len() {
            bits |= modifiers[idx].bit();
            idx += 1;
        }
        Modifiers(bits)
    }

    /// Whether `modifier` is in the set.
    pub const fn contains(self, modifier: Modifier) -> bool {
        self.0 & modifier.bit() != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set with `modifier` added.
    pub const fn with(self, modifier: Modifier) -> Modifiers {
        Modifiers(self.0 | modifier.bit())
    }

    /// The set without `modifier`.
    pub const fn without(self, modifier: Modifier) -> Modifiers {
        Modifiers(self.0 & !modifier.bit())
    }

    /// The modifiers in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Modifier> {
        Modifier::ALL
            .into_iter()
            .filter(move |modifier| self.contains(*modifier))
    }
}

impl std::ops::BitOr for Modifiers {
    type Output = Modifiers;

    fn bitor(self, other: Modifiers) -> Modifiers {
        Modifiers(self.0 | other.0)
    }
}

impl std::ops::BitOrAssign for Modifiers {
    fn bitor_assign(&mut self, other: Modifiers) {
        self.0 |= other.0;
    }
}

const KEYWORD: TokenKind = TokenKind::Keyword;
const TYPE: TokenKind = TokenKind::Type;
const FUNCTION: TokenKind = TokenKind::Function;
const METHOD: TokenKind = TokenKind::Method;
const PARAMETER: TokenKind = TokenKind::Parameter;
const VARIABLE: TokenKind = TokenKind::Variable;
const PROPERTY: TokenKind = TokenKind::Property;
const NUMBER: TokenKind = TokenKind::Number;
const STRING: TokenKind = TokenKind::String;
const COMMENT: TokenKind = TokenKind::Comment;
const OPERATOR: TokenKind = TokenKind::Operator;

const NONE: Modifiers = Modifiers::NONE;
const DECLARATION: Modifiers = Modifiers::of(&[Modifier::Declaration]);
const READONLY: Modifiers = Modifiers::of(&[Modifier::Readonly]);
const STATIC: Modifiers = Modifiers::of(&[Modifier::Static]);
const DOCUMENTATION: Modifiers = Modifiers::of(&[Modifier::Documentation]);
const DEFAULT_LIBRARY: Modifiers = Modifiers::of(&[Modifier::DefaultLibrary]);
const MODIFICATION: Modifiers = Modifiers::of(&[Modifier::Modification]);

/// One semantic token, on one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// Where it is (never across a line break).
    pub span: Span,
    /// What it is.
    pub kind: TokenKind,
    /// Its modifiers.
    pub modifiers: Modifiers,
}

const OPERATORS: &[&str] = &[
    "+", "-", "*", "/", "%", "!", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "=", "+=", "-=",
    "*=", "/=", "|>", "..",
];

/// Every token of the document, in source order.
///
/// The text is lexed (Chop's tokens are regular, and lexing a big file costs
/// a fraction of walking its syntax tree); names take their class from the
/// AST and the checker, and only a name the AST does not know (in text that
/// did not parse) is looked up in the syntax tree, to be classified by its
/// place there.
pub fn tokens(doc: &Doc) -> Vec<Token> {
    use super::lex::{lex, TokKind, KEYWORDS};
    let names = Names::collect(doc);
    let text: &str = &doc.text;
    let root = doc.parsed.tree.root_node();
    let lexed = lex(text);
    let mut out: Vec<Token> = Vec::with_capacity(lexed.len());
    for tok in lexed {
        let class = match tok.kind {
            TokKind::Comment if tok.text.starts_with("//!") => Some((COMMENT, DOCUMENTATION)),
            TokKind::Comment if tok.text.starts_with("///") && !tok.text.starts_with("////") => {
                Some((COMMENT, DOCUMENTATION))
            }
            TokKind::Comment => Some((COMMENT, NONE)),
            TokKind::Str => Some((STRING, NONE)),
            TokKind::Int | TokKind::Float => Some((NUMBER, NONE)),
            TokKind::Ident if KEYWORDS.contains(&tok.text) => Some((KEYWORD, NONE)),
            TokKind::Ident => Some(match names.at.get(&tok.span.start) {
                Some(class) => *class,
                None => unknown_name(root, text, tok.span),
            }),
            TokKind::Punct if OPERATORS.contains(&tok.text) => Some((OPERATOR, NONE)),
            TokKind::Punct => None,
        };
        if let Some((kind, modifiers)) = class {
            push(&mut out, text, tok.span, kind, modifiers);
        }
    }
    out
}

/// The class of a name the AST does not know, from its place in the tree.
fn unknown_name(root: tree_sitter::Node<'_>, text: &str, span: Span) -> (TokenKind, Modifiers) {
    match root.descendant_for_byte_range(span.start, span.end) {
        Some(node) if node.start_byte() == span.start && node.end_byte() == span.end => {
            match node.kind() {
                "type_identifier" => type_class(text.get(span.start..span.end).unwrap_or("")),
                "identifier" => fallback(node),
                _ => (VARIABLE, NONE),
            }
        }
        _ => (VARIABLE, NONE),
    }
}

/// A type name's class: a builtin type or not.
fn type_class(name: &str) -> (TokenKind, Modifiers) {
    if Type::from_name(name).is_some() {
        (TYPE, DEFAULT_LIBRARY)
    } else {
        (TYPE, NONE)
    }
}

/// The tokens that overlap `range`.
pub fn tokens_in(doc: &Doc, range: Span) -> Vec<Token> {
    tokens(doc)
        .into_iter()
        .filter(|token| token.span.start < range.end && range.start < token.span.end)
        .collect()
}

/// Adds a token, split at line breaks (a `\r` before a `\n` left out).
fn push(out: &mut Vec<Token>, text: &str, span: Span, kind: TokenKind, modifiers: Modifiers) {
    let Some(body) = text.get(span.start..span.end) else {
        return;
    };
    let mut start = span.start;
    for piece in body.split('\n') {
        let trimmed = piece.trim_end_matches('\r');
        if !trimmed.is_empty() {
            out.push(Token {
                span: Span::new(start, start + trimmed.len()),
                kind,
                modifiers,
            });
        }
        start += piece.len() + 1;
    }
}

/// The class of a name the AST does not know (text that did not parse), from its place.
fn fallback(node: tree_sitter::Node<'_>) -> (TokenKind, Modifiers) {
    let Some(parent) = node.parent() else {
        return (VARIABLE, NONE);
    };
    let field = |name: &str| {
        parent
            .child_by_field_name(name)
            .is_some_and(|child| child.id() == node.id())
    };
    match parent.kind() {
        "function_item" | "filter_item" | "pipeline_item" if field("name") => {
            (FUNCTION, DECLARATION)
        }
        "param_item" if field("name") => (VARIABLE, DECLARATION | READONLY | STATIC),
        "parameter" if field("name") => (PARAMETER, DECLARATION | READONLY),
        "let_statement" if field("name") => (VARIABLE, DECLARATION | READONLY),
        "var_statement" if field("name") => (VARIABLE, DECLARATION),
        "for_statement" if field("variable") => (VARIABLE, DECLARATION | READONLY),
        "field_expression" if field("field") => {
            let is_callee = parent.parent().is_some_and(|call| {
                call.kind() == "call_expression"
                    && call
                        .child_by_field_name("function")
                        .is_some_and(|callee| callee.id() == parent.id())
            });
            if is_callee {
                (METHOD, DEFAULT_LIBRARY)
            } else {
                (PROPERTY, DEFAULT_LIBRARY)
            }
        }
        "call_expression" if field("function") => (FUNCTION, NONE),
        "pipeline_stage" if field("name") => (FUNCTION, NONE),
        "named_argument" if field("name") => (VARIABLE, READONLY | STATIC),
        _ => (VARIABLE, NONE),
    }
}

/// The class of each name the AST knows, by the offset where it starts.
struct Names<'d> {
    doc: &'d Doc,
    at: HashMap<usize, (TokenKind, Modifiers)>,
    bindings: HashMap<BindingId, (TokenKind, Modifiers)>,
}

impl<'d> Names<'d> {
    fn collect(doc: &'d Doc) -> Names<'d> {
        let mut names = Names {
            doc,
            at: HashMap::with_capacity(doc.file().expr_count as usize),
            bindings: HashMap::new(),
        };
        for item in &doc.file().items {
            // The declarations of the item's head; `walk_item` visits its body.
            match &item.kind {
                ItemKind::Param(param) => {
                    names.decl(&item.name, (VARIABLE, DECLARATION | READONLY | STATIC));
                    names.ty(&param.ty);
                }
                ItemKind::Function(function) => {
                    names.decl(&item.name, (FUNCTION, DECLARATION));
                    names.params(&function.params);
                    if let Some(ret) = &function.ret {
                        names.ty(ret);
                    }
                }
                ItemKind::Pipeline(pipeline) => {
                    names.decl(&item.name, (FUNCTION, DECLARATION));
                    for stage in &pipeline.stages {
                        names.decl(&stage.name, (FUNCTION, NONE));
                        for (name, _) in &stage.args {
                            names.decl(name, (VARIABLE, READONLY | STATIC));
                        }
                    }
                }
            }
            walk::walk_item(&mut names, item);
        }
        names
    }

    fn decl(&mut self, ident: &Ident, class: (TokenKind, Modifiers)) {
        if !ident.name.is_empty() {
            self.at.insert(ident.span.start, class);
        }
    }

    fn binding(&mut self, binding: &Binding, class: (TokenKind, Modifiers)) {
        self.bindings.insert(
            binding.id,
            (class.0, class.1.without(Modifier::Declaration)),
        );
        self.decl(&binding.name, class);
    }

    fn params(&mut self, params: &[Param]) {
        for param in params {
            self.binding(&param.binding, (PARAMETER, DECLARATION | READONLY));
            self.ty(&param.ty);
        }
    }

    fn ty(&mut self, ty: &TypeExpr) {
        match ty {
            TypeExpr::Named(ident) => self.decl(ident, type_class(&ident.name)),
            TypeExpr::Array(element, _, _) => self.ty(element),
            TypeExpr::Fn(params, ret, _) => {
                for param in params {
                    self.ty(param);
                }
                if let Some(ret) = ret {
                    self.ty(ret);
                }
            }
            TypeExpr::Error(_) => {}
        }
    }

    /// Adds `modification` to the variable an assignment writes.
    fn mark_modified(&mut self, target: &Expr) {
        let mut place = target;
        while let ExprKind::Index(base, _) = &place.kind {
            place = base;
        }
        if let ExprKind::Name(name) = &place.kind {
            if let Some(start) = ident_start(self.doc, place.span, name) {
                if let Some(class) = self.at.get_mut(&start) {
                    class.1 |= MODIFICATION;
                }
            }
        }
    }
}

impl<'a> Visit<'a> for Names<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match &stmt.kind {
            StmtKind::Let { ty: Some(ty), .. } => {
                self.ty(ty);
                walk::walk_stmt(self, stmt);
            }
            StmtKind::Assign { target, value, .. } => {
                self.visit_expr(target);
                self.mark_modified(target);
                self.visit_expr(value);
            }
            _ => walk::walk_stmt(self, stmt),
        }
    }

    /// A variable is classed after its `let`'s value: `let x = x;` reads an outer `x`.
    fn visit_scope(&mut self, binding: &'a Binding, binder: Binder<'a>) {
        let modifiers = match binder {
            Binder::Let { mutable: true, .. } => DECLARATION,
            Binder::Let { .. } | Binder::For { .. } => DECLARATION | READONLY,
        };
        self.binding(binding, (VARIABLE, modifiers));
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match &expr.kind {
            ExprKind::Name(name) => {
                let class = match self.doc.analysis.names.get(&expr.id) {
                    Some(Res::Local(id)) => {
                        self.bindings.get(id).copied().unwrap_or((VARIABLE, NONE))
                    }
                    Some(Res::Param(_)) => (VARIABLE, READONLY | STATIC),
                    Some(Res::Function(_)) => (FUNCTION, NONE),
                    Some(Res::Builtin(_)) => (FUNCTION, DEFAULT_LIBRARY),
                    None => (VARIABLE, NONE),
                };
                if let Some(start) = ident_start(self.doc, expr.span, name) {
                    self.at.insert(start, class);
                }
            }
            ExprKind::Call(callee, args) => {
                match &callee.kind {
                    ExprKind::Field(receiver, method) => {
                        self.visit_expr(receiver);
                        self.decl(method, (METHOD, DEFAULT_LIBRARY));
                    }
                    ExprKind::Name(name) if !self.doc.analysis.names.contains_key(&callee.id) => {
                        // An unknown name, called: still a function.
                        if let Some(start) = ident_start(self.doc, callee.span, name) {
                            self.at.insert(start, (FUNCTION, NONE));
                        }
                    }
                    _ => self.visit_expr(callee),
                }
                for arg in args {
                    self.visit_expr(arg);
                }
            }
            ExprKind::Field(value, field) => {
                self.visit_expr(value);
                self.decl(field, (PROPERTY, DEFAULT_LIBRARY));
            }
            ExprKind::Closure(closure) => {
                self.params(&closure.params);
                if let Some(ret) = &closure.ret {
                    self.ty(ret);
                }
                walk::walk_expr(self, expr);
            }
            _ => walk::walk_expr(self, expr),
        }
    }
}

/// Where the name `name` of a name expression starts: after the parentheses
/// (and comments) that the expression's span includes.
pub(super) fn ident_start(doc: &Doc, span: Span, name: &str) -> Option<usize> {
    let text = doc.slice(span);
    let mut pos = 0;
    loop {
        let rest = text.get(pos..)?;
        let trimmed = rest.trim_start();
        pos += rest.len() - trimmed.len();
        if trimmed.starts_with("//") {
            pos += trimmed.find('\n').map_or(trimmed.len(), |nl| nl + 1);
        } else if trimmed.starts_with('(') {
            pos += 1;
        } else {
            break;
        }
    }
    text.get(pos..)?
        .starts_with(name)
        .then_some(span.start + pos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::check;

    fn kind_name(kind: TokenKind) -> &'static str {
        match kind {
            TokenKind::Keyword => "keyword",
            TokenKind::Type => "type",
            TokenKind::Function => "function",
            TokenKind::Method => "method",
            TokenKind::Parameter => "parameter",
            TokenKind::Variable => "variable",
            TokenKind::Property => "property",
            TokenKind::Number => "number",
            TokenKind::String => "string",
            TokenKind::Comment => "comment",
            TokenKind::Operator => "operator",
        }
    }

    fn modifiers(set: Modifiers) -> String {
        set.iter()
            .map(|modifier| match modifier {
                Modifier::Declaration => ".declaration",
                Modifier::Readonly => ".readonly",
                Modifier::Static => ".static",
                Modifier::Documentation => ".documentation",
                Modifier::DefaultLibrary => ".defaultLibrary",
                Modifier::Modification => ".modification",
            })
            .collect()
    }

    /// One line per token: `line:col text kind.modifiers`.
    fn render(fixture: &str) -> String {
        let fx = crate::fixture::fixture(fixture);
        let text = fx.text.as_str();
        let doc = Doc::new(text);
        let tokens = match fx.range() {
            Some(range) => tokens_in(&doc, range),
            None => tokens(&doc),
        };
        let mut out = String::new();
        for token in tokens {
            let at = doc.lines.line_col(text, token.span.start);
            out.push_str(&format!(
                "{}:{} {} {}{}\n",
                at.line,
                at.col,
                doc.slice(token.span),
                kind_name(token.kind),
                modifiers(token.modifiers)
            ));
        }
        out
    }

    #[test]
    fn the_language_example() {
        check!(r#"//! A soft vignette.

/// How dark the corners get.
param strength: float = 0.5 in 0.0..1.0;

filter vignette(src: image, x: int, y: int) -> color {
    let cx = float(src.width) / 2.0;
    src.at(x, y) * (1.0 - strength * cx)
}

pipeline dark = grayscale |> vignette(strength: 0.8);

fn main() {
    var total = 0;
    for i in 0..3 { total += i; }
    let f = fn(v: float) -> float { v * 2.0 };
    print("é 😀", total, f(1.0), true); // done
}
"#, @r#"
        1:1 //! A soft vignette. comment.documentation
        3:1 /// How dark the corners get. comment.documentation
        4:1 param keyword
        4:7 strength variable.declaration.readonly.static
        4:17 float type.defaultLibrary
        4:23 = operator
        4:25 0.5 number
        4:29 in keyword
        4:32 0.0 number
        4:35 .. operator
        4:37 1.0 number
        6:1 filter keyword
        6:8 vignette function.declaration
        6:17 src parameter.declaration.readonly
        6:22 image type.defaultLibrary
        6:29 x parameter.declaration.readonly
        6:32 int type.defaultLibrary
        6:37 y parameter.declaration.readonly
        6:40 int type.defaultLibrary
        6:48 color type.defaultLibrary
        7:5 let keyword
        7:9 cx variable.declaration.readonly
        7:12 = operator
        7:14 float function.defaultLibrary
        7:20 src parameter.readonly
        7:24 width property.defaultLibrary
        7:31 / operator
        7:33 2.0 number
        8:5 src parameter.readonly
        8:9 at method.defaultLibrary
        8:12 x parameter.readonly
        8:15 y parameter.readonly
        8:18 * operator
        8:21 1.0 number
        8:25 - operator
        8:27 strength variable.readonly.static
        8:36 * operator
        8:38 cx variable.readonly
        11:1 pipeline keyword
        11:10 dark function.declaration
        11:15 = operator
        11:17 grayscale function
        11:27 |> operator
        11:30 vignette function
        11:39 strength variable.readonly.static
        11:49 0.8 number
        13:1 fn keyword
        13:4 main function.declaration
        14:5 var keyword
        14:9 total variable.declaration
        14:15 = operator
        14:17 0 number
        15:5 for keyword
        15:9 i variable.declaration.readonly
        15:11 in keyword
        15:14 0 number
        15:15 .. operator
        15:17 3 number
        15:21 total variable.modification
        15:27 += operator
        15:30 i variable.readonly
        16:5 let keyword
        16:9 f variable.declaration.readonly
        16:11 = operator
        16:13 fn keyword
        16:16 v parameter.declaration.readonly
        16:19 float type.defaultLibrary
        16:29 float type.defaultLibrary
        16:37 v parameter.readonly
        16:39 * operator
        16:41 2.0 number
        17:5 print function.defaultLibrary
        17:11 "é 😀" string
        17:18 total variable
        17:25 f variable.readonly
        17:27 1.0 number
        17:33 true keyword
        17:40 // done comment
        "#);
    }

    #[test]
    fn shadowing_assignment_and_parentheses() {
        check!("fn f(a: int) -> int {\n    var a = (a);\n    a = a + 1;\n    a\n}\n", @"
        1:1 fn keyword
        1:4 f function.declaration
        1:6 a parameter.declaration.readonly
        1:9 int type.defaultLibrary
        1:17 int type.defaultLibrary
        2:5 var keyword
        2:9 a variable.declaration
        2:11 = operator
        2:14 a parameter.readonly
        3:5 a variable.modification
        3:7 = operator
        3:9 a variable
        3:11 + operator
        3:13 1 number
        4:5 a variable
        ");
    }

    #[test]
    fn broken_code_still_has_tokens() {
        check!("fn main() {\n    let c = rgb(1.0, 2.0, 3.0);\n    c.\n    unknown(c @ 1);\n", @"
        1:1 fn keyword
        1:4 main function.declaration
        2:5 let keyword
        2:9 c variable.declaration.readonly
        2:11 = operator
        2:13 rgb function.defaultLibrary
        2:17 1.0 number
        2:22 2.0 number
        2:27 3.0 number
        3:5 c variable
        4:5 unknown method.defaultLibrary
        4:13 c variable
        4:17 1 number
        ");
    }

    #[test]
    fn tokens_in_a_range() {
        check!("fn main() {\n    let a = 1;\n    $0let b = a;$0\n    print(b);\n}\n", @"
        3:5 let keyword
        3:9 b variable.declaration.readonly
        3:11 = operator
        3:13 a variable.readonly
        ");
    }

    #[test]
    fn tokens_are_ordered_single_line_and_never_overlap() {
        let texts = [
            "//! é\n/// ü\r\nparam p: int = 1;\r\nfn main() {\r\n    print(\"a\", p);\r\n}\r\n",
            "fn main() {\n    let s = \"unterminated\n    }}} @@ é 😀 let let\n",
            "pipeline = |> |> (;",
            "",
        ];
        for text in texts {
            let doc = Doc::new(text);
            let tokens = tokens(&doc);
            let mut last_end = 0;
            for token in &tokens {
                assert!(token.span.start >= last_end, "{text:?}: {tokens:?}");
                assert!(token.span.end > token.span.start);
                let slice = doc.slice(token.span);
                assert!(
                    !slice.is_empty() && !slice.contains('\n') && !slice.ends_with('\r'),
                    "{slice:?}"
                );
                last_end = token.span.end;
            }
        }
    }
}
