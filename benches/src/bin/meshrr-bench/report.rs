//! Results: every run as JSON, and per target the median with its spread
//! (min and max) as JSON, a markdown table and an SVG plot, all in the
//! output directory under the scenario's name.

use std::{fmt::Write as _, fs, path::Path};

/// One run of one target.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunResult {
    /// meshrr or bird.
    pub target: String,
    /// Scenario name.
    pub scenario: String,
    /// Run number (0-based); targets alternate within a run.
    pub run: usize,
    /// Every session's table was exactly the expected one.
    pub ok: bool,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// Client sessions.
    pub sessions: usize,
    /// Of those, feeders.
    pub feeders: usize,
    /// Seconds from the start of the measured phase until every table was
    /// exact (S3: until every session was established with End-of-RIB).
    pub seconds: f64,
    /// Seconds until the last UPDATE of the phase arrived (at least
    /// `seconds` when the target sent anything after the tables were exact).
    pub last_update_seconds: f64,
    /// Seconds to establish every session before the measured phase (S4:
    /// this is also the S2 convergence, see `initial_seconds`).
    pub setup_seconds: f64,
    /// S4: seconds of the initial (S2) convergence before the churn.
    pub initial_seconds: Option<f64>,
    /// Route updates (prefixes announced or withdrawn) received by all
    /// sessions in the phase.
    pub route_updates: u64,
    /// UPDATE messages received by all sessions in the phase.
    pub messages: u64,
    /// `route_updates / seconds`.
    pub updates_per_second: f64,
    /// Target CPU seconds in the phase (S3: over the idle window).
    pub cpu_seconds: f64,
    /// S3: the idle window, seconds.
    pub idle_seconds: Option<f64>,
    /// Target resident set at the end of the phase, KiB.
    pub rss_kib: u64,
    /// Target peak resident set, KiB.
    pub peak_rss_kib: u64,
}

/// Median, minimum and maximum.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Spread {
    /// Median (the mean of the middle two for an even count).
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Self {
        if v.is_empty() {
            return Spread::default();
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Spread {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }

    fn cell(&self, digits: usize) -> String {
        let f = |v: f64| format!("{v:.digits$}");
        if f(self.min) == f(self.max) {
            f(self.median)
        } else {
            format!("{} [{}–{}]", f(self.median), f(self.min), f(self.max))
        }
    }
}

/// One target over all runs.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    /// meshrr or bird.
    pub target: String,
    /// What the target reports as its version.
    pub version: String,
    /// Runs.
    pub runs: usize,
    /// Runs whose tables were all exact.
    pub ok_runs: usize,
    /// `seconds`.
    pub seconds: Spread,
    /// `updates_per_second`.
    pub updates_per_second: Spread,
    /// `cpu_seconds`.
    pub cpu_seconds: Spread,
    /// `rss_kib` in MiB.
    pub rss_mib: Spread,
    /// `peak_rss_kib` in MiB.
    pub peak_rss_mib: Spread,
    /// `setup_seconds`.
    pub setup_seconds: Spread,
    /// `initial_seconds` (S4: the S2 phase before the churn).
    pub initial_seconds: Spread,
}

/// What a scenario measures, which decides the table's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Time until every table is exact.
    Converge,
    /// Sessions at rest.
    Idle,
    /// Converge, then the time of a churn.
    Churn,
}

/// Per target, in the order given.
pub fn summarise(results: &[RunResult], targets: &[(String, String)]) -> Vec<Summary> {
    targets
        .iter()
        .map(|(t, version)| {
            let rs: Vec<&RunResult> = results.iter().filter(|r| &r.target == t).collect();
            let s = |f: fn(&RunResult) -> f64| Spread::of(rs.iter().map(|r| f(r)).collect());
            Summary {
                target: t.clone(),
                version: version.clone(),
                runs: rs.len(),
                ok_runs: rs.iter().filter(|r| r.ok).count(),
                seconds: s(|r| r.seconds),
                updates_per_second: s(|r| r.updates_per_second),
                cpu_seconds: s(|r| r.cpu_seconds),
                rss_mib: s(|r| r.rss_kib as f64 / 1024.0),
                peak_rss_mib: s(|r| r.peak_rss_kib as f64 / 1024.0),
                setup_seconds: s(|r| r.setup_seconds),
                initial_seconds: s(|r| r.initial_seconds.unwrap_or(0.0)),
            }
        })
        .collect()
}

/// The markdown table of a scenario.
pub fn markdown(scenario: &str, describe: &str, shape: Shape, sums: &[Summary]) -> String {
    let mut md = format!("{scenario}: {describe}\n\n");
    let idle = shape == Shape::Idle;
    if idle {
        md += "| scenario | target | runs | ok | setup (s) | CPU at rest (s) | RSS at rest (MiB) | peak RSS (MiB) |\n\
               | --- | --- | --- | --- | --- | --- | --- | --- |\n";
        for s in sums {
            let _ = writeln!(
                md,
                "| {scenario} | {} | {} | {} | {} | {} | {} | {} |",
                s.target,
                s.runs,
                s.ok_runs,
                s.seconds.cell(3),
                s.cpu_seconds.cell(2),
                s.rss_mib.cell(1),
                s.peak_rss_mib.cell(1),
            );
        }
    } else if shape == Shape::Churn {
        md += "| scenario | target | runs | ok | initial convergence (s) | churn time (s) | updates/s | churn CPU (s) | peak RSS (MiB) |\n\
               | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
        for s in sums {
            let _ = writeln!(
                md,
                "| {scenario} | {} | {} | {} | {} | {} | {:.0} | {} | {} |",
                s.target,
                s.runs,
                s.ok_runs,
                s.initial_seconds.cell(3),
                s.seconds.cell(3),
                s.updates_per_second.median,
                s.cpu_seconds.cell(2),
                s.peak_rss_mib.cell(1),
            );
        }
    } else {
        md +=
            "| scenario | target | runs | ok | time (s) | updates/s | CPU (s) | peak RSS (MiB) |\n\
               | --- | --- | --- | --- | --- | --- | --- | --- |\n";
        for s in sums {
            let _ = writeln!(
                md,
                "| {scenario} | {} | {} | {} | {} | {:.0} | {} | {} |",
                s.target,
                s.runs,
                s.ok_runs,
                s.seconds.cell(3),
                s.updates_per_second.median,
                s.cpu_seconds.cell(2),
                s.peak_rss_mib.cell(1),
            );
        }
    }
    md += "\nMedian over the runs, [min–max] when they differ.";
    if !idle {
        md += " updates/s: route updates (prefixes announced or withdrawn) received by all \
               sessions per second.";
    }
    if let [a, b] = sums {
        let r = |x: f64, y: f64| if y > 0.0 { x / y } else { f64::NAN };
        if idle {
            let _ = write!(
                md,
                " {}/{}: CPU at rest {:.2}x, RSS at rest {:.2}x.",
                a.target,
                b.target,
                r(a.cpu_seconds.median, b.cpu_seconds.median),
                r(a.rss_mib.median, b.rss_mib.median)
            );
        } else {
            let _ = write!(
                md,
                " {}/{}: time {:.2}x, CPU {:.2}x, peak RSS {:.2}x.",
                a.target,
                b.target,
                r(a.seconds.median, b.seconds.median),
                r(a.cpu_seconds.median, b.cpu_seconds.median),
                r(a.peak_rss_mib.median, b.peak_rss_mib.median)
            );
        }
    }
    md.push('\n');
    md
}

/// Bars of the medians with min–max whiskers: three panels.
pub fn svg(scenario: &str, shape: Shape, sums: &[Summary]) -> String {
    type Pick = fn(&Summary) -> Spread;
    let panels: [(&str, &str, Pick); 3] = if shape == Shape::Idle {
        [
            ("setup", "s", |s| s.seconds),
            ("CPU at rest", "s", |s| s.cpu_seconds),
            ("RSS at rest", "MiB", |s| s.rss_mib),
        ]
    } else if shape == Shape::Churn {
        [
            ("churn time", "s", |s| s.seconds),
            ("churn CPU", "s", |s| s.cpu_seconds),
            ("peak RSS", "MiB", |s| s.peak_rss_mib),
        ]
    } else {
        [
            ("convergence time", "s", |s| s.seconds),
            ("target CPU", "s", |s| s.cpu_seconds),
            ("peak RSS", "MiB", |s| s.peak_rss_mib),
        ]
    };
    let colours = ["#4477aa", "#cc6677", "#228833", "#ccbb44"];
    let pw = 60 + 70 * sums.len().max(1);
    let (top, h) = (55.0, 145.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"230\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <text x=\"10\" y=\"16\" font-size=\"13\">{scenario}: median, whiskers min–max over the runs</text>\n",
        pw * 3 + 20
    );
    for (p, (title, unit, pick)) in panels.iter().enumerate() {
        let x0 = 10 + p * pw;
        let max = sums
            .iter()
            .map(|s| pick(s).max)
            .fold(0.0, f64::max)
            .max(1e-9);
        let y = |v: f64| top + h - v / max * h;
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"34\">{title} ({unit})</text><line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#888\"/>",
            x0 + 10,
            x0 + 10,
            top + h,
            x0 + pw - 10,
            top + h
        );
        for (i, s) in sums.iter().enumerate() {
            let v = pick(s);
            let bx = x0 + 25 + i * 70;
            let _ = writeln!(
                svg,
                "<rect x=\"{bx}\" y=\"{:.1}\" width=\"36\" height=\"{:.1}\" fill=\"{}\"/>\
                 <line x1=\"{}\" y1=\"{:.1}\" x2=\"{}\" y2=\"{:.1}\" stroke=\"#000\"/>\
                 <line x1=\"{}\" y1=\"{:.1}\" x2=\"{}\" y2=\"{:.1}\" stroke=\"#000\"/>\
                 <line x1=\"{}\" y1=\"{:.1}\" x2=\"{}\" y2=\"{:.1}\" stroke=\"#000\"/>\
                 <text x=\"{bx}\" y=\"{:.1}\">{:.3}</text><text x=\"{bx}\" y=\"{}\">{}</text>",
                y(v.median),
                top + h - y(v.median),
                colours[i % colours.len()],
                bx + 18,
                y(v.min),
                bx + 18,
                y(v.max),
                bx + 12,
                y(v.min),
                bx + 24,
                y(v.min),
                bx + 12,
                y(v.max),
                bx + 24,
                y(v.max),
                y(v.max) - 4.0,
                v.median,
                top + h + 16.0,
                s.target,
            );
        }
    }
    svg += "</svg>\n";
    svg
}

/// Writes NAME.json, NAME.md and NAME.svg into `out`.
pub fn write(
    out: &Path,
    name: &str,
    json: &serde_json::Value,
    md: &str,
    svg: &str,
) -> std::io::Result<()> {
    fs::create_dir_all(out)?;
    fs::write(
        out.join(format!("{name}.json")),
        serde_json::to_string_pretty(json).unwrap_or_default(),
    )?;
    fs::write(out.join(format!("{name}.md")), md)?;
    fs::write(out.join(format!("{name}.svg")), svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_median_min_max() {
        let s = Spread::of(vec![3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        let s = Spread::of(vec![4.0, 1.0, 2.0, 3.0]);
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 4.0));
        assert_eq!(Spread::of(vec![]).median, 0.0);
    }
}
