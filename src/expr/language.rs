//! The language's operators and functions, in one table: each row is an instruction of
//! the program, with its name in expressions (functions only: the operators' spelling and
//! precedence are the grammar's, in `parser.rs`), and its kernel. The arity is the
//! section the row sits in.
//!
//! From the table come the `Unary` and `Binary` instructions, their scalar values
//! (constant folding, and every element of a block), their block loops (one loop
//! monomorphised per row, so the evaluator makes no call through a pointer per element),
//! whether an instruction is costly (worth computing only where a `where` takes it) or
//! gives a truth value, and the functions the parser knows by name.
//!
//! A row reads `Instruction "name" [traits] => (kernel);`: the name only for functions,
//! the traits `costly` (transcendental functions, powers: computed only where a `where`
//! takes them) and `bool` (the value is a truth value, so the expression's result is
//! boolean when it ends in one), the kernel a scalar function of the operands, or
//! `(vector Op)` for one of vmath's vector kernels.
//!
//! Adding a function is a row here plus, unless the standard library has it, its scalar
//! kernel in `kernels.rs`; a vector kernel in `vmath.rs` is optional.

use super::block::{binary_loop, unary_loop, vector_loop, Src};
use super::kernels::{self, truth};
use super::parser::Node;
use super::vmath::{self, Op};

language! {
    /// Instructions of one operand (`Inst::Unary`).
    unary {
        /// `-x`.
        Neg                                 => (|x| -x);
        /// `~x` and `not x`: 1 where `x` is 0.
        Not                     [bool]      => (|x| truth(x == 0.0));
        /// `x**2`, which the compiler turns into a multiply.
        Square                              => (|x| x * x);
        Abs         "abs"                   => (f64::abs);
        Sqrt        "sqrt"                  => (f64::sqrt);
        Exp         "exp"       [costly]    => (vector Exp);
        Expm1       "expm1"     [costly]    => (vector Expm1);
        Log         "log"       [costly]    => (vector Log);
        Log10       "log10"     [costly]    => (vector Log10);
        Log1p       "log1p"     [costly]    => (vector Log1p);
        Sin         "sin"       [costly]    => (f64::sin);
        Cos         "cos"       [costly]    => (f64::cos);
        Tan         "tan"       [costly]    => (f64::tan);
        Arcsin      "arcsin"    [costly]    => (f64::asin);
        Arccos      "arccos"    [costly]    => (f64::acos);
        Arctan      "arctan"    [costly]    => (f64::atan);
        Sinh        "sinh"      [costly]    => (f64::sinh);
        Cosh        "cosh"      [costly]    => (f64::cosh);
        Tanh        "tanh"      [costly]    => (f64::tanh);
        Arcsinh     "arcsinh"   [costly]    => (kernels::arcsinh);
        Arccosh     "arccosh"   [costly]    => (kernels::arccosh);
        Arctanh     "arctanh"   [costly]    => (kernels::arctanh);
        Floor       "floor"                 => (f64::floor);
        Ceil        "ceil"                  => (f64::ceil);
        Round       "round"                 => (kernels::round_half_even);
        Sign        "sign"                  => (kernels::sign);
        IsNan       "isnan"     [bool]      => (|x| truth(x.is_nan()));
        IsFinite    "isfinite"  [bool]      => (|x| truth(x.is_finite()));
    }
    /// Instructions of two operands (`Inst::Binary`).
    binary {
        /// `x + y`.
        Add                                 => (|x, y| x + y);
        /// `x - y`.
        Sub                                 => (|x, y| x - y);
        /// `x * y`.
        Mul                                 => (|x, y| x * y);
        /// `x / y`.
        Div                                 => (|x, y| x / y);
        /// `x % y`, numpy's remainder.
        Mod                     [costly]    => (kernels::remainder);
        /// `x ** y`.
        Pow                     [costly]    => (f64::powf);
        /// `x < y`.
        Lt                      [bool]      => (|x, y| truth(x < y));
        /// `x <= y`.
        Le                      [bool]      => (|x, y| truth(x <= y));
        /// `x > y`.
        Gt                      [bool]      => (|x, y| truth(x > y));
        /// `x >= y`.
        Ge                      [bool]      => (|x, y| truth(x >= y));
        /// `x == y`.
        Eq                      [bool]      => (|x, y| truth(x == y));
        /// `x != y`.
        Ne                      [bool]      => (|x, y| truth(x != y));
        /// `x & y` and `x and y`.
        And                     [bool]      => (|x, y| truth(x != 0.0 && y != 0.0));
        /// `x | y` and `x or y`.
        Or                      [bool]      => (|x, y| truth(x != 0.0 || y != 0.0));
        Arctan2     "arctan2"   [costly]    => (f64::atan2);
        Minimum     "minimum"               => (kernels::minimum);
        Maximum     "maximum"               => (kernels::maximum);
    }
    /// Functions of three operands, built from the instructions above or `where`.
    ternary {
        // numpy's clip: minimum(maximum(x, low), high).
        "clip"(x, low, high) => Node::binary(Binary::Minimum, Node::binary(Binary::Maximum, x, low), high);
        "where"(c, a, b)     => Node::Where(Box::new([c, a, b]));
    }
}

/// A function of the language, as the parser needs it.
pub struct Function {
    /// Its name in expressions.
    pub name: &'static str,
    /// How many arguments it takes.
    pub arity: usize,
    /// Its node, from exactly `arity` arguments.
    pub build: fn(Vec<Node>) -> Node,
}

/// The function called `name`.
pub fn function(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// The arguments of a call, counted by the parser already.
fn take<const N: usize>(args: Vec<Node>) -> [Node; N] {
    args.try_into()
        .unwrap_or_else(|args: Vec<Node>| panic!("{} arguments for {N}", args.len()))
}

/// Fixes a kernel's signature, so that a closure's argument types need no annotation.
#[inline(always)]
fn unary_fn(f: impl Fn(f64) -> f64) -> impl Fn(f64) -> f64 {
    f
}

#[inline(always)]
fn binary_fn(f: impl Fn(f64, f64) -> f64) -> impl Fn(f64, f64) -> f64 {
    f
}

/// Expands the table above.
macro_rules! language {
    (
        $(#[$unary_doc:meta])*
        unary { $(
            $(#[$u_doc:meta])*
            $u:ident $($u_name:literal)? $([$($u_trait:ident),*])? => $u_kernel:tt;
        )* }
        $(#[$binary_doc:meta])*
        binary { $(
            $(#[$b_doc:meta])*
            $b:ident $($b_name:literal)? $([$($b_trait:ident),*])? => ($b_kernel:expr);
        )* }
        $(#[$ternary_doc:meta])*
        ternary { $(
            $t_name:literal ($($t_arg:ident),*) => $t_node:expr;
        )* }
    ) => {
        $(#[$unary_doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Unary {
            $( $(#[$u_doc])* $(#[doc = concat!("`", $u_name, "(x)`.")])? $u, )*
        }

        $(#[$binary_doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Binary {
            $( $(#[$b_doc])* $(#[doc = concat!("`", $b_name, "(x, y)`.")])? $b, )*
        }

        impl Unary {
            /// The instruction's value for one operand.
            #[inline(always)]
            pub fn apply(self, x: f64) -> f64 {
                match self {
                    $( Unary::$u => unary_kernel!($u_kernel, x), )*
                }
            }

            /// `dst[i] = self.apply(a[i])` over a block.
            #[inline(always)]
            pub fn run(self, dst: &mut [f64], a: Src<'_>) {
                match self {
                    $( Unary::$u => unary_block!($u_kernel, dst, a), )*
                }
            }

            /// Whether it costs much more than a load.
            pub fn is_costly(self) -> bool {
                match self {
                    $( Unary::$u => has_trait!(costly $($(, $u_trait)*)?), )*
                }
            }

            /// Whether its value is a truth value (0 or 1).
            pub fn is_bool(self) -> bool {
                match self {
                    $( Unary::$u => has_trait!(bool $($(, $u_trait)*)?), )*
                }
            }
        }

        impl Binary {
            /// The instruction's value for one pair of operands.
            #[inline(always)]
            pub fn apply(self, x: f64, y: f64) -> f64 {
                match self {
                    $( Binary::$b => binary_fn($b_kernel)(x, y), )*
                }
            }

            /// `dst[i] = self.apply(a[i], b[i])` over a block.
            #[inline(always)]
            pub fn run(self, dst: &mut [f64], a: Src<'_>, b: Src<'_>) {
                match self {
                    $( Binary::$b => binary_loop(dst, a, b, $b_kernel), )*
                }
            }

            /// Whether it costs much more than a load.
            pub fn is_costly(self) -> bool {
                match self {
                    $( Binary::$b => has_trait!(costly $($(, $b_trait)*)?), )*
                }
            }

            /// Whether its value is a truth value (0 or 1).
            pub fn is_bool(self) -> bool {
                match self {
                    $( Binary::$b => has_trait!(bool $($(, $b_trait)*)?), )*
                }
            }
        }

        /// The functions known by name, in the order error messages list them.
        pub static FUNCTIONS: &[Function] = &[
            $($(Function {
                name: $u_name,
                arity: 1,
                build: |args| {
                    let [x] = take(args);
                    Node::Unary(Unary::$u, Box::new(x))
                },
            },)?)*
            $($(Function {
                name: $b_name,
                arity: 2,
                build: |args| {
                    let [x, y] = take(args);
                    Node::binary(Binary::$b, x, y)
                },
            },)?)*
            $(Function {
                name: $t_name,
                arity: [$(stringify!($t_arg)),*].len(),
                build: |args| {
                    let [$($t_arg),*] = take(args);
                    $t_node
                },
            },)*
        ];
    };
}
use language;

/// A unary row's kernel: a scalar function, or `(vector Op)` for one of vmath's.
macro_rules! unary_kernel {
    ((vector $op:ident), $x:expr) => {
        vmath::apply(Op::$op, $x)
    };
    (($f:expr), $x:expr) => {
        unary_fn($f)($x)
    };
}
use unary_kernel;

macro_rules! unary_block {
    ((vector $op:ident), $dst:expr, $a:expr) => {
        vector_loop($dst, $a, Op::$op)
    };
    (($f:expr), $dst:expr, $a:expr) => {
        unary_loop($dst, $a, $f)
    };
}
use unary_block;

/// Whether a row's traits include the first one (an unknown trait does not compile).
macro_rules! has_trait {
    ($want:ident) => {
        false
    };
    (costly, costly $(, $rest:ident)*) => {
        true
    };
    (bool, bool $(, $rest:ident)*) => {
        true
    };
    (costly, bool $(, $rest:ident)*) => {
        has_trait!(costly $(, $rest)*)
    };
    (bool, costly $(, $rest:ident)*) => {
        has_trait!(bool $(, $rest)*)
    };
}
use has_trait;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_arities_match_the_nodes() {
        for (i, f) in FUNCTIONS.iter().enumerate() {
            assert!(
                FUNCTIONS[..i].iter().all(|g| g.name != f.name),
                "{} twice",
                f.name
            );
            let args = (0..f.arity).map(Node::Var).collect();
            let node = (f.build)(args);
            let mut vars = Vec::new();
            node.variables(&mut vars);
            assert_eq!(vars.len(), f.arity, "{}", f.name);
        }
        assert_eq!(function("where").map(|f| f.arity), Some(3));
        assert!(function("nope").is_none());
    }
}
