//! The [tree-sitter] grammar of Chop, the photo-filter language.
//!
//! The node kinds and field names are documented in the last section of
//! `docs/language.md`; the compiler, the formatter and the editor queries
//! rely on them.
//!
//! ```
//! let code = "fn main() { print(1 + 2); }";
//! let mut parser = tree_sitter::Parser::new();
//! let language = tree_sitter_chop::LANGUAGE;
//! parser
//!     .set_language(&language.into())
//!     .expect("Error loading the Chop parser");
//! let tree = parser.parse(code, None).expect("a tree");
//! assert!(!tree.root_node().has_error());
//! ```
//!
//! [tree-sitter]: https://tree-sitter.github.io/

use tree_sitter_language::LanguageFn;

extern "C" {
    fn tree_sitter_chop() -> *const ();
}

/// The tree-sitter [`LanguageFn`] of the Chop grammar.
///
/// Convert it with `.into()` to a `tree_sitter::Language`.
pub const LANGUAGE: LanguageFn = unsafe { LanguageFn::from_raw(tree_sitter_chop) };

/// The content of the [`node-types.json`] file of this grammar.
///
/// [`node-types.json`]: https://tree-sitter.github.io/tree-sitter/using-parsers/6-static-node-types
pub const NODE_TYPES: &str = include_str!("../../src/node-types.json");

/// The syntax highlighting query (nvim-treesitter capture names).
pub const HIGHLIGHTS_QUERY: &str = include_str!("../../queries/highlights.scm");

/// The local variables query: scopes, definitions and references.
pub const LOCALS_QUERY: &str = include_str!("../../queries/locals.scm");

/// The code folding query.
pub const FOLDS_QUERY: &str = include_str!("../../queries/folds.scm");

#[cfg(test)]
mod tests {
    #[test]
    fn test_can_load_grammar() {
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&super::LANGUAGE.into())
            .expect("Error loading the Chop parser");
    }
}
