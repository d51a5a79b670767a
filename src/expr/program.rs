//! A parsed expression compiled to a flat program over block registers, with constants
//! folded and `x**2` turned into a multiply.

use super::parser::{parse, BinaryOp, Node, UnaryOp};
use super::vmath::{self, Op};
use super::{maximum, minimum, remainder, round_half_even, Func, ParseError};

/// Where an instruction reads a value: a register of the block, a variable's block, or a
/// constant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Operand {
    Reg(usize),
    Var(usize),
    Scalar(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unary {
    Neg,
    Not,
    Square,
    Abs,
    Sqrt,
    Exp,
    Expm1,
    Log,
    Log10,
    Log1p,
    Sin,
    Cos,
    Tan,
    Arcsin,
    Arccos,
    Arctan,
    Sinh,
    Cosh,
    Tanh,
    Floor,
    Ceil,
    Round,
    IsNan,
    IsFinite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
    Arctan2,
    Minimum,
    Maximum,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Inst {
    Unary {
        f: Unary,
        dst: usize,
        a: Operand,
    },
    Binary {
        f: Binary,
        dst: usize,
        a: Operand,
        b: Operand,
    },
    Where {
        dst: usize,
        c: Operand,
        a: Arm,
        b: Arm,
    },
}

/// One side of a `where`: computed for every value of the block, or, when it is costly
/// (logarithms, trigonometry, powers...), only for the values that take it.
#[derive(Debug, Clone, PartialEq)]
pub enum Arm {
    Eager(Operand),
    Lazy(Box<Branch>),
}

/// A side of a `where` compiled on its own: it reads only variables (gathered for the
/// chosen values) and its own registers.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    pub insts: Vec<Inst>,
    pub result: Operand,
    pub registers: usize,
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
        Node::Unary(_, a) => costly(a),
        Node::Binary(op, a, b) => {
            let square = matches!(**b, Node::Const(v, _) if v == 2.0);
            (matches!(op, BinaryOp::Pow) && !square)
                || matches!(op, BinaryOp::Mod)
                || costly(a)
                || costly(b)
        }
        Node::Call(func, args) => {
            matches!(
                func,
                Func::Exp
                    | Func::Expm1
                    | Func::Log
                    | Func::Log10
                    | Func::Log1p
                    | Func::Sin
                    | Func::Cos
                    | Func::Tan
                    | Func::Arcsin
                    | Func::Arccos
                    | Func::Arctan
                    | Func::Arctan2
                    | Func::Sinh
                    | Func::Cosh
                    | Func::Tanh
            ) || args.iter().any(costly)
        }
    }
}

fn variables_of(node: &Node, out: &mut Vec<usize>) {
    match node {
        Node::Const(..) => {}
        Node::Var(v) => {
            if !out.contains(v) {
                out.push(*v);
            }
        }
        Node::Unary(_, a) => variables_of(a, out),
        Node::Binary(_, a, b) => {
            variables_of(a, out);
            variables_of(b, out);
        }
        Node::Call(_, args) => args.iter().for_each(|a| variables_of(a, out)),
    }
}

impl Inst {
    pub fn dst(&self) -> usize {
        match *self {
            Inst::Unary { dst, .. } | Inst::Binary { dst, .. } | Inst::Where { dst, .. } => dst,
        }
    }
}

#[inline(always)]
fn truth(x: bool) -> f64 {
    if x {
        1.0
    } else {
        0.0
    }
}

impl Unary {
    #[inline(always)]
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Unary::Neg => -x,
            Unary::Not => truth(x == 0.0),
            Unary::Square => x * x,
            Unary::Abs => x.abs(),
            Unary::Sqrt => x.sqrt(),
            // The same kernels as over blocks, so a folded constant equals an array's value.
            Unary::Exp => vmath::apply(Op::Exp, x),
            Unary::Expm1 => vmath::apply(Op::Expm1, x),
            Unary::Log => vmath::apply(Op::Log, x),
            Unary::Log10 => vmath::apply(Op::Log10, x),
            Unary::Log1p => vmath::apply(Op::Log1p, x),
            Unary::Sin => x.sin(),
            Unary::Cos => x.cos(),
            Unary::Tan => x.tan(),
            Unary::Arcsin => x.asin(),
            Unary::Arccos => x.acos(),
            Unary::Arctan => x.atan(),
            Unary::Sinh => x.sinh(),
            Unary::Cosh => x.cosh(),
            Unary::Tanh => x.tanh(),
            Unary::Floor => x.floor(),
            Unary::Ceil => x.ceil(),
            Unary::Round => round_half_even(x),
            Unary::IsNan => truth(x.is_nan()),
            Unary::IsFinite => truth(x.is_finite()),
        }
    }
}

impl Binary {
    #[inline(always)]
    pub fn apply(self, x: f64, y: f64) -> f64 {
        match self {
            Binary::Add => x + y,
            Binary::Sub => x - y,
            Binary::Mul => x * y,
            Binary::Div => x / y,
            Binary::Mod => remainder(x, y),
            Binary::Pow => x.powf(y),
            Binary::Lt => truth(x < y),
            Binary::Le => truth(x <= y),
            Binary::Gt => truth(x > y),
            Binary::Ge => truth(x >= y),
            Binary::Eq => truth(x == y),
            Binary::Ne => truth(x != y),
            Binary::And => truth(x != 0.0 && y != 0.0),
            Binary::Or => truth(x != 0.0 || y != 0.0),
            Binary::Arctan2 => x.atan2(y),
            Binary::Minimum => minimum(x, y),
            Binary::Maximum => maximum(x, y),
        }
    }
}

/// A compiled expression: its variables in order of first appearance, and the program.
#[derive(Debug, Clone)]
pub struct Program {
    pub source: String,
    pub variables: Vec<String>,
    pub is_bool: bool,
    pub(super) insts: Vec<Inst>,
    pub(super) result: Operand,
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
        variables_of(node, &mut vars);
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
            Node::Unary(op, a) => {
                let a = self.compile(a);
                self.unary(
                    if *op == UnaryOp::Neg {
                        Unary::Neg
                    } else {
                        Unary::Not
                    },
                    a,
                )
            }
            Node::Binary(op, a, b) => {
                let (a, b) = (self.compile(a), self.compile(b));
                let f = match op {
                    BinaryOp::Add => Binary::Add,
                    BinaryOp::Sub => Binary::Sub,
                    BinaryOp::Mul => Binary::Mul,
                    BinaryOp::Div => Binary::Div,
                    BinaryOp::Mod => Binary::Mod,
                    BinaryOp::Pow => Binary::Pow,
                    BinaryOp::Lt => Binary::Lt,
                    BinaryOp::Le => Binary::Le,
                    BinaryOp::Gt => Binary::Gt,
                    BinaryOp::Ge => Binary::Ge,
                    BinaryOp::Eq => Binary::Eq,
                    BinaryOp::Ne => Binary::Ne,
                    BinaryOp::And => Binary::And,
                    BinaryOp::Or => Binary::Or,
                };
                self.binary(f, a, b)
            }
            Node::Call(Func::Where, args) => {
                let c = self.compile(&args[0]);
                if let Operand::Scalar(c) = c {
                    // A constant condition picks one side; the other is never computed.
                    return self.compile(if c != 0.0 { &args[1] } else { &args[2] });
                }
                let (a, b) = (self.arm(&args[1]), self.arm(&args[2]));
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
            Node::Call(func, args) => {
                let ops: Vec<Operand> = args.iter().map(|a| self.compile(a)).collect();
                let unary = |f| (f, ops[0]);
                let u = match func {
                    Func::Abs => Some(unary(Unary::Abs)),
                    Func::Sqrt => Some(unary(Unary::Sqrt)),
                    Func::Exp => Some(unary(Unary::Exp)),
                    Func::Expm1 => Some(unary(Unary::Expm1)),
                    Func::Log => Some(unary(Unary::Log)),
                    Func::Log10 => Some(unary(Unary::Log10)),
                    Func::Log1p => Some(unary(Unary::Log1p)),
                    Func::Sin => Some(unary(Unary::Sin)),
                    Func::Cos => Some(unary(Unary::Cos)),
                    Func::Tan => Some(unary(Unary::Tan)),
                    Func::Arcsin => Some(unary(Unary::Arcsin)),
                    Func::Arccos => Some(unary(Unary::Arccos)),
                    Func::Arctan => Some(unary(Unary::Arctan)),
                    Func::Sinh => Some(unary(Unary::Sinh)),
                    Func::Cosh => Some(unary(Unary::Cosh)),
                    Func::Tanh => Some(unary(Unary::Tanh)),
                    Func::Floor => Some(unary(Unary::Floor)),
                    Func::Ceil => Some(unary(Unary::Ceil)),
                    Func::Round => Some(unary(Unary::Round)),
                    Func::IsNan => Some(unary(Unary::IsNan)),
                    Func::IsFinite => Some(unary(Unary::IsFinite)),
                    _ => None,
                };
                if let Some((f, a)) = u {
                    return self.unary(f, a);
                }
                match func {
                    Func::Arctan2 => self.binary(Binary::Arctan2, ops[0], ops[1]),
                    Func::Minimum => self.binary(Binary::Minimum, ops[0], ops[1]),
                    Func::Maximum => self.binary(Binary::Maximum, ops[0], ops[1]),
                    // numpy's clip: minimum(maximum(x, lo), hi).
                    Func::Clip => {
                        let low = self.binary(Binary::Maximum, ops[0], ops[1]);
                        self.binary(Binary::Minimum, low, ops[2])
                    }
                    _ => unreachable!("unary functions handled above"),
                }
            }
        }
    }
}

impl Program {
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
