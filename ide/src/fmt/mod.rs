//! The canonical formatter of Chop source (`chunkvm fmt`, and the language
//! server's formatting).
//!
//! [`format`] parses the text with the tree-sitter grammar and refuses files
//! that do not parse cleanly (any `ERROR` or `MISSING` node), so formatting
//! never loses text. The style is fixed, in the manner of rustfmt:
//!
//! - 4 spaces of indentation, lines of at most [`MAX_WIDTH`] columns where
//!   the code allows, `\n` line endings, one final newline.
//! - Items are separated by one blank line; runs of `param` items (or of
//!   `pipeline` items) keep the user's grouping. `//!` file docs are followed
//!   by a blank line. Inside blocks, at most one blank line is kept where the
//!   user had some, none after `{` or before `}`.
//! - `param name: type = default in min..max;`, `fn name(a: int) -> int {`,
//!   `a..b` without spaces, binary operators with spaces, no space before
//!   `(` of calls or `[` of indexing. Bodies of items, loops and `if`
//!   statements are always over several lines (`{}` when empty).
//! - Comma lists (arguments, parameters, arrays, type lists, pipeline
//!   arguments) stay on one line when they fit, else one element per line
//!   with a trailing comma. A closure as last argument may overflow the call:
//!   `render(w, h, fn(x: int, y: int) -> color {` ... `})`.
//! - A long chain of operators of one precedence breaks before each
//!   operator, indented; a long pipeline puts each stage after the first on
//!   its own line, `|>` leading, indented.
//! - A closure, an `if` chain or a block used inside an expression, whose
//!   blocks hold a single expression, stays on one line when it fits
//!   (`fn(v: float) -> float { v * gain }`, `if c { a } else { b }`).
//!
//! Every token is kept: comments (`//`, `///`, `//!`) stay at the end of their
//! line when they ended a line of code, and on a line of their own otherwise
//! (the rest of the construct then continues indented); the only tokens added
//! or removed are the trailing commas of comma lists. Literals and
//! parentheses are kept as written, and code nested deeper than the formatter
//! follows is kept as written too.
//!
//! The layout works in two steps: the syntax tree becomes a document of
//! texts, possible line breaks, indentation and groups (a group is printed on
//! one line when it fits, else its line breaks are taken), then the printer
//! picks the layout, in the style of Wadler's "prettier printer".

use crate::lex::floor_char_boundary;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use tree_sitter::{Node, Parser};

/// The maximum line width the formatter aims for.
pub const MAX_WIDTH: usize = 100;

/// The indentation of one level.
const INDENT: usize = 4;

/// How deep the syntax tree may nest before the rest of a node is kept as
/// written (so that formatting cannot overflow the stack).
const MAX_DEPTH: usize = 150;

/// A syntax error that prevents formatting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset of the start of the error.
    pub start: usize,
    /// Byte offset of the end of the error (equal to `start` for missing text).
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
    /// 1-based column of `start`, in characters.
    pub column: usize,
    /// What is wrong, e.g. "missing `;`" or "unexpected `)`".
    pub message: String,
}

/// Why a file could not be formatted: the syntax errors it has, in source
/// order (never empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    /// The syntax errors, first one first.
    pub errors: Vec<SyntaxError>,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.first() {
            Some(e) => write!(
                f,
                "cannot format: the file has syntax errors (first at line {}, column {})",
                e.line, e.column
            ),
            None => write!(f, "cannot format: the file could not be parsed"),
        }
    }
}

impl std::error::Error for FormatError {}

/// Formats a whole Chop file.
///
/// The result uses `\n` line endings and ends with one newline (an empty or
/// blank file gives an empty string).
///
/// # Errors
///
/// Fails, changing nothing, when the file has syntax errors (any `ERROR` or
/// `MISSING` node): the [`FormatError`] lists them.
pub fn format(source: &str) -> Result<String, FormatError> {
    let mut parser = Parser::new();
    let failed = || FormatError {
        errors: vec![syntax_error(source, 0, 0, "the parser failed".to_string())],
    };
    parser
        .set_language(&tree_sitter_chop::LANGUAGE.into())
        .map_err(|_| failed())?;
    let tree = parser.parse(source, None).ok_or_else(failed)?;
    let root = tree.root_node();
    if root.has_error() {
        let mut errors = collect_errors(root, source);
        if errors.is_empty() {
            errors.push(syntax_error(source, 0, 0, "syntax error".to_string()));
        }
        return Err(FormatError { errors });
    }
    let mut formatter = Formatter {
        src: source,
        depth: 0,
        memo: HashMap::new(),
    };
    let doc = formatter.source_file(root);
    Ok(print(&doc))
}

// ------------------------------------------------------------------ errors

fn syntax_error(source: &str, start: usize, end: usize, message: String) -> SyntaxError {
    let start = floor_char_boundary(source, start);
    let before = &source[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    SyntaxError {
        start,
        end,
        line,
        column,
        message,
    }
}

/// The `ERROR` and `MISSING` nodes under `root`, in source order.
fn collect_errors(root: Node<'_>, source: &str) -> Vec<SyntaxError> {
    let mut errors = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.is_missing() {
            let message = format!("missing `{}`", node.kind());
            errors.push(syntax_error(
                source,
                node.start_byte(),
                node.end_byte(),
                message,
            ));
        } else if node.is_error() {
            let text = source.get(node.byte_range()).unwrap_or("");
            let snippet: String = text.trim().chars().take(20).collect();
            let message = if snippet.is_empty() {
                "syntax error".to_string()
            } else {
                format!("unexpected `{}`", snippet.lines().next().unwrap_or(""))
            };
            errors.push(syntax_error(
                source,
                node.start_byte(),
                node.end_byte(),
                message,
            ));
        } else if node.has_error() {
            let mut cursor = node.walk();
            let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
        }
    }
    errors.sort_by_key(|e| (e.start, e.end));
    errors
}

// -------------------------------------------------------------- documents

/// A document: what to print, with the possible line breaks.
#[derive(Clone, Debug)]
enum Doc {
    /// Text without line breaks.
    Text(Rc<str>),
    /// One space, dropped at the start of a line.
    Space,
    /// A space on one line, a line break when the group breaks.
    Line,
    /// Nothing on one line, a line break when the group breaks.
    SoftLine,
    /// Always a line break (it breaks the enclosing groups).
    HardLine,
    /// Always a line break and one empty line.
    BlankLine,
    /// A comment ending a line of code: one space, the comment, a line break.
    /// Its width never counts towards the width of the code before it.
    TrailingComment(Rc<str>),
    /// Text printed only when the enclosing group breaks (trailing commas).
    IfBreak(&'static str),
    /// Source text kept as written, possibly over several lines.
    Verbatim(Rc<str>),
    /// A sequence; the flag says whether it holds a forced line break.
    Concat(Rc<[Doc]>, bool),
    /// One more level of indentation for the line breaks inside.
    Indent(Rc<Doc>, bool),
    /// Printed on one line when it fits, else with its line breaks.
    Group(Rc<Doc>, bool),
    /// A call whose last argument is a closure: `.0` (a group) when it fits
    /// on one line, else `.1` (the closure's body overflowing the call) when
    /// its first line fits, else `.0` broken one argument per line.
    Overflow(Rc<(Doc, Doc)>, bool),
}

impl Doc {
    /// Whether the document holds a forced line break.
    fn is_hard(&self) -> bool {
        match self {
            Doc::Text(_) | Doc::Space | Doc::Line | Doc::SoftLine | Doc::IfBreak(_) => false,
            Doc::HardLine | Doc::BlankLine | Doc::TrailingComment(_) => true,
            Doc::Verbatim(text) => text.contains('\n'),
            Doc::Concat(_, hard)
            | Doc::Indent(_, hard)
            | Doc::Group(_, hard)
            | Doc::Overflow(_, hard) => *hard,
        }
    }
}

fn text(s: &str) -> Doc {
    Doc::Text(Rc::from(s))
}

fn concat(docs: Vec<Doc>) -> Doc {
    let hard = docs.iter().any(Doc::is_hard);
    Doc::Concat(Rc::from(docs), hard)
}

fn indent(doc: Doc) -> Doc {
    let hard = doc.is_hard();
    Doc::Indent(Rc::new(doc), hard)
}

fn group(doc: Doc) -> Doc {
    let hard = doc.is_hard();
    Doc::Group(Rc::new(doc), hard)
}

// ---------------------------------------------------------------- printer

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Flat,
    Break,
}

/// The text being printed. Line breaks, indentation and spaces are written
/// lazily, just before the next text: consecutive line breaks merge (the
/// largest one and the last indentation win), and no line ends with spaces.
struct Printer {
    out: String,
    col: usize,
    /// Line breaks to write before the next text (0, 1 or 2).
    pending_lines: u8,
    /// The indentation of the next line, if `pending_lines > 0`.
    pending_indent: usize,
    pending_space: bool,
}

impl Printer {
    fn column(&self) -> usize {
        if self.pending_lines > 0 {
            self.pending_indent
        } else {
            self.col + usize::from(self.pending_space)
        }
    }

    fn write(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if self.pending_lines > 0 {
            if !self.out.is_empty() {
                for _ in 0..self.pending_lines {
                    self.out.push('\n');
                }
            }
            for _ in 0..self.pending_indent {
                self.out.push(' ');
            }
            self.col = self.pending_indent;
            self.pending_lines = 0;
        } else if self.pending_space {
            self.out.push(' ');
            self.col += 1;
        }
        self.pending_space = false;
        self.out.push_str(s);
        self.col += width(s);
    }

    fn space(&mut self) {
        if self.pending_lines == 0 && !self.out.is_empty() {
            self.pending_space = true;
        }
    }

    fn newline(&mut self, indent: usize, lines: u8) {
        self.pending_lines = self.pending_lines.max(lines);
        self.pending_indent = indent;
        self.pending_space = false;
    }

    /// Source text kept as written: its first line continues the current
    /// line, the next ones keep their own indentation.
    fn verbatim(&mut self, s: &str) {
        let mut lines = s.split('\n');
        if let Some(first) = lines.next() {
            self.write(first);
        }
        for line in lines {
            self.out.push('\n');
            self.out.push_str(line);
            self.col = width(line);
        }
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

type Frame<'d> = (usize, Mode, &'d Doc);

/// Lays `doc` out and prints it.
fn print(doc: &Doc) -> String {
    let mut p = Printer {
        out: String::new(),
        col: 0,
        pending_lines: 0,
        pending_indent: 0,
        pending_space: false,
    };
    let mut stack: Vec<Frame<'_>> = vec![(0, Mode::Break, doc)];
    while let Some((ind, mode, doc)) = stack.pop() {
        match doc {
            Doc::Text(s) => p.write(s),
            Doc::Space => p.space(),
            Doc::Line => match mode {
                Mode::Flat => p.space(),
                Mode::Break => p.newline(ind, 1),
            },
            Doc::SoftLine => {
                if mode == Mode::Break {
                    p.newline(ind, 1);
                }
            }
            Doc::HardLine => p.newline(ind, 1),
            Doc::BlankLine => p.newline(ind, 2),
            Doc::TrailingComment(s) => {
                p.space();
                p.write(s);
                p.newline(ind, 1);
            }
            Doc::IfBreak(s) => {
                if mode == Mode::Break {
                    p.write(s);
                }
            }
            Doc::Verbatim(s) => p.verbatim(s),
            Doc::Concat(docs, _) => {
                for d in docs.iter().rev() {
                    stack.push((ind, mode, d));
                }
            }
            Doc::Indent(d, _) => stack.push((ind + INDENT, mode, d)),
            Doc::Group(d, hard) => {
                let m = if mode == Mode::Flat || (!hard && fits(d, &stack, room(&p))) {
                    Mode::Flat
                } else {
                    Mode::Break
                };
                stack.push((ind, m, d));
            }
            Doc::Overflow(options, _) => {
                let (whole, overflow) = &**options;
                if mode == Mode::Flat || (!whole.is_hard() && fits(whole, &stack, room(&p))) {
                    stack.push((ind, Mode::Flat, whole));
                } else if fits(overflow, &stack, room(&p)) {
                    stack.push((ind, Mode::Break, overflow));
                } else {
                    stack.push((ind, Mode::Break, whole));
                }
            }
        }
    }
    if !p.out.is_empty() {
        p.out.push('\n');
    }
    p.out
}

fn room(p: &Printer) -> isize {
    MAX_WIDTH as isize - p.column() as isize
}

/// Whether `next`, printed flat, and what follows it up to the next line
/// break fit in `room` columns.
fn fits(next: &Doc, rest: &[Frame<'_>], room: isize) -> bool {
    let mut remaining = room;
    let mut stack: Vec<(Mode, &Doc)> = vec![(Mode::Flat, next)];
    let mut rest_index = rest.len();
    loop {
        if remaining < 0 {
            return false;
        }
        let (mode, doc) = match stack.pop() {
            Some(entry) => entry,
            None => {
                if rest_index == 0 {
                    return true;
                }
                rest_index -= 1;
                let (_, mode, doc) = rest[rest_index];
                (mode, doc)
            }
        };
        match doc {
            Doc::Text(s) => remaining -= width(s) as isize,
            Doc::Space => remaining -= 1,
            Doc::Line => match mode {
                Mode::Flat => remaining -= 1,
                Mode::Break => return true,
            },
            Doc::SoftLine => {
                if mode == Mode::Break {
                    return true;
                }
            }
            Doc::HardLine | Doc::BlankLine | Doc::TrailingComment(_) => return true,
            Doc::IfBreak(s) => {
                if mode == Mode::Break {
                    remaining -= width(s) as isize;
                }
            }
            Doc::Verbatim(s) => {
                let first = s.split('\n').next().unwrap_or("");
                remaining -= width(first) as isize;
                if s.contains('\n') {
                    return remaining >= 0;
                }
            }
            Doc::Concat(docs, _) => {
                for d in docs.iter().rev() {
                    stack.push((mode, d));
                }
            }
            Doc::Indent(d, _) => stack.push((mode, d)),
            Doc::Group(d, hard) => stack.push((if *hard { Mode::Break } else { mode }, d)),
            Doc::Overflow(options, _) => stack.push((mode, &options.0)),
        }
    }
}

// -------------------------------------------------------------- formatter

/// Builds the document of a syntax tree.
struct Formatter<'s> {
    src: &'s str,
    depth: usize,
    /// The documents of the nodes already formatted, by node id (a node may be
    /// laid out in two ways, sharing the documents of its children).
    memo: HashMap<usize, Doc>,
}

fn is_comment(node: Node<'_>) -> bool {
    matches!(node.kind(), "comment" | "doc_comment" | "inner_doc_comment")
}

fn is_item(node: Node<'_>) -> bool {
    !is_comment(node)
}

/// The children of `node` with their field names.
fn kids<'t>(node: Node<'t>) -> Vec<(Node<'t>, Option<&'t str>)> {
    let mut out = Vec::new();
    let mut cursor = node.walk();
    if cursor.goto_first_child() {
        loop {
            out.push((cursor.node(), cursor.field_name()));
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
    out
}

/// Whether the generic layout puts a space between two consecutive children
/// (of kinds `prev` and `cur`) of a node of kind `parent`.
fn space_between(parent: &str, prev: &str, cur: &str) -> bool {
    if parent == "unary_expression" {
        return false;
    }
    if matches!(
        cur,
        "," | ";"
            | ")"
            | "]"
            | "["
            | "."
            | ":"
            | ".."
            | "arguments"
            | "parameters"
            | "named_arguments"
            | "type_list"
    ) {
        return false;
    }
    !matches!(prev, "(" | "[" | "." | "..")
}

/// Precedence class of a binary operator (operators of one class chain).
fn precedence(op: &str) -> u8 {
    match op {
        "||" => 1,
        "&&" => 2,
        "==" | "!=" | "<" | "<=" | ">" | ">=" => 3,
        "+" | "-" => 4,
        _ => 5,
    }
}

/// Whether a block holds only a value expression (no statement, no comment)
/// that is neither an `if` nor a block: such a block may sit on one line.
fn is_simple_block(block: Node<'_>) -> bool {
    let children = kids(block);
    children.len() == 3
        && children[0].0.kind() == "{"
        && children[2].0.kind() == "}"
        && children[1].1 == Some("value")
        && !matches!(children[1].0.kind(), "if_expression" | "block")
}

/// Whether an `if` or a block stands as a statement (or as the value of a
/// block, or as a body), rather than inside an expression.
fn in_statement_position(node: Node<'_>) -> bool {
    match node.parent() {
        None => true,
        Some(parent) => matches!(
            parent.kind(),
            "expression_statement"
                | "block"
                | "function_item"
                | "filter_item"
                | "while_statement"
                | "for_statement"
                | "source_file"
        ),
    }
}

impl<'s> Formatter<'s> {
    fn text_of(&self, node: Node<'_>) -> &'s str {
        self.src.get(node.byte_range()).unwrap_or("")
    }

    /// Whether the comment `node` follows code on its line.
    fn is_trailing(&self, node: Node<'_>) -> bool {
        let before = self.src.get(..node.start_byte()).unwrap_or("");
        for b in before.bytes().rev() {
            match b {
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c => {}
                b'\n' => return false,
                _ => return true,
            }
        }
        false
    }

    /// Whether the source has an empty line between byte offsets `from` and
    /// `to` (which hold only whitespace).
    fn blank_between(&self, from: usize, to: usize) -> bool {
        self.src
            .get(from..to)
            .is_some_and(|gap| gap.matches('\n').count() >= 2)
    }

    fn comment_text(&self, node: Node<'_>) -> Doc {
        text(self.text_of(node).trim_end())
    }

    /// A comment inside a construct: at the end of the line it ended, or on
    /// a line of its own.
    fn comment(&self, node: Node<'_>) -> Doc {
        let t = self.text_of(node).trim_end();
        if self.is_trailing(node) {
            Doc::TrailingComment(Rc::from(t))
        } else {
            concat(vec![Doc::HardLine, text(t), Doc::HardLine])
        }
    }

    /// The break before the operator `children[i]`: a line break, unless a
    /// comment ends the line after the operator (then the operator stays at
    /// the end of the line, before the comment).
    fn break_before(&self, children: &[(Node<'_>, Option<&str>)], i: usize) -> Doc {
        match children.get(i + 1) {
            Some(&(next, _)) if is_comment(next) && self.is_trailing(next) => Doc::Space,
            _ => Doc::Line,
        }
    }

    /// The source text of `node`, with `\n` line endings and no spaces at
    /// the ends of its lines.
    fn verbatim(&self, node: Node<'_>) -> Doc {
        let lines: Vec<&str> = self.text_of(node).split('\n').map(str::trim_end).collect();
        Doc::Verbatim(Rc::from(lines.join("\n")))
    }

    /// The document of any node.
    fn node(&mut self, node: Node<'_>) -> Doc {
        if is_comment(node) {
            return self.comment(node);
        }
        if node.child_count() == 0 {
            return text(self.text_of(node));
        }
        if let Some(doc) = self.memo.get(&node.id()) {
            return doc.clone();
        }
        self.depth += 1;
        let doc = if self.depth > MAX_DEPTH {
            self.verbatim(node)
        } else {
            match node.kind() {
                "boolean_literal" | "string_literal" => text(self.text_of(node)),
                "source_file" => self.source_file(node),
                "block" => {
                    if !in_statement_position(node) && is_simple_block(node) {
                        group(self.block_inline(node))
                    } else {
                        self.block(node)
                    }
                }
                "if_expression" => self.if_expression(node),
                "closure_expression" => self.closure(node, false),
                "binary_expression" => self.binary(node),
                "arguments" => self.arguments(node),
                "parameters" | "named_arguments" | "type_list" | "array_expression" => {
                    self.list(node)
                }
                "pipeline_item" => self.pipeline(node),
                _ => self.generic(node),
            }
        };
        self.depth -= 1;
        self.memo.insert(node.id(), doc.clone());
        doc
    }

    /// Children in order, separated by single spaces or nothing (see
    /// [`space_between`]), comments in place.
    fn generic(&mut self, node: Node<'_>) -> Doc {
        self.generic_with(node, |_, _, _| None)
    }

    /// Like [`Self::generic`], with `special` giving the document of some
    /// children.
    fn generic_with(
        &mut self,
        node: Node<'_>,
        mut special: impl FnMut(&mut Self, Node<'_>, Option<&str>) -> Option<Doc>,
    ) -> Doc {
        let parent = node.kind();
        // After a comment, the rest of a node continues one level deeper,
        // except in constructs that end with a block.
        let indent_after_comment = !matches!(
            parent,
            "function_item"
                | "filter_item"
                | "closure_expression"
                | "if_expression"
                | "while_statement"
                | "for_statement"
        );
        let mut docs = Vec::new();
        let mut rest = Vec::new();
        let mut prev: Option<&str> = None;
        let mut after_comment = false;
        for (child, field) in kids(node) {
            if is_comment(child) {
                after_comment = indent_after_comment;
            }
            let docs = if after_comment { &mut rest } else { &mut docs };
            if is_comment(child) {
                docs.push(self.comment(child));
                continue;
            }
            if let Some(p) = prev {
                if space_between(parent, p, child.kind()) {
                    docs.push(Doc::Space);
                }
            }
            let doc = match special(self, child, field) {
                Some(doc) => doc,
                None => self.node(child),
            };
            docs.push(doc);
            prev = Some(child.kind());
        }
        if !rest.is_empty() {
            docs.push(indent(concat(rest)));
        }
        concat(docs)
    }

    /// The file: items one per paragraph, separated by one blank line (runs
    /// of `param` items, or of `pipeline` items, keep the user's grouping).
    fn source_file(&mut self, node: Node<'_>) -> Doc {
        #[derive(PartialEq)]
        enum Last<'k> {
            Nothing,
            Item(&'k str),
            Comment,
            InnerDoc,
        }
        let children = kids(node);
        let mut docs = Vec::new();
        let mut last = Last::Nothing;
        let mut prev_end = 0;
        for (index, (child, _)) in children.iter().enumerate() {
            let child = *child;
            if is_comment(child) && last != Last::Nothing && self.is_trailing(child) {
                docs.push(Doc::TrailingComment(Rc::from(
                    self.text_of(child).trim_end(),
                )));
                prev_end = child.end_byte();
                continue;
            }
            let inner_doc = child.kind() == "inner_doc_comment";
            let kept = || {
                if self.blank_between(prev_end, child.start_byte()) {
                    Doc::BlankLine
                } else {
                    Doc::HardLine
                }
            };
            let sep = match last {
                Last::Nothing => None,
                Last::Item(kind) => {
                    let next_item = children[index..]
                        .iter()
                        .map(|(c, _)| *c)
                        .find(|c| is_item(*c));
                    let grouped = matches!(kind, "param_item" | "pipeline_item")
                        && next_item.is_some_and(|n| n.kind() == kind);
                    Some(if grouped { kept() } else { Doc::BlankLine })
                }
                Last::InnerDoc if !inner_doc => Some(Doc::BlankLine),
                _ => Some(kept()),
            };
            docs.extend(sep);
            if is_item(child) {
                docs.push(self.node(child));
                last = Last::Item(child.kind());
            } else {
                docs.push(self.comment_text(child));
                last = if inner_doc {
                    Last::InnerDoc
                } else {
                    Last::Comment
                };
            }
            prev_end = child.end_byte();
        }
        concat(docs)
    }

    /// A block laid out over several lines (`{}` when empty).
    fn block(&mut self, node: Node<'_>) -> Doc {
        let children = kids(node);
        let n = children.len();
        if n < 2 || children[0].0.kind() != "{" || children[n - 1].0.kind() != "}" {
            return self.generic(node);
        }
        if n == 2 {
            return text("{}");
        }
        let mut inner = Vec::new();
        let mut prev_end = children[0].0.end_byte();
        for (i, (child, _)) in children[1..n - 1].iter().enumerate() {
            let child = *child;
            if is_comment(child) && self.is_trailing(child) {
                inner.push(Doc::TrailingComment(Rc::from(
                    self.text_of(child).trim_end(),
                )));
            } else {
                if i > 0 && self.blank_between(prev_end, child.start_byte()) {
                    inner.push(Doc::BlankLine);
                } else {
                    inner.push(Doc::HardLine);
                }
                if is_comment(child) {
                    inner.push(self.comment_text(child));
                } else {
                    inner.push(self.node(child));
                }
            }
            prev_end = child.end_byte();
        }
        concat(vec![
            text("{"),
            indent(concat(inner)),
            Doc::HardLine,
            text("}"),
        ])
    }

    /// A simple block (see [`is_simple_block`]) as `{ value }` on one line
    /// when the enclosing group fits, else over three lines.
    fn block_inline(&mut self, node: Node<'_>) -> Doc {
        let children = kids(node);
        if children.len() != 3 {
            return self.block(node);
        }
        let value = self.node(children[1].0);
        concat(vec![
            text("{"),
            indent(concat(vec![Doc::Line, value])),
            Doc::Line,
            text("}"),
        ])
    }

    /// `if c { a } else if d { b } else { c }`: on one line when all its
    /// blocks are simple, it is used as a value and it fits, else over
    /// several lines.
    fn if_expression(&mut self, node: Node<'_>) -> Doc {
        let inline = !in_statement_position(node) && if_chain_is_simple(node);
        let doc = self.if_chain(node, inline);
        if inline {
            group(doc)
        } else {
            doc
        }
    }

    fn if_chain(&mut self, node: Node<'_>, inline: bool) -> Doc {
        self.depth += 1;
        let doc = if self.depth > MAX_DEPTH {
            self.verbatim(node)
        } else {
            self.generic_with(node, |f, child, field| match field {
                Some("consequence" | "alternative") if child.kind() == "block" => Some(if inline {
                    f.block_inline(child)
                } else {
                    f.block(child)
                }),
                Some("alternative") if child.kind() == "if_expression" => {
                    Some(f.if_chain(child, inline))
                }
                _ => None,
            })
        };
        self.depth -= 1;
        doc
    }

    /// `fn(v: float) -> float { v * gain }`, on one line when its body is a
    /// simple block and it fits (never when `expanded`).
    fn closure(&mut self, node: Node<'_>, expanded: bool) -> Doc {
        let inline = !expanded
            && node
                .child_by_field_name("body")
                .is_some_and(is_simple_block);
        let doc = self.generic_with(node, |f, child, field| {
            if field == Some("body") && child.kind() == "block" {
                Some(if inline {
                    f.block_inline(child)
                } else {
                    f.block(child)
                })
            } else {
                None
            }
        });
        if inline {
            group(doc)
        } else {
            doc
        }
    }

    /// A chain of binary operators of one precedence, `a + b - c`: on one
    /// line when it fits, else broken before each operator, indented.
    fn binary(&mut self, node: Node<'_>) -> Doc {
        let class = |n: Node<'_>| {
            n.child_by_field_name("operator")
                .map(|op| precedence(op.kind()))
        };
        let top = class(node);
        // The left spine of operators of the same class, outermost first.
        let mut spine = vec![node];
        let mut current = node;
        while let Some(left) = current.child_by_field_name("left") {
            if left.kind() == "binary_expression" && class(left) == top {
                spine.push(left);
                current = left;
            } else {
                break;
            }
        }
        let mut head = Vec::new();
        let mut tail = Vec::new();
        let mut first = true;
        for (level, n) in spine.iter().rev().enumerate() {
            let children = kids(*n);
            for (i, &(child, field)) in children.iter().enumerate() {
                if is_comment(child) {
                    let doc = self.comment(child);
                    if first {
                        head.push(doc);
                    } else {
                        tail.push(doc);
                    }
                    continue;
                }
                match field {
                    Some("left") => {
                        if level == 0 {
                            head.push(self.node(child));
                            first = false;
                        }
                    }
                    Some("operator") => {
                        tail.push(self.break_before(&children, i));
                        tail.push(text(self.text_of(child)));
                    }
                    _ => {
                        tail.push(Doc::Space);
                        tail.push(self.node(child));
                    }
                }
            }
        }
        group(concat(vec![concat(head), indent(concat(tail))]))
    }

    /// A comma list in brackets: on one line when it fits, else one element
    /// per line with a trailing comma.
    fn list(&mut self, node: Node<'_>) -> Doc {
        let children = kids(node);
        let n = children.len();
        if n < 2 {
            return self.generic(node);
        }
        let (open, close) = (children[0].0, children[n - 1].0);
        if !matches!(open.kind(), "(" | "[") || !matches!(close.kind(), ")" | "]") {
            return self.generic(node);
        }
        let inner = &children[1..n - 1];
        if inner.is_empty() {
            return concat(vec![text(open.kind()), text(close.kind())]);
        }
        let is_element = |c: Node<'_>| !is_comment(c) && c.kind() != ",";
        let last_element = inner.iter().rposition(|(c, _)| is_element(*c));
        let trailing_comma =
            last_element.is_some_and(|last| inner[last + 1..].iter().any(|(c, _)| c.kind() == ","));
        let mut docs = Vec::new();
        let mut first = true;
        for (i, (child, _)) in inner.iter().enumerate() {
            let child = *child;
            if is_comment(child) {
                docs.push(self.comment(child));
            } else if child.kind() == "," {
                if last_element.is_some_and(|last| i > last) {
                    docs.push(Doc::IfBreak(","));
                } else {
                    docs.push(text(","));
                }
            } else {
                docs.push(if first { Doc::SoftLine } else { Doc::Line });
                first = false;
                docs.push(self.node(child));
                if Some(i) == last_element && !trailing_comma {
                    docs.push(Doc::IfBreak(","));
                }
            }
        }
        group(concat(vec![
            text(open.kind()),
            indent(concat(docs)),
            Doc::SoftLine,
            text(close.kind()),
        ]))
    }

    /// Call arguments: a list, where a last closure argument may overflow
    /// the call (`render(w, h, fn(x: int, y: int) -> color {` ... `})`).
    fn arguments(&mut self, node: Node<'_>) -> Doc {
        let whole = self.list(node);
        let children = kids(node);
        let n = children.len();
        if n < 3 || children.iter().any(|(c, _)| is_comment(*c)) {
            return whole;
        }
        let elements: Vec<Node<'_>> = children[1..n - 1]
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| c.kind() != ",")
            .collect();
        let Some((last, before)) = elements.split_last() else {
            return whole;
        };
        if last.kind() != "closure_expression" {
            return whole;
        }
        let mut docs = vec![text(children[0].0.kind())];
        for element in before {
            let doc = self.node(*element);
            if doc.is_hard() {
                return whole;
            }
            docs.push(doc);
            docs.push(text(","));
            docs.push(Doc::Space);
        }
        self.depth += 1;
        docs.push(self.closure(*last, true));
        self.depth -= 1;
        docs.push(text(children[n - 1].0.kind()));
        let overflow = concat(docs);
        let hard = whole.is_hard();
        Doc::Overflow(Rc::new((whole, overflow)), hard)
    }

    /// `pipeline p = a |> b(x: 1.0) |> c;` on one line when it fits, else
    /// one stage per line after the first, `|>` leading, indented.
    fn pipeline(&mut self, node: Node<'_>) -> Doc {
        let mut head = Vec::new();
        let mut tail = Vec::new();
        // The first stage, or the first comment, ends the head.
        let mut in_tail = false;
        let children = kids(node);
        for (i, &(child, _)) in children.iter().enumerate() {
            in_tail |= is_comment(child);
            let target = if in_tail { &mut tail } else { &mut head };
            if is_comment(child) {
                target.push(self.comment(child));
                continue;
            }
            match child.kind() {
                "pipeline" => target.push(text("pipeline")),
                "|>" => {
                    target.push(self.break_before(&children, i));
                    target.push(text("|>"));
                }
                ";" => target.push(text(";")),
                _ => {
                    target.push(Doc::Space);
                    target.push(self.node(child));
                    in_tail |= child.kind() == "pipeline_stage";
                }
            }
        }
        group(concat(vec![concat(head), indent(concat(tail))]))
    }
}

/// Whether every block of an `if` chain is simple (see [`is_simple_block`]).
fn if_chain_is_simple(node: Node<'_>) -> bool {
    let mut current = node;
    loop {
        if !current
            .child_by_field_name("consequence")
            .is_some_and(is_simple_block)
        {
            return false;
        }
        match current.child_by_field_name("alternative") {
            None => return true,
            Some(alt) if alt.kind() == "if_expression" => current = alt,
            Some(alt) => return is_simple_block(alt),
        }
    }
}
