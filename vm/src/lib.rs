//! `chunkvm`: the Chop language, its chunk store and the chunk VM (SCVM).
//!
//! Source text goes through [`syntax`] (tree-sitter CST to a typed AST),
//! [`check`] (names and types, every diagnostic), [`compile`] (basic blocks,
//! then block chunks in the [`chunk`] store) and [`exec`] (threads whose
//! whole state is chunks at every safe point). [`driver`] strings them
//! together for the command line and the editor servers.

pub mod builtins;
pub mod check;
pub mod chunk;
pub mod compile;
pub mod diag;
pub mod driver;
pub mod exec;
pub mod modules;
pub mod photo;
pub mod reference;
pub mod syntax;
#[doc(hidden)]
pub mod testing;
pub mod types;
pub mod values;
