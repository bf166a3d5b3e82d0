//! The interface between a protocol and the rest of the sensor.
//!
//! A protocol is a folder under `sensor/app/` that provides a [`Protocol`] descriptor: how to
//! make its per-flow parser ([`AppParser`]), the sticky buffers and value keywords its
//! transactions fill ([`Sticky`], [`ValueKeyword`] rows, kept as data with a description and a
//! documentation link), and its counters. Detection, the worker, output and metrics see a
//! protocol only through these traits and rows: they never name one.
//!
//! Progress: a transaction reports, per side (to server, to client), how far it got as a small
//! number ([`PROGRESS_DONE`] is complete); a buffer or keyword names the side and level it needs
//! before it can be inspected ([`Need`]). Detection inspects a transaction again only when the
//! progress of the packet's side moved, unless the protocol says its values change without
//! progress ([`Protocol::reinspect`]).

use std::any::Any;

use super::files::File;
use super::flow::FlowMeta;
use super::frames::Frames;
use super::proto::AppProto;
use super::stats::AppStats;
use super::AppConfig;
use crate::output::eve::Json;

/// Progress of a side that is complete (no more data will change it).
pub const PROGRESS_DONE: u8 = 3;

/// The progress of a side that knows only whether it is complete: [`PROGRESS_DONE`], else 1
/// (started).
pub(crate) const fn started_or_done(done: bool) -> u8 {
    if done {
        PROGRESS_DONE
    } else {
        1
    }
}

/// Which direction(s) a buffer or keyword exists on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Client to server only.
    ToServer,
    /// Server to client only.
    ToClient,
    /// Either.
    Both,
}

/// Calls the visitor with each instance of a buffer on a side (true: to server) until it
/// returns true; returns whether it did.
pub(crate) type BufferGetter<T> = fn(&T, bool, &mut dyn FnMut(&[u8]) -> bool) -> bool;

/// The progress a buffer needs before it is inspected, for an inspection in each direction
/// (index 0: a to-server packet, 1: a to-client packet): which side must have reached which
/// level. A request field inspected with a response packet needs the request's progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Need(pub [(bool, u8); 2]);

impl Need {
    /// The request side must be at `level`, whatever the packet's direction.
    pub const fn request(level: u8) -> Need {
        Need([(true, level), (true, level)])
    }
    /// The response side must be at `level`, whatever the packet's direction.
    pub const fn response(level: u8) -> Need {
        Need([(false, level), (false, level)])
    }
    /// The packet's own side must be at `level`.
    pub const fn own(level: u8) -> Need {
        Need([(true, level), (false, level)])
    }
    /// Nothing needed.
    pub const NONE: Need = Need([(true, 0), (false, 0)]);

    /// Per-side levels needed for an inspection in direction `dir` (0: to server).
    pub fn levels(self, dir: usize) -> [u8; 2] {
        let (side_ts, level) = self.0[dir & 1];
        if side_ts {
            [level, 0]
        } else {
            [0, level]
        }
    }
}

/// Whether `progress` (per side) reaches `need` (per side).
pub fn reaches(progress: [u8; 2], need: [u8; 2]) -> bool {
    progress[0] >= need[0] && progress[1] >= need[1]
}

/// What a parser tells the flow after taking data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Keep sending data.
    Continue,
    /// The app layer is over for this flow (encrypted, or the parser cannot go on).
    Stop,
}

/// Events a transaction keeps (the first ones raised; later ones are still counted).
pub(crate) const MAX_TX_EVENTS: usize = 8;

/// The app-layer events raised on a transaction, as indexes into its protocol's
/// [`Protocol::events`] table: a small inline list (no allocation), each event once, in the
/// order raised. A protocol keeps one per transaction and returns it from
/// [`Transaction::events`]; it counts each event it raises with [`AppStats::tx_event`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxEvents {
    n: u8,
    ev: [u16; MAX_TX_EVENTS],
}

impl TxEvents {
    /// Lists event `event`; false when it was listed already or the list is full.
    pub fn raise(&mut self, event: u16) -> bool {
        if self.as_slice().contains(&event) {
            return false;
        }
        match self.ev.get_mut(usize::from(self.n)) {
            Some(slot) => {
                *slot = event;
                self.n += 1;
                true
            }
            None => false,
        }
    }

    /// Lists event `event` even when it is listed already (a protocol that reports each
    /// occurrence); false when the list is full.
    pub fn push(&mut self, event: u16) -> bool {
        match self.ev.get_mut(usize::from(self.n)) {
            Some(slot) => {
                *slot = event;
                self.n += 1;
                true
            }
            None => false,
        }
    }

    /// The events, in the order raised.
    pub fn as_slice(&self) -> &[u16] {
        self.ev.get(..usize::from(self.n)).unwrap_or(&[])
    }

    /// None raised.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
}

/// What a parser gets with each call: its settings and the worker's app-layer counters.
pub struct ParseCx<'a> {
    /// Settings of every protocol.
    pub cfg: &'a AppConfig,
    /// The worker's app-layer counters (each protocol counts in its own part).
    pub stats: &'a mut AppStats,
    /// The flow runs over UDP (one datagram per call) rather than TCP.
    pub udp: bool,
    /// The flow's endpoints, id and the packet time (UDP flows: ports only, for now).
    pub flow: &'a FlowMeta,
    /// The flow's frames: where the protocol's data units start and end in the stream
    /// ([`super::frames`]; kept only for the types rules inspect).
    pub frames: &'a mut Frames,
}

/// A transaction as detection and output see it.
pub trait Transaction {
    /// Its id within the flow.
    fn id(&self) -> u64;
    /// How far each side got (index 0: to server), up to [`PROGRESS_DONE`].
    fn progress(&self) -> [u8; 2];
    /// A one-way transaction (a DNS message) is inspected with packets of its own direction
    /// only: `Some(to_server)`.
    fn direction(&self) -> Option<bool> {
        None
    }
    /// Calls `f` with each instance of the protocol's buffer number `buffer` on side
    /// `to_server` (a multi-buffer gives several, a missing one none) until `f` says stop
    /// (returns true); returns whether it did. The default: none (a protocol without sticky
    /// buffers).
    fn buffer(&self, buffer: u16, to_server: bool, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let _ = (buffer, to_server, f);
        false
    }
    /// Evaluates the protocol's value keyword number `keyword` with its compiled argument on
    /// side `to_server`; `now_secs` is the packet time.
    fn value(&self, keyword: u16, arg: &ValueArg, to_server: bool, now_secs: i64) -> bool {
        let _ = (keyword, arg, to_server, now_secs);
        false
    }
    /// Writes the transaction's EVE object (`"http":{...}`) into an alert.
    fn write_alert_eve(&self, j: &mut Json<'_>);
    /// Writes the `files` array of an alert raised by a packet of direction `to_server`
    /// (Suricata's `AlertAddFiles`: the files of that direction). The default: nothing (a
    /// protocol whose alert object carries its files writes them there).
    fn write_alert_files(&self, j: &mut Json<'_>, to_server: bool) {
        let _ = (j, to_server);
    }
    /// Whether the transaction is ready for its EVE record (Suricata logs a transaction once
    /// it is complete, or when its flow ends). The default: both sides done.
    fn record_ready(&self) -> bool {
        self.progress() == [PROGRESS_DONE; 2]
    }
    /// Writes the body of the transaction's EVE record: the protocol's object(s) (`"dns":{...}`)
    /// after the envelope the runtime writes (time, flow, addresses, `event_type`, `tx_id`).
    /// Returns false when there is nothing to log for it (the record is dropped). The
    /// default: the alert object.
    fn write_record(&self, j: &mut Json<'_>, cx: &RecordCx<'_>) -> bool {
        let _ = cx;
        self.write_alert_eve(j);
        true
    }
    /// Whose view its record takes: `Some(true)` the client's (source = client), `Some(false)`
    /// the server's; `None`: the flow's (the client's). DNS writes a response from the server.
    fn record_to_server(&self) -> Option<bool> {
        None
    }
    /// Its record takes the view of the packet that writes it (Suricata's logging in the
    /// packet's direction: a WebSocket frame the client sent is logged on the server's
    /// acknowledgement, server as source). The default: [`Transaction::record_to_server`].
    fn record_packet_view(&self) -> bool {
        false
    }
    /// App-layer events raised on this transaction, as indexes into the protocol's
    /// [`Protocol::events`] table (`app-layer-event:<proto>.<event>` rules match them; EVE
    /// `anomaly` records of type `applayer`, layer `proto_parser`, report them). Keep them in
    /// a [`TxEvents`].
    fn events(&self) -> &[u16] {
        &[]
    }
    /// Calls `f` with each file this transaction carries.
    fn files(&self, f: &mut dyn FnMut(&File)) {
        let _ = f;
    }
    /// Writes the `fileinfo` object of one of its files (`flow_end`: the flow ends, a file
    /// still open is cut short). The default: Suricata's common fields.
    fn write_fileinfo(&self, j: &mut Json<'_>, file: &File, flow_end: bool) {
        super::files::write_fileinfo(j, file, self.id(), flow_end);
    }
}

/// What a record writer may need besides the transaction: the settings of the record types.
pub struct RecordCx<'a> {
    /// Settings of every protocol (their record options among them).
    pub cfg: &'a AppConfig,
}

/// A protocol's per-flow parser.
pub trait AppParser: std::fmt::Debug + Send {
    /// In-order bytes of one direction (TCP), or one datagram (UDP).
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status;
    /// `len` bytes of one direction are missing. The default: the parser cannot resume.
    fn gap(&mut self, to_server: bool, len: u64, cx: &mut ParseCx<'_>) -> Status {
        let _ = (to_server, len, cx);
        Status::Stop
    }
    /// One direction ended (FIN, RST or flow end).
    fn eof(&mut self, to_server: bool, cx: &mut ParseCx<'_>) {
        let _ = (to_server, cx);
    }
    /// Calls `f` with each transaction held, oldest first.
    fn each_tx(&self, f: &mut dyn FnMut(&dyn Transaction));
    /// The transaction with this id, if still held.
    fn tx(&self, id: u64) -> Option<&dyn Transaction>;
    /// Frees transactions nothing needs any more; `inspected(id)` says whether detection is
    /// done with a transaction in both directions. Returns the lowest id still held (so
    /// per-transaction state of freed ones can go), or `None` when nothing was freed.
    fn free_txs(&mut self, inspected: &dyn Fn(u64) -> bool) -> Option<u64>;
    /// The flow turned out to be another protocol this same parser serves (HTTP/2 whose
    /// streams carry DNS is DoH, `doh2`, as Suricata's protocol change): the flow's protocol
    /// from now on. The default: none.
    fn proto_change(&self) -> Option<AppProto> {
        None
    }
    /// The flow changes protocol (HTTP/1's `101 Switching Protocols` to WebSocket, as
    /// Suricata's `AppLayerRequestProtocolChange`): asked once, after each call; the flow
    /// hands what follows to the new protocol's parser once this call's packet was inspected
    /// and logged. The default: none.
    fn upgrade(&mut self) -> Option<Upgrade> {
        None
    }
    /// What this parser hands to the protocol the flow changes to, asked once when the
    /// change is decided ([`AppParser::upgrade`]): HTTP/1 hands the request it upgraded with
    /// to HTTP/2 (`Upgrade: h2c`). The default: nothing.
    fn handoff(&mut self) -> Option<Box<dyn Any + Send>> {
        None
    }
    /// The flow changed to this parser's protocol from `from`, whose parser handed `data`
    /// over ([`AppParser::handoff`]); called before any data. The default ignores it.
    fn take_over(&mut self, from: AppProto, data: Box<dyn Any + Send>) {
        let _ = (from, data);
    }
    /// The rest of the flow is not inspected (encrypted).
    fn no_inspection(&self) -> bool {
        false
    }
    /// Directions (index 0: to server) whose raw stream the calls since the last ask want
    /// inspected now rather than at the next chunk (Suricata's
    /// `AppLayerParserTriggerRawStreamInspection`: a request or response completed); taken
    /// once. The default: none.
    fn take_raw_trigger(&mut self) -> [bool; 2] {
        [false; 2]
    }
    /// Detection is done with the files of side `to_server` that are no longer open, in each
    /// transaction whose progress `ready` accepts: mark them [`super::files::File::retired`]
    /// (as Suricata prunes a closed file once its packet was inspected and logged, so a rule
    /// alerts once per file and an alert lists the files still held). The default: nothing
    /// (protocols with one file per transaction).
    fn retire_files(&mut self, to_server: bool, ready: &dyn Fn([u8; 2]) -> bool) {
        let _ = (to_server, ready);
    }
    /// The flow was identified from another flow's announcement (an FTP data connection,
    /// [`super::expect`]), its first data going `to_server`: `data` is what the announcing
    /// parser left for this one. The default ignores it.
    fn expected(&mut self, to_server: bool, data: Box<dyn Any + Send>) {
        let _ = (to_server, data);
    }
}

/// A protocol change a parser decided ([`AppParser::upgrade`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upgrade {
    /// The protocol that follows.
    pub proto: AppProto,
    /// Bytes at the end of the last call's data that are the new protocol's already.
    pub rest: usize,
}

/// A compiled value-keyword argument; each keyword's evaluation downcasts to its own type.
pub type ValueArg = Box<dyn Any + Send + Sync>;

/// What a sticky buffer is, without its getter (the registry's view).
#[derive(Clone, Copy, Debug)]
pub struct BufferInfo {
    /// Name as rules write it (`http.uri`).
    pub name: &'static str,
    /// Other names rules may use (`http_uri` as a sticky buffer, ...).
    pub aliases: &'static [&'static str],
    /// Directions it exists on.
    pub side: Side,
    /// Progress it needs.
    pub need: Need,
    /// Several instances per transaction (`dns.query`, `http.request_header`, ...): a rule
    /// that selects it twice inspects each selection on its own instance.
    pub multi: bool,
    /// Suricata has the buffer for several protocols (`file.data`, `ja3.hash`): it does not
    /// decide a rule's protocol by itself.
    pub shared: bool,
    /// Hidden from keyword listings (the buffer behind payload keywords of an app rule).
    pub internal: bool,
    /// One line for `picket rules keywords`.
    pub desc: &'static str,
    /// Documentation link.
    pub doc: &'static str,
}

/// A sticky buffer of a protocol whose transactions are `T`.
pub struct Sticky<T: ?Sized> {
    /// What it is.
    pub info: BufferInfo,
    /// Calls `f` with each instance on a side until it returns true; returns whether it did.
    pub get: BufferGetter<T>,
}

/// What a value keyword is, without its evaluation (the registry's view).
#[derive(Clone, Copy, Debug)]
pub struct ValueInfo {
    /// Name as rules write it (`dns.opcode`).
    pub name: &'static str,
    /// Other names.
    pub aliases: &'static [&'static str],
    /// Whether it takes an argument (false: `keyword;`, true: `keyword:value;`; `None`: either).
    pub arg: Option<bool>,
    /// Directions it exists on.
    pub side: Side,
    /// Progress it needs.
    pub need: Need,
    /// Compiles the argument as written (`None` when the keyword has none).
    pub parse: fn(Option<&str>) -> Result<ValueArg, String>,
    /// One line for `picket rules keywords`.
    pub desc: &'static str,
    /// Documentation link.
    pub doc: &'static str,
}

impl ValueInfo {
    /// The usual row: a keyword that takes an argument, exists on both sides and is final once
    /// its own side has progressed one step.
    pub(crate) const fn both_sides(
        name: &'static str,
        parse: fn(Option<&str>) -> Result<ValueArg, String>,
        desc: &'static str,
        doc: &'static str,
    ) -> ValueInfo {
        ValueInfo { name, aliases: &[], arg: Some(true), side: Side::Both, need: Need::own(1), parse, desc, doc }
    }
}

/// A value keyword of a protocol whose transactions are `T`.
pub struct ValueKeyword<T: ?Sized> {
    /// What it is.
    pub info: ValueInfo,
    /// Evaluates the compiled argument on a transaction, side and packet time.
    pub eval: fn(&ValueArg, &T, bool, i64) -> bool,
}

/// Runs row `i` of a protocol's buffer table on a transaction.
pub(crate) fn get_buffer<T: ?Sized>(
    rows: &[Sticky<T>],
    i: u16,
    tx: &T,
    to_server: bool,
    f: &mut dyn FnMut(&[u8]) -> bool,
) -> bool {
    rows.get(usize::from(i)).is_some_and(|r| (r.get)(tx, to_server, f))
}

/// Runs row `i` of a protocol's value-keyword table on a transaction.
pub(crate) fn eval_value<T: ?Sized>(
    rows: &[ValueKeyword<T>],
    i: u16,
    arg: &ValueArg,
    tx: &T,
    to_server: bool,
    now: i64,
) -> bool {
    rows.get(usize::from(i)).is_some_and(|r| (r.eval)(arg, tx, to_server, now))
}

/// The [`Transaction::buffer`] and [`Transaction::value`] methods of a transaction whose
/// sticky buffers and value keywords are the rows of its protocol's tables: `buffers:` runs
/// row `buffer` of that [`Sticky`] table ([`get_buffer`]), `values:` row `keyword` of that
/// [`ValueKeyword`] table ([`eval_value`]); leave one out and the trait's default stands.
/// Write `keyword_tables!(buffers: BUFFERS, values: VALUES,);` inside the `impl Transaction`.
macro_rules! keyword_tables {
    ($(buffers: $buffers:expr,)? $(values: $values:expr,)?) => {
        $(
            fn buffer(&self, buffer: u16, to_server: bool, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
                $crate::app::plugin::get_buffer($buffers, buffer, self, to_server, f)
            }
        )?

        $(
            fn value(&self, keyword: u16, arg: &$crate::app::plugin::ValueArg, to_server: bool, now_secs: i64) -> bool {
                $crate::app::plugin::eval_value($values, keyword, arg, self, to_server, now_secs)
            }
        )?
    };
}
pub(crate) use keyword_tables;

/// A protocol, as the registry lists it.
pub struct Protocol {
    /// Which protocol.
    pub proto: AppProto,
    /// A parser for a new flow.
    pub new_parser: fn(&AppConfig) -> Box<dyn AppParser>,
    /// Its sticky buffers (index: the buffer number [`Transaction::buffer`] takes).
    pub buffers: fn() -> Vec<BufferInfo>,
    /// Its value keywords (index: the number [`Transaction::value`] takes).
    pub values: fn() -> Vec<ValueInfo>,
    /// The buffer that payload keywords of an app-layer rule of this protocol inspect
    /// (HTTP: the message head as sent); `None`: the packet's payload.
    pub payload_buffer: Option<&'static str>,
    /// Values change while a transaction's progress stays (a TLS handshake): inspect again
    /// with every packet.
    pub reinspect: bool,
    /// Lists its counters from the worker's app-layer counters: (field, help, value).
    pub counters: fn(&AppStats, &mut dyn FnMut(&'static str, &'static str, u64)),
    /// Its app-layer events, named as Suricata names them (`app-layer-event:smb.<name>`,
    /// EVE `anomaly.event`); [`Transaction::events`] indexes this table.
    pub events: &'static [&'static str],
    /// EVE `anomaly.event` writes its event names in upper case, as Suricata's C parsers
    /// name theirs (HTTP's libhtp codes, TLS's); rules match them in any case.
    pub eve_events_upper: bool,
    /// Its records carry the transaction's id as EVE `tx_id` (Suricata's HTTP, SMB and SMTP
    /// loggers write it, `CreateEveHeaderWithTxId`; the others do not).
    pub record_tx_id: bool,
    /// Bytes of each direction the stream reassembles for it, in place of
    /// `stream.reassembly_depth` when larger (0: no limit; `None`: the stream's). Suricata's
    /// `app-layer.protocols.<proto>.stream-depth` default (SMB: whole sessions).
    pub stream_depth: Option<u64>,
    /// The EVE `event_type` of its records (`None`: the protocol's name).
    pub record_type: Option<&'static str>,
    /// Its frame types, named as the `frame` keyword names them (`smb2.pdu`, `record.pdu`);
    /// the index is the type its parser gives [`Frames::add`].
    pub frames: &'static [&'static str],
}

impl Protocol {
    /// A descriptor of protocol `proto` with its parser constructor and its counters, and
    /// the settings most protocols keep: no sticky buffers, value keywords, events or frames;
    /// payload keywords on the packet's payload; no reinspection; event names as written; no
    /// `tx_id` in records; the stream's reassembly depth; the protocol's name as record type.
    /// A descriptor names what differs and takes the rest with `..Protocol::new(...)`.
    pub(crate) const fn new(
        proto: AppProto,
        new_parser: fn(&AppConfig) -> Box<dyn AppParser>,
        counters: fn(&AppStats, &mut dyn FnMut(&'static str, &'static str, u64)),
    ) -> Protocol {
        Protocol {
            proto,
            new_parser,
            buffers: Vec::new,
            values: Vec::new,
            payload_buffer: None,
            reinspect: false,
            counters,
            events: &[],
            eve_events_upper: false,
            record_tx_id: false,
            stream_depth: None,
            record_type: None,
            frames: &[],
        }
    }
}

/// Table rows of a protocol's buffers, without their getters.
pub(crate) fn buffer_infos<T: ?Sized>(rows: &[Sticky<T>]) -> Vec<BufferInfo> {
    rows.iter().map(|r| r.info).collect()
}

/// Table rows of a protocol's value keywords, without their evaluations.
pub(crate) fn value_infos<T: ?Sized>(rows: &[ValueKeyword<T>]) -> Vec<ValueInfo> {
    rows.iter().map(|r| r.info).collect()
}
