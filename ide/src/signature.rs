//! Signature help: inside the parentheses of a call, the signatures of what
//! is called, the one that fits the arguments, and the parameter at the
//! cursor.
//!
//! The call is found in the text, not the tree: the cursor is inside the
//! innermost `(` still open before it (strings and comments skipped), which
//! works in code that does not parse yet (`mix(a, ` at the end of a line).
//! What is called comes from the checker when the call made it into the AST,
//! else from the name before the `(`, looked up in the scopes, the items and
//! the builtins.

use super::Doc;
use crate::index::{CallSite, Index};
use crate::lex::KEYWORDS;
use crate::render::type_text;
use chunkvm::builtins::{self, Builtin, Method, Overload, P};
use chunkvm::check::{Callee, Res};
use chunkvm::syntax::ast::{Expr, ExprKind, ItemId, ItemKind};
use chunkvm::types::Type;
use std::ops::Range;

/// One signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureInfo {
    /// The signature as written in Chop: `fn mix(a: color, b: color, t: float) -> color`.
    pub label: String,
    /// Its documentation (Markdown).
    pub doc: Option<String>,
    /// Each parameter: its byte range in `label` and its documentation.
    pub params: Vec<(Range<usize>, Option<String>)>,
}

/// The signatures of the call around the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureHelp {
    /// Every signature of what is called (several for an overloaded builtin).
    pub signatures: Vec<SignatureInfo>,
    /// The one that fits the arguments written so far.
    pub active_signature: usize,
    /// The parameter the cursor is in (commas before it at the call's depth).
    pub active_parameter: usize,
}

/// A signature label and the ranges of its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Label {
    /// The text.
    pub text: String,
    /// The byte range of each parameter in `text`.
    pub params: Vec<Range<usize>>,
}

/// Builds `head(p1, p2) -> ret`.
fn label(head: &str, params: &[String], ret: Option<&str>) -> Label {
    let mut text = format!("{head}(");
    let mut ranges = Vec::new();
    for (idx, param) in params.iter().enumerate() {
        if idx > 0 {
            text.push_str(", ");
        }
        let start = text.len();
        text.push_str(param);
        ranges.push(start..text.len());
    }
    text.push(')');
    if let Some(ret) = ret {
        text.push_str(" -> ");
        text.push_str(ret);
    }
    Label {
        text,
        params: ranges,
    }
}

fn param_text(name: &str, ty: P) -> String {
    match ty {
        P::Variadic => format!("{name}..."),
        P::AnyArray => format!("{name}: [T; N]"),
        other => format!("{name}: {}", other.to_type()),
    }
}

fn ret_text(ret: P) -> Option<String> {
    match ret {
        P::Unit => None,
        other => Some(other.to_type().to_string()),
    }
}

fn overload_label(name: &str, overload: &Overload) -> Label {
    let params: Vec<String> = overload
        .params
        .iter()
        .map(|(name, ty)| param_text(name, *ty))
        .collect();
    label(
        &format!("fn {name}"),
        &params,
        ret_text(overload.ret).as_deref(),
    )
}

/// One label per overload of a builtin.
pub(crate) fn builtin_labels(builtin: &Builtin) -> Vec<Label> {
    builtin
        .overloads
        .iter()
        .map(|overload| overload_label(builtin.name, overload))
        .collect()
}

/// The label of a method: `fn image.at(x: int, y: int) -> color`.
pub(crate) fn method_label(method: &Method) -> Label {
    let params: Vec<String> = method
        .params
        .iter()
        .map(|(name, ty)| param_text(name, *ty))
        .collect();
    label(
        &format!("fn {}.{}", method.receiver, method.name),
        &params,
        ret_text(method.ret).as_deref(),
    )
}

/// The label of a `fn` or `filter` item: `fn name(a: int) -> float`.
pub(crate) fn item_label(doc: &Doc, id: ItemId) -> Option<Label> {
    let item = doc.file().items.get(id.0 as usize)?;
    let ItemKind::Function(function) = &item.kind else {
        return None;
    };
    let params: Vec<String> = function
        .params
        .iter()
        .map(|param| format!("{}: {}", param.binding.name.name, type_text(doc, &param.ty)))
        .collect();
    let keyword = if function.is_filter { "filter" } else { "fn" };
    let ret = function.ret.as_ref().map(|ret| type_text(doc, ret));
    Some(label(
        &format!("{keyword} {}", item.name.name),
        &params,
        ret.as_deref(),
    ))
}

/// The label of a function value: `fn(float) -> float`, or with the
/// parameter names of the closure literal it was made from.
fn value_label(ty: &Type, names: Option<&[&str]>) -> Option<Label> {
    let Type::Fn(f) = ty else {
        return None;
    };
    let (params, ret) = (&f.params, &f.ret);
    let names = names.filter(|names| names.len() == params.len());
    let params: Vec<String> = params
        .iter()
        .enumerate()
        .map(|(idx, ty)| match names.and_then(|names| names.get(idx)) {
            Some(name) if !name.is_empty() => format!("{name}: {ty}"),
            _ => ty.to_string(),
        })
        .collect();
    let ret = (*ret != Type::Unit).then(|| ret.to_string());
    Some(label("fn", &params, ret.as_deref()))
}

fn info(label: Label, doc: Option<&str>) -> SignatureInfo {
    SignatureInfo {
        label: label.text,
        doc: doc.map(str::to_string),
        params: label
            .params
            .into_iter()
            .map(|range| (range, None))
            .collect(),
    }
}

// ---------------------------------------------------------------- the call

/// The brackets open at `offset`, innermost last: (bracket, position, commas
/// at its depth before the cursor). `None` inside a comment.
fn open_brackets(text: &str, offset: usize) -> Option<Vec<(u8, usize, usize)>> {
    let offset = offset.min(text.len());
    let bytes = text.as_bytes();
    let start = scan_start(text, offset);
    let mut stack: Vec<(u8, usize, usize)> = Vec::new();
    let mut at = start;
    while at < offset {
        match bytes[at] {
            b'/' if bytes.get(at + 1) == Some(&b'/') => {
                let end = text[at..].find('\n').map_or(bytes.len(), |nl| at + nl);
                if end >= offset {
                    return None;
                }
                at = end;
            }
            b'"' => {
                at += 1;
                while at < offset && !matches!(bytes[at], b'"' | b'\n') {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
            }
            open @ (b'(' | b'[' | b'{') => stack.push((open, at, 0)),
            close @ (b')' | b']' | b'}') => {
                let open = match close {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                if let Some(depth) = stack.iter().rposition(|(bracket, ..)| *bracket == open) {
                    stack.truncate(depth);
                }
            }
            b',' => {
                if let Some(top) = stack.last_mut() {
                    top.2 += 1;
                }
            }
            _ => {}
        }
        at += 1;
    }
    Some(stack)
}

/// What the text before a `(` makes of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ParenKind {
    /// A call: a name, a field, or `)` / `]` before it.
    Call,
    /// Grouping parentheses (`(a + b)`, `if (c)`): look further out.
    Group,
    /// A parameter list (`fn name(`, `fn(`) or pipeline arguments: no help.
    Other,
}

fn paren_kind(text: &str, paren: usize) -> ParenKind {
    let end = skip_space_back(text, paren);
    let Some(&last) = text.as_bytes().get(end.wrapping_sub(1)) else {
        return ParenKind::Group;
    };
    if last == b')' || last == b']' {
        return ParenKind::Call;
    }
    let Some((start, word)) = word_before(text, end) else {
        return ParenKind::Group;
    };
    if word == "fn" {
        return ParenKind::Other;
    }
    if KEYWORDS.contains(&word) || word.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return ParenKind::Group;
    }
    if let Some((_, keyword)) = word_before(text, skip_space_back(text, start)) {
        if matches!(keyword, "fn" | "filter") {
            return ParenKind::Other;
        }
    }
    if text
        .get(scan_start(text, paren)..)
        .is_some_and(|item| item.starts_with("pipeline"))
    {
        return ParenKind::Other;
    }
    ParenKind::Call
}

/// Where to start scanning: the start of the last line before `offset`
/// that starts with an item keyword (an unclosed `(` in an earlier item
/// does not leak into later ones).
fn scan_start(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or("");
    let mut start = 0;
    let mut line_start = 0;
    for line in before.split_inclusive('\n') {
        if ["fn ", "filter ", "param ", "pipeline "]
            .iter()
            .any(|keyword| line.starts_with(keyword))
        {
            start = line_start;
        }
        line_start += line.len();
    }
    start
}

/// The word of identifier characters ending at `end`.
fn word_before(text: &str, end: usize) -> Option<(usize, &str)> {
    let bytes = text.as_bytes();
    let mut start = end.min(bytes.len());
    while start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
        start -= 1;
    }
    let word = text.get(start..end)?;
    (!word.is_empty()).then_some((start, word))
}

/// The end of the text before `end`, whitespace skipped.
fn skip_space_back(text: &str, end: usize) -> usize {
    let bytes = text.as_bytes();
    let mut at = end.min(bytes.len());
    while at > 0 && bytes[at - 1].is_ascii_whitespace() {
        at -= 1;
    }
    at
}

// ---------------------------------------------------------------- feature

/// What is called and what the arguments so far are.
enum Target<'a> {
    Item(ItemId),
    Builtin(&'static Builtin, Option<usize>),
    Method(&'static Method),
    Value(Type, Option<Vec<&'a str>>),
}

/// The signature help at `offset`, inside the parentheses of a call.
pub fn signature_help(doc: &Doc, offset: usize) -> Option<SignatureHelp> {
    let text: &str = &doc.text;
    let offset = offset.min(text.len());
    let brackets = open_brackets(text, offset)?;
    // The innermost call around the cursor, through grouping parentheses and
    // array brackets, but not out of a block or a parameter list.
    let (paren, commas) = brackets
        .iter()
        .rev()
        .take_while(|(bracket, ..)| *bracket != b'{')
        .filter(|(bracket, ..)| *bracket == b'(')
        .map(|(_, paren, commas)| (*paren, *commas, paren_kind(text, *paren)))
        .find(|(.., kind)| *kind != ParenKind::Group)
        .filter(|(.., kind)| *kind == ParenKind::Call)
        .map(|(paren, commas, _)| (paren, commas))?;
    let index = Index::new(doc);
    let site = index.calls.iter().find(|site| site.paren == paren);
    let (target, arg_types) = match site {
        Some(site) => from_site(doc, &index, site)?,
        None => from_text(doc, &index, paren, offset)?,
    };
    let mut active_parameter = commas;
    let (signatures, active_signature) = match target {
        Target::Item(id) => {
            let item = doc.file().items.get(id.0 as usize)?;
            let label = item_label(doc, id)?;
            (vec![info(label, item.doc.as_deref())], 0)
        }
        Target::Builtin(builtin, chosen) => {
            let active = chosen.unwrap_or_else(|| choose_overload(builtin, &arg_types, commas));
            if builtin
                .overloads
                .get(active)
                .is_some_and(|overload| overload.params.iter().any(|(_, p)| *p == P::Variadic))
            {
                active_parameter = 0;
            }
            let signatures = builtin_labels(builtin)
                .into_iter()
                .map(|label| info(label, Some(builtin.doc)))
                .collect();
            (signatures, active)
        }
        Target::Method(method) => (vec![info(method_label(method), Some(method.doc))], 0),
        Target::Value(ty, names) => {
            let label = value_label(&ty, names.as_deref())?;
            (vec![info(label, None)], 0)
        }
    };
    Some(SignatureHelp {
        signatures,
        active_signature,
        active_parameter,
    })
}

/// What a call in the AST calls, and the types of its arguments.
fn from_site<'a>(
    doc: &Doc,
    index: &Index<'a>,
    site: &CallSite<'a>,
) -> Option<(Target<'a>, Vec<Type>)> {
    let analysis = &doc.analysis;
    let arg_types: Vec<Type> = site
        .args
        .iter()
        .map(|arg| analysis.type_of(arg.id).clone())
        .collect();
    let target = match analysis.calls.get(&site.call.id) {
        Some(Callee::Function(id)) => Target::Item(*id),
        Some(Callee::Builtin(op)) => {
            let builtin = builtins::BUILTINS
                .iter()
                .find(|builtin| builtin.overloads.iter().any(|overload| overload.op == *op))?;
            let chosen = builtin
                .overloads
                .iter()
                .position(|overload| overload.op == *op);
            Target::Builtin(builtin, chosen)
        }
        Some(Callee::Method(method)) => Target::Method(method),
        Some(Callee::Value) | None => callee_target(doc, index, site.callee)?,
    };
    Some((target, arg_types))
}

/// What a callee expression is, when the checker did not record the call.
fn callee_target<'a>(doc: &Doc, index: &Index<'a>, callee: &Expr) -> Option<Target<'a>> {
    let analysis = &doc.analysis;
    match &callee.kind {
        ExprKind::Name(name) => match analysis.names.get(&callee.id) {
            Some(Res::Function(id)) => Some(Target::Item(*id)),
            Some(Res::Builtin(builtin)) => Some(Target::Builtin(builtin, None)),
            Some(Res::Local(id)) => {
                let ty = analysis.binding_type(*id).clone();
                let names = index
                    .locals
                    .get(id)
                    .and_then(|local| local.closure_params.clone());
                Some(Target::Value(ty, names))
            }
            Some(Res::Param(_)) => None,
            None => name_target(doc, index, name, callee.span.start),
        },
        ExprKind::Field(receiver, method) => {
            builtins::method(analysis.type_of(receiver.id), &method.name).map(Target::Method)
        }
        _ => Some(Target::Value(analysis.type_of(callee.id).clone(), None)),
    }
}

/// What a name at `offset` calls, by the scopes, the items and the builtins.
fn name_target<'a>(doc: &Doc, index: &Index<'a>, name: &str, offset: usize) -> Option<Target<'a>> {
    if let Some(local) = index.resolve_local(name, offset) {
        let ty = doc.analysis.binding_type(local.id).clone();
        return Some(Target::Value(ty, local.closure_params.clone()));
    }
    if let Some(idx) = doc
        .file()
        .items
        .iter()
        .position(|item| item.name.name == name && matches!(item.kind, ItemKind::Function(_)))
    {
        return Some(Target::Item(ItemId(idx as u32)));
    }
    builtins::lookup(name).map(|builtin| Target::Builtin(builtin, None))
}

/// The type of the value a name at `offset` refers to, by the scopes and items.
fn name_type(doc: &Doc, index: &Index, name: &str, offset: usize) -> Type {
    if let Some(local) = index.resolve_local(name, offset) {
        return doc.analysis.binding_type(local.id).clone();
    }
    doc.file()
        .items
        .iter()
        .position(|item| item.name.name == name && !matches!(item.kind, ItemKind::Pipeline(_)))
        .map_or(Type::Error, |idx| {
            doc.analysis.item_type(ItemId(idx as u32)).clone()
        })
}

/// What the text before `paren` calls (code that did not parse into a call).
fn from_text<'a>(
    doc: &Doc,
    index: &Index<'a>,
    paren: usize,
    offset: usize,
) -> Option<(Target<'a>, Vec<Type>)> {
    let text: &str = &doc.text;
    let end = skip_space_back(text, paren);
    let (start, name) = word_before(text, end)?;
    let before = skip_space_back(text, start);
    let target = if text.as_bytes().get(before.wrapping_sub(1)) == Some(&b'.') {
        let receiver_end = skip_space_back(text, before - 1);
        let (receiver_start, receiver) = word_before(text, receiver_end)?;
        let ty = name_type(doc, index, receiver, receiver_start);
        Target::Method(builtins::method(&ty, name)?)
    } else {
        name_target(doc, index, name, start)?
    };
    let args = text.get(paren + 1..offset).unwrap_or("");
    let arg_types = split_args(args)
        .iter()
        .map(|arg| literal_or_name_type(doc, index, arg.trim(), paren))
        .collect();
    Some((target, arg_types))
}

/// The arguments of a call as written, split at the commas of depth 0
/// (the last, unfinished one left out).
fn split_args(args: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut in_string = false;
    let bytes = args.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if in_string {
            if byte == b'\\' {
                at += 1;
            } else if byte == b'"' {
                in_string = false;
            }
        } else {
            match byte {
                b'"' => in_string = true,
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                b',' if depth == 0 => {
                    found.push(args.get(start..at).unwrap_or(""));
                    start = at + 1;
                }
                _ => {}
            }
        }
        at += 1;
    }
    found
}

/// The type of an argument that is a literal or a name, else `Error`.
fn literal_or_name_type(doc: &Doc, index: &Index, arg: &str, offset: usize) -> Type {
    if arg.is_empty() {
        return Type::Error;
    }
    if arg == "true" || arg == "false" {
        return Type::Bool;
    }
    if arg.parse::<i64>().is_ok() && arg.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return Type::Int;
    }
    if arg.parse::<f64>().is_ok() && arg.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        return Type::Float;
    }
    if arg.starts_with('"') {
        return Type::Str;
    }
    if crate::lex::is_identifier(arg) {
        return name_type(doc, index, arg, offset);
    }
    Type::Error
}

/// The first overload that takes at least `commas + 1` arguments and whose
/// parameter types fit the argument types known (`Error`: unknown).
fn choose_overload(builtin: &Builtin, args: &[Type], commas: usize) -> usize {
    let fits = |overload: &Overload| {
        let variadic = overload.params.iter().any(|(_, p)| *p == P::Variadic);
        if !variadic && overload.params.len() < (commas + 1).max(args.len()) {
            return false;
        }
        args.iter().enumerate().all(
            |(idx, arg)| match overload.params.get(idx).map(|(_, p)| *p) {
                None | Some(P::Variadic) => true,
                Some(P::AnyArray) => matches!(arg, Type::Array(..) | Type::Error),
                Some(param) => arg.fits(&param.to_type()),
            },
        )
    };
    builtin.overloads.iter().position(fits).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::fixture;

    /// Renders the help: each signature, `>` on the active one, the active
    /// parameter in `[...]`.
    fn check(marked: &str) -> String {
        let fx = fixture(marked);
        let doc = Doc::new(&fx.text);
        let cursor = fx.cursor.expect("no $0");
        let Some(help) = signature_help(&doc, cursor) else {
            return "(none)".to_string();
        };
        let mut out = String::new();
        for (idx, sig) in help.signatures.iter().enumerate() {
            let mut label = sig.label.clone();
            if let Some((range, _)) = sig.params.get(help.active_parameter) {
                label.insert(range.end, ']');
                label.insert(range.start, '[');
            }
            let marker = if idx == help.active_signature {
                ">"
            } else {
                " "
            };
            out.push_str(&format!("{marker} {label}\n"));
        }
        if let Some(doc) = help
            .signatures
            .get(help.active_signature)
            .and_then(|sig| sig.doc.as_ref())
        {
            out.push_str(&format!("  -- {doc}\n"));
        }
        out.push_str(&format!("  param {}", help.active_parameter));
        out
    }

    #[test]
    fn labels_match_the_builtin_table() {
        for builtin in builtins::BUILTINS {
            let labels: Vec<String> = builtin_labels(builtin)
                .into_iter()
                .map(|label| label.text)
                .collect();
            assert_eq!(labels, builtin.signatures());
            for label in builtin_labels(builtin) {
                for range in label.params {
                    assert!(label.text.get(range).is_some());
                }
            }
        }
    }

    #[test]
    fn function_items() {
        insta::assert_snapshot!(check("/// Adds.\nfn add(a: int, b: float) -> float { float(a) + b }\nfn main() { print(add(1, $0)); }"), @"
        > fn add(a: int, [b: float]) -> float
          -- Adds.
          param 1
        ");
        insta::assert_snapshot!(check("fn add(a: int, b: float) -> float { float(a) + b }\nfn main() { print(add($01, 2.0)); }"), @"
        > fn add([a: int], b: float) -> float
          param 0
        ");
        insta::assert_snapshot!(check("fn go() {}\nfn main() { go($0); }"), @"
        > fn go()
          param 0
        ");
        insta::assert_snapshot!(check("filter g(c: color) -> color { c }\nfn main() { let c = g(rgb(1.0, 0.0, $0)); }"), @"
        > fn rgb(r: float, g: float, [b: float]) -> color
          -- An opaque colour from red, green and blue, each nominally from 0 to 1.
          param 2
        ");
    }

    #[test]
    fn builtins_choose_the_overload() {
        insta::assert_snapshot!(check("fn f(a: color, b: color) -> color { mix(a, b, $0) }"), @"
        > fn mix(a: color, b: color, [t: float]) -> color
          fn mix(a: float, b: float, [t: float]) -> float
          -- Linear interpolation: `a * (1 - t) + b * t`, per channel for colours.
          param 2
        ");
        insta::assert_snapshot!(check("fn f(a: float, b: float) -> float { mix(a, b, $0) }"), @"
          fn mix(a: color, b: color, [t: float]) -> color
        > fn mix(a: float, b: float, [t: float]) -> float
          -- Linear interpolation: `a * (1 - t) + b * t`, per channel for colours.
          param 2
        ");
        insta::assert_snapshot!(check("fn f() -> int { clamp(3, $0) }"), @"
          fn clamp(v: float, [lo: float], hi: float) -> float
        > fn clamp(v: int, [lo: int], hi: int) -> int
          fn clamp(v: color, [lo: float], hi: float) -> color
          fn clamp(v: color, [lo: color], hi: color) -> color
          -- `v` limited to `lo..hi` (inclusive); per channel for colours (with colour bounds, each channel to its own bounds).
          param 1
        ");
        insta::assert_snapshot!(check("fn f() { print(1, 2, $0); }"), @"
        > fn print([values...])
          -- Prints its arguments on one line, separated by spaces. Floats always show a decimal point; colours print as `rgba(r, g, b, a)`.
          param 0
        ");
        insta::assert_snapshot!(check("fn f() -> int { len([1, 2]$0) }"), @"
        > fn len([array: [T; N]]) -> int
          -- The number of elements of an array.
          param 0
        ");
    }

    #[test]
    fn incomplete_calls() {
        insta::assert_snapshot!(check("fn f(a: color, b: color) {\n    let c = a;\n    mix(a, $0\n}"), @"
        > fn mix(a: color, [b: color], t: float) -> color
          fn mix(a: float, [b: float], t: float) -> float
          -- Linear interpolation: `a * (1 - t) + b * t`, per channel for colours.
          param 1
        ");
        insta::assert_snapshot!(check("fn f(a: float) {\n    mix(a, 1.0, $0"), @"
          fn mix(a: color, b: color, [t: float]) -> color
        > fn mix(a: float, b: float, [t: float]) -> float
          -- Linear interpolation: `a * (1 - t) + b * t`, per channel for colours.
          param 2
        ");
        insta::assert_snapshot!(check("fn f(a: color) {\n    mix(a, [1, 2], $0"), @"
        > fn mix(a: color, b: color, [t: float]) -> color
          fn mix(a: float, b: float, [t: float]) -> float
          -- Linear interpolation: `a * (1 - t) + b * t`, per channel for colours.
          param 2
        ");
        insta::assert_snapshot!(check("fn f() {\n    print(\"a, b (\", $0"), @"
        > fn print([values...])
          -- Prints its arguments on one line, separated by spaces. Floats always show a decimal point; colours print as `rgba(r, g, b, a)`.
          param 0
        ");
        insta::assert_snapshot!(check("fn add(a: int, b: int) -> int { a + b }\nfn main() {\n    let x = add(1,\n        $0"), @"
        > fn add(a: int, [b: int]) -> int
          param 1
        ");
        insta::assert_snapshot!(check("fn f() {\n    let x = clamp(2, 1, 3);\n    mix($0"), @"
        > fn mix([a: color], b: color, t: float) -> color
          fn mix([a: float], b: float, t: float) -> float
          -- Linear interpolation: `a * (1 - t) + b * t`, per channel for colours.
          param 0
        ");
    }

    #[test]
    fn methods_and_values() {
        insta::assert_snapshot!(check("filter k(src: image, x: int, y: int) -> color { src.at(x, $0) }"), @"
        > fn image.at(x: int, [y: int]) -> color
          -- The colour of pixel `(x, y)`; coordinates outside the image are clamped to its edge.
          param 1
        ");
        insta::assert_snapshot!(check("filter k(src: image, x: int, y: int) -> color {\n    src.at(x, $0\n}"), @"
        > fn image.at(x: int, [y: int]) -> color
          -- The colour of pixel `(x, y)`; coordinates outside the image are clamped to its edge.
          param 1
        ");
        insta::assert_snapshot!(check("fn f() -> float { let g = fn(v: float, w: float) -> float { v * w }; g(1.0, $0) }"), @"
        > fn(v: float, [w: float]) -> float
          param 1
        ");
        insta::assert_snapshot!(check("fn f(h: fn(int) -> float) -> float { h($0) }"), @"
        > fn([int]) -> float
          param 0
        ");
        insta::assert_snapshot!(check("fn f() -> float { let gain = 2.0; let g = fn(v: float) -> float { v * gain }; g($0 }"), @"
        > fn([v: float]) -> float
          param 0
        ");
    }

    #[test]
    fn nested_and_outside() {
        insta::assert_snapshot!(check("fn f(a: float) -> float { mix(a, sqrt($0), 0.5) }"), @"
        > fn sqrt([v: float]) -> float
          -- The square root of `v` (NaN below 0).
          param 0
        ");
        insta::assert_snapshot!(check("fn f(a: float) -> float { mix(a, sqrt(a)$0, 0.5) }"), @"
          fn mix(a: color, [b: color], t: float) -> color
        > fn mix(a: float, [b: float], t: float) -> float
          -- Linear interpolation: `a * (1 - t) + b * t`, per channel for colours.
          param 1
        ");
        insta::assert_snapshot!(check("fn f(a: float) -> float { mix(a, sqrt(a), 0.5)$0 }"), @"(none)");
        insta::assert_snapshot!(check("fn f(a: float) -> float { mix$0(a, a, 0.5) }"), @"(none)");
        insta::assert_snapshot!(check("fn f(a$0: float) -> float { a }"), @"(none)");
        insta::assert_snapshot!(check("fn f() { let g = fn(v: $0float) {}; }"), @"(none)");
        insta::assert_snapshot!(check("fn f() { let a = [1, $0]; }"), @"(none)");
        insta::assert_snapshot!(check("fn f() { print(1); // mix($0\n}"), @"(none)");
        insta::assert_snapshot!(check("fn f() { print(\"é🎉, (\", $0); }"), @"
        > fn print([values...])
          -- Prints its arguments on one line, separated by spaces. Floats always show a decimal point; colours print as `rgba(r, g, b, a)`.
          param 0
        ");
        insta::assert_snapshot!(check("$0"), @"(none)");
        insta::assert_snapshot!(check("fn f() { mix(1.0, 2.0, 0.5); }$0"), @"(none)");
        insta::assert_snapshot!(check("fn f() {\n    print(1, \n}\nfn g() {\n    $0\n}"), @"(none)");
        insta::assert_snapshot!(check("fn f(a: float) -> float { mix(a, (a + $0), 0.5) }"), @"
          fn mix(a: color, [b: color], t: float) -> color
        > fn mix(a: float, [b: float], t: float) -> float
          -- Linear interpolation: `a * (1 - t) + b * t`, per channel for colours.
          param 1
        ");
        insta::assert_snapshot!(check("fn f(a: [float; 2]) -> float { mix(a[$0], 1.0, 0.5) }"), @"
          fn mix([a: color], b: color, t: float) -> color
        > fn mix([a: float], b: float, t: float) -> float
          -- Linear interpolation: `a * (1 - t) + b * t`, per channel for colours.
          param 0
        ");
        insta::assert_snapshot!(check("fn f() -> int { if (len($0 }"), @"
        > fn len([array: [T; N]]) -> int
          -- The number of elements of an array.
          param 0
        ");
        insta::assert_snapshot!(check("fn f() -> image { render(2, 2, fn(x: int, $0) }"), @"(none)");
        insta::assert_snapshot!(check("fn f() -> image { render(2, 2, fn(x: int, y: int) -> color { gray($0) }) }"), @"
        > fn gray([v: float]) -> color
          -- The opaque grey `rgb(v, v, v)`.
          param 0
        ");
        insta::assert_snapshot!(check("fn f() -> image { render(2, 2, fn(x: int, y: int) -> color { $0 }) }"), @"(none)");
        insta::assert_snapshot!(check("param s: float = 0.5;\nfilter g(c: color) -> color { c }\npipeline p = g(s: $0);"), @"(none)");
        insta::assert_snapshot!(check("fn add(a: int, b: int) -> int { a + b }\nfn g() {\n    let f = add;\n    f(1, $0\n}"), @"
        > fn(int, [int]) -> int
          param 1
        ");
        insta::assert_snapshot!(check("fn make() -> fn(int) -> int { fn(v: int) -> int { v } }\nfn g() -> int { make()($0) }"), @"
        > fn([int]) -> int
          param 0
        ");
    }

    #[test]
    fn never_panics() {
        let text = "fn f(é: int) { mix(\"héllo 🎉\", // 🎉 x\n print(s, (1, [2, ";
        let doc = Doc::new(text);
        for offset in 0..text.len() + 3 {
            let _ = signature_help(&doc, offset);
        }
    }
}
