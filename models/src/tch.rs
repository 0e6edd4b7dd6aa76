//! Lowering of a [`Graph`] to tch (libtorch): one tensor per parameter in a
//! `VarStore` (so `nn::Adam` trains it), and a forward pass that interprets
//! the nodes with libtorch's own ops.

use crate::graph::{Graph, Node, NodeId, Op, Schedule, TensorKind};
use crate::weights::Weights;
use anyhow::{bail, Result};
use std::collections::HashMap;
use tch::{nn, Device, IValue, Kind, Tensor};

/// A forward pass traced to TorchScript ([`TchModel::trace`]).
pub struct Traced {
    module: tch::CModule,
    /// The model's tensors, in the order the graph takes them after the
    /// images (none for an eval-mode trace, which holds them as constants).
    names: Vec<String>,
    /// Whether the output stacks the auxiliary logits under the logits.
    aux: bool,
}

impl Traced {
    /// The TorchScript module (for passes tch does not bind).
    pub fn module(&self) -> &tch::CModule {
        &self.module
    }
}

/// A model ready to run on one device.
pub struct TchModel {
    graph: Graph,
    vs: nn::VarStore,
    tensors: HashMap<String, Tensor>,
    /// What eval and train passes evaluate, and when activations are freed.
    eval: Schedule,
    train: Schedule,
}

impl TchModel {
    /// Instantiates `graph` on `device` with the given weights.
    pub fn new(graph: &Graph, weights: &Weights, device: Device) -> Result<Self> {
        let vs = nn::VarStore::new(device);
        let mut tensors = HashMap::new();
        for (name, spec) in graph.tensors() {
            let w = weights.get(&name)?;
            let shape: Vec<i64> = w.shape.iter().map(|&d| d as i64).collect();
            let value = Tensor::from_slice(&w.data).reshape(&shape);
            // tch's paths refuse dots inside a name: walk the module path.
            let (module, leaf) = name.rsplit_once('.').unwrap_or(("", &name));
            let path = module
                .split('.')
                .filter(|s| !s.is_empty())
                .fold(vs.root(), |p, s| p / s);
            let t = match spec.kind {
                TensorKind::Parameter => path.f_var_copy(leaf, &value)?,
                TensorKind::Buffer => {
                    let mut b = path.f_zeros_no_train(leaf, &shape)?;
                    tch::no_grad(|| b.f_copy_(&value))?;
                    b
                }
            };
            tensors.insert(name, t);
        }
        Ok(Self {
            graph: graph.clone(),
            vs,
            tensors,
            eval: graph.schedule(false),
            train: graph.schedule(true),
        })
    }

    /// The store holding the trainable parameters, for an optimizer.
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// Logits `[n, classes]` for images `[n, 3, h, w]`. In train mode batch
    /// norm uses batch statistics and updates its running statistics, and
    /// dropout and stochastic depth are active.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.forward_outputs(x, train).0
    }

    /// A train-mode pass: the logits and, for models with an auxiliary
    /// classifier, its logits.
    pub fn forward_train(&self, x: &Tensor) -> (Tensor, Option<Tensor>) {
        self.forward_outputs(x, true)
    }

    fn forward_outputs(&self, x: &Tensor, train: bool) -> (Tensor, Option<Tensor>) {
        self.run(&self.tensors, x, train)
    }

    /// The forward pass traced to TorchScript for inputs shaped like
    /// `example`, in train or eval mode: a compiled graph that libtorch's
    /// graph executor optimises and runs without this interpreter.
    ///
    /// An eval-mode trace is a frozen graph, as TensorFlow's: the weights
    /// are constants of the graph (detached views of the `VarStore`'s
    /// tensors) and the images its only input. A train-mode trace takes
    /// every parameter and buffer as an input instead, so that it trains the
    /// same `VarStore`: gradients reach the parameters, batch norm updates
    /// its running statistics in place, and random ops (dropout, stochastic
    /// depth) stay random in the graph. Either way the batch size is fixed by
    /// `example`.
    pub fn trace(&self, example: &Tensor, train: bool) -> Result<Traced> {
        let mut names: Vec<String> = if train {
            self.tensors.keys().cloned().collect()
        } else {
            Vec::new()
        };
        names.sort();
        let mut inputs = vec![example.shallow_clone()];
        inputs.extend(names.iter().map(|n| self.tensors[n].shallow_clone()));
        // The tracer refuses to bake in tensors that require grad: detached
        // views (before tracing starts, or the detach would be traced).
        let frozen: HashMap<String, Tensor> = self
            .tensors
            .iter()
            .filter(|_| !train)
            .map(|(k, t)| (k.clone(), t.detach()))
            .collect();
        let mut forward = |ins: &[Tensor]| {
            let tensors = if train {
                names
                    .iter()
                    .cloned()
                    .zip(ins[1..].iter().map(Tensor::shallow_clone))
                    .collect()
            } else {
                frozen
                    .iter()
                    .map(|(k, t)| (k.clone(), t.shallow_clone()))
                    .collect()
            };
            // A TorchScript method has one output: auxiliary logits are
            // stacked under the logits.
            match self.run(&tensors, &ins[0], train) {
                (y, None) => vec![y],
                (y, Some(aux)) => vec![Tensor::stack(&[y, aux], 0)],
            }
        };
        let module =
            tch::CModule::create_by_tracing(&self.graph.name, "forward", &inputs, &mut forward)?;
        let aux = train && self.graph.aux.is_some();
        Ok(Traced { module, names, aux })
    }

    /// Runs a graph from [`TchModel::trace`] on `x`: the logits and, for a
    /// train-mode trace of a model with an auxiliary classifier, its logits.
    pub fn forward_traced(&self, traced: &Traced, x: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        let mut inputs = vec![IValue::Tensor(x.shallow_clone())];
        inputs.extend(
            traced
                .names
                .iter()
                .map(|n| IValue::Tensor(self.tensors[n].shallow_clone())),
        );
        let out = traced.module.forward_is(&inputs)?;
        let IValue::Tensor(y) = out else {
            bail!("the traced graph returned {out:?}, not a tensor")
        };
        Ok(if traced.aux {
            (y.get(0), Some(y.get(1)))
        } else {
            (y, None)
        })
    }

    /// The interpreter: `graph` evaluated with `tensors` as its parameters and
    /// buffers.
    fn run(
        &self,
        tensors: &HashMap<String, Tensor>,
        x: &Tensor,
        train: bool,
    ) -> (Tensor, Option<Tensor>) {
        let t = |node: &Node, leaf: &str| &tensors[&node.path.join(leaf)];
        let schedule = if train { &self.train } else { &self.eval };
        let nodes = &self.graph.nodes;
        // Whether node `i` may overwrite its input `k`, as torchvision's
        // `ReLU(inplace=True)` and ResNet's `out += identity` do: nothing
        // later reads it, and the op that made it allocated it (it is no
        // view of a value still needed). Saves an allocation and a pass
        // over memory. Inference only: in training an earlier reader (a
        // convolution) may have saved the value for its backward pass.
        let owned = |i: NodeId, k: usize| {
            let j = nodes[i].inputs[k];
            !train
                && schedule.last_use[j] == i
                && matches!(
                    nodes[j].op,
                    Op::Conv2d(_) | Op::BatchNorm2d { .. } | Op::Add | Op::Linear { .. }
                )
        };
        let pass = self
            .graph
            .evaluate(schedule, train, |i, node, args: &[&Tensor]| {
                let arg = |k: usize| args[k];
                Ok::<_, std::convert::Infallible>(match &node.op {
                    Op::Input => x.shallow_clone(),
                    Op::Conv2d(c) => {
                        let bias = c.bias.then(|| t(node, "bias"));
                        let s = c.stride as i64;
                        let p = [c.padding.0 as i64, c.padding.1 as i64];
                        arg(0).conv2d(t(node, "weight"), bias, [s, s], p, [1, 1], c.groups as i64)
                    }
                    Op::BatchNorm2d { eps, momentum, .. } => Tensor::batch_norm(
                        arg(0),
                        Some(t(node, "weight")),
                        Some(t(node, "bias")),
                        Some(t(node, "running_mean")),
                        Some(t(node, "running_var")),
                        train,
                        *momentum,
                        *eps,
                        true,
                    ),
                    Op::Relu if owned(i, 0) => arg(0).shallow_clone().relu_(),
                    Op::Relu => arg(0).relu(),
                    Op::Relu6 => arg(0).relu6(),
                    Op::Silu => arg(0).silu(),
                    Op::Sigmoid => arg(0).sigmoid(),
                    Op::MaxPool2d {
                        kernel,
                        stride,
                        padding,
                    } => {
                        let (k, s, p) = (*kernel as i64, *stride as i64, *padding as i64);
                        arg(0).max_pool2d([k, k], [s, s], [p, p], [1, 1], false)
                    }
                    Op::AvgPool2d {
                        kernel,
                        stride,
                        padding,
                    } => {
                        let (k, s, p) = (*kernel as i64, *stride as i64, *padding as i64);
                        arg(0).avg_pool2d([k, k], [s, s], [p, p], false, true, None)
                    }
                    Op::Concat => Tensor::cat(args, 1),
                    Op::AdaptiveAvgPool2d { output } => {
                        arg(0).adaptive_avg_pool2d([*output as i64; 2])
                    }
                    Op::Add if owned(i, 0) && arg(0).size() == arg(1).size() => {
                        let mut y = arg(0).shallow_clone();
                        y += arg(1);
                        y
                    }
                    Op::Add => arg(0) + arg(1),
                    Op::Mul => arg(0) * arg(1),
                    Op::Flatten => arg(0).flatten(1, -1),
                    Op::Dropout { p } => arg(0).dropout(*p, train),
                    Op::StochasticDepth { p } if train && *p > 0.0 => {
                        let x = arg(0);
                        let keep = 1.0 - p;
                        let mut mask =
                            Tensor::empty([x.size()[0], 1, 1, 1], (Kind::Float, x.device()));
                        x * mask.bernoulli_float_(keep) / keep
                    }
                    Op::StochasticDepth { .. } => arg(0).shallow_clone(),
                    Op::Linear { .. } => arg(0).linear(t(node, "weight"), Some(t(node, "bias"))),
                })
            });
        match pass {
            Ok(outputs) => outputs,
            Err(never) => match never {},
        }
    }
}
