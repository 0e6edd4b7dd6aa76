//! The one graph walk every lowering (tch, candle), the ONNX export and the
//! analysis share: which nodes a pass evaluates, in order, each from its
//! inputs' values, and when an interpreter may free a value.

use crate::graph::{Graph, Node, NodeId};

/// Which nodes a forward pass evaluates, and when each value can be freed.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub needed: Vec<bool>,
    /// For each node, the last needed node that reads it; outputs are never
    /// freed (`usize::MAX`).
    pub last_use: Vec<usize>,
}

impl Schedule {
    /// After node `i` ran: drops the inputs nothing later reads.
    pub fn release<T>(&self, i: NodeId, node: &Node, values: &mut [Option<T>]) {
        for &j in &node.inputs {
            if self.last_use[j] == i {
                values[j] = None;
            }
        }
    }
}

impl Graph {
    /// The nodes a forward pass in train or eval mode evaluates (eval skips
    /// the auxiliary classifier), and when interpreters may free each value.
    pub fn schedule(&self, train: bool) -> Schedule {
        let n = self.nodes.len();
        let mut needed = vec![false; n];
        needed[self.output()] = true;
        if let (true, Some(aux)) = (train, self.aux) {
            needed[aux] = true;
        }
        for i in (0..n).rev() {
            if needed[i] {
                for &j in &self.nodes[i].inputs {
                    needed[j] = true;
                }
            }
        }
        let mut last_use: Vec<usize> = (0..n).collect();
        for (i, node) in self.nodes.iter().enumerate().filter(|(i, _)| needed[*i]) {
            for &j in &node.inputs {
                last_use[j] = i;
            }
        }
        last_use[self.output()] = usize::MAX;
        if let Some(aux) = self.aux {
            last_use[aux] = usize::MAX;
        }
        Schedule { needed, last_use }
    }

    /// The one graph walk every lowering and analysis shares: evaluates the
    /// nodes `schedule` needs, in order; `f` gets a node's index, the node
    /// and its inputs' values, and returns its value. With `free`, a value
    /// is dropped after its last reader (an interpreter's memory); without,
    /// every value is kept and returned (analysis, export). Skipped nodes
    /// are `None`.
    pub fn walk<T, E>(
        &self,
        schedule: &Schedule,
        free: bool,
        mut f: impl FnMut(NodeId, &Node, &[&T]) -> Result<T, E>,
    ) -> Result<Vec<Option<T>>, E> {
        let mut values: Vec<Option<T>> = Vec::with_capacity(self.nodes.len());
        for (i, node) in self.nodes.iter().enumerate() {
            if !schedule.needed[i] {
                values.push(None);
                continue;
            }
            let y = {
                let args: Vec<&T> = node
                    .inputs
                    .iter()
                    .map(|&j| values[j].as_ref().expect("inputs are evaluated first"))
                    .collect();
                f(i, node, &args)?
            };
            values.push(Some(y));
            if free {
                schedule.release(i, node, &mut values);
            }
        }
        Ok(values)
    }

    /// A forward pass by an interpreter: [`Graph::walk`], freeing values as
    /// it goes, then the logits and, in train mode, the auxiliary logits.
    pub fn evaluate<T, E>(
        &self,
        schedule: &Schedule,
        train: bool,
        f: impl FnMut(NodeId, &Node, &[&T]) -> Result<T, E>,
    ) -> Result<(T, Option<T>), E> {
        Ok(self.outputs(self.walk(schedule, true, f)?, train))
    }

    /// The logits and, in train mode, the auxiliary logits of a pass whose
    /// node values are `values`.
    pub fn outputs<T>(&self, mut values: Vec<Option<T>>, train: bool) -> (T, Option<T>) {
        let aux = self.aux.filter(|_| train).and_then(|a| values[a].take());
        let logits = values
            .pop()
            .flatten()
            .expect("the output node is evaluated");
        (logits, aux)
    }
}
