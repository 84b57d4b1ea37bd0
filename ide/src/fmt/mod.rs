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

mod doc;
mod items;
mod tree;

use crate::lex::floor_char_boundary;
use doc::print;
use std::collections::HashMap;
use std::fmt;
use tree::Formatter;

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
    format_tree(source, &tree)
}

/// [`format`] with the text's syntax tree already parsed (an editor's
/// document keeps one up to date: no need to parse the whole file again).
/// `tree` must be the tree of `source` (as a fresh parse would give it).
///
/// # Errors
///
/// As [`format`].
pub fn format_tree(source: &str, tree: &tree_sitter::Tree) -> Result<String, FormatError> {
    format_with(source, tree, true)
}

/// [`format_tree`]; `keep` takes the items printed before from the process's store
/// and keeps the new ones there (tests compare the two ways).
#[doc(hidden)]
pub fn format_with(
    source: &str,
    tree: &tree_sitter::Tree,
    keep: bool,
) -> Result<String, FormatError> {
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
        items: keep.then(items::hold),
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
