//! Chunks: the one data model of the VM.
//!
//! Everything the VM holds (programs, basic blocks, threads, frames,
//! closures, arrays, photos) is a graph of fixed-size *chunks*: [`SLOTS`]
//! slots of 64 bits each, every slot either uninterpreted scalar data or an
//! explicitly marked *link* to another chunk. A link is a [`ChunkId`], a
//! reference that is unique across nodes, never an address, so chunks can
//! migrate between nodes.
//!
//! * [`ChunkId`], [`NodeId`]: code ids (immutable, named by content) and data ids
//!   (mutable, one owner, carrying the allocating node).
//! * [`Chunk`] and [`Kind`]: one chunk and what it is for.
//! * [`Store`]: the chunks of one node, reachability and collection.
//! * [`encode_set`] / [`decode_set`]: the one versioned binary format, for
//!   the wire and for snapshot files.
//! * Big things as graphs: text ([`text_chunks`], [`read_text`]), arrays
//!   (`array_*`, trees of chunks), images ([`image_from_rgba8`],
//!   [`ImageView`], trees of 8x8 tiles).
//! * [`write_chunk`]: a plain text dump for people and snapshot tests.

mod array;
mod dump;
mod encode;
mod id;
mod image;
mod slots;
mod store;
mod text;
mod view;

pub use array::{
    array_chunk_count, array_copy, array_element, array_from_slots, array_get_slot, array_info,
    array_len, array_new, array_set_element, array_set_slot, array_slots, ArrayInfo, ARRAY_HEIGHT,
    ARRAY_IS_LINK, ARRAY_LEN, ARRAY_TREE, ARRAY_WIDTH, MAX_HEIGHT,
};
pub use dump::{dump_chunk, write_chunk, write_set};
pub use encode::{
    decode_chunk, decode_set, encode_chunk, encode_set, ChunkSet, DecodeError, ENTRY_LEN,
    HEADER_LEN, MAGIC, VERSION,
};
pub use id::{ChunkId, IdBuildHasher, IdHasher, IdMap, IdSet, NodeId, ParseIdError};
pub use image::{
    image_from_rgba8, image_from_tile_chunks, image_from_tiles, image_size, image_to_rgba8,
    set_tile_pixel, set_tile_row, tile_pixel, tile_row, IMAGE_HEIGHT, IMAGE_TILES, IMAGE_WIDTH,
    TILE_SIZE,
};
pub use slots::{Chunk, Kind, SLOTS};
pub use store::{Store, StoreError};
pub use text::{read_text, text_chunks, TEXT_BYTES};
pub use view::ImageView;
