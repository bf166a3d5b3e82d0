//! Report: the case as one HTML page for the people being briefed, and its indicators for the
//! hand-over (`picket report`).
//!
//! Takes: EVE JSON files in Suricata's format (Picket's or Suricata's own), folders of them
//! (read recursively in name order), gzipped or not, or standard input.
//! Promises: one pass over the input, in memory bounded by fixed ceilings whatever its size
//! (a line is at most 4 MiB, each table keeps at most `--max-entries` values and counts what it
//! had to drop, the timeline has a fixed number of bins), and one self-contained HTML file
//! (inline CSS, script and SVG charts; no network access needed to open it) or one CSV / STIX
//! 2.1 export, written to a temporary file and renamed into place when complete.
//! Never: trusts a record field. Every field accepts any JSON value (the wrong type reads as
//! absent); text is cut to a limit, shown with control and direction characters made visible,
//! HTML-escaped by the template engine, and the page's Content-Security-Policy allows only its
//! own script and style. Never overwrites an existing file unless told to (`--force`).

mod case;
mod chart;
mod clock;
mod indicators;
mod input;
mod net;
mod page;
mod record;
mod tally;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use case::{Case, Limits};

/// What `picket report` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IndicatorFormat {
    /// One row per indicator, RFC 4180.
    Csv,
    /// A STIX 2.1 bundle of indicators.
    Stix,
}

/// `picket report` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// EVE JSON files or folders (read recursively, in name order; gzip read transparently);
    /// `-` is standard input.
    #[arg(required = true, value_name = "EVE|DIR")]
    pub inputs: Vec<PathBuf>,
    /// Where to write the report (or the indicators); `-` is standard output.
    #[arg(short = 'o', long, value_name = "FILE|-")]
    pub output: PathBuf,
    /// Write the indicators in this format instead of the HTML report.
    #[arg(long, value_name = "FORMAT")]
    pub indicators: Option<IndicatorFormat>,
    /// The organisation's networks (CIDR, comma-separated): hosts inside are internal.
    #[arg(long, value_name = "CIDR,...", default_value = net::DEFAULT_HOME_NET)]
    pub home_net: String,
    /// The report's title.
    #[arg(long, default_value = "Case report")]
    pub title: String,
    /// Values kept per table (signatures, hosts, flows, each kind of indicator); past it the
    /// least seen are dropped and counted. Memory grows with it (155 MB peak at the default on
    /// input made to fill every table).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_entries: usize,
    /// Rows shown per table in the page (the exports hold every value kept).
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    pub rows: usize,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// What a report run read and wrote.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Input files read.
    pub files: usize,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// Records read.
    pub records: u64,
    /// Lines that were not JSON objects.
    pub malformed: u64,
    /// Lines over the length limit, skipped.
    pub too_long: u64,
    /// Alerts among the records.
    pub alerts: u64,
    /// Input files that could not be read (or not to the end), with the reason.
    pub read_errors: Vec<String>,
    /// Indicators written (exports).
    pub indicators_written: usize,
    /// Indicators not exported, by reason.
    pub indicators_left_out: Vec<(String, usize)>,
    /// Tables that dropped values to stay within `--max-entries`.
    pub tables_capped: usize,
}

fn now_us() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// Reads every input into a [`Case`].
fn read_case(a: &ReportArgs, home: net::HomeNet, outcome: &mut Outcome) -> anyhow::Result<(Case, usize)> {
    let (sources, skipped) = input::discover(&a.inputs).map_err(anyhow::Error::msg)?;
    if sources.iter().filter(|s| **s == input::Source::Stdin).count() > 1 {
        bail!("standard input (-) given more than once");
    }
    if sources.is_empty() {
        bail!("no EVE file found in the inputs given");
    }
    let mut c = Case::new(Limits { entries: a.max_entries.max(1), bins: 240 }, home);
    c.files_skipped = skipped.iter().take(100).map(|p| p.display().to_string()).collect();
    for src in &sources {
        let fi = c.begin_file(src.name());
        match input::open(src) {
            Ok(r) => read_source(&mut c, r, fi, &src.name(), outcome),
            Err(e) => {
                if let Some(f) = c.file_mut(fi) {
                    f.error = Some(e.to_string());
                }
                outcome.read_errors.push(format!("{}: cannot read: {e}", src.name()));
            }
        }
    }
    outcome.files = sources.len();
    outcome.records = c.records;
    outcome.malformed = c.malformed;
    outcome.too_long = c.too_long;
    outcome.alerts = c.alerts;
    let i = &c.ind;
    outcome.tables_capped = [
        c.signatures.dropped_entries,
        c.hosts.dropped_entries,
        c.alert_flows.dropped_entries,
        i.domains.dropped_entries,
        i.tls.dropped_entries,
        i.http_hosts.dropped_entries,
        i.user_agents.dropped_entries,
        i.files.dropped_entries,
        i.addresses.dropped_entries,
    ]
    .iter()
    .filter(|d| **d > 0)
    .count();
    Ok((c, sources.len()))
}

/// Reads one source's lines into the case.
fn read_source(c: &mut Case, r: impl std::io::BufRead, fi: u32, name: &str, outcome: &mut Outcome) {
    let mut reader = input::Lines::new(r, input::MAX_LINE);
    loop {
        match reader.next_line() {
            Ok(Some(line)) => {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match record::parse(line) {
                    Ok(r) => c.add(&r, fi),
                    Err(e) => {
                        let n = reader.line_no;
                        c.malformed(fi, n, &e.0);
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                // What was read before the error is kept (a truncated gzip file, a disk error).
                if let Some(f) = c.file_mut(fi) {
                    f.error = Some(format!("after line {}: {e}", reader.line_no));
                }
                outcome.read_errors.push(format!("{name}: read error after line {}: {e}", reader.line_no));
                break;
            }
        }
    }
    if let Some(f) = c.file_mut(fi) {
        f.bytes += reader.bytes;
        f.too_long += reader.too_long;
    }
    c.too_long += reader.too_long;
    outcome.bytes += reader.bytes;
}

/// The HTML page, the CSV export and the STIX export, as bytes.
pub type Rendered = (Vec<u8>, Vec<u8>, Vec<u8>);

/// The page and both exports of EVE bytes held in memory, with `max_entries` per table: what
/// the fuzz target drives (any bytes must give a page, never a panic).
#[doc(hidden)]
pub fn render_all(eve: &[u8], max_entries: usize) -> Result<Rendered, String> {
    let home = net::HomeNet::parse(net::DEFAULT_HOME_NET)?;
    let mut c = Case::new(Limits { entries: max_entries.max(1), bins: 240 }, home);
    let fi = c.begin_file("input".into());
    read_source(&mut c, eve, fi, "input", &mut Outcome::default());
    let mut html = Vec::new();
    page::render(&c, "fuzz", net::DEFAULT_HOME_NET, 1, 50, 0, &mut html)?;
    let rows = indicators::all_rows(&c);
    let mut csv = Vec::new();
    indicators::write_csv(&rows, &mut csv).map_err(|e| e.to_string())?;
    let stix = serde_json::to_vec(&indicators::stix_bundle(&rows, 0).0).map_err(|e| e.to_string())?;
    Ok((html, csv, stix))
}

/// Writes to a temporary file beside `path` and renames it into place when `f` succeeds, so a
/// failed run leaves nothing half-written; `-` writes to standard output.
fn write_output(path: &Path, force: bool, f: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        f(&mut out)?;
        out.flush().context("writing to standard output")?;
        return Ok(());
    }
    if path.exists() && !force {
        bail!("{}: exists; give --force to replace it", path.display());
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile_in(dir, path)?;
    let result = (|| {
        let mut out = std::io::BufWriter::new(&mut tmp.1);
        f(&mut out)?;
        out.flush()?;
        drop(out);
        tmp.1.sync_all()?;
        std::fs::rename(&tmp.0, path)?;
        Ok::<_, anyhow::Error>(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp.0);
    }
    result.with_context(|| format!("{}: cannot write", path.display()))
}

fn tempfile_in(dir: &Path, path: &Path) -> anyhow::Result<(PathBuf, std::fs::File)> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "report".into());
    for i in 0..100u32 {
        let p = dir.join(format!(".{name}.{}.{i}.tmp", std::process::id()));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&p) {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("{}: cannot create a file", dir.display())),
        }
    }
    bail!("{}: cannot create a temporary file", dir.display())
}

/// Runs `picket report`.
pub fn run(a: &ReportArgs) -> anyhow::Result<Outcome> {
    let home = net::HomeNet::parse(&a.home_net).map_err(|e| anyhow::anyhow!("--home-net: {e}"))?;
    if a.rows == 0 {
        bail!("--rows must be at least 1");
    }
    if a.output.as_os_str() != "-" && a.output.exists() && !a.force {
        // Checked before reading: a long read should not end in this.
        bail!("{}: exists; give --force to replace it", a.output.display());
    }
    let mut outcome = Outcome::default();
    let (case, inputs) = read_case(a, home, &mut outcome)?;
    let now = now_us();
    match a.indicators {
        None => write_output(&a.output, a.force, |out| {
            page::render(&case, &a.title, &a.home_net, inputs, a.rows, now, out).map_err(anyhow::Error::msg)
        })?,
        Some(fmt) => {
            let rows = indicators::all_rows(&case);
            let mut ex = indicators::Export::default();
            write_output(&a.output, a.force, |out| {
                ex = match fmt {
                    IndicatorFormat::Csv => indicators::write_csv(&rows, out)?,
                    IndicatorFormat::Stix => {
                        let (bundle, ex) = indicators::stix_bundle(&rows, now);
                        serde_json::to_writer_pretty(&mut *out, &bundle)?;
                        out.write_all(b"\n")?;
                        ex
                    }
                };
                Ok(())
            })?;
            outcome.indicators_written = ex.written;
            outcome.indicators_left_out = ex.left_out.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_bytes_give_a_page_and_exports() {
        let mut inputs: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"\n\n\r\n".to_vec(),
            vec![0xff, 0xfe, b'\n', 0, 1, 2],
            b"{\"event_type\":\"alert\",\"alert\":{}}\n{\"event_type\":\"alert\",\"alert\":[]}".to_vec(),
        ];
        // every prefix of a record of each kind
        let rec = br#"{"timestamp":"2024-01-01T00:00:00+0000","event_type":"alert","src_ip":"10.0.0.1","dest_ip":"1.2.3.4","alert":{"signature_id":5,"severity":2},"tls":{"sni":"x","fingerprint":"aa"},"dns":{"queries":[{"rrname":"d"}]}}"#;
        inputs.extend((0..rec.len()).map(|n| rec[..n].to_vec()));
        for i in inputs {
            let (html, csv, stix) = render_all(&i, 3).unwrap();
            let html = String::from_utf8(html).unwrap();
            assert_eq!(html.matches("<script").count(), 1);
            assert!(csv.starts_with(b"kind,value,"));
            serde_json::from_slice::<serde_json::Value>(&stix).unwrap();
        }
    }
}
