//! The completions of each context: keywords, members, filters, values.

use super::view::{View, PLACEHOLDER};
use super::{Completion, CompletionKind, Insert};
use crate::walk;
use crate::Doc;
use chunkvm::builtins::{self, P};
use chunkvm::syntax::ast::{Item, ItemKind};
use chunkvm::types::Type;
use std::collections::HashSet;
use std::sync::Arc;

pub(super) fn item_level(out: &mut Vec<Completion>) {
    for word in ["param", "filter", "fn", "pipeline"] {
        out.push(Completion::new(word, CompletionKind::Keyword));
    }
    let snippets: [(&str, &str, Insert); 5] = [
        (
            "filter (point)",
            "filter f(c: color) -> color { ... }",
            Insert::text("filter ")
                .placeholder(1, "name")
                .then("(c: color) -> color {\n    ")
                .cursor("c")
                .then("\n}"),
        ),
        (
            "filter (kernel)",
            "filter f(src: image, x: int, y: int) -> color { ... }",
            Insert::text("filter ")
                .placeholder(1, "name")
                .then("(src: image, x: int, y: int) -> color {\n    ")
                .cursor("src.at(x, y)")
                .then("\n}"),
        ),
        (
            "fn",
            "fn f(...) -> T { ... }",
            Insert::text("fn ")
                .placeholder(1, "name")
                .then("(")
                .placeholder(2, "")
                .then(") -> ")
                .placeholder(3, "float")
                .then(" {\n    ")
                .cursor("")
                .then("\n}"),
        ),
        (
            "param",
            "param p: float = 0.5 in 0.0..1.0;",
            Insert::text("param ")
                .placeholder(1, "name")
                .then(": ")
                .placeholder(2, "float")
                .then(" = ")
                .placeholder(3, "0.5")
                .then(" in ")
                .placeholder(4, "0.0")
                .then("..")
                .placeholder(5, "1.0")
                .then(";")
                .cursor(""),
        ),
        (
            "pipeline",
            "pipeline p = a |> b;",
            Insert::text("pipeline ")
                .placeholder(1, "name")
                .then(" = ")
                .placeholder(2, "filter")
                .then(";")
                .cursor(""),
        ),
    ];
    for (label, detail, body) in snippets {
        out.push(
            Completion::new(label, CompletionKind::Snippet)
                .detail(detail)
                .insert(body),
        );
    }
}

pub(super) fn statement_keywords(out: &mut Vec<Completion>, in_loop: bool) {
    for word in ["let", "var", "if", "while", "for", "return"] {
        out.push(Completion::new(word, CompletionKind::Keyword));
    }
    if in_loop {
        for word in ["break", "continue"] {
            out.push(Completion::new(word, CompletionKind::Keyword));
        }
    }
    // A block statement: the keyword and its first place, then the head's
    // other places, then the braces with the cursor inside.
    let block =
        |keyword: &str, first: &str| Insert::text(format!("{keyword} ")).placeholder(1, first);
    let braces = |head: Insert| head.then(" {\n    ").cursor("").then("\n}");
    let snippets: [(&str, &str, Insert); 3] = [
        (
            "for",
            "for i in a..b { ... }",
            braces(
                block("for", "i")
                    .then(" in ")
                    .placeholder(2, "0")
                    .then("..")
                    .placeholder(3, "n"),
            ),
        ),
        ("if", "if c { ... }", braces(block("if", "condition"))),
        (
            "while",
            "while c { ... }",
            braces(block("while", "condition")),
        ),
    ];
    for (label, detail, body) in snippets {
        out.push(
            Completion::new(label, CompletionKind::Snippet)
                .detail(detail)
                .insert(body),
        );
    }
}

pub(super) fn members(out: &mut Vec<Completion>, ty: Option<&Type>, call_follows: bool) {
    let receiver = ty.map(Type::to_string);
    let fits = |name: &str| receiver.as_deref().is_none_or(|receiver| receiver == name);
    for field in builtins::FIELDS.iter().filter(|field| fits(field.receiver)) {
        out.push(
            Completion::new(field.name, CompletionKind::Field)
                .detail(field.ty.to_type().to_string())
                .doc(Some(field.doc.to_string())),
        );
    }
    for method in builtins::METHODS
        .iter()
        .filter(|method| fits(method.receiver))
    {
        let params: Vec<String> = method
            .params
            .iter()
            .map(|(name, ty)| format!("{name}: {}", p_name(*ty)))
            .collect();
        let ret = match method.ret {
            P::Unit => String::new(),
            other => format!(" -> {}", p_name(other)),
        };
        let mut item = Completion::new(method.name, CompletionKind::Method)
            .detail(format!("fn {}({}){ret}", method.name, params.join(", ")))
            .doc(Some(method.doc.to_string()));
        if !call_follows {
            item = item.insert(Insert::call(method.name));
        }
        out.push(item);
    }
}

/// A builtin parameter type as written.
fn p_name(ty: P) -> String {
    match ty {
        P::AnyArray => "[T; N]".to_string(),
        P::Variadic => "...".to_string(),
        other => other.to_type().to_string(),
    }
}

pub(super) fn builtin_completion(builtin: &builtins::Builtin, call_follows: bool) -> Completion {
    let signatures = builtin.signatures();
    let mut detail = signatures.first().cloned().unwrap_or_default();
    if signatures.len() > 1 {
        detail.push_str(&format!(
            " (+{})",
            chunkvm::diag::plural(signatures.len() as u64 - 1, "overload")
        ));
    }
    let doc = format!("```chop\n{}\n```\n\n{}", signatures.join("\n"), builtin.doc);
    let mut item = Completion::new(builtin.name, CompletionKind::Builtin)
        .detail(detail)
        .doc(Some(doc));
    if !call_follows {
        item = item.insert(Insert::call(builtin.name));
    }
    item
}

/// `fn name(a: int) -> int` (or `filter ...`) as written.
pub(super) fn signature(doc: &Doc, item: &Item) -> Option<String> {
    let ItemKind::Function(function) = &item.kind else {
        return None;
    };
    let params: Vec<String> = function
        .params
        .iter()
        .map(|param| doc.slice(param.span).to_string())
        .collect();
    let ret = function
        .ret
        .as_ref()
        .map(|ret| doc.slice(ret.span()))
        .filter(|ret| !ret.is_empty())
        .map(|ret| format!(" -> {ret}"))
        .unwrap_or_default();
    let word = if function.is_filter { "filter" } else { "fn" };
    Some(format!(
        "{word} {}({}){ret}",
        item.name.name,
        params.join(", ")
    ))
}

/// `float = 0.5 in 0.0..1.0` for a `param` item.
pub(super) fn param_detail(doc: &Doc, item: &Item) -> String {
    let ItemKind::Param(param) = &item.kind else {
        return String::new();
    };
    let mut out = format!(
        "{} = {}",
        doc.slice(param.ty.span()),
        doc.slice(param.default.span)
    );
    if let Some((min, max)) = &param.range {
        out.push_str(&format!(
            " in {}..{}",
            doc.slice(min.span),
            doc.slice(max.span)
        ));
    }
    out
}

/// The `param` items a function reads, directly or through the functions it calls.
fn params_read(doc: &Doc, item: &Item) -> Vec<String> {
    use chunkvm::check::Res;
    let file = doc.file();
    let mut todo = vec![item];
    let mut seen_fns: HashSet<*const Item> = HashSet::new();
    let mut params: Vec<String> = Vec::new();
    while let Some(current) = todo.pop() {
        if !seen_fns.insert(current as *const Item) {
            continue;
        }
        walk::item_exprs(current, &mut |expr| {
            let Some(res) = doc.analysis.names.get(&expr.id) else {
                return;
            };
            match res {
                Res::Param(id) => {
                    if let Some(param) = file.items.get(id.0 as usize) {
                        if !params.contains(&param.name.name) {
                            params.push(param.name.name.clone());
                        }
                    }
                }
                Res::Function(id) => {
                    if let Some(callee) = file.items.get(id.0 as usize) {
                        todo.push(callee);
                    }
                }
                _ => {}
            }
        });
    }
    params
}

pub(super) fn filters(out: &mut Vec<Completion>, view: &View<'_>) {
    for (item, info) in view.items() {
        let ItemKind::Function(function) = &item.kind else {
            continue;
        };
        if !function.is_filter {
            continue;
        }
        let mut detail = signature(info, item).unwrap_or_default();
        // The view may have blanked bodies out: read them in the original.
        let params = match view.original.file().item(&item.name.name) {
            Some((_, whole)) => params_read(view.original, whole),
            None => params_read(info, item),
        };
        if !params.is_empty() {
            detail.push_str(&format!("; params: {}", params.join(", ")));
        }
        out.push(
            Completion::new(item.name.name.clone(), CompletionKind::Filter)
                .detail(detail)
                .doc(item.doc.clone()),
        );
    }
}

/// Locals, `param` items, functions and builtins.
pub(super) fn values(out: &mut Vec<Completion>, view: &View<'_>, call_follows: bool) {
    let analysis = &view.doc.analysis;
    let offset = view.at;
    // Innermost (latest) first: shadowed names come once, as the one in scope.
    for local in view.scope.locals.iter().rev() {
        if local.decl.contains(offset) || local.name.contains(PLACEHOLDER) {
            continue;
        }
        let ty = Some(analysis.binding_type(local.id)).filter(|ty| !ty.has_error());
        let mut item = Completion::new(local.name.clone(), CompletionKind::Local);
        if let Some(ty) = ty {
            item = item.detail(ty.to_string());
            if matches!(ty, Type::Fn(..)) && !call_follows {
                item = item.insert(Insert::call(&local.name));
            }
        }
        out.push(item);
    }
    let mut items = view.items();
    items.sort_by_key(|(item, _)| {
        let rank = match &item.kind {
            ItemKind::Param(_) => 0,
            ItemKind::Function(function) if !function.is_filter => 1,
            ItemKind::Function(_) => 2,
            ItemKind::Pipeline(_) => 3,
        };
        (rank, item.name.name.clone())
    });
    for (item, info) in items {
        match &item.kind {
            ItemKind::Param(_) => out.push(
                Completion::new(item.name.name.clone(), CompletionKind::Param)
                    .detail(param_detail(info, item))
                    .doc(item.doc.clone()),
            ),
            ItemKind::Function(function) => {
                let kind = if function.is_filter {
                    CompletionKind::Filter
                } else {
                    CompletionKind::Function
                };
                let mut completion = Completion::new(item.name.name.clone(), kind)
                    .detail(signature(info, item).unwrap_or_default())
                    .doc(item.doc.clone());
                if !call_follows {
                    completion = completion.insert(Insert::call(&item.name.name));
                }
                out.push(completion);
            }
            // A pipeline is not a value.
            ItemKind::Pipeline(_) => {}
        }
    }
    let mut builtins: Vec<&builtins::Builtin> = builtins::BUILTINS.iter().collect();
    builtins.sort_by_key(|builtin| builtin.name);
    for builtin in builtins {
        out.push(builtin_completion(builtin, call_follows));
    }
}

/// What of the used files' items to offer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Used<'a> {
    /// Filters, unqualified and qualified (a pipeline's stage).
    Filters,
    /// Params and functions, unqualified (an expression).
    Values,
    /// Every item of namespace `m`, named without `m.` (after `m.`).
    In(&'a str),
}

/// The public items of the files `doc` uses, as [`Used`] says.
pub(super) fn used_items(out: &mut Vec<Completion>, doc: &Doc, which: Used<'_>) {
    // One analysis per used file, made when one of its items is offered.
    let mut files: Vec<(usize, Arc<Doc>)> = Vec::new();
    for (name, id) in doc.used_names() {
        let label = match which {
            Used::Values if name.contains('.') => continue,
            Used::In(namespace) => match name
                .strip_prefix(namespace)
                .and_then(|rest| rest.strip_prefix('.'))
            {
                Some(rest) => rest,
                None => continue,
            },
            _ => name,
        };
        let Some((file, local)) = doc.foreign_place(id) else {
            continue;
        };
        let file_doc = match files.iter().find(|(idx, _)| *idx == file) {
            Some((_, file_doc)) => file_doc.clone(),
            None => {
                let Some((_, file_doc)) = doc.foreign_file(file) else {
                    continue;
                };
                files.push((file, file_doc.clone()));
                file_doc
            }
        };
        let Some(item) = file_doc.file().items.get(local.0 as usize) else {
            continue;
        };
        let completion = match &item.kind {
            ItemKind::Function(function) if function.is_filter => {
                Completion::new(label, CompletionKind::Filter)
                    .detail(signature(&file_doc, item).unwrap_or_default())
            }
            _ if which == Used::Filters => continue,
            ItemKind::Function(_) => Completion::new(label, CompletionKind::Function)
                .detail(signature(&file_doc, item).unwrap_or_default()),
            ItemKind::Param(_) => {
                Completion::new(label, CompletionKind::Param).detail(param_detail(&file_doc, item))
            }
            ItemKind::Pipeline(_) => continue,
        };
        out.push(completion.doc(item.doc.clone()));
    }
}
