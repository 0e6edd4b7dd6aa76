//! How much of a grid a report holds: which benchmarks of a selection (the
//! one `--list` prints and a run measures) have a record, and which remain.

use super::{Row, Section};
use crate::grid::{Case, Grid, Group};
use std::collections::HashSet;

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
    /// `Record::failed_under_a_shorter_limit`).
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
        let recorded: HashSet<&str> = rows.iter().map(|r| r.record.id.as_str()).collect();
        let ids_where = |again: &dyn Fn(&Row) -> bool| -> HashSet<&str> {
            rows.iter()
                .filter(|r| again(r))
                .map(|r| r.record.id.as_str())
                .collect()
        };
        let stale = ids_where(&|r| r.older_step_code());
        let retried = ids_where(&|r| {
            !r.older_step_code()
                && r.record
                    .failed_under_a_shorter_limit(grid.time_limit(r.record.case.framework))
        });
        let ids: Vec<String> = cases.iter().map(|(g, c)| g.bench_id(c)).collect();
        let selected: HashSet<&str> = ids.iter().map(String::as_str).collect();
        Coverage {
            expected: cases.len(),
            outside: recorded.difference(&selected).count(),
            stale: ids.iter().filter(|id| stale.contains(id.as_str())).count(),
            retried: ids
                .iter()
                .filter(|id| retried.contains(id.as_str()))
                .count(),
            missing: ids
                .into_iter()
                .filter(|id| !recorded.contains(id.as_str()))
                .collect(),
        }
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
