//! The type of an expression inferred from its tokens, for receivers the
//! AST lost.

use super::context::{ends_expression, is_keyword};
use super::view::View;
use crate::lex::{Tok, TokKind};
use chunkvm::builtins::{self, P};
use chunkvm::syntax::ast::ItemKind;
use chunkvm::types::Type;

/// How deep a receiver chain is followed.
const MAX_DEPTH: usize = 32;

/// The type of the expression whose last token is `toks[end - 1]`.
pub(super) fn tokens_type(
    toks: &[Tok<'_>],
    end: usize,
    view: &View<'_>,
    depth: usize,
) -> Option<Type> {
    if depth > MAX_DEPTH {
        return None;
    }
    let last_idx = end.checked_sub(1)?;
    let last = toks.get(last_idx)?;
    let before = |idx: usize, back: usize| idx.checked_sub(back).and_then(|at| toks.get(at));
    match last.kind {
        TokKind::Int => Some(Type::Int),
        TokKind::Float => Some(Type::Float),
        TokKind::Ident => {
            if before(last_idx, 1).is_some_and(|tok| tok.text == ".") {
                let receiver = tokens_type(toks, last_idx - 1, view, depth + 1)?;
                return builtins::field(&receiver, last.text).map(|field| field.ty.to_type());
            }
            name_type(last.text, view)
        }
        TokKind::Punct if last.text == ")" => {
            let open = matching_open(toks, last_idx)?;
            let callee =
                before(open, 1).filter(|tok| tok.kind == TokKind::Ident && !is_keyword(tok.text));
            let Some(callee) = callee else {
                // `(expr)`: the type of what ends inside.
                return tokens_type(toks, last_idx, view, depth + 1);
            };
            if before(open, 2).is_some_and(|tok| tok.text == ".") {
                let receiver = tokens_type(toks, open - 2, view, depth + 1)?;
                return builtins::method(&receiver, callee.text).map(|m| m.ret.to_type());
            }
            if let Some(Type::Fn(f)) = name_type(callee.text, view) {
                return Some(f.ret.clone());
            }
            let builtin = builtins::lookup(callee.text)?;
            let first = builtin.overloads.first()?.ret;
            (builtin.overloads.iter().all(|o| o.ret == first) && first != P::Unit)
                .then(|| first.to_type())
                .filter(|ty| !ty.has_error())
        }
        TokKind::Punct if last.text == "]" => {
            let open = matching_open(toks, last_idx)?;
            if !ends_expression(before(open, 1)) {
                return None;
            }
            match tokens_type(toks, open, view, depth + 1)? {
                Type::Array(elem, _) => Some(*elem),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The index of the bracket that the closer at `close` closes.
fn matching_open(toks: &[Tok<'_>], close: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut idx = close;
    loop {
        let tok = toks.get(idx)?;
        if tok.kind == TokKind::Punct {
            match tok.text {
                ")" | "]" | "}" => depth += 1,
                "(" | "[" | "{" => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(idx);
                    }
                }
                _ => {}
            }
        }
        idx = idx.checked_sub(1)?;
    }
}

/// The type of a name: a local in scope, a `param`, a function.
fn name_type(name: &str, view: &View<'_>) -> Option<Type> {
    let analysis = &view.doc.analysis;
    if let Some(local) = view
        .scope
        .locals
        .iter()
        .rev()
        .find(|local| local.name == name)
    {
        return Some(analysis.binding_type(local.id))
            .filter(|ty| !ty.has_error())
            .cloned()
            .or_else(|| local.written_type.clone());
    }
    let file = view.doc.file();
    let (id, item) = file.item(name)?;
    match &item.kind {
        ItemKind::Pipeline(_) => None,
        _ => Some(analysis.item_type(id))
            .filter(|ty| !ty.has_error())
            .cloned(),
    }
}
