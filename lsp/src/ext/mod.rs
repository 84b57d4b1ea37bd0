//! The protocol extensions of chop-lsp (see `docs/lsp-extensions.md`):
//! `chop/chunkGraph`, `chop/preview` and `chop/params`.

pub mod chunk_graph;
pub mod params;
pub mod preview;
