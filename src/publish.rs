//! Writes a report folder: report.md, report.csv, the figures and
//! index.html, from criterion's folders (or a published CSV's rows).

use crate::grid::{Case, Grid, Group};
use crate::report::{
    collect_many, document, document_awaiting, figure_images, index_page, key, machines, render,
    timed, write_csv, Coverage, Row, Section, SECTIONS,
};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Writes the report of `roots` (report.md, report.csv, the figures,
/// index.html) into `out`; returns the warnings (a benchmark in two
/// folders, a table that mixes machines) and what was written. With
/// `expected` (a grid and its selected benchmarks) the report opens with
/// its coverage.
pub fn write(
    roots: &[PathBuf],
    baseline: &str,
    expected: Option<(&Grid, &[(Group, Case)])>,
    out: &Path,
) -> Result<(Vec<String>, String)> {
    let (rows, warnings) = collect_many(roots, baseline)?;
    write_rows(rows, warnings, expected, out)
}

/// Writes the report of `rows` into `out` (see [`write()`]).
pub fn write_rows(
    mut rows: Vec<Row>,
    mut warnings: Vec<String>,
    expected: Option<(&Grid, &[(Group, Case)])>,
    out: &Path,
) -> Result<(Vec<String>, String)> {
    rows.sort_by_key(|r| key(&r.record));
    for (device, phase, title) in SECTIONS {
        let machines = machines(timed(&rows, device, phase));
        if machines.len() > 1 {
            warnings.push(format!(
                "the table \"{title}\" ({device}/{phase}) mixes machines: {}",
                machines.join(" + ")
            ));
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let coverage = expected.map(|(grid, cases)| Coverage::of(grid, cases, &rows));
    let mut sections = match &coverage {
        Some(c) => document_awaiting(&rows, &c.missing),
        None => document(&rows),
    };
    let remaining: Vec<Section> = coverage.iter().filter_map(Coverage::remaining).collect();
    if let Some(c) = &coverage {
        sections.insert(0, c.section());
    }
    // Figures first: report.md and index.html show them after the tables,
    // before what remains.
    let drawn = crate::figures::write_all(&rows, out)?;
    std::fs::write(
        out.join("report.md"),
        render(&sections) + &figure_images(&drawn) + &render(&remaining),
    )?;
    write_csv(&rows, &out.join("report.csv"))?;
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|mut r| {
            r.root = std::fs::canonicalize(&r.root).unwrap_or(r.root);
            r
        })
        .collect();
    std::fs::write(
        out.join("index.html"),
        index_page(&rows, &sections, &drawn, &remaining),
    )?;
    let failed = rows.iter().filter(|r| r.mean().is_none()).count();
    let rough = rows.iter().filter(|r| r.estimate().is_some()).count();
    let mut summary = format!(
        "{} benchmarks ({rough} estimates, {failed} without a number) -> {}/{{report.md, report.csv, index.html}} and {} figure(s)",
        rows.len(),
        out.display(),
        drawn.len()
    );
    if let Some(c) = coverage {
        summary = format!("{}; {summary}", c.line());
    }
    Ok((warnings, summary))
}
