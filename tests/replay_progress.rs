//! What `picket replay` prints while it runs (issue 19, acceptance 2): on a terminal a progress
//! display that is redrawn at least once a second and shows an ETA, even while the reader
//! waits for data; without a terminal nothing but the summary.
//!
//! The terminal is a pseudo-terminal made by util-linux `script`; the capture is a named pipe
//! fed slowly by the test, so the replay lasts a few seconds whatever the machine's speed.
//! Where `script` or `mkfifo` is missing the test says so on stderr and passes without running.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_picket");

/// 60 UDP packets, one every 10 ms of packet time.
fn slow_capture() -> Vec<u8> {
    let frames: Vec<(u64, Vec<u8>)> = (0..60u64)
        .map(|i| (t_ms(i * 10), eth(&ipv4_udp([10, 0, 0, 1], [10, 0, 0, 2], 4000 + i as u16, 53, b"progress"))))
        .collect();
    pcap_le_usec(LT_ETHERNET, &frames)
}

fn have(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
}

/// The frames the display drew: the text between cursor movements and carriage returns,
/// without the escape sequences, each with the time (since the start) its bytes arrived.
fn frames(chunks: &[(f64, Vec<u8>)]) -> Vec<(f64, String)> {
    let mut out = Vec::new();
    for (t, b) in chunks {
        let s = String::from_utf8_lossy(b);
        for part in s.split(['\r', '\n']) {
            // Drop ESC [ ... letter sequences.
            let mut clean = String::new();
            let mut it = part.chars().peekable();
            while let Some(c) = it.next() {
                if c == '\u{1b}' {
                    for d in it.by_ref() {
                        if d.is_ascii_alphabetic() {
                            break;
                        }
                    }
                } else {
                    clean.push(c);
                }
            }
            if clean.contains(" ETA ") {
                out.push((*t, clean.trim().to_string()));
            }
        }
    }
    out
}

/// Seconds of the `HH:MM:SS` elapsed time that starts a frame.
fn elapsed_of(frame: &str) -> Option<u64> {
    let hms = frame.split_whitespace().next()?;
    let v: Vec<u64> = hms.split(':').map(|x| x.parse().ok()).collect::<Option<Vec<_>>>()?;
    (v.len() == 3).then(|| v[0] * 3600 + v[1] * 60 + v[2])
}

#[test]
fn progress_display_on_a_terminal_updates_every_second_with_an_eta() {
    if !have("script") || !have("mkfifo") {
        eprintln!("progress_display_on_a_terminal_updates_every_second_with_an_eta: SKIPPED (needs util-linux `script` and `mkfifo`)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("slow.pcap");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let data = slow_capture();
    // The capture arrives in 40 pieces over 4 seconds.
    let feeder = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            for piece in data.chunks(data.len().div_ceil(40)) {
                f.write_all(piece).unwrap();
                f.flush().unwrap();
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let cmd = format!("{BIN} replay --eve {} {}", dir.path().join("eve.json").display(), fifo.display());
    let start = Instant::now();
    let mut child = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut chunks = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = out.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        chunks.push((start.elapsed().as_secs_f64(), buf[..n].to_vec()));
    }
    let status = child.wait().unwrap();
    feeder.join().unwrap();
    let all: Vec<u8> = chunks.iter().flat_map(|(_, b)| b.clone()).collect();
    let text = String::from_utf8_lossy(&all).into_owned();
    assert!(status.success(), "{text}");
    let drawn = frames(&chunks);
    let lasted = chunks.last().map_or(0.0, |c| c.0);
    assert!(lasted >= 3.5, "the replay should wait for the pipe about 4 s: {lasted} s\n{text}");
    // Every frame shows the ETA and the counts; the clock of the display passes through every
    // second of the run (so the display was redrawn at least once a second).
    for (_, f) in &drawn {
        assert!(f.contains(" pkts ") && f.contains(" alerts ETA "), "{f}");
    }
    let seconds: std::collections::BTreeSet<u64> = drawn.iter().filter_map(|(_, f)| elapsed_of(f)).collect();
    let last = *seconds.iter().next_back().unwrap();
    assert!(last >= 3, "{seconds:?}");
    assert_eq!(seconds, (0..=last).collect(), "a second without a redraw:\n{text}");
    // Redraws arrive at least once a second while the reader waits (the ticker draws twice a
    // second; 1.5 s leaves room for a loaded machine's scheduling).
    let times: Vec<f64> = drawn.iter().map(|(t, _)| *t).collect();
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let worst = gaps.iter().cloned().fold(0.0, f64::max);
    assert!(worst < 1.5, "longest gap between redraws {worst:.2} s: {gaps:?}");
    assert!(drawn.len() as f64 >= lasted, "{} redraws in {lasted:.1} s", drawn.len());
    // The last frame counted every packet; then the display is cleared and the summary printed.
    assert!(drawn.iter().any(|(_, f)| f.contains("files 1/1 60 pkts")), "{text}");
    assert!(text.contains("picket: 1 file(s) read: 60 packets"), "{text}");
}

#[test]
fn without_a_terminal_only_the_summary_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = write_file(dir.path(), "c.pcap", &slow_capture());
    let o = Command::new(BIN)
        .args(["replay", "--eve", dir.path().join("eve.json").to_str().unwrap(), pcap.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(o.stdout.is_empty(), "{}", String::from_utf8_lossy(&o.stdout));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("picket: 1 file(s) read: 60 packets, "), "{err}");
    assert!(!err.contains('\r') && !err.contains('\u{1b}') && !err.contains("ETA"), "{err}");
}
