//! index.html: the document (the same sections as report.md) as a styled
//! page, the figures, and every benchmark with a link to criterion's report.

use super::{document, format_ns, unique, Row, Section};
use crate::figures::Drawn;
use crate::identities::Metric;
use std::fmt::Write as _;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1600px;padding:0 1em;color:#222}
h1{margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:13px}
th,td{padding:4px 7px;border-bottom:1px solid #e4e4e4;text-align:left;vertical-align:top}
th{background:#f3f5f8;position:sticky;top:0}
tr:nth-child(even) td{background:#fafbfc}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.fastest{background:#e3f4e3!important;font-weight:600}
.rel{display:block}
.detail{display:block;color:#777;font-size:12px;font-weight:normal}
code{background:#f3f3f3;padding:0 3px;border-radius:3px}
.warn{background:#fff4d6;padding:.4em .6em;border-left:4px solid #e0a800}
img{max-width:100%;border:1px solid #eee}
.legend{color:#555;font-size:13px}";

/// An HTML page: the study's tables (the sections of report.md), the
/// figures, and every benchmark with a link to criterion's report for it.
pub fn index_html(rows: &[Row], figures: &[Drawn]) -> String {
    index_page(rows, &document(rows), figures, &[])
}

/// [`index_html`] with the document's sections given (report.md's, when a
/// coverage section was added to them), and those that follow the figures
/// (what remains), in report.md's order.
pub fn index_page(
    rows: &[Row],
    sections: &[Section],
    figures: &[Drawn],
    after: &[Section],
) -> String {
    let mut out = format!(
        "<!doctype html>\n<meta charset=\"utf-8\">\n<title>cnn-bench</title>\n<style>\n{STYLE}\n</style>\n<h1>cnn-bench</h1>\n"
    );
    let roots = unique(rows.iter().map(|r| r.root.clone()));
    let summaries: Vec<String> = roots
        .iter()
        .filter(|root| root.join("report/index.html").exists())
        .map(|root| {
            format!(
                "<a href=\"{}\">criterion's summary ({})</a>",
                root.join("report/index.html").display(),
                html_escape(&root.display().to_string())
            )
        })
        .collect();
    let links: Vec<String> = [
        "<a href=\"report.md\">Tables (Markdown)</a>".to_string(),
        "<a href=\"report.csv\">CSV</a>".to_string(),
    ]
    .into_iter()
    .chain(summaries)
    .collect();
    let _ = writeln!(out, "<p>{}</p>", links.join(" · "));
    let _ = writeln!(
        out,
        "<p class=\"legend\">Each time is the mean step time; below it, in brackets, the time relative to the fastest framework of its row (1.00, highlighted), then images per second. <code>~</code> marks an estimate, <code>- [n]</code> a failure explained in note n, <code>†</code> a figure of older step code than this report's build, <code>‡</code> one measured while other processes kept the machine busy, <code>…</code> a selected benchmark not recorded yet.</p>"
    );
    for s in sections {
        out += &section(s);
    }
    if !figures.is_empty() {
        out += "<h2>Figures</h2>\n";
    }
    for f in figures {
        let name = f.file_name();
        let alt = html_escape(&f.title);
        let _ = writeln!(out, "<p><img src=\"{name}\" alt=\"{alt}\"></p>");
    }
    for s in after {
        out += &section(s);
    }
    // criterion's report of each group (its benchmarks side by side); a
    // report made from a CSV has none.
    let groups = unique(rows.iter().filter_map(|r| {
        r.dir
            .components()
            .next()
            .map(|c| (r.root.clone(), c.as_os_str().to_owned()))
    }));
    if !groups.is_empty() {
        out += "<h2>Groups</h2>\n<ul>\n";
    }
    for (root, group) in &groups {
        let report = root.join(group).join("report/index.html");
        let name = html_escape(&group.to_string_lossy());
        if report.exists() {
            let _ = writeln!(out, "<li><a href=\"{}\">{name}</a></li>", report.display());
        } else {
            let _ = writeln!(out, "<li>{name} (no criterion report)</li>");
        }
    }
    if !groups.is_empty() {
        out += "</ul>\n";
    }
    out += "<h2>Every benchmark</h2>\n";
    let _ = writeln!(
        out,
        "<table>\n<tr><th>benchmark</th><th>status</th><th>mean</th><th>criterion report</th></tr>"
    );
    for r in rows {
        let report = r.root.join(&r.dir).join("report/index.html");
        let rough = if r.estimate().is_some() { "~" } else { "" };
        let mean = match (r.mean(), r.record.metric) {
            (Some(m), Metric::Time) => format!("{rough}{}", format_ns(m)),
            (Some(m), _) => format!("{rough}{m:.0} MiB"),
            (None, _) => format!(
                "- ({})",
                html_escape(r.record.reason.as_deref().unwrap_or("no estimate"))
            ),
        };
        let link = if report.exists() {
            format!("<a href=\"{}\">report</a>", report.display())
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{mean}</td><td>{link}</td></tr>",
            html_escape(&r.record.id),
            r.record.status
        );
    }
    out.push_str("</table>\n");
    out
}

fn section(s: &Section) -> String {
    let mut out = format!("<h2>{}</h2>\n", html_escape(&s.title));
    for p in &s.text {
        let class = if p.starts_with("**Warning") {
            " class=\"warn\""
        } else {
            ""
        };
        let _ = writeln!(out, "<p{class}>{}</p>", inline(p));
    }
    if let Some(t) = &s.table {
        out += "<table>\n<tr>";
        for c in &t.columns {
            let _ = write!(out, "<th>{}</th>", html_escape(c));
        }
        out += "</tr>\n";
        for row in &t.rows {
            out += "<tr>";
            for c in row {
                let mut classes = vec![];
                if c.numeric {
                    classes.push("num");
                }
                if c.fastest {
                    classes.push("fastest");
                }
                let class = if classes.is_empty() {
                    String::new()
                } else {
                    format!(" class=\"{}\"", classes.join(" "))
                };
                let mut text = html_escape(&c.text);
                if let Some(m) = &c.machine {
                    let _ = write!(text, " {}", html_escape(m));
                }
                if let Some(b) = &c.bracket {
                    let _ = write!(text, "<span class=\"rel\">({})</span>", html_escape(b));
                }
                if let Some(d) = &c.detail {
                    let _ = write!(text, "<span class=\"detail\">{}</span>", html_escape(d));
                }
                let _ = write!(out, "<td{class}>{text}</td>");
            }
            out += "</tr>\n";
        }
        out += "</table>\n";
    }
    if !s.items.is_empty() {
        let tag = if s.numbered { "ol" } else { "ul" };
        let _ = writeln!(out, "<{tag}>");
        for i in &s.items {
            let _ = writeln!(out, "<li>{}</li>", inline(i));
        }
        let _ = writeln!(out, "</{tag}>");
    }
    out
}

/// Markdown's inline `code` and **strong** as HTML, the rest escaped.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in html_escape(text).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            for (j, p) in part.split("**").enumerate() {
                if j % 2 == 1 {
                    let _ = write!(out, "<strong>{p}</strong>");
                } else {
                    out += p;
                }
            }
        }
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
