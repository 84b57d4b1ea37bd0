//! Source text to a typed AST, through the tree-sitter grammar of Chop.
//!
//! Parsing never fails: [`parse`] returns a complete AST (with error nodes
//! where the text did not parse) and the syntax diagnostics.

pub mod ast;
pub mod lower;
pub mod reuse;
pub mod span;
pub mod walk;
