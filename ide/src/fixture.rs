//! Test fixtures: Chop text with markers for the cursor and the ranges a test expects.

use chunkvm::syntax::span::Span;

/// A test fixture: the text with its markers removed.
#[derive(Debug)]
pub(crate) struct Fixture {
    /// The text without markers.
    pub text: String,
    /// Where `$0` was (the last one).
    pub cursor: Option<usize>,
    /// Where each `$0` was.
    pub marks: Vec<usize>,
    /// The `«…»` ranges.
    pub ranges: Vec<Span>,
    /// The `‹…›` ranges.
    pub writes: Vec<Span>,
}

/// Parses a fixture: `$0` marks the cursor, `«…»` and `‹…›` mark ranges.
pub(crate) fn fixture(marked: &str) -> Fixture {
    let mut text = String::new();
    let mut marks = Vec::new();
    let mut ranges = Vec::new();
    let mut writes = Vec::new();
    let mut open = Vec::new();
    let mut open_write = Vec::new();
    let mut rest = marked;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("$0") {
            marks.push(text.len());
            rest = &rest[2..];
            continue;
        }
        match c {
            '«' => open.push(text.len()),
            '»' => ranges.push(Span::new(open.pop().unwrap(), text.len())),
            '‹' => open_write.push(text.len()),
            '›' => writes.push(Span::new(open_write.pop().unwrap(), text.len())),
            c => text.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    ranges.sort();
    writes.sort();
    Fixture {
        text,
        cursor: marks.last().copied(),
        marks,
        ranges,
        writes,
    }
}

impl Fixture {
    /// The range between the first two `$0` (empty at a lone one, `None` without).
    pub fn range(&self) -> Option<Span> {
        match self.marks[..] {
            [] => None,
            [at] => Some(Span::new(at, at)),
            [start, end, ..] => Some(Span::new(start, end)),
        }
    }

    /// [`Fixture::range`], or the whole text without markers.
    pub fn range_or_all(&self) -> Span {
        self.range().unwrap_or(Span::new(0, self.text.len()))
    }
}

/// `check!(fixture, @"snapshot")`: the inline snapshot of `render(fixture)`,
/// the `render` of the test module that calls it.
macro_rules! check {
    ($fixture:expr, @$expect:literal) => {
        insta::assert_snapshot!(render($fixture), @$expect)
    };
}
pub(crate) use check;
