//! Documents and their printer: texts, possible line breaks, indentation and
//! groups (a group is printed on one line when it fits, else its line breaks
//! are taken), in the style of Wadler's "prettier printer".

use super::{INDENT, MAX_WIDTH};
use std::rc::Rc;

/// A document: what to print, with the possible line breaks.
#[derive(Clone, Debug)]
pub(super) enum Doc {
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
    pub(super) fn is_hard(&self) -> bool {
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

pub(super) fn text(s: &str) -> Doc {
    Doc::Text(Rc::from(s))
}

pub(super) fn concat(docs: Vec<Doc>) -> Doc {
    let hard = docs.iter().any(Doc::is_hard);
    Doc::Concat(Rc::from(docs), hard)
}

pub(super) fn indent(doc: Doc) -> Doc {
    let hard = doc.is_hard();
    Doc::Indent(Rc::new(doc), hard)
}

pub(super) fn group(doc: Doc) -> Doc {
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
pub(super) fn print(doc: &Doc) -> String {
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
