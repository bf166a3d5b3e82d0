//! Content-Encoding decoding for HTTP bodies: gzip, deflate (raw or zlib-wrapped), stacked.
//!
//! Takes: body bytes (already dechunked) in any split. Promises: the same output for any split
//! of the same input; output is handed to a sink that can refuse more (the body limit), after
//! which nothing more is decompressed; at most [`RETRY_BYTES`] of compressed input are kept
//! per layer (to retry another format at the start of a stream); never panics on garbage.
//!
//! Leniency follows libhtp (Suricata's HTTP parser), which follows browsers:
//! - gzip headers are parsed by hand and only the magic and method must be right; reserved
//!   flags, header CRC, trailer CRC and size are ignored, and so is anything after the end
//!   of the deflate stream;
//! - a layer that fails before producing any output is retried with the next format
//!   (gzip -> raw deflate -> zlib -> gzip), three times at most, then passes its input
//!   through unchanged; a layer that fails after producing output stops there (what it
//!   produced is kept).

use flate2::{Decompress, FlushDecompress, Status};

/// Compressed bytes kept per layer while it has produced nothing, so that a retry with
/// another format sees the stream from its start.
pub(crate) const RETRY_BYTES: usize = 16 * 1024;

/// Retries of other formats before a layer passes its input through (libhtp: 3).
const MAX_RESTARTS: u8 = 3;

/// One content coding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    /// gzip (RFC 1952), header parsed leniently.
    Gzip,
    /// Raw deflate (RFC 1951): what `Content-Encoding: deflate` means to libhtp first.
    Deflate,
    /// Deflate in a zlib wrapper (RFC 1950).
    Zlib,
}

impl Coding {
    fn next(self) -> Coding {
        match self {
            Coding::Gzip => Coding::Deflate,
            Coding::Deflate => Coding::Zlib,
            Coding::Zlib => Coding::Gzip,
        }
    }
}

/// Why decoding stopped early (counted by the caller).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// A layer failed (garbage, truncated data) and was retried, passed through or stopped.
    pub errors: u32,
    /// The sink refused more output.
    pub sink_full: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gz {
    Start,
    Extra,
    Name,
    Comment,
    Hcrc,
    Body,
}

struct Layer {
    coding: Coding,
    inflate: Decompress,
    gz: Gz,
    gz_flags: u8,
    /// Bytes of the gzip header field in progress (fixed part, xlen, extra, hcrc).
    gz_need: usize,
    gz_hdr: [u8; 10],
    gz_have: usize,
    restarts: u8,
    produced: bool,
    passthrough: bool,
    /// Stream ended or failed after output: the rest of the input is ignored.
    done: bool,
    /// Input seen while nothing was produced yet (for a retry), bounded by RETRY_BYTES.
    held: Vec<u8>,
    held_overflow: bool,
}

impl Layer {
    fn new(coding: Coding) -> Self {
        let mut l = Layer {
            coding,
            inflate: Decompress::new(coding == Coding::Zlib),
            gz: Gz::Start,
            gz_flags: 0,
            gz_need: 10,
            gz_hdr: [0; 10],
            gz_have: 0,
            restarts: 0,
            produced: false,
            passthrough: false,
            done: false,
            held: Vec::new(),
            held_overflow: false,
        };
        l.reset(coding);
        l
    }

    fn reset(&mut self, coding: Coding) {
        self.coding = coding;
        self.inflate = Decompress::new(coding == Coding::Zlib);
        self.gz = if coding == Coding::Gzip { Gz::Start } else { Gz::Body };
        self.gz_flags = 0;
        self.gz_need = 10;
        self.gz_have = 0;
    }

    /// Feeds `data`; decoded output goes to `out`, which returns false to stop.
    /// Returns false when the sink refused output.
    fn write(&mut self, data: &[u8], out: &mut dyn FnMut(&[u8]) -> bool, oc: &mut Outcome) -> bool {
        if self.done || data.is_empty() {
            return true;
        }
        if self.passthrough {
            return out(data);
        }
        if !self.produced && !self.held_overflow {
            if self.held.len() + data.len() <= RETRY_BYTES {
                self.held.extend_from_slice(data);
            } else {
                self.held_overflow = true;
                self.held = Vec::new();
            }
        }
        match self.decode(data, out) {
            Ok(keep_going) => keep_going,
            Err(()) => {
                oc.errors = oc.errors.saturating_add(1);
                if self.produced {
                    self.done = true;
                    return true;
                }
                self.retry(out, oc)
            }
        }
    }

    /// After a failure with nothing produced: the next format on the held input, or pass
    /// the held input through once the retries are spent.
    fn retry(&mut self, out: &mut dyn FnMut(&[u8]) -> bool, oc: &mut Outcome) -> bool {
        let held = std::mem::take(&mut self.held);
        loop {
            if self.restarts >= MAX_RESTARTS || self.held_overflow {
                self.passthrough = true;
                return out(&held);
            }
            self.restarts += 1;
            let next = self.coding.next();
            self.reset(next);
            match self.decode(&held, out) {
                Ok(keep_going) => {
                    if !self.produced {
                        self.held = held;
                    }
                    return keep_going;
                }
                Err(()) => {
                    oc.errors = oc.errors.saturating_add(1);
                    if self.produced {
                        self.done = true;
                        return true;
                    }
                }
            }
        }
    }

    /// Gzip header, then inflate. Err on a format error.
    fn decode(&mut self, mut data: &[u8], out: &mut dyn FnMut(&[u8]) -> bool) -> Result<bool, ()> {
        const FHCRC: u8 = 1 << 1;
        const FEXTRA: u8 = 1 << 2;
        const FNAME: u8 = 1 << 3;
        const FCOMMENT: u8 = 1 << 4;
        while self.gz != Gz::Body {
            if data.is_empty() {
                return Ok(true);
            }
            match self.gz {
                Gz::Start => {
                    let take = (self.gz_need - self.gz_have).min(data.len());
                    let start = self.gz_have;
                    if let (Some(dst), Some(src)) = (self.gz_hdr.get_mut(start..start + take), data.get(..take)) {
                        dst.copy_from_slice(src);
                    }
                    self.gz_have += take;
                    data = data.get(take..).unwrap_or(&[]);
                    if self.gz_have < self.gz_need {
                        continue;
                    }
                    if self.gz_hdr[0] != 0x1f || self.gz_hdr[1] != 0x8b || self.gz_hdr[2] != 8 {
                        return Err(());
                    }
                    self.gz_flags = self.gz_hdr[3];
                    self.gz_have = 0;
                    self.gz_need = 0;
                    self.gz = Gz::Extra;
                    if self.gz_flags & FEXTRA != 0 {
                        self.gz_need = usize::MAX; // xlen not read yet
                    }
                }
                Gz::Extra => {
                    if self.gz_flags & FEXTRA == 0 {
                        self.gz = Gz::Name;
                        continue;
                    }
                    if self.gz_need == usize::MAX {
                        // Two little-endian bytes of XLEN, possibly split.
                        // In bounds: data is not empty (checked at the top of the loop).
                        let b = data[0];
                        data = &data[1..];
                        if self.gz_have == 0 {
                            self.gz_hdr[0] = b;
                            self.gz_have = 1;
                            continue;
                        }
                        self.gz_need = usize::from(u16::from_le_bytes([self.gz_hdr[0], b]));
                        self.gz_have = 0;
                        continue;
                    }
                    let skip = (self.gz_need - self.gz_have).min(data.len());
                    self.gz_have += skip;
                    data = data.get(skip..).unwrap_or(&[]);
                    if self.gz_have >= self.gz_need {
                        self.gz = Gz::Name;
                    }
                }
                Gz::Name | Gz::Comment => {
                    let flag = if self.gz == Gz::Name { FNAME } else { FCOMMENT };
                    if self.gz_flags & flag != 0 {
                        match data.iter().position(|&c| c == 0) {
                            Some(p) => data = data.get(p + 1..).unwrap_or(&[]),
                            None => return Ok(true),
                        }
                    }
                    self.gz = if self.gz == Gz::Name { Gz::Comment } else { Gz::Hcrc };
                    self.gz_have = 0;
                }
                Gz::Hcrc => {
                    if self.gz_flags & FHCRC != 0 {
                        let skip = (2 - self.gz_have).min(data.len());
                        self.gz_have += skip;
                        data = data.get(skip..).unwrap_or(&[]);
                        if self.gz_have < 2 {
                            return Ok(true);
                        }
                    }
                    self.gz = Gz::Body;
                }
                Gz::Body => {}
            }
        }
        let mut buf = [0u8; 8192];
        loop {
            let before_in = self.inflate.total_in();
            let before_out = self.inflate.total_out();
            let status = self.inflate.decompress(data, &mut buf, FlushDecompress::None).map_err(|_| ())?;
            let used = (self.inflate.total_in() - before_in) as usize;
            let made = (self.inflate.total_out() - before_out) as usize;
            data = data.get(used..).unwrap_or(&[]);
            if made > 0 {
                self.produced = true;
                self.held = Vec::new();
                if !out(buf.get(..made).unwrap_or(&[])) {
                    self.done = true;
                    return Ok(false);
                }
            }
            if status == Status::StreamEnd {
                self.done = true;
                return Ok(true);
            }
            if (used == 0 && made == 0) || (data.is_empty() && made < buf.len()) {
                return Ok(true);
            }
        }
    }
}

/// A chain of decoders, applied in order to the raw body.
pub(crate) struct Decoder {
    layers: Vec<Layer>,
    /// Compressed bytes fed in.
    pub bytes_in: u64,
    /// Decoded bytes handed to the sink.
    pub bytes_out: u64,
    stopped: bool,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c: Vec<Coding> = self.layers.iter().map(|l| l.coding).collect();
        f.debug_struct("Decoder")
            .field("layers", &c)
            .field("bytes_in", &self.bytes_in)
            .field("bytes_out", &self.bytes_out)
            .finish()
    }
}

impl Decoder {
    /// `codings` in the order they must be undone (the last one the server applied first).
    pub(crate) fn new(codings: &[Coding]) -> Self {
        Decoder { layers: codings.iter().map(|&c| Layer::new(c)).collect(), bytes_in: 0, bytes_out: 0, stopped: false }
    }

    /// The sink refused output earlier: nothing more is decoded.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped
    }

    /// Decodes `data`, handing output to `sink` (which returns false when it wants no more).
    pub(crate) fn write(&mut self, data: &[u8], sink: &mut dyn FnMut(&[u8]) -> bool) -> Outcome {
        let mut oc = Outcome::default();
        if self.stopped {
            oc.sink_full = true;
            return oc;
        }
        self.bytes_in = self.bytes_in.saturating_add(data.len() as u64);
        let mut produced = 0u64;
        let mut counting = |b: &[u8]| {
            produced = produced.saturating_add(b.len() as u64);
            sink(b)
        };
        let ok = feed(&mut self.layers, data, &mut counting, &mut oc);
        self.bytes_out = self.bytes_out.saturating_add(produced);
        if !ok {
            self.stopped = true;
            oc.sink_full = true;
        }
        oc
    }
}

fn feed(layers: &mut [Layer], data: &[u8], sink: &mut dyn FnMut(&[u8]) -> bool, oc: &mut Outcome) -> bool {
    match layers.split_first_mut() {
        None => sink(data),
        Some((first, rest)) => {
            let mut inner_oc = Outcome::default();
            let r = first.write(data, &mut |o: &[u8]| feed(rest, o, sink, &mut inner_oc), oc);
            oc.errors = oc.errors.saturating_add(inner_oc.errors);
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    fn gz(d: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    }
    fn raw(d: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    }
    fn zl(d: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    }

    fn run(codings: &[Coding], input: &[u8], split: usize, limit: usize) -> (Vec<u8>, Outcome) {
        let mut d = Decoder::new(codings);
        let mut out = Vec::new();
        let mut total = Outcome::default();
        for part in input.chunks(split.max(1)) {
            let oc = d.write(part, &mut |b| {
                let room = limit - out.len();
                out.extend_from_slice(&b[..b.len().min(room)]);
                out.len() < limit
            });
            total.errors += oc.errors;
            total.sink_full |= oc.sink_full;
        }
        (out, total)
    }

    const TEXT: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

    #[test]
    fn formats_any_split() {
        for split in [1, 2, 3, 7, 1000] {
            assert_eq!(run(&[Coding::Gzip], &gz(TEXT), split, 1 << 20).0, TEXT);
            assert_eq!(run(&[Coding::Deflate], &raw(TEXT), split, 1 << 20).0, TEXT);
            // deflate that is really zlib, gzip that is really deflate: retried.
            assert_eq!(run(&[Coding::Deflate], &zl(TEXT), split, 1 << 20).0, TEXT);
            assert_eq!(run(&[Coding::Gzip], &raw(TEXT), split, 1 << 20).0, TEXT);
            assert_eq!(run(&[Coding::Gzip, Coding::Deflate], &gz(&raw(TEXT)), split, 1 << 20).0, TEXT);
        }
    }

    #[test]
    fn gzip_header_fields_and_bad_trailer() {
        let mut g = gz(TEXT);
        // FHCRC + FEXTRA + FNAME + FCOMMENT, reserved bits; broken trailer.
        g[3] = 0x02 | 0x04 | 0x08 | 0x10 | 0x80;
        let mut h = g[..10].to_vec();
        h.extend_from_slice(&[3, 0, b'a', b'b', b'c']);
        h.extend_from_slice(b"name\0comment\0");
        h.extend_from_slice(&[0x12, 0x34]);
        h.extend_from_slice(&g[10..g.len() - 4]);
        h.extend_from_slice(b"zzzz");
        for split in [1, 5, 1000] {
            assert_eq!(run(&[Coding::Gzip], &h, split, 1 << 20).0, TEXT);
        }
    }

    #[test]
    fn garbage_passes_through_and_bomb_is_capped() {
        let (out, oc) = run(&[Coding::Deflate], b"\xff\xfe garbage that is not deflate", 4, 1 << 20);
        assert_eq!(out, b"\xff\xfe garbage that is not deflate");
        assert!(oc.errors > 0);
        let zeros = vec![0u8; 10 << 20];
        let bomb = gz(&gz(&zeros));
        let (out, oc) = run(&[Coding::Gzip, Coding::Gzip], &bomb, 4096, 100 * 1024);
        assert_eq!(out.len(), 100 * 1024);
        assert!(oc.sink_full);
    }
}
