//! How much of a grid a report holds: which benchmarks of a selection (the
//! one `--list` prints and a run measures) have a record, and which remain.

use super::{Row, Section};
use crate::grid::{Case, Grid, Group};
use crate::record::Again;
use std::collections::{HashMap, HashSet};

/// The benchmarks a report was expected to hold, and those it lacks.
#[derive(Clone, Debug, PartialEq)]
pub struct Coverage {
    pub expected: usize,
    /// Ids of the expected benchmarks with no record, in the grid's order.
    pub missing: Vec<String>,
    /// How many of the recorded were measured with other step code than
    /// this build's (a resumed run measures them again); a record without
    /// its settings (from a CSV, or older than them) is not counted.
    pub stale: usize,
    /// How many of the recorded failed by a time limit shorter than their
    /// framework's in the grid now (a resumed run measures them again; see
    /// `Record::measured_again`).
    pub retried: usize,
    /// Recorded benchmarks outside the selection (a folder that earlier
    /// runs with other settings also wrote to): in the tables too.
    pub outside: usize,
}

/// The missing ids a report lists before it says "and N more".
const LISTED: usize = 30;

impl Coverage {
    /// Which of `cases` (of `grid`) none of `rows` records (failed ones are
    /// recorded), and how many of the recorded a resumed run measures again:
    /// of older step code, or failed by a shorter limit than `grid`'s now.
    pub fn of(grid: &Grid, cases: &[(Group, Case)], rows: &[Row]) -> Self {
        let recorded: HashMap<&str, &Row> =
            rows.iter().map(|r| (r.record.id.as_str(), r)).collect();
        let ids: Vec<String> = cases.iter().map(|(g, k)| g.bench_id(k)).collect();
        let selected: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut c = Coverage {
            expected: cases.len(),
            missing: Vec::new(),
            stale: 0,
            retried: 0,
            outside: recorded.keys().filter(|id| !selected.contains(*id)).count(),
        };
        for ((_, k), id) in cases.iter().zip(&ids) {
            let Some(r) = recorded.get(id.as_str()) else {
                c.missing.push(id.clone());
                continue;
            };
            match r.record.measured_again(grid.time_limit(k.framework)) {
                Some(Again::OlderStepCode) => c.stale += 1,
                Some(Again::ShorterLimit) => c.retried += 1,
                None => {}
            }
        }
        c
    }

    /// One line: how many are recorded, how many remain.
    pub fn line(&self) -> String {
        let again: Vec<String> = [
            (self.stale, "with older step code"),
            (
                self.retried,
                "failed by a shorter time limit than their framework's now",
            ),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .enumerate()
        .map(|(i, (n, what))| match i {
            0 => format!("{n} of them {what}"),
            _ => format!("{n} {what}"),
        })
        .collect();
        let stale = match again.is_empty() {
            true => String::new(),
            false => format!(
                " ({}, which a resumed run measures again)",
                again.join(" and ")
            ),
        };
        let outside = match self.outside {
            0 => String::new(),
            1 => {
                "; 1 other recorded benchmark, outside this selection, is in the tables too".into()
            }
            n => format!(
                "; {n} other recorded benchmarks, outside this selection, are in the tables too"
            ),
        };
        format!(
            "{} of {} selected benchmarks recorded{stale}; {} remain{outside}",
            self.expected - self.missing.len(),
            self.expected,
            self.missing.len()
        )
    }

    /// The report's first section: the line.
    pub fn section(&self) -> Section {
        Section {
            title: "Coverage".into(),
            text: vec![format!("{}.", self.line())],
            ..Section::default()
        }
    }

    /// The report's last section, when any remain: the first missing ids
    /// (after the tables, which are what a reader opens the report for).
    pub fn remaining(&self) -> Option<Section> {
        if self.missing.is_empty() {
            return None;
        }
        let mut items: Vec<String> = self
            .missing
            .iter()
            .take(LISTED)
            .map(|id| format!("`{id}`"))
            .collect();
        if self.missing.len() > LISTED {
            items.push(format!("and {} more", self.missing.len() - LISTED));
        }
        Some(Section {
            title: "Remaining benchmarks".into(),
            text: vec![format!(
                "Not recorded yet: {}, in the order a run measures them.",
                self.missing.len()
            )],
            items,
            ..Section::default()
        })
    }
}
