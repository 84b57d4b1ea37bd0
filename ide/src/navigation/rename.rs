//! Rename: what may be renamed at the cursor, and the edits, refused when the new name clashes.

use crate::index::{inner_key, lookup, Access, Index, Occurrence};
use crate::lex::{is_identifier, KEYWORDS};
use crate::{Doc, Edit, Symbol};
use chunkvm::builtins::{self, FIELDS};
use chunkvm::syntax::ast::{BindingId, ItemId};
use chunkvm::syntax::span::Span;
use std::fmt;

/// Why a name cannot be renamed, or not to the new name. `Display` is the message
/// the editor shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenameRefused {
    /// No name at the cursor: blank space, a comment, a string, a number.
    NoName,
    /// A keyword is at the cursor.
    Keyword(String),
    /// A type name is at the cursor.
    Type(String),
    /// A name that nothing in the file defines.
    Undefined(String),
    /// A builtin function.
    Builtin(&'static str),
    /// A field or method of a builtin type.
    Member {
        /// The type (`color`, `image`...).
        receiver: &'static str,
        /// The field or method.
        name: &'static str,
        /// Whether it is a field (else a method).
        field: bool,
    },
    /// An item of a file this one uses: renaming it in this file alone would
    /// break the program ([`rename`] works on one file; across files, a server
    /// gathers [`uses_of`](super::uses_of) of every file).
    Elsewhere {
        /// The name.
        name: String,
        /// The file that declares it.
        file: String,
    },
    /// Renaming across files: `refused` in another file, `file`.
    InFile {
        /// The other file's path.
        file: String,
        /// Why it is refused there (lines are that file's).
        refused: Box<RenameRefused>,
    },
    /// The new name starts with `_` (private to its file), but another file uses
    /// the item (on `line`).
    Private {
        /// The new name.
        new: String,
        /// A use in another file.
        line: usize,
    },
    /// Another file this one uses has a public item `new` (declared in `other`):
    /// the unqualified use of the renamed item on `line` would be ambiguous.
    Ambiguous {
        /// The new name.
        new: String,
        /// The used file declaring another `new`.
        other: String,
        /// An unqualified use of the renamed item.
        line: usize,
    },
    /// The new name is empty.
    EmptyName,
    /// The new name is not an identifier.
    InvalidName(String),
    /// The new name is a keyword.
    NewNameIsKeyword(String),
    /// The new name is a builtin function's.
    NewNameIsBuiltin(String),
    /// A local `new` declared on `new_line` is in scope at a use of the renamed local
    /// `old` on `use_line`: the use would see that one.
    Shadowed {
        /// The new name.
        new: String,
        /// Where the other `new` is declared.
        new_line: usize,
        /// The old name.
        old: String,
        /// The use that would change meaning.
        use_line: usize,
    },
    /// A use of another `new` on `use_line` is inside the renamed local's scope: it
    /// would see the renamed local.
    Captures {
        /// The new name.
        new: String,
        /// The use that would change meaning.
        use_line: usize,
        /// The old name.
        old: String,
    },
    /// Another item of the file is named `new` (on `line`).
    ItemExists {
        /// The new name.
        new: String,
        /// The other item's line.
        line: usize,
    },
    /// A local `new` (declared on `local_line`) is in scope at a use of the renamed
    /// item `old` on `use_line`: it would hide the item there.
    HiddenByLocal {
        /// The new name.
        new: String,
        /// Where the local is declared.
        local_line: usize,
        /// The old name.
        old: String,
        /// The use that would change meaning.
        use_line: usize,
    },
}

impl fmt::Display for RenameRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenameRefused::NoName => f.write_str("there is no name here to rename"),
            RenameRefused::Keyword(name) => {
                write!(f, "`{name}` is a keyword and cannot be renamed")
            }
            RenameRefused::Type(name) => write!(f, "`{name}` is a type and cannot be renamed"),
            RenameRefused::Undefined(name) => {
                write!(f, "`{name}` is not defined here: there is nothing to rename")
            }
            RenameRefused::Builtin(name) => {
                write!(f, "`{name}` is a builtin and cannot be renamed")
            }
            RenameRefused::Member {
                receiver,
                name,
                field,
            } => write!(
                f,
                "`{name}` is a {} of `{receiver}` and cannot be renamed",
                if *field { "field" } else { "method" }
            ),
            RenameRefused::Elsewhere { name, file } => write!(
                f,
                "`{name}` is declared in `{file}`, which this file uses: rename it there"
            ),
            RenameRefused::InFile { file, refused } => write!(f, "in `{file}`: {refused}"),
            RenameRefused::Private { new, line } => write!(
                f,
                "`{new}` would be private to its file (it starts with `_`), but the item is used on line {line}"
            ),
            RenameRefused::Ambiguous { new, other, line } => write!(
                f,
                "`{other}` has an item `{new}` too: the use on line {line} would be ambiguous"
            ),
            RenameRefused::EmptyName => f.write_str("the new name is empty"),
            RenameRefused::InvalidName(name) => write!(
                f,
                "`{name}` is not a valid name: a name is a letter or `_` followed by letters, digits and `_`"
            ),
            RenameRefused::NewNameIsKeyword(name) => write!(f, "`{name}` is a keyword"),
            RenameRefused::NewNameIsBuiltin(name) => {
                write!(f, "`{name}` is the name of a builtin function")
            }
            RenameRefused::Shadowed {
                new,
                new_line,
                old,
                use_line,
            } => write!(
                f,
                "`{new}` (line {new_line}) is in scope at the use of `{old}` on line {use_line}: the renamed variable would be shadowed there"
            ),
            RenameRefused::Captures { new, use_line, old } => write!(
                f,
                "`{new}` is used on line {use_line}, inside the scope of `{old}`: it would refer to the renamed variable"
            ),
            RenameRefused::ItemExists { new, line } => {
                write!(f, "an item named `{new}` already exists (line {line})")
            }
            RenameRefused::HiddenByLocal {
                new,
                local_line,
                old,
                use_line,
            } => write!(
                f,
                "the local `{new}` (line {local_line}) is in scope at the use of `{old}` on line {use_line}: it would hide the renamed item"
            ),
        }
    }
}

impl std::error::Error for RenameRefused {}

/// The identifier-like word touching `offset` (ASCII, so always on char boundaries).
fn word_at(text: &str, offset: usize) -> Option<Span> {
    let bytes = text.as_bytes();
    let is_word = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_';
    let offset = offset.min(bytes.len());
    let mut start = offset;
    while start > 0 && is_word(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = offset;
    while end < bytes.len() && is_word(bytes[end]) {
        end += 1;
    }
    (start < end).then(|| Span::new(start, end))
}

/// Why there is nothing to rename at `offset`.
fn nothing_to_rename(doc: &Doc, offset: usize) -> RenameRefused {
    let Some(word) = word_at(&doc.text, offset) else {
        return RenameRefused::NoName;
    };
    let text = doc.slice(word);
    let node = doc
        .parsed
        .tree
        .root_node()
        .descendant_for_byte_range(word.start, word.end);
    let kind = node.map_or("", |node| node.kind());
    if matches!(
        kind,
        "comment" | "doc_comment" | "inner_doc_comment" | "string_literal"
    ) {
        return RenameRefused::NoName;
    }
    if KEYWORDS.contains(&text) {
        return RenameRefused::Keyword(text.to_string());
    }
    if kind == "type_identifier" {
        return RenameRefused::Type(text.to_string());
    }
    if text.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return RenameRefused::NoName;
    }
    RenameRefused::Undefined(text.to_string())
}

/// The name to rename at the cursor, or why it cannot be renamed.
pub fn prepare_rename(doc: &Doc, offset: usize) -> Result<Span, RenameRefused> {
    let index = Index::new(doc);
    let Some(occ) = lookup(&index, offset) else {
        return Err(nothing_to_rename(doc, offset));
    };
    refuse_symbol(occ.symbol)?;
    refuse_foreign(doc, occ.symbol)?;
    Ok(occ.span)
}

/// Refuses an item of a used file.
fn refuse_foreign(doc: &Doc, symbol: Symbol) -> Result<(), RenameRefused> {
    let Symbol::Item(id) = symbol else {
        return Ok(());
    };
    match doc.foreign(id) {
        Some(foreign) => Err(RenameRefused::Elsewhere {
            name: foreign
                .doc
                .file()
                .items
                .get(foreign.item.0 as usize)
                .map(|item| item.name.name.clone())
                .unwrap_or_default(),
            file: foreign.path.display().to_string(),
        }),
        None => Ok(()),
    }
}

fn refuse_symbol(symbol: Symbol) -> Result<(), RenameRefused> {
    match symbol {
        Symbol::Builtin(name) => Err(RenameRefused::Builtin(name)),
        Symbol::Member(receiver, name) => Err(RenameRefused::Member {
            receiver,
            name,
            field: FIELDS
                .iter()
                .any(|field| field.receiver == receiver && field.name == name),
        }),
        Symbol::Local(_) | Symbol::Item(_) => Ok(()),
    }
}

/// The edits renaming the symbol at the cursor to `new_name`, or why not.
pub fn rename(doc: &Doc, offset: usize, new_name: &str) -> Result<Vec<Edit>, RenameRefused> {
    let index = Index::new(doc);
    let Some(occ) = lookup(&index, offset) else {
        return Err(nothing_to_rename(doc, offset));
    };
    let symbol = occ.symbol;
    refuse_symbol(symbol)?;
    refuse_foreign(doc, symbol)?;
    check_new_name(new_name)?;
    let old_name = doc.slice(occ.span).to_string();
    if old_name == new_name {
        return Ok(Vec::new());
    }
    let occurrences = index.of(symbol);
    match symbol {
        Symbol::Local(id) => local_clash(doc, &index, id, &old_name, new_name, &occurrences)?,
        Symbol::Item(id) => item_clash(doc, &index, id, &old_name, new_name, &occurrences)?,
        Symbol::Builtin(_) | Symbol::Member(..) => {}
    }
    Ok(occurrences
        .into_iter()
        .map(|occ| Edit {
            span: occ.span,
            text: new_name.to_string(),
        })
        .collect())
}

/// Refuses a new name that is empty, not an identifier, a keyword or a builtin's.
pub fn check_new_name(new_name: &str) -> Result<(), RenameRefused> {
    if new_name.is_empty() {
        return Err(RenameRefused::EmptyName);
    }
    if !is_identifier(new_name) {
        return Err(RenameRefused::InvalidName(new_name.to_string()));
    }
    if KEYWORDS.contains(&new_name) {
        return Err(RenameRefused::NewNameIsKeyword(new_name.to_string()));
    }
    if builtins::lookup(new_name).is_some() {
        return Err(RenameRefused::NewNameIsBuiltin(new_name.to_string()));
    }
    Ok(())
}

/// The 1-based line of `offset`.
pub(super) fn line(doc: &Doc, offset: usize) -> usize {
    doc.lines.line_of(offset.min(doc.text.len())) + 1
}

/// Refuses to rename local `id` to `new` when a use would then resolve elsewhere.
fn local_clash(
    doc: &Doc,
    index: &Index,
    id: BindingId,
    old: &str,
    new: &str,
    occurrences: &[Occurrence],
) -> Result<(), RenameRefused> {
    let Some(renamed) = index.locals.get(&id) else {
        return Ok(());
    };
    // A use of the renamed local where an inner `new` is visible would see that one.
    for occ in occurrences.iter().filter(|occ| occ.access != Access::Decl) {
        let inner = index.visible_at(occ.span.start).find(|other| {
            other.id != id && other.name.name == new && inner_key(other) > inner_key(renamed)
        });
        if let Some(other) = inner {
            return Err(RenameRefused::Shadowed {
                new: new.to_string(),
                new_line: line(doc, other.name.span.start),
                old: old.to_string(),
                use_line: line(doc, occ.span.start),
            });
        }
    }
    // A use of another `new` inside the scope of the renamed local would see it.
    for occ in &index.occurrences {
        if occ.access == Access::Decl
            || occ.expr.is_none()
            || occ.symbol == Symbol::Local(id)
            || doc.slice(occ.span) != new
        {
            continue;
        }
        let start = occ.span.start;
        if !(renamed.scope.start <= start && start < renamed.scope.end) {
            continue;
        }
        let captured = match occ.symbol {
            Symbol::Local(other) => index
                .locals
                .get(&other)
                .is_none_or(|other| inner_key(renamed) > inner_key(other)),
            Symbol::Item(_) | Symbol::Builtin(_) => true,
            Symbol::Member(..) => false,
        };
        if captured {
            return Err(RenameRefused::Captures {
                new: new.to_string(),
                use_line: line(doc, start),
                old: old.to_string(),
            });
        }
    }
    Ok(())
}

/// Refuses to rename item `id` to `new` when another item has that name or a
/// local `new` is visible at one of its uses.
fn item_clash(
    doc: &Doc,
    index: &Index,
    id: ItemId,
    old: &str,
    new: &str,
    occurrences: &[Occurrence],
) -> Result<(), RenameRefused> {
    if let Some((_, other)) = doc
        .file()
        .items
        .iter()
        .enumerate()
        .find(|(idx, item)| *idx != id.0 as usize && item.name.name == new)
    {
        return Err(RenameRefused::ItemExists {
            new: new.to_string(),
            line: line(doc, other.name.span.start),
        });
    }
    for occ in occurrences.iter().filter(|occ| occ.expr.is_some()) {
        if let Some(local) = index.resolve_local(new, occ.span.start) {
            return Err(RenameRefused::HiddenByLocal {
                new: new.to_string(),
                local_line: line(doc, local.name.span.start),
                old: old.to_string(),
                use_line: line(doc, occ.span.start),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The offset of the first `needle` in `text`.
    fn at(text: &str, needle: &str) -> usize {
        text.find(needle).expect("the needle is in the text")
    }

    /// Each refusal is its own variant, and its text is the message the editor shows.
    #[test]
    fn refusals_are_variants_with_their_message() {
        let text =
            "fn f(c: color) -> float {\n    let m = mix(c, c, 0.5);\n    m.r + c.g\n}\nfn g() {}\n";
        let doc = Doc::new(text);
        let err = prepare_rename(&doc, at(text, "mix")).expect_err("a builtin");
        assert_eq!(err, RenameRefused::Builtin("mix"));
        assert_eq!(err.to_string(), "`mix` is a builtin and cannot be renamed");
        assert_eq!(
            prepare_rename(&doc, at(text, "r + c")),
            Err(RenameRefused::Member {
                receiver: "color",
                name: "r",
                field: true
            })
        );
        assert_eq!(
            prepare_rename(&doc, at(text, "let")),
            Err(RenameRefused::Keyword("let".into()))
        );
        assert_eq!(
            prepare_rename(&doc, at(text, "color")),
            Err(RenameRefused::Type("color".into()))
        );
        assert_eq!(
            prepare_rename(&doc, at(text, "0.5")),
            Err(RenameRefused::NoName)
        );
        let m = at(text, "m = mix");
        assert_eq!(rename(&doc, m, ""), Err(RenameRefused::EmptyName));
        assert_eq!(
            rename(&doc, m, "2x"),
            Err(RenameRefused::InvalidName("2x".into()))
        );
        assert_eq!(
            rename(&doc, m, "while"),
            Err(RenameRefused::NewNameIsKeyword("while".into()))
        );
        assert_eq!(
            rename(&doc, m, "clamp"),
            Err(RenameRefused::NewNameIsBuiltin("clamp".into()))
        );
        let err = rename(&doc, at(text, "f("), "g").expect_err("g exists");
        assert_eq!(
            err,
            RenameRefused::ItemExists {
                new: "g".into(),
                line: 5
            }
        );
        assert_eq!(err.to_string(), "an item named `g` already exists (line 5)");
        assert_eq!(
            rename(&doc, m, "c"),
            Err(RenameRefused::Captures {
                new: "c".into(),
                use_line: 3,
                old: "m".into()
            })
        );
    }
    /// Clashes with other names say which name, where, and what would change.
    #[test]
    fn clashes_are_variants_with_their_lines() {
        let text = "fn h() -> int { 1 }\nfn f() -> int {\n    let x = 1;\n    let y = 2;\n    x + y + h() + zz\n}\n";
        let doc = Doc::new(text);
        assert_eq!(
            rename(&doc, at(text, "x = 1"), "y"),
            Err(RenameRefused::Shadowed {
                new: "y".into(),
                new_line: 4,
                old: "x".into(),
                use_line: 5
            })
        );
        let err = rename(&doc, at(text, "h()"), "x").expect_err("x hides h");
        assert_eq!(
            err,
            RenameRefused::HiddenByLocal {
                new: "x".into(),
                local_line: 3,
                old: "h".into(),
                use_line: 5
            }
        );
        assert_eq!(
            err.to_string(),
            "the local `x` (line 3) is in scope at the use of `h` on line 5: it would hide the renamed item"
        );
        assert_eq!(
            prepare_rename(&doc, at(text, "zz")),
            Err(RenameRefused::Undefined("zz".into()))
        );
    }
}
