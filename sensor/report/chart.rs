//! The timeline as inline SVG, drawn by plotters: alerts by severity (stacked bars) above,
//! flows (bars) and bytes (line, right axis) below, on the same time axis.
//!
//! Only numbers and labels made here reach the drawing (never a record's text), and plotters
//! escapes the text it writes into the SVG.

use plotters::prelude::*;

use super::clock;
use super::tally::Bin;

/// Severity colours: high, medium, low, other (also used by the page's legend and tables).
pub(crate) const SEVERITY_COLOURS: [(u8, u8, u8); 4] = [(200, 30, 45), (240, 130, 20), (40, 110, 190), (130, 130, 130)];
/// Severity names, in [`SEVERITY_COLOURS`] order.
pub(crate) const SEVERITY_NAMES: [&str; 4] = ["high (1)", "medium (2)", "low (3)", "other"];

const FLOWS: RGBColor = RGBColor(60, 150, 90);
const BYTES: RGBColor = RGBColor(90, 60, 160);

/// Bytes for people: `1.2 GB`.
pub(crate) fn bytes_human(b: f64) -> String {
    const U: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = b;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < U.len() {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} {}", U[i])
    } else {
        format!("{v:.1} {}", U[i])
    }
}

/// The timeline SVG for `series` (bins of `width_us` starting at the given times).
pub(crate) fn timeline(series: &[(i64, Bin)], width_us: i64) -> Result<String, String> {
    let (Some(first), Some(last)) = (series.first(), series.last()) else {
        return Err("no record has a timestamp".into());
    };
    let x0 = first.0;
    let x1 = last.0.saturating_add(width_us);
    let max_alerts = series.iter().map(|(_, b)| b.alerts.iter().sum::<u64>()).max().unwrap_or(0).max(1);
    let max_flows = series.iter().map(|(_, b)| b.flows).max().unwrap_or(0).max(1);
    let max_bytes = series.iter().map(|(_, b)| b.bytes).max().unwrap_or(0).max(1) as f64;
    let axis = move |x: &i64| clock::axis(*x, width_us);
    let count = |y: &u64| y.to_string();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1120, 460)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (top, bottom) = root.split_vertically(230);

        let mut c = ChartBuilder::on(&top)
            .caption("Alerts by severity", ("sans-serif", 15))
            .margin(8)
            .margin_right(70)
            .x_label_area_size(26)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, 0u64..max_alerts + max_alerts / 10 + 1)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .x_labels(8)
            .y_labels(5)
            .x_label_formatter(&axis)
            .y_label_formatter(&count)
            .y_desc("alerts")
            .draw()
            .map_err(|e| e.to_string())?;
        for slot in 0..4 {
            let (r, g, b) = SEVERITY_COLOURS[slot];
            let colour = RGBColor(r, g, b);
            let bars = series.iter().filter(|(_, bin)| bin.alerts[slot] > 0).map(|(t, bin)| {
                let base: u64 = bin.alerts[..slot].iter().sum();
                Rectangle::new([(*t, base), (t.saturating_add(width_us), base + bin.alerts[slot])], colour.filled())
            });
            c.draw_series(bars)
                .map_err(|e| e.to_string())?
                .label(SEVERITY_NAMES[slot])
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled()));
        }
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|e| e.to_string())?;

        let mut c = ChartBuilder::on(&bottom)
            .caption("Traffic: flows (bars) and bytes (line) by flow start", ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(26)
            .y_label_area_size(60)
            .right_y_label_area_size(70)
            .build_cartesian_2d(x0..x1, 0u64..max_flows + max_flows / 10 + 1)
            .map_err(|e| e.to_string())?
            .set_secondary_coord(x0..x1, 0f64..max_bytes * 1.1);
        c.configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .x_labels(8)
            .y_labels(5)
            .x_label_formatter(&axis)
            .y_label_formatter(&count)
            .y_desc("flows")
            .draw()
            .map_err(|e| e.to_string())?;
        let bytes_label = |y: &f64| bytes_human(*y);
        c.configure_secondary_axes()
            .y_labels(5)
            .y_label_formatter(&bytes_label)
            .y_desc("bytes")
            .draw()
            .map_err(|e| e.to_string())?;
        c.draw_series(
            series.iter().filter(|(_, b)| b.flows > 0).map(|(t, b)| {
                Rectangle::new([(*t, 0), (t.saturating_add(width_us), b.flows)], FLOWS.mix(0.8).filled())
            }),
        )
        .map_err(|e| e.to_string())?;
        c.draw_secondary_series(LineSeries::new(
            series.iter().map(|(t, b)| (t.saturating_add(width_us / 2), b.bytes as f64)),
            BYTES.stroke_width(2),
        ))
        .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_an_svg_with_every_severity_and_the_traffic() {
        let w = 60_000_000;
        let series: Vec<(i64, Bin)> = (0..20)
            .map(|i| {
                (
                    1_700_000_000_000_000 + i * w,
                    Bin { alerts: [i as u64 % 3, 1, 2, 0], flows: 5, bytes: 1000 * i as u64 },
                )
            })
            .collect();
        let svg = timeline(&series, w).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for name in SEVERITY_NAMES {
            assert!(svg.contains(name), "{name}");
        }
        assert!(svg.contains("<polyline") && svg.contains("<rect"));
        assert!(timeline(&[], w).is_err());
    }

    #[test]
    fn bytes_for_people() {
        assert_eq!(bytes_human(999.0), "999 B");
        assert_eq!(bytes_human(84_164_110.0), "84.2 MB");
    }
}
