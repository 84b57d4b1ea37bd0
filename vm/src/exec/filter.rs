//! Running filters over images: the host loop that calls a kernel or point
//! filter once per output pixel.

use super::value::{color_of, color_slots, from_u8, to_u8};
use super::vm::{Frame, RuntimeError, Stop, Vm};
use crate::chunk::{image_from_rgba8, ChunkId, ImageView, Store, StoreError};
use crate::types::Type;

/// The two shapes of filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterKind {
    /// `filter f(c: color) -> color`
    Point,
    /// `filter f(src: image, x: int, y: int) -> color`
    Kernel,
}

/// The kind of filter function `func` is, from its signature.
pub fn filter_kind(vm: &Vm, func: u32) -> Option<FilterKind> {
    let function = vm.loaded.program.functions.get(func as usize)?;
    let types: Vec<&Type> = function.params.iter().map(|(_, ty)| ty).collect();
    if function.ret != Type::Color {
        return None;
    }
    match types.as_slice() {
        [Type::Color] => Some(FilterKind::Point),
        [Type::Image, Type::Int, Type::Int] => Some(FilterKind::Kernel),
        _ => None,
    }
}

/// A filter running over a rectangle of an image, one call per pixel, all
/// inside one run of the interpreter loop.
#[derive(Debug)]
pub(crate) struct Job {
    func: u32,
    kind: FilterKind,
    src: ChunkId,
    view: ImageView,
    x0: u32,
    x1: u32,
    y1: u32,
    x: u32,
    y: u32,
    out: Vec<u8>,
    /// The store's allocation mark when the region started: each call's chunks
    /// are freed when it returns.
    mark: u64,
}

fn not_a_filter(vm: &Vm, func: u32) -> RuntimeError {
    RuntimeError {
        kind: Default::default(),
        message: "not a filter: wants (c: color) -> color or (src: image, x: int, y: int) -> color"
            .into(),
        span: vm
            .loaded
            .program
            .functions
            .get(func as usize)
            .map(|f| f.span)
            .unwrap_or_default(),
        trace: Vec::new(),
    }
}

fn host_error(message: String) -> RuntimeError {
    RuntimeError {
        kind: Default::default(),
        message,
        span: Default::default(),
        trace: Vec::new(),
    }
}

impl Vm {
    /// Sets the arguments of the job's current pixel into the registers.
    fn job_arguments(
        job: &mut Job,
        store: &Store,
        s: &mut [u64],
        r: &mut [ChunkId],
    ) -> Result<(), StoreError> {
        match job.kind {
            FilterKind::Kernel => {
                r[0] = job.src;
                s[0] = job.x as u64;
                s[1] = job.y as u64;
            }
            FilterKind::Point => {
                let px = job.view.pixel(store, job.x as i64, job.y as i64)?;
                let (lo, hi) = color_slots(px.map(from_u8));
                s[0] = lo;
                s[1] = hi;
            }
        }
        Ok(())
    }

    /// Keeps the colour the filter returned for the current pixel (in `s[0..2]`) and
    /// moves on: the frame of the next call, or `None` when the region is done.
    pub(crate) fn next_pixel(
        &mut self,
        s: &mut [u64],
        r: &mut [ChunkId],
    ) -> Result<Option<Frame>, StoreError> {
        let Some(job) = self.job.as_mut() else {
            return Ok(None);
        };
        // The call returned a colour: whatever it allocated is garbage now.
        if self.store.mark() > job.mark {
            self.store.free_since(job.mark);
            if matches!(&self.image, Some((id, _)) if id.node() == Some(self.store.node()) && id.serial() >= job.mark)
            {
                self.image = None;
            }
            job.mark = self.store.mark();
        }
        let c = color_of(s[0], s[1]);
        job.out
            .extend_from_slice(&[to_u8(c[0]), to_u8(c[1]), to_u8(c[2]), to_u8(c[3])]);
        job.x += 1;
        if job.x >= job.x1 {
            job.x = job.x0;
            job.y += 1;
        }
        if job.y >= job.y1 {
            return Ok(None);
        }
        Vm::job_arguments(job, &self.store, s, r)?;
        Ok(Some(Frame {
            func: job.func,
            pc: 0,
            sbase: 0,
            rbase: 0,
            env: ChunkId::NIL,
        }))
    }

    /// Applies filter `func` to the image `src` over the rectangle `x0..x1, y0..y1`
    /// (clipped to the image); returns the RGBA8 pixels of that rectangle, row by row.
    pub fn apply_region(
        &mut self,
        func: u32,
        src: ChunkId,
        (x0, y0, x1, y1): (u32, u32, u32, u32),
    ) -> Result<Vec<u8>, RuntimeError> {
        let kind = filter_kind(self, func).ok_or_else(|| not_a_filter(self, func))?;
        let view = ImageView::open(&self.store, src).map_err(|err| host_error(err.to_string()))?;
        let (x1, y1) = (x1.min(view.width()), y1.min(view.height()));
        if x0 >= x1 || y0 >= y1 {
            return Ok(Vec::new());
        }
        let lf = &self.loaded.funcs[func as usize];
        let (nregs, nrefs) = (lf.nregs as usize + 2, lf.nrefs as usize + 1);
        self.s.clear();
        self.r.clear();
        self.s.resize(nregs, 0);
        self.r.resize(nrefs, ChunkId::NIL);
        let job = Job {
            func,
            kind,
            src,
            view,
            x0,
            x1,
            y1,
            x: x0,
            y: y0,
            out: Vec::with_capacity(((x1 - x0) * (y1 - y0) * 4) as usize),
            mark: self.store.mark(),
        };
        let mut job = job;
        Vm::job_arguments(&mut job, &self.store, &mut self.s, &mut self.r)
            .map_err(|err| host_error(err.to_string()))?;
        self.job = Some(job);
        self.pin(src);
        self.frames.clear();
        self.frames.push(Frame {
            func,
            pc: 0,
            sbase: 0,
            rbase: 0,
            env: ChunkId::NIL,
        });
        self.result_type = Type::Color;
        let outcome = loop {
            match self.run() {
                Ok(Stop::Finished(_)) => break Ok(()),
                Ok(_) => continue,
                Err(err) => break Err(err),
            }
        };
        self.pinned.retain(|id| *id != src);
        let job = self.job.take();
        // Kernel filters read through the VM's view of the image, point filters through
        // the job's.
        self.last_tiles_read = match &self.image {
            Some((id, view)) if *id == src => view.loaded(),
            _ => 0,
        } + job.as_ref().map_or(0, |job| job.view.loaded());
        outcome?;
        Ok(job.map(|job| job.out).unwrap_or_default())
    }

    /// Tiles the last region's filter read from the store.
    pub fn tiles_read(&self) -> usize {
        self.last_tiles_read
    }

    /// Applies filter `func` to the whole image `src`; returns the new image.
    pub fn apply_filter(&mut self, func: u32, src: ChunkId) -> Result<ChunkId, RuntimeError> {
        let view = ImageView::open(&self.store, src).map_err(|err| host_error(err.to_string()))?;
        let (w, h) = (view.width(), view.height());
        let pixels = self.apply_region(func, src, (0, 0, w, h))?;
        image_from_rgba8(&mut self.store, w, h, &pixels).map_err(|err| host_error(err.to_string()))
    }
}
