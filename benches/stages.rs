//! TCP reassembly and HTTP parsing throughput (bytes/s) on real sessions.
//!
//! Input: the TCP packets of ../shared/corpus/traffic/mix.pcap (else captures/demo.pcap),
//! decoded and matched to their flows once, outside the measurement.
//! - `stream/reassembly`: every TCP packet through a fresh [`StreamEngine`] (sessions,
//!   segments, acks), with an app sink that only counts the in-order bytes it is handed;
//!   throughput is in TCP payload bytes. Checks: the same in-order bytes and sessions as the
//!   setup pass.
//! - `http/parse`: the in-order data of every port-80 session (as the stream engine delivers
//!   it, in the same chunks) through a fresh [`HttpState`] per session; throughput is in
//!   HTTP bytes. Checks: the same requests and responses as the setup pass, and more than none.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use std::collections::HashMap;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use picket::app::http::{HttpConfig, HttpState, HttpStats};
use picket::capture::pcap::PcapFileSource;
use picket::capture::{PacketSource, Timestamp};
use picket::config::Config;
use picket::decode::{proto, Decoded, Decoder};
use picket::flow::{FlowKey, FlowTable};
use picket::metrics::{Counters, C};
use picket::stream::{AppSink, Seg, StreamEngine, TcpSession, Verdict};

/// One TCP packet, matched to its flow.
struct TcpPkt {
    flow: u32,
    to_server: bool,
    seq: u32,
    ack: u32,
    flags: u8,
    win: u16,
    payload: Vec<u8>,
}

fn tcp_packets() -> (Vec<TcpPkt>, usize, Vec<u16>) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mix = root.join("../shared/corpus/traffic/mix.pcap");
    let path = if mix.exists() { mix } else { root.join("captures/demo.pcap") };
    let mut src = PcapFileSource::new(vec![path]);
    let dec = Decoder::default();
    let cfg = Config::default();
    let mut table: FlowTable<()> = FlowTable::new(cfg.flow.table_config(1));
    let mut c = Counters::new();
    let mut ids: HashMap<u64, u32> = HashMap::new();
    let mut server_port: Vec<u16> = Vec::new();
    let mut out = Vec::new();
    while src.next_batch(&mut |f| {
        let mut d = Decoded::default();
        dec.decode(f.linktype, f.data, &mut d, &mut c);
        if d.proto != proto::TCP || !d.has_l4() || !d.is_ip() {
            return;
        }
        let Some(fp) = FlowKey::of(&d, f.data.len()) else { return };
        let Some(l) = table.packet(&fp, fp.key.hash(), &d, Timestamp(f.ts.0), 0, &mut c, &mut |_, _| {}) else {
            return;
        };
        let fl = table.get(l.slot);
        let n = ids.len() as u32;
        let id = *ids.entry(fl.flow_id).or_insert(n);
        if id as usize == server_port.len() {
            server_port.push(fl.tuple.dp);
        }
        out.push(TcpPkt {
            flow: id,
            to_server: l.to_server,
            seq: d.tcp_seq,
            ack: d.tcp_ack,
            flags: d.tcp_flags,
            win: d.tcp_win,
            payload: d.payload(f.data).to_vec(),
        });
    }) {}
    (out, ids.len(), server_port)
}

/// Counts in-order bytes; optionally records them per direction, in the chunks given.
#[derive(Default)]
struct Sink {
    bytes: u64,
    record: Option<Vec<(bool, Vec<u8>)>>,
}

impl AppSink for Sink {
    fn data(&mut self, to_server: bool, _offset: u64, data: &[u8]) -> Verdict {
        self.bytes += data.len() as u64;
        if let Some(r) = &mut self.record {
            r.push((to_server, data.to_vec()));
        }
        Verdict::Consumed
    }
    fn gap(&mut self, _: bool, _: u64) -> Verdict {
        Verdict::Consumed
    }
    fn eof(&mut self, _: bool) {}
}

/// Runs every packet through a fresh engine: (in-order bytes, sessions).
fn reassemble(pkts: &[TcpPkt], flows: usize, sinks: Option<&mut Vec<Sink>>) -> (u64, u64) {
    let cfg = Config::default();
    let mut eng = StreamEngine::new(cfg.stream.engine_config(1), false);
    let mut ssn: Vec<Option<Box<TcpSession>>> = (0..flows).map(|_| None).collect();
    let mut c = Counters::new();
    let mut one = Sink::default();
    let mut sinks = sinks;
    for p in pkts {
        let seg = Seg {
            seq: p.seq,
            ack: p.ack,
            flags: p.flags,
            win: p.win,
            payload: &p.payload,
            syn: Default::default(),
            auth: false,
        };
        let sink = match sinks.as_deref_mut() {
            Some(v) => &mut v[p.flow as usize],
            None => &mut one,
        };
        eng.packet(&mut ssn[p.flow as usize], p.to_server, &seg, sink, &mut c);
    }
    for (i, s) in ssn.iter_mut().enumerate() {
        if let Some(x) = s.as_deref_mut() {
            let sink = match sinks.as_deref_mut() {
                Some(v) => &mut v[i],
                None => &mut one,
            };
            for d in 0..2 {
                eng.finish_dir(x, d, sink, &mut c);
            }
        }
        eng.release(s);
    }
    let bytes = match sinks {
        Some(v) => v.iter().map(|s| s.bytes).sum(),
        None => one.bytes,
    };
    (bytes, c.get(C::TcpSessions))
}

fn parse_http(convs: &[Vec<(bool, Vec<u8>)>]) -> (u64, u64) {
    let cfg = HttpConfig::default();
    let mut st = HttpStats::default();
    for conv in convs {
        let mut h = HttpState::new(&cfg);
        for (to_server, data) in conv {
            h.parse(*to_server, data, &mut st);
            // Transactions are taken as the app layer would, so memory stays bounded.
            while h.take_done().is_some() {}
        }
        h.eof(true, &mut st);
        h.eof(false, &mut st);
    }
    (st.requests, st.responses)
}

fn bench(c: &mut Criterion) {
    let (pkts, flows, server_port) = tcp_packets();
    let payload: u64 = pkts.iter().map(|p| p.payload.len() as u64).sum();

    // Setup pass: the answers, and the HTTP conversations.
    let mut sinks: Vec<Sink> =
        (0..flows).map(|i| Sink { bytes: 0, record: (server_port.get(i) == Some(&80)).then(Vec::new) }).collect();
    let want = reassemble(&pkts, flows, Some(&mut sinks));
    let convs: Vec<Vec<(bool, Vec<u8>)>> =
        sinks.into_iter().filter_map(|s| s.record).filter(|r| !r.is_empty()).collect();
    let http_bytes: u64 = convs.iter().flat_map(|c| c.iter()).map(|(_, d)| d.len() as u64).sum();
    let want_http = parse_http(&convs);
    eprintln!(
        "stages bench: {} TCP packets, {} flows, {} payload bytes, {} in order; {} HTTP sessions, {} bytes, {} requests, {} responses",
        pkts.len(),
        flows,
        payload,
        want.0,
        convs.len(),
        http_bytes,
        want_http.0,
        want_http.1
    );
    assert!(want.0 > 0 && want.1 > 0);

    let mut g = c.benchmark_group("stream");
    g.throughput(Throughput::Bytes(payload));
    g.sample_size(10);
    g.bench_function("reassembly", |b| {
        b.iter(|| {
            let got = reassemble(&pkts, flows, None);
            assert_eq!(got, want);
            got
        })
    });
    g.finish();

    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Bytes(http_bytes));
    g.sample_size(10);
    g.bench_function("parse", |b| {
        b.iter(|| {
            let got = parse_http(&convs);
            assert_eq!(got, want_http);
            assert!(got.0 > 0);
            got
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
