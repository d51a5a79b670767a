//! A parsed expression compiled to a flat program over block registers, with constants
//! folded and `x**2` turned into a multiply.

use super::language::{Binary, Unary};
use super::parser::{parse, Node};
use super::ParseError;

/// Where an instruction reads a value: a register of the block, a variable's block, or a
/// constant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Operand {
    /// A register, by index.
    Reg(usize),
    /// A variable, by index in `Program::variables`.
    Var(usize),
    /// A constant.
    Scalar(f64),
}

/// One step of a program: computes a block of values into register `dst`, which it never
/// reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Inst {
    /// `dst = f(a)`.
    Unary {
        /// The operation.
        f: Unary,
        /// The register written.
        dst: usize,
        /// The operand.
        a: Operand,
    },
    /// `dst = f(a, b)`.
    Binary {
        /// The operation.
        f: Binary,
        /// The register written.
        dst: usize,
        /// The first operand.
        a: Operand,
        /// The second operand.
        b: Operand,
    },
    /// `dst = where(c, a, b)`.
    Where {
        /// The register written.
        dst: usize,
        /// The condition: non-zero takes `a`.
        c: Operand,
        /// The value where `c` is not zero.
        a: Arm,
        /// The value where `c` is zero.
        b: Arm,
    },
}

/// One side of a `where`: computed for every value of the block, or, when it is costly
/// (logarithms, trigonometry, powers...), only for the values that take it.
#[derive(Debug, Clone, PartialEq)]
pub enum Arm {
    /// Computed before the `where`, for the whole block.
    Eager(Operand),
    /// Computed by the `where`, for the values that take it.
    Lazy(Box<Branch>),
}

/// A side of a `where` compiled on its own: it reads only variables (gathered for the
/// chosen values) and its own registers.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// Its program, over its own registers.
    pub insts: Vec<Inst>,
    /// Where its value is once `insts` have run.
    pub result: Operand,
    /// How many registers it uses.
    pub registers: usize,
    /// The variables it reads (gathered before it runs).
    pub vars: Vec<usize>,
}

/// Applies `f` to every operand of `insts` and `result`, inside lazy branches too.
pub fn map_operands(insts: &mut [Inst], result: &mut Operand, f: &impl Fn(Operand) -> Operand) {
    for inst in insts {
        match inst {
            Inst::Unary { a, .. } => *a = f(*a),
            Inst::Binary { a, b, .. } => {
                *a = f(*a);
                *b = f(*b);
            }
            Inst::Where { c, a, b, .. } => {
                *c = f(*c);
                for arm in [a, b] {
                    match arm {
                        Arm::Eager(o) => *o = f(*o),
                        Arm::Lazy(branch) => {
                            let Branch { insts, result, .. } = &mut **branch;
                            map_operands(insts, result, f);
                        }
                    }
                }
            }
        }
    }
    *result = f(*result);
}

/// Whether computing `node` costs much more than a load: worth doing only where needed.
fn costly(node: &Node) -> bool {
    match node {
        Node::Const(..) | Node::Var(_) => false,
        Node::Unary(f, a) => f.is_costly() || costly(a),
        Node::Binary(f, a, b) => {
            // x**2 becomes a multiply.
            let square = *f == Binary::Pow && matches!(**b, Node::Const(v, _) if v == 2.0);
            (f.is_costly() && !square) || costly(a) || costly(b)
        }
        Node::Where(args) => args.iter().any(costly),
    }
}

impl Inst {
    /// The register it writes.
    pub fn dst(&self) -> usize {
        match *self {
            Inst::Unary { dst, .. } | Inst::Binary { dst, .. } | Inst::Where { dst, .. } => dst,
        }
    }
}

/// A compiled expression: its variables in order of first appearance, and the program.
#[derive(Debug, Clone)]
pub struct Program {
    /// The expression's text.
    pub source: String,
    /// The names it reads, in order of first appearance: `evaluate` takes one operand for
    /// each, in this order.
    pub variables: Vec<String>,
    /// Whether the result is a truth value (a comparison or logic), as numexpr types it.
    pub is_bool: bool,
    /// The instructions, in order.
    pub(super) insts: Vec<Inst>,
    /// Where the value is once `insts` have run.
    pub(super) result: Operand,
    /// How many registers `insts` use.
    pub(super) registers: usize,
}

struct Compiler {
    insts: Vec<Inst>,
    free: Vec<usize>,
    registers: usize,
}

impl Compiler {
    fn alloc(&mut self) -> usize {
        self.free.pop().unwrap_or_else(|| {
            self.registers += 1;
            self.registers - 1
        })
    }

    fn release(&mut self, operands: &[Operand]) {
        for o in operands {
            if let Operand::Reg(r) = o {
                self.free.push(*r);
            }
        }
    }

    fn unary(&mut self, f: Unary, a: Operand) -> Operand {
        if let Operand::Scalar(x) = a {
            return Operand::Scalar(f.apply(x));
        }
        // A fresh register first: an instruction never writes a register it reads.
        let dst = self.alloc();
        self.release(&[a]);
        self.insts.push(Inst::Unary { f, dst, a });
        Operand::Reg(dst)
    }

    fn binary(&mut self, f: Binary, a: Operand, b: Operand) -> Operand {
        if let (Operand::Scalar(x), Operand::Scalar(y)) = (a, b) {
            return Operand::Scalar(f.apply(x, y));
        }
        if f == Binary::Pow && b == Operand::Scalar(2.0) {
            return self.unary(Unary::Square, a);
        }
        let dst = self.alloc();
        self.release(&[a, b]);
        self.insts.push(Inst::Binary { f, dst, a, b });
        Operand::Reg(dst)
    }

    fn new() -> Compiler {
        Compiler {
            insts: Vec::new(),
            free: Vec::new(),
            registers: 0,
        }
    }

    fn arm(&mut self, node: &Node) -> Arm {
        if !costly(node) {
            return Arm::Eager(self.compile(node));
        }
        let mut sub = Compiler::new();
        let result = sub.compile(node);
        let mut vars = Vec::new();
        node.variables(&mut vars);
        Arm::Lazy(Box::new(Branch {
            insts: sub.insts,
            result,
            registers: sub.registers,
            vars,
        }))
    }

    fn compile(&mut self, node: &Node) -> Operand {
        match node {
            Node::Const(v, _) => Operand::Scalar(*v),
            Node::Var(i) => Operand::Var(*i),
            Node::Unary(f, a) => {
                let a = self.compile(a);
                self.unary(*f, a)
            }
            Node::Binary(f, a, b) => {
                let (a, b) = (self.compile(a), self.compile(b));
                self.binary(*f, a, b)
            }
            Node::Where(args) => self.select(args),
        }
    }

    fn select(&mut self, [c, a, b]: &[Node; 3]) -> Operand {
        let c = self.compile(c);
        if let Operand::Scalar(c) = c {
            // A constant condition picks one side; the other is never computed.
            return self.compile(if c != 0.0 { a } else { b });
        }
        let (a, b) = (self.arm(a), self.arm(b));
        let dst = self.alloc();
        self.release(&[c]);
        for arm in [&a, &b] {
            if let Arm::Eager(o) = arm {
                self.release(&[*o]);
            }
        }
        self.insts.push(Inst::Where { dst, c, a, b });
        Operand::Reg(dst)
    }
}

impl Program {
    /// Parses and compiles `source`, or says what is wrong with it and where.
    pub fn compile(source: &str) -> Result<Program, ParseError> {
        let parsed = parse(source)?;
        let mut c = Compiler::new();
        let result = c.compile(&parsed.root);
        Ok(Program {
            source: source.to_owned(),
            variables: parsed.variables,
            is_bool: parsed.root.is_bool(),
            insts: c.insts,
            result,
            registers: c.registers,
        })
    }
}
