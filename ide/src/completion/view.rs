//! The analysis completion works with: the document, or a copy with a
//! placeholder at the cursor.

use crate::lex::{self, floor_char_boundary, TokKind};
use crate::scope;
use crate::walk;
use crate::Doc;
use chunkvm::syntax::ast::Item;
use chunkvm::types::Type;

/// The placeholder put at the cursor so that the text around it parses.
pub(super) const PLACEHOLDER: &str = "__cursor__";

/// The analysis completion works with: the document, or a copy with a
/// placeholder at the cursor when that gives the cursor an enclosing item.
pub(super) struct View<'d> {
    pub(super) doc: std::borrow::Cow<'d, Doc>,
    pub(super) original: &'d Doc,
    /// The cursor's offset in `doc`.
    pub(super) at: usize,
    /// The cursor's offset in `original`.
    pub(super) offset: usize,
    pub(super) scope: scope::Scope,
}

impl<'d> View<'d> {
    /// The view at `offset`; `semicolon` is where a missing `;` goes.
    pub(super) fn new(original: &'d Doc, offset: usize, semicolon: Option<usize>) -> View<'d> {
        let text: &str = &original.text;
        let offset = floor_char_boundary(text, offset);
        // The edit starts at the missing `;`, if any, and ends at the cursor.
        let semicolon = semicolon.filter(|at| *at <= offset && text.is_char_boundary(*at));
        let start = semicolon.unwrap_or(offset);
        let between = text.get(start..offset).unwrap_or("");
        let inserted = match semicolon {
            Some(_) => format!(";{between}{PLACEHOLDER}"),
            None => PLACEHOLDER.to_string(),
        };
        let at = offset + usize::from(semicolon.is_some());
        let mut fallback: Option<(Doc, scope::Scope)> = None;
        // The placeholder in the text; or (only when that gives no body), the
        // text after the cursor dropped and the brackets open before it closed.
        for attempt in 0..2 {
            let (end, patch) = if attempt == 0 {
                (offset, inserted.clone())
            } else {
                let head = format!(
                    "{}{}",
                    text.get(..start).unwrap_or(""),
                    &inserted[..inserted.len() - PLACEHOLDER.len()]
                );
                (text.len(), format!("{inserted}{}", closers(&head)))
            };
            let Some(doc) = original.edited(chunkvm::syntax::span::Span::new(start, end), &patch)
            else {
                continue;
            };
            let scope = scope::at(&doc, at);
            if scope.in_body {
                return View {
                    doc: std::borrow::Cow::Owned(doc),
                    original,
                    at,
                    offset,
                    scope,
                };
            }
            if scope.in_item && fallback.is_none() {
                fallback = Some((doc, scope));
            }
        }
        match fallback {
            Some((doc, scope)) => View {
                doc: std::borrow::Cow::Owned(doc),
                original,
                at,
                offset,
                scope,
            },
            None => View {
                doc: std::borrow::Cow::Borrowed(original),
                original,
                at: offset,
                offset,
                scope: scope::at(original, offset),
            },
        }
    }

    /// The items of the file: those of the view, then those of the original
    /// document the view lost; not the one whose name is being typed.
    pub(super) fn items(&self) -> Vec<(&Item, &Doc)> {
        let mut out: Vec<(&Item, &Doc)> = self
            .doc
            .file()
            .items
            .iter()
            .filter(|item| !item.name.name.is_empty() && !item.name.name.contains(PLACEHOLDER))
            .filter(|item| {
                !std::ptr::eq(&*self.doc, self.original) || !item.name.span.contains(self.offset)
            })
            .map(|item| (&**item, &*self.doc))
            .collect();
        for item in &self.original.file().items {
            if !item.name.name.is_empty()
                && !item.name.span.contains(self.offset)
                && !out
                    .iter()
                    .any(|(known, _)| known.name.name == item.name.name)
            {
                out.push((&**item, self.original));
            }
        }
        out
    }

    /// The type of the receiver of the field whose name starts at `word_start`.
    pub(super) fn receiver_type(&self, word_start: usize) -> Option<Type> {
        let mut found = None;
        walk::exprs(self.doc.file(), &mut |expr| {
            if let chunkvm::syntax::ast::ExprKind::Field(value, field) = &expr.kind {
                if field.span.start == word_start
                    || field.name.is_empty()
                        && value.span.end <= word_start
                        && field.span.start >= word_start
                {
                    let ty = self.doc.analysis.type_of(value.id);
                    if !ty.has_error() {
                        found = Some(ty.clone());
                    }
                }
            }
        });
        found
    }
}

/// The brackets that close what `text` leaves open, innermost first.
pub(super) fn closers(text: &str) -> String {
    let toks = lex::lex(text);
    let mut stack: Vec<char> = Vec::new();
    for tok in toks.iter().filter(|tok| tok.kind == TokKind::Punct) {
        match tok.text {
            "(" => stack.push(')'),
            "[" => stack.push(']'),
            "{" => stack.push('}'),
            ")" | "]" | "}" => {
                let closer = tok.text.chars().next().unwrap_or(' ');
                if let Some(pos) = stack.iter().rposition(|&ch| ch == closer) {
                    stack.truncate(pos);
                }
            }
            _ => {}
        }
    }
    let mut out = String::new();
    for closer in stack.iter().rev() {
        if *closer == '}' {
            out.push_str(";\n");
        }
        out.push(*closer);
    }
    out
}
