//! Running filters over images: the host loop that calls a kernel or point
//! filter once per output pixel.

use super::value::{color_of, from_u8, to_u8, Value};
use super::vm::{Frame, RuntimeError, Stop, Vm};
use crate::chunk::{image_from_rgba8, ChunkId, ImageView};
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

impl Vm {
    /// Calls `func` with registers already set: scalar arguments in `s[0..]`,
    /// references in `r[0..]`; returns the colour it returns.
    fn call_prepared(&mut self, func: u32) -> Result<[f32; 4], RuntimeError> {
        self.frames.clear();
        self.frames.push(Frame {
            func,
            pc: 0,
            sbase: 0,
            rbase: 0,
            env: ChunkId::NIL,
        });
        self.result_type = Type::Color;
        loop {
            match self.run()? {
                Stop::Finished(Value::Color(c)) => return Ok(c),
                Stop::Finished(_) => return Ok(color_of(self.s[0], self.s[1])),
                _ => continue,
            }
        }
    }

    fn prepare_registers(&mut self, func: u32) {
        let lf = &self.loaded.funcs[func as usize];
        let (nregs, nrefs) = (lf.nregs as usize + 2, lf.nrefs as usize + 1);
        if self.s.len() < nregs {
            self.s.resize(nregs, 0);
        }
        if self.r.len() < nrefs {
            self.r.resize(nrefs, ChunkId::NIL);
        }
    }

    /// Applies filter `func` to the image `src` over the rectangle `x0..x1, y0..y1`
    /// (clipped to the image); returns the RGBA8 pixels of that rectangle, row by row.
    pub fn apply_region(
        &mut self,
        func: u32,
        src: ChunkId,
        (x0, y0, x1, y1): (u32, u32, u32, u32),
    ) -> Result<Vec<u8>, RuntimeError> {
        let kind = filter_kind(self, func).ok_or_else(|| RuntimeError {
            message: "not a filter: wants (c: color) -> color or (src: image, x: int, y: int) -> color".into(),
            span: self.loaded.program.functions.get(func as usize).map(|f| f.span).unwrap_or_default(),
            trace: Vec::new(),
        })?;
        let view = ImageView::open(&self.store, src).map_err(|err| RuntimeError {
            message: err.to_string(),
            span: Default::default(),
            trace: Vec::new(),
        })?;
        let (x1, y1) = (x1.min(view.width()), y1.min(view.height()));
        let mut out = Vec::with_capacity(((x1.saturating_sub(x0)) * (y1.saturating_sub(y0)) * 4) as usize);
        self.pin(src);
        self.prepare_registers(func);
        for y in y0..y1 {
            for x in x0..x1 {
                match kind {
                    FilterKind::Kernel => {
                        self.r[0] = src;
                        self.s[0] = x as u64;
                        self.s[1] = y as u64;
                    }
                    FilterKind::Point => {
                        let px = view.pixel(x as i64, y as i64);
                        let (lo, hi) = super::value::color_slots(px.map(from_u8));
                        self.s[0] = lo;
                        self.s[1] = hi;
                    }
                }
                let c = self.call_prepared(func)?;
                out.extend_from_slice(&[to_u8(c[0]), to_u8(c[1]), to_u8(c[2]), to_u8(c[3])]);
            }
        }
        self.pinned.retain(|id| *id != src);
        Ok(out)
    }

    /// Applies filter `func` to the whole image `src`; returns the new image.
    pub fn apply_filter(&mut self, func: u32, src: ChunkId) -> Result<ChunkId, RuntimeError> {
        let view = ImageView::open(&self.store, src).map_err(|err| RuntimeError {
            message: err.to_string(),
            span: Default::default(),
            trace: Vec::new(),
        })?;
        let (w, h) = (view.width(), view.height());
        let pixels = self.apply_region(func, src, (0, 0, w, h))?;
        image_from_rgba8(&mut self.store, w, h, &pixels).map_err(|err| RuntimeError {
            message: err.to_string(),
            span: Default::default(),
            trace: Vec::new(),
        })
    }
}
