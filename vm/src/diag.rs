//! Diagnostics: what is wrong, where, and a stable code for it.
//!
//! Every diagnostic the language reports has a code from [`Code`]; codes
//! never change meaning, so editors, tests and documentation can rely on
//! them (`docs/diagnostics.md` lists them all).

use crate::syntax::ast::BinOp;
use crate::syntax::span::{LineIndex, Span};
use crate::types::Type;

/// How bad a diagnostic is.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub enum Severity {
    /// The program cannot run.
    Error,
    /// The program runs, but probably not as meant.
    Warning,
}

impl Severity {
    /// The severity as shown: `error`, `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $summary:literal;)*) => {
        /// The stable code of a diagnostic.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
        pub enum Code {
            $(#[doc = $summary] $variant,)*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as shown: `E0001`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    Syntax = "E0001", "Syntax error: the text does not parse.";
    Missing = "E0002", "Something is missing, such as a `;` or a closing `}`.";
    UnknownName = "E0003", "A name that is not defined here.";
    TypeMismatch = "E0004", "A value of the wrong type.";
    ArgCount = "E0005", "A call with the wrong number of arguments.";
    UnknownField = "E0006", "A field or method that the type does not have.";
    Duplicate = "E0007", "A name defined twice in the same scope.";
    Immutable = "E0008", "An assignment to something that cannot change (`let`, a parameter, a `param`).";
    NotCallable = "E0009", "A call of something that is not a function.";
    MissingReturn = "E0010", "A function that can end without returning its value.";
    UnknownType = "E0011", "A type name that does not exist.";
    BreakOutsideLoop = "E0012", "`break` or `continue` outside a loop.";
    InvalidAssignTarget = "E0013", "The left of `=` is not a variable or an array element.";
    NotIndexable = "E0014", "Indexing something that is not an array.";
    BadArrayLength = "E0015", "An array length that is not a positive integer constant, or that does not match.";
    ParamOutOfRange = "E0016", "A `param` default outside its range, or a range with min above max.";
    NotConstant = "E0017", "A `param` default, range or pipeline argument that is not a constant.";
    BadFilterSignature = "E0018", "A filter whose signature is neither a point filter nor a kernel filter.";
    BadPipelineStage = "E0019", "A pipeline stage that is not a filter, or an override of an unknown param.";
    UnsupportedType = "E0020", "A type that cannot be used here (a `param` of array type, a `str` variable, ...).";
    NoMain = "E0021", "A `main` that `chunkvm run` cannot call: it must be `fn main()`.";
    UseAfterItem = "E0022", "A `use` after a param, function, filter or pipeline: uses come first.";
    MissingFile = "E0023", "A `use` of a file that cannot be read (the paths tried are listed).";
    UseCycle = "E0024", "Files that use each other in a cycle (the cycle is named).";
    UnknownItem = "E0025", "A qualified name (`m.name`) naming no public item of the used file, or an unknown `m`.";
    Ambiguous = "E0026", "A name defined by two used files, used unqualified: qualify it (`m.name`).";
    Unreachable = "W0001", "Code that can never run.";
    UnusedVariable = "W0002", "A local variable that is never read.";
}

/// One diagnostic: a message about a range of a file.
#[derive(Clone, PartialEq, Debug)]
pub struct Diagnostic {
    /// Its stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The source range it is about.
    pub span: Span,
    /// An optional hint on how to fix it.
    pub help: Option<String>,
    /// For a type error, the types it is about (what the message says in
    /// words), for quick fixes to read.
    pub types: Option<Box<TypeFacts>>,
}

/// The types a type error is about.
#[derive(Clone, PartialEq, Debug)]
pub enum TypeFacts {
    /// A value of type `found` where `expected` is wanted.
    Mismatch {
        /// The type wanted.
        expected: Type,
        /// The type given.
        found: Type,
    },
    /// An operator applied to operands it does not take: `left op right`, or
    /// with `assign`, `left op= right`.
    Operands {
        /// The operator.
        op: BinOp,
        /// A compound assignment rather than an expression.
        assign: bool,
        /// The type of the left operand (the place assigned to).
        left: Type,
        /// The type of the right operand (the value).
        right: Type,
    },
}

impl Diagnostic {
    /// An error.
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            help: None,
            types: None,
        }
    }

    /// A warning.
    pub fn warning(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds the types a type error is about.
    pub fn with_types(mut self, types: TypeFacts) -> Diagnostic {
        self.types = Some(Box::new(types));
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic as `file:line:col: error: message [E0004]`, then the source
    /// line and carets under the range, then the help.
    pub fn render(&self, path: &str, text: &str, lines: &LineIndex) -> String {
        let start = lines.line_col(text, self.span.start);
        let severity = self.severity.as_str();
        let mut out = format!(
            "{path}:{}:{}: {severity}: {} [{}]\n",
            start.line,
            start.col,
            self.message,
            self.code.as_str()
        );
        out.push_str(&snippet(text, lines, self.span));
        if let Some(help) = &self.help {
            let gutter = start.line.to_string().len();
            out.push_str(&format!("{} = help: {help}\n", " ".repeat(gutter)));
        }
        out
    }
}

/// The most characters of a source line a snippet shows; a longer line shows a window
/// around the span, with `...` where text is cut.
pub const SNIPPET_WIDTH: usize = 100;
/// Characters of context a cut line keeps before the span.
const SNIPPET_BEFORE: usize = 30;
/// "it has: a, b", or "it has no params" when `names` is empty (`subject`
/// "it", `what` "params").
pub fn has_names(subject: &str, names: &[&str], what: &str) -> String {
    if names.is_empty() {
        format!("{subject} has no {what}")
    } else {
        format!("{subject} has: {}", names.join(", "))
    }
}

/// "1 stage", "2 stages": a count and its noun (plural with `s`).
pub fn plural(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// The source line holding `span.start`, with carets under the span (to the line's
/// end when the span goes on), tabs kept so the carets line up. A line longer than
/// [`SNIPPET_WIDTH`] characters shows a window of it from a little before the span, as
/// rustc does: `...` marks the cut ends and the carets stay under the window.
pub fn snippet(text: &str, lines: &LineIndex, span: Span) -> String {
    let start = lines.line_col(text, span.start);
    let line_text = lines.line_text(text, span.start);
    let gutter = start.line.to_string();
    let chars: Vec<char> = line_text.chars().collect();
    let end = lines.line_col(text, span.end);
    let last_col = if end.line == start.line {
        end.col
    } else {
        chars.len() as u32 + 1
    };
    // Columns are 1-based; `first` and `stop` index `chars`.
    let col = (start.col as usize).saturating_sub(1).min(chars.len());
    let (first, stop) = if chars.len() <= SNIPPET_WIDTH {
        (0, chars.len())
    } else {
        let first = col.saturating_sub(SNIPPET_BEFORE);
        let stop = (first + SNIPPET_WIDTH).min(chars.len());
        (stop.saturating_sub(SNIPPET_WIDTH).min(first), stop)
    };
    let head = if first > 0 { "..." } else { "" };
    let tail = if stop < chars.len() { "..." } else { "" };
    let shown: String = chars[first..stop].iter().collect();
    // Carets from the span's start to its end, or to the window's end (one past the
    // last character, so an empty span or one at the line's end still gets a caret).
    let width = (last_col as usize)
        .saturating_sub(1)
        .min(stop.max(col + 1))
        .saturating_sub(col)
        .max(1);
    let pad: String = head
        .chars()
        .map(|_| ' ')
        .chain(
            chars[first..col]
                .iter()
                .map(|&ch| if ch == '\t' { '\t' } else { ' ' }),
        )
        .collect();
    format!(
        "{gutter} | {head}{shown}{tail}\n{} | {pad}{}\n",
        " ".repeat(gutter.len()),
        "^".repeat(width)
    )
}

/// The reason of an I/O error in a message: short, one line, without the `(os error N)`
/// suffix (`cannot read a.chop: no such file`).
pub fn io_reason(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::NotFound => "no such file".to_string(),
        ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => {
            let text = err.to_string();
            let text = match text.find(" (os error") {
                Some(at) => text[..at].to_string(),
                None => text,
            };
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert_eq!(text.len(), 5);
            assert!(text.starts_with('E') || text.starts_with('W'));
            assert!(code.summary().ends_with('.'));
        }
    }

    #[test]
    fn render_points_at_the_range() {
        let text = "fn main() {\n    let x = 1 + true;\n}\n";
        let lines = LineIndex::new(text);
        let start = text.find("true").unwrap();
        let diag = Diagnostic::error(Code::TypeMismatch, Span::new(start, start + 4), "bad");
        let out = diag.render("a.chop", text, &lines);
        assert_eq!(
            out,
            "a.chop:2:17: error: bad [E0004]\n2 |     let x = 1 + true;\n  |                 ^^^^\n"
        );
    }

    #[test]
    fn a_long_line_shows_a_window_around_the_span() {
        let long = format!(
            "let x = {}oops{};",
            "a".repeat(100_000),
            "b".repeat(100_000)
        );
        let text = format!("fn main() {{\n    {long}\n}}\n");
        let lines = LineIndex::new(&text);
        let start = text.find("oops").unwrap();
        let out = snippet(&text, &lines, Span::new(start, start + 4));
        let [source, carets] = out.lines().collect::<Vec<_>>()[..] else {
            panic!("two lines: {out}");
        };
        assert!(source.len() < 120, "{source}");
        assert!(
            source.starts_with("2 | ...") && source.ends_with("..."),
            "{source}"
        );
        // The carets sit under `oops`, and only there.
        let at = carets.find('^').unwrap();
        assert_eq!(&source[at..at + 4], "oops");
        assert_eq!(carets.trim_end().len(), at + 4);
        // A span running past the window gets carets to the window's end only.
        let out = snippet(&text, &lines, Span::new(start, start + 50_000));
        let carets = out.lines().nth(1).unwrap();
        assert!(carets.len() < 120, "{carets}");
        // A short line is shown whole, as before.
        let text = "ab\tcd\n";
        let lines = LineIndex::new(text);
        assert_eq!(
            snippet(text, &lines, Span::new(3, 5)),
            "1 | ab\tcd\n  |   \t^^\n"
        );
    }
}
