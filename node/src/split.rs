//! A photo job split over several members: this process (`local`) and nodes.
//!
//! [`split`] takes a thread started on a job ([`Vm::start_job`], as
//! `chunkvm::photo::start` makes it) and runs its stages one after another.
//! Each stage's rows are cut into bands ([`band_rows`]); each band is a
//! thread of its own ([`Vm::start_band`] over a copy of the stage's store:
//! chunks are `Arc`s, so the copy is cheap), run on a blocking thread here
//! for a `local` member or migrated whole (`run_for: None`) to a node. When
//! every band of a stage is in, the rows of tiles of the band images make
//! the stage's output ([`image_from_tiles`]) and the next stage reads it.
//! The output is the one a local run makes, byte for byte.
//!
//! # Bands
//!
//! A band is a multiple of 8 rows (the tile size); a stage is cut into about
//! [`SplitOptions::bands_per_member`] bands per member (6 by default), so
//! that a fast member takes more of them than a slow one and a lost member
//! leaves little to redo, while each band is big enough that its round trips
//! (the migration, the fetches of its source rows) are a small part of it.
//! Each member runs one band at a time.
//!
//! # Failures
//!
//! A member that cannot be reached, refuses, loses its connection or hands
//! its thread back (a node that stops) is lost: one warning, and its band
//! goes back to the queue for the others. When the queue is empty, an idle
//! member also runs a band that is still under way elsewhere (so a node that
//! hangs does not hold the job up): the first result of a band is taken, any
//! later one is dropped ([`SplitReport::discarded`]). When every member is
//! lost, the rest of the job runs here. At the end, a member still
//! connecting is warned of (unless [`SplitOptions::wait_for_all`] held the
//! bands back until every member was connected or lost), and one still on a
//! band done elsewhere is left (noted). A runtime error of the program in a
//! band ends the job with that error: it would fail the same way anywhere.
//!
//! # Ids
//!
//! Chunks of band results are taken into the job's store by their ids. A
//! node's ids carry its node id, and one node runs one band of the job at a
//! time (a node listed twice is used once: the node gives two migrations
//! that run at once the same serials), so its serials only grow; a `local` member allocates in a store of
//! its own (node ids 2 and up, as the photo workers), kept across its bands
//! and stages. A result whose chunk would replace a different chunk of the
//! same id is refused and its band run again elsewhere.

use std::collections::VecDeque;
use std::fmt;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chunkvm::chunk::{image_from_tiles, Chunk, ChunkId, ImageView, NodeId, Store, TILE_SIZE};
use chunkvm::exec::{ErrorKind, JobStage, Limits, Loaded, RuntimeError, Value, Vm};
use tokio::sync::mpsc;

use crate::client::Client;
use crate::identity::Token;
use crate::migrate::{migrate, MigrateFailure, MigrateOptions};
use crate::prefetch::Prefetch;
use crate::trust::Trust;

/// One member of a split.
#[derive(Clone, Debug)]
pub enum Member {
    /// This process: bands run on a blocking thread.
    Local,
    /// A node.
    Node {
        /// How the member is named in reports (`quic://HOST:PORT`).
        label: String,
        /// Its address.
        addr: SocketAddr,
        /// Its access token.
        token: Token,
        /// How its certificate is checked.
        trust: Trust,
    },
}

impl Member {
    /// The member's name in reports.
    pub fn label(&self) -> String {
        match self {
            Member::Local => "local".to_string(),
            Member::Node { label, .. } => label.clone(),
        }
    }
}

/// How to split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitOptions {
    /// Which chunks travel with a band's thread.
    pub prefetch: Prefetch,
    /// Bands per member and stage (at least 1).
    pub bands_per_member: u32,
    /// Hand out no band before every member is connected or lost. Off by
    /// default: the members that are ready start at once, and a node that
    /// connects late takes what is left (on a small job, nothing). On, the
    /// job starts evenly over all members, after the slowest handshake.
    pub wait_for_all: bool,
}

impl Default for SplitOptions {
    fn default() -> SplitOptions {
        SplitOptions {
            prefetch: Prefetch::Graph,
            bands_per_member: 6,
            wait_for_all: false,
        }
    }
}

/// What one member did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberReport {
    /// Its name.
    pub label: String,
    /// Bands whose result was taken.
    pub bands: u64,
    /// Instructions of those bands.
    pub instructions: u64,
    /// Time it spent on bands (taken or not).
    pub busy: Duration,
    /// Why it was lost, if it was.
    pub lost: Option<String>,
}

/// What a split did.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitReport {
    /// The job's output image (its chunks are in the thread's store).
    pub value: Value,
    /// Each member, in the order given (a node listed again is left out; a
    /// member added when all were lost comes last).
    pub members: Vec<MemberReport>,
    /// Bands in all stages.
    pub bands: u64,
    /// Band results taken (one per band).
    pub taken: u64,
    /// Band results dropped because the band's result was taken already.
    pub discarded: u64,
    /// Instructions of the bands taken.
    pub instructions: u64,
}

/// Something that happened during a split, as it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SplitEvent {
    /// A band's result was taken.
    BandDone {
        /// The member (index in the members given).
        member: usize,
        /// The stage.
        stage: usize,
        /// The band.
        band: usize,
    },
    /// A line for people: a member lost (`warning: `, one per member), or a
    /// note (`note: `).
    Warning(String),
    /// A line a band printed.
    Line(String),
}

/// Why a split failed.
#[derive(Debug)]
pub enum SplitError {
    /// The thread runs no job (or ran part of it already).
    NotAJob(String),
    /// No member was given.
    NoMembers,
    /// The program failed in a band here.
    Runtime(RuntimeError),
    /// The program failed in a band on a node.
    Program {
        /// The node.
        member: String,
        /// The node's message.
        message: String,
    },
    /// The job's images could not be read or made.
    Image(String),
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SplitError::NotAJob(why) => write!(f, "cannot split the thread: {why}"),
            SplitError::NoMembers => f.write_str("a split needs at least one member"),
            SplitError::Runtime(err) => write!(f, "{err}"),
            SplitError::Program { member, message } => write!(f, "on {member}: {message}"),
            SplitError::Image(why) => write!(f, "split: {why}"),
        }
    }
}

impl std::error::Error for SplitError {}

/// The rows of each band of an image `height` rows high split for `members`
/// members: about `per_member` bands each, every band a multiple of 8 rows
/// (the last one may be shorter), at least one band.
pub fn band_rows(height: u32, members: usize, per_member: u32) -> Vec<(u32, u32)> {
    let wanted = (members.max(1) as u64 * per_member.max(1) as u64).max(1);
    let tile_rows = height.div_ceil(TILE_SIZE).max(1) as u64;
    let rows = (tile_rows.div_ceil(wanted).max(1) * TILE_SIZE as u64) as u32;
    let mut out = Vec::new();
    let mut y0 = 0;
    while y0 < height {
        let y1 = y0.saturating_add(rows).min(height);
        out.push((y0, y1));
        y0 = y1;
    }
    out
}

/// A band to run.
struct Work {
    stage: usize,
    band: usize,
    store: Store,
    loaded: Arc<Loaded>,
    job: JobStage,
    src: ChunkId,
    rows: (u32, u32),
    limits: Limits,
    cancel: Arc<AtomicBool>,
}

/// A band's result.
struct BandDone {
    image: ChunkId,
    chunks: Vec<(ChunkId, Chunk)>,
    instructions: u64,
}

/// Why a band has no result.
enum BandFail {
    /// The program failed here.
    Runtime(RuntimeError),
    /// The program failed on the node.
    Program(String),
    /// The member is lost.
    Lost(String),
    /// Cancelled: another member's result was taken.
    Cancelled,
}

/// What a member tells the coordinator.
enum Report {
    /// Connected: ready for bands.
    Ready(usize),
    /// Could not connect.
    Unreachable(usize, String),
    /// A band ended.
    Band {
        member: usize,
        stage: usize,
        band: usize,
        outcome: Result<BandDone, BandFail>,
        elapsed: Duration,
    },
    /// A line a band printed.
    Line(String),
}

/// Lines printed by a band run here, sent to the coordinator.
struct LineSink {
    tx: mpsc::UnboundedSender<Report>,
    partial: Vec<u8>,
}

impl Write for LineSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let line = String::from_utf8_lossy(&self.partial[..end]).into_owned();
            self.partial.drain(..=end);
            let _ = self.tx.send(Report::Line(line));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A band's thread: a VM over the stage's store, started on the band.
fn band_vm(loaded: Arc<Loaded>, store: Store, work: &Work) -> Result<Vm, BandFail> {
    let mut vm = Vm::with_store(loaded, store);
    vm.set_limits(work.limits);
    vm.start_band(vec![work.job.clone()], work.src, Some(work.rows))
        .map_err(BandFail::Runtime)?;
    Ok(vm)
}

/// The chunks of a band's result image, out of the band's store.
fn result_of(store: &Store, value: &Value, instructions: u64) -> Result<BandDone, BandFail> {
    let Value::Image { id, .. } = value else {
        return Err(BandFail::Lost(format!(
            "a band finished with {} instead of an image",
            value.kind()
        )));
    };
    let set = store
        .export(&[*id])
        .map_err(|err| BandFail::Lost(format!("the band's image is incomplete: {err}")))?;
    Ok(BandDone {
        image: *id,
        chunks: set.chunks,
        instructions,
    })
}

/// Runs a band here, allocating in `own` (kept across bands).
fn run_here(
    work: &Work,
    own: &mut Store,
    tx: &mpsc::UnboundedSender<Report>,
) -> Result<BandDone, BandFail> {
    let mut roots = vec![work.loaded.ids.root, work.src];
    roots.extend(work.loaded.ids.strings.iter().copied());
    work.store
        .share_into(own, &roots)
        .map_err(|err| BandFail::Lost(format!("the stage's chunks: {err}")))?;
    let store = std::mem::replace(own, Store::new(own.node()));
    // A band that does not start ends the job (a runtime error): the store
    // given up with it is not needed again.
    let mut vm = band_vm(work.loaded.clone(), store, work)?;
    vm.set_cancel(work.cancel.clone());
    vm.set_output(Box::new(LineSink {
        tx: tx.clone(),
        partial: Vec::new(),
    }));
    let ended = vm.run_to_end();
    let result = match ended {
        Ok(value) => result_of(vm.store(), &value, vm.instructions()),
        Err(err) if err.kind == ErrorKind::Cancelled => Err(BandFail::Cancelled),
        Err(err) => Err(BandFail::Runtime(err)),
    };
    *own = vm.into_store();
    // Keep the allocator (ids are never reused), drop the data.
    own.collect(&[]);
    result
}

/// A `local` member: takes bands and runs them on a blocking thread.
async fn local_member(
    member: usize,
    node: NodeId,
    mut rx: mpsc::UnboundedReceiver<Work>,
    tx: mpsc::UnboundedSender<Report>,
) {
    if tx.send(Report::Ready(member)).is_err() {
        return;
    }
    let mut own = Some(Store::new(node));
    while let Some(work) = rx.recv().await {
        let started = Instant::now();
        let mut store = own.take().unwrap_or_else(|| Store::new(node));
        let sender = tx.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let outcome = run_here(&work, &mut store, &sender);
            (work.stage, work.band, outcome, store)
        })
        .await;
        let Ok((stage, band, outcome, store)) = joined else {
            return;
        };
        own = Some(store);
        let report = Report::Band {
            member,
            stage,
            band,
            outcome,
            elapsed: started.elapsed(),
        };
        if tx.send(report).is_err() {
            return;
        }
    }
}

/// A node member: connects, then migrates each band it is given.
async fn node_member(
    member: usize,
    (addr, token, trust): (SocketAddr, Token, Trust),
    prefetch: Prefetch,
    mut rx: mpsc::UnboundedReceiver<Work>,
    tx: mpsc::UnboundedSender<Report>,
) {
    let client = match Client::connect(addr, &token, &trust).await {
        Ok(client) => client,
        Err(err) => {
            let _ = tx.send(Report::Unreachable(
                member,
                format!("cannot reach it: {err}"),
            ));
            return;
        }
    };
    if tx.send(Report::Ready(member)).is_err() {
        client.close().await;
        return;
    }
    let options = MigrateOptions {
        prefetch,
        run_for: None,
    };
    while let Some(work) = rx.recv().await {
        let started = Instant::now();
        let outcome = match band_vm(work.loaded.clone(), work.store.clone(), &work) {
            Err(err) => Err(err),
            Ok(mut vm) => {
                let lines = tx.clone();
                match migrate(&client, &mut vm, &options, |line| {
                    let _ = lines.send(Report::Line(line));
                })
                .await
                {
                    Ok(report) => match report.finished {
                        Some(value) => result_of(vm.store(), &value, report.instructions),
                        None => Err(BandFail::Lost(
                            "it handed the band back (the node is stopping)".into(),
                        )),
                    },
                    Err(err) => match err.failure {
                        MigrateFailure::Program(message) => Err(BandFail::Program(message)),
                        _ => Err(BandFail::Lost(err.to_string())),
                    },
                }
            }
        };
        let lost = matches!(outcome, Err(BandFail::Lost(_)));
        let report = Report::Band {
            member,
            stage: work.stage,
            band: work.band,
            outcome,
            elapsed: started.elapsed(),
        };
        if tx.send(report).is_err() || lost {
            break;
        }
    }
    client.close().await;
}

/// Where a member is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Connecting,
    Idle,
    /// On this stage's band.
    Busy(usize, usize),
    Lost,
}

/// A member as the coordinator sees it.
struct Seat {
    state: State,
    tx: mpsc::UnboundedSender<Work>,
    task: tokio::task::JoinHandle<()>,
    report: MemberReport,
}

/// Runs the job of `vm` (started, not yet run) split over `members` (see
/// the module documentation); `on_event` hears of each band taken, each
/// member lost and each line printed. The output's chunks are taken into
/// `vm`'s store; the thread itself is left as it was.
pub async fn split(
    vm: &mut Vm,
    members: &[Member],
    options: &SplitOptions,
    mut on_event: impl FnMut(SplitEvent),
) -> Result<SplitReport, SplitError> {
    if members.is_empty() {
        return Err(SplitError::NoMembers);
    }
    let (Some(stages), Some(mut src)) = (vm.job_stages(), vm.job_source()) else {
        return Err(SplitError::NotAJob("it runs no filter or pipeline".into()));
    };
    if vm.job_progress().is_some_and(|p| p.rows_done > 0) {
        return Err(SplitError::NotAJob("its job is under way already".into()));
    }
    let loaded = vm.loaded().clone();
    let limits = vm.limits();
    let mut main = vm.store().clone();
    let (report_tx, mut reports) = mpsc::unbounded_channel::<Report>();
    let mut seats: Vec<Seat> = Vec::new();
    let mut locals = 0u16;
    let mut add_seat = |seats: &mut Vec<Seat>, member: &Member| {
        let (tx, rx) = mpsc::unbounded_channel::<Work>();
        let index = seats.len();
        let task = match member {
            Member::Local => {
                // Node ids 2 and up are this process's workers.
                let node = NodeId(2 + locals % 256);
                locals += 1;
                tokio::spawn(local_member(index, node, rx, report_tx.clone()))
            }
            Member::Node {
                addr, token, trust, ..
            } => tokio::spawn(node_member(
                index,
                (*addr, token.clone(), trust.clone()),
                options.prefetch,
                rx,
                report_tx.clone(),
            )),
        };
        seats.push(Seat {
            state: State::Connecting,
            tx,
            task,
            report: MemberReport {
                label: member.label(),
                ..MemberReport::default()
            },
        });
    };
    let mut seen: Vec<SocketAddr> = Vec::new();
    for member in members {
        if let Member::Node { addr, label, .. } = member {
            if seen.contains(addr) {
                on_event(SplitEvent::Warning(format!(
                    "note: {label} is listed twice: a node runs one band of a job at a time"
                )));
                continue;
            }
            seen.push(*addr);
        }
        add_seat(&mut seats, member);
    }
    let mut total = SplitReport {
        value: Value::Unit,
        members: Vec::new(),
        bands: 0,
        taken: 0,
        discarded: 0,
        instructions: 0,
    };
    let mut cancels: Vec<Arc<AtomicBool>> = Vec::new();
    let outcome = 'job: {
        for (stage, job) in stages.iter().enumerate() {
            let view = match ImageView::open(&main, src) {
                Ok(view) => view,
                Err(err) => break 'job Err(SplitError::Image(err.to_string())),
            };
            let (width, height) = (view.width(), view.height());
            let bands = band_rows(height, seats.len(), options.bands_per_member);
            total.bands += bands.len() as u64;
            let mut results: Vec<Option<BandDone>> = (0..bands.len()).map(|_| None).collect();
            // Members on each band, with the band's cancel flag.
            let mut running: Vec<Vec<usize>> = vec![Vec::new(); bands.len()];
            let mut flags: Vec<Arc<AtomicBool>> = Vec::new();
            for _ in &bands {
                let flag = Arc::new(AtomicBool::new(false));
                cancels.push(flag.clone());
                flags.push(flag);
            }
            let mut queue: VecDeque<usize> = (0..bands.len()).collect();
            let mut left = bands.len();
            while left > 0 {
                // Every member lost: the rest runs here.
                if seats.iter().all(|seat| seat.state == State::Lost) {
                    on_event(SplitEvent::Warning(
                        "warning: every member of the split is lost; the rest of the job runs here"
                            .into(),
                    ));
                    add_seat(&mut seats, &Member::Local);
                }
                // Hand out bands to idle members: the queue first, then a second
                // copy of a band under way on one member only.
                let waiting = options.wait_for_all
                    && seats.iter().any(|seat| seat.state == State::Connecting);
                for (index, seat) in seats.iter_mut().enumerate() {
                    if waiting || seat.state != State::Idle {
                        continue;
                    }
                    let band = queue.pop_front().or_else(|| {
                        (0..bands.len()).find(|b| {
                            results[*b].is_none()
                                && running[*b].len() == 1
                                && !running[*b].contains(&index)
                        })
                    });
                    let Some(band) = band else { continue };
                    let work = Work {
                        stage,
                        band,
                        store: main.clone(),
                        loaded: loaded.clone(),
                        job: job.clone(),
                        src,
                        rows: bands[band],
                        limits,
                        cancel: flags[band].clone(),
                    };
                    if seat.tx.send(work).is_ok() {
                        seat.state = State::Busy(stage, band);
                        running[band].push(index);
                    } else {
                        queue.push_front(band);
                    }
                }
                let Some(report) = reports.recv().await else {
                    break 'job Err(SplitError::Image("every member stopped".into()));
                };
                match report {
                    Report::Ready(member) => {
                        if seats[member].state == State::Connecting {
                            seats[member].state = State::Idle;
                        }
                    }
                    Report::Unreachable(member, why) => {
                        lose(&mut seats[member], why, &mut on_event)
                    }
                    Report::Line(line) => on_event(SplitEvent::Line(line)),
                    Report::Band {
                        member,
                        stage: of_stage,
                        band,
                        outcome,
                        elapsed,
                    } => {
                        seats[member].report.busy += elapsed;
                        if seats[member].state == State::Busy(of_stage, band) {
                            seats[member].state = State::Idle;
                        }
                        let current = of_stage == stage;
                        if current {
                            running[band].retain(|m| *m != member);
                        }
                        match outcome {
                            Ok(done) if !current || results[band].is_some() => {
                                let _ = done;
                                total.discarded += 1;
                            }
                            Ok(done) => {
                                if let Some(clash) = clashes(&main, &done.chunks) {
                                    lose(
                                        &mut seats[member],
                                        format!("its result reuses the id of chunk {clash}"),
                                        &mut on_event,
                                    );
                                } else {
                                    for (id, chunk) in &done.chunks {
                                        main.insert(*id, chunk.clone());
                                    }
                                    flags[band].store(true, Ordering::SeqCst);
                                    let seat = &mut seats[member].report;
                                    seat.bands += 1;
                                    seat.instructions += done.instructions;
                                    total.taken += 1;
                                    total.instructions += done.instructions;
                                    results[band] = Some(done);
                                    left -= 1;
                                    on_event(SplitEvent::BandDone {
                                        member,
                                        stage,
                                        band,
                                    });
                                }
                            }
                            Err(BandFail::Cancelled) => {}
                            Err(_) if !current || results[band].is_some() => {}
                            Err(BandFail::Runtime(err)) => {
                                break 'job Err(SplitError::Runtime(err))
                            }
                            Err(BandFail::Program(message)) => {
                                break 'job Err(SplitError::Program {
                                    member: seats[member].report.label.clone(),
                                    message,
                                })
                            }
                            Err(BandFail::Lost(why)) => {
                                lose(&mut seats[member], why, &mut on_event)
                            }
                        }
                        if current
                            && results[band].is_none()
                            && running[band].is_empty()
                            && !queue.contains(&band)
                        {
                            queue.push_front(band);
                        }
                    }
                }
            }
            // The stage's output: the rows of tiles of its bands, in order.
            let mut tiles = Vec::new();
            for done in results.iter().flatten() {
                match ImageView::open(&main, done.image) {
                    Ok(view) => tiles.extend_from_slice(view.tile_ids()),
                    Err(err) => break 'job Err(SplitError::Image(err.to_string())),
                }
            }
            src = match image_from_tiles(&mut main, width, height, &tiles) {
                Ok(id) => id,
                Err(err) => break 'job Err(SplitError::Image(err.to_string())),
            };
        }
        Ok(())
    };
    // Whatever is still running is not needed any more.
    for flag in &cancels {
        flag.store(true, Ordering::SeqCst);
    }
    for seat in &mut seats {
        match seat.state {
            State::Connecting => {
                seat.task.abort();
                let why = "not connected before the job ended".to_string();
                if outcome.is_ok() {
                    on_event(SplitEvent::Warning(format!(
                        "warning: {}: {why}; it took no band",
                        seat.report.label
                    )));
                }
                seat.report.lost = Some(why);
            }
            State::Busy(..) => {
                seat.task.abort();
                if outcome.is_ok() {
                    on_event(SplitEvent::Warning(format!(
                        "note: {}: its last band was done first by another member; left unfinished",
                        seat.report.label
                    )));
                }
            }
            State::Idle | State::Lost => {}
        }
    }
    outcome?;
    let set = main
        .export(&[src])
        .map_err(|err| SplitError::Image(err.to_string()))?;
    vm.absorb(set.chunks);
    let view =
        ImageView::open(vm.store(), src).map_err(|err| SplitError::Image(err.to_string()))?;
    total.value = Value::Image {
        width: view.width(),
        height: view.height(),
        id: src,
    };
    total.members = seats.into_iter().map(|seat| seat.report).collect();
    Ok(total)
}

/// Marks a member lost, with one warning.
fn lose(seat: &mut Seat, why: String, on_event: &mut impl FnMut(SplitEvent)) {
    if seat.state == State::Lost {
        return;
    }
    seat.state = State::Lost;
    on_event(SplitEvent::Warning(format!(
        "warning: {}: {why}; its bands go to the other members",
        seat.report.label
    )));
    seat.report.lost = Some(why);
}

/// The first chunk of `chunks` whose id holds a different chunk in `store`.
fn clashes(store: &Store, chunks: &[(ChunkId, Chunk)]) -> Option<ChunkId> {
    chunks
        .iter()
        .find(|(id, chunk)| store.get(*id).is_some_and(|held| held != chunk))
        .map(|(id, _)| *id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_rows_of_tiles_about_per_member_each() {
        let bands = band_rows(300, 3, 6);
        assert_eq!(bands.first(), Some(&(0, 24)));
        assert_eq!(bands.last(), Some(&(288, 300)));
        assert!(bands.iter().all(|(y0, _)| y0 % TILE_SIZE == 0));
        assert!(bands.windows(2).all(|w| w[0].1 == w[1].0));
        assert_eq!(bands.len(), 13);
        assert_eq!(band_rows(5, 4, 6), vec![(0, 5)]);
        assert_eq!(band_rows(16, 1, 1), vec![(0, 16)]);
        assert_eq!(band_rows(0, 2, 2), Vec::<(u32, u32)>::new());
    }
}
