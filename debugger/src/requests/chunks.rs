//! The custom request `chunks` {threadId}: the chunks a stopped thread reaches from its
//! Thread chunk (written at this safe point with `Vm::materialize`): each chunk's id,
//! kind, slots in use, links, and where it resides (`here`: a local session holds all
//! of its thread).

use crate::protocol::{arguments, DapError, Reply, Request, ThreadArgs};
use crate::session::{RunState, Shared, THREAD_ID};
use chunkvm::chunk::SLOTS;
use serde_json::{json, Value as Json};
use std::sync::Arc;

/// `chunks`.
pub fn chunks(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args: ThreadArgs = arguments(request)?;
    if args.thread_id != THREAD_ID {
        return Err(DapError::user(format!("no thread {}", args.thread_id)));
    }
    let mut session = shared.lock();
    match session.state {
        RunState::Stopped => {}
        RunState::Running => {
            return Err(DapError::user(
                "the thread is running: pause it to see its chunks",
            ))
        }
        _ => return Err(DapError::user("no thread to show")),
    }
    let vm = session
        .vm
        .as_mut()
        .ok_or_else(|| DapError::internal("a stopped session without its VM"))?;
    let current_block = vm.stack().first().map(|frame| frame.block.0);
    let root = vm.materialize();
    let store = vm.store();
    let reached = store
        .reachable(&[root])
        .map_err(|err| DapError::internal(format!("walking the thread's chunks: {err}")))?;
    let list: Vec<Json> = reached
        .iter()
        .filter_map(|id| {
            let chunk = store.get(*id)?;
            let used = (0..SLOTS)
                .filter(|slot| chunk.is_link(*slot) || chunk.get(*slot) != 0)
                .count();
            let links: Vec<String> = chunk
                .links_iter()
                .filter(|link| !link.is_nil())
                .map(|link| link.to_string())
                .collect();
            let mut item = json!({
                "id": id.to_string(),
                "kind": format!("{:?}", chunk.kind),
                "slotsUsed": used,
                "links": links,
                "residence": "here",
            });
            if Some(*id) == current_block {
                item["current"] = Json::from(true);
            }
            Some(item)
        })
        .collect();
    Ok(json!({ "root": root.to_string(), "chunks": list }))
}
