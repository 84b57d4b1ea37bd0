//! The LSP side of each editor feature, one file per feature: converts the
//! request's positions, calls `chop_ide`, converts the answer.

pub mod code_actions;
pub mod code_lens;
pub mod completion;
pub mod definition;
pub mod folding;
pub mod formatting;
pub mod highlight;
pub mod hover;
pub mod inlay_hints;
pub mod references;
pub mod rename;
pub mod selection;
pub mod semantic_tokens;
pub mod signature_help;
pub mod symbols;
pub mod workspace_symbols;
