//! report.md: the document as Markdown.

use super::{document, Row, Section};
use crate::figures::Drawn;
use std::fmt::Write as _;

/// The study's tables in Markdown (see [`document`]): step time for train on
/// the GPU, inference on the GPU and on the CPU, then GPU memory; a failed
/// benchmark is `-` with a numbered note giving its reason.
pub fn markdown(rows: &[Row]) -> String {
    render(&document(rows))
}

pub fn render(sections: &[Section]) -> String {
    let mut out = String::new();
    for s in sections {
        let _ = writeln!(out, "## {}\n", s.title);
        for p in &s.text {
            let _ = writeln!(out, "{p}\n");
        }
        if let Some(t) = &s.table {
            let _ = writeln!(out, "| {} |", t.columns.join(" | "));
            let _ = writeln!(out, "|{}", "---|".repeat(t.columns.len()));
            for row in &t.rows {
                let cells: Vec<String> = row.iter().map(|c| c.markdown()).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            out.push('\n');
        }
        for (i, item) in s.items.iter().enumerate() {
            if s.numbered {
                let _ = writeln!(out, "{}. {item}", i + 1);
            } else {
                let _ = writeln!(out, "- {item}");
            }
        }
        if !s.items.is_empty() {
            out.push('\n');
        }
    }
    out
}

/// The figures written beside report.md, as images under a heading of their
/// own, so that a Markdown viewer (a published folder on a forge) shows them
/// with the tables; empty without figures.
pub fn figure_images(figures: &[Drawn]) -> String {
    let mut out = String::new();
    if !figures.is_empty() {
        out += "## Figures\n\n";
    }
    for f in figures {
        let name = f.file_name();
        // The title is the image's alt text: what a reader without the
        // image (or with a screen reader) gets; brackets would end it.
        let alt = f.title.replace('[', "(").replace(']', ")");
        let _ = writeln!(out, "![{alt}]({name})\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_ends_before_the_next_heading() {
        let failed = Section {
            title: "Failed benchmarks".into(),
            items: vec!["a: timed out".into()],
            numbered: true,
            ..Section::default()
        };
        let md = render(&[failed]) + &figure_images(&[]) + "## Remaining benchmarks\n";
        assert!(md.contains("1. a: timed out\n\n## Remaining"), "{md}");
    }
}
