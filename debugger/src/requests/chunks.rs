//! The custom request `chunks` {threadId}: the chunks a stopped thread reaches from its
//! Thread chunk (written at this safe point with `Vm::materialize`): each chunk's id,
//! kind, slots in use, links, and where it resides: `here` (only in this process),
//! `remote` (made or changed on the node that holds the thread), `fetched` (fetched by
//! that node when the thread needed it) or `prefetched` (sent ahead with the thread).

use crate::protocol::{arguments, DapError, Reply, Request, ThreadArgs};
use crate::session::{RunState, Shared};
use serde_json::{json, Value as Json};
use std::sync::Arc;

/// `chunks`.
pub fn chunks(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args: ThreadArgs = arguments(request)?;
    let mut session = shared.lock();
    session.check_thread(args.thread_id)?;
    match session.state {
        RunState::Stopped => {}
        RunState::Running => {
            return Err(DapError::user(
                "the thread is running: pause it to see its chunks",
            ))
        }
        _ => return Err(DapError::user("no thread to show")),
    }
    let thread = session.stopped(args.thread_id)?;
    let current_block = thread.stack()?.first().map(|frame| frame.block.0);
    let (root, rows) = thread.chunks()?;
    let list: Vec<Json> = rows
        .into_iter()
        .map(|row| {
            let mut item = json!({
                "id": row.id.to_string(),
                "kind": row.kind,
                "slotsUsed": row.slots_used,
                "links": row.links.iter().map(|link| link.to_string()).collect::<Vec<_>>(),
                "residence": row.residence,
            });
            if Some(row.id) == current_block {
                item["current"] = Json::from(true);
            }
            item
        })
        .collect();
    let node = thread.node().map(str::to_string);
    let address = thread.address().map(str::to_string);
    Ok(json!({ "root": root.to_string(), "node": node, "address": address, "chunks": list }))
}
