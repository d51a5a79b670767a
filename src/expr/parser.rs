//! Expression text to a tree of the program's instructions (`language.rs`), with Python's
//! operator precedence (numexpr parses with Python's own parser). Errors carry the byte
//! position of the offending token.

use super::language::{self, Binary, Unary, FUNCTIONS};
use super::lexer::{tokenize, Lexed, Token};
use super::ParseError;

/// Deeper nesting than this is refused (the parser recurses, and the stack is finite).
const MAX_DEPTH: usize = 200;
/// Trees deeper than this are refused: compiling and dropping them recurse too, and
/// a long chain like a+a+...+a nests without parentheses.
const MAX_TREE_DEPTH: usize = 1000;
/// Larger expressions than this many tokens are refused.
const MAX_TOKENS: usize = 100_000;

/// An expression as a tree whose operations are the program's instructions.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A number, and whether it is a truth value (`True`, `False`).
    Const(f64, bool),
    /// A variable, by position in order of first appearance.
    Var(usize),
    /// A prefix operator or a function of one argument.
    Unary(Unary, Box<Node>),
    /// An infix operator or a function of two arguments.
    Binary(Binary, Box<Node>, Box<Node>),
    /// `where(c, a, b)`.
    Where(Box<[Node; 3]>),
}

impl Node {
    /// `f(a, b)` as a node.
    pub fn binary(f: Binary, a: Node, b: Node) -> Node {
        Node::Binary(f, Box::new(a), Box::new(b))
    }

    /// Whether the value is a truth value (comparisons, logic, isnan...), as numexpr
    /// types them; the result of such an expression is boolean.
    pub fn is_bool(&self) -> bool {
        match self {
            Node::Const(_, b) => *b,
            Node::Var(_) => false,
            Node::Unary(f, _) => f.is_bool(),
            Node::Binary(f, _, _) => f.is_bool(),
            Node::Where(args) => args[1].is_bool() && args[2].is_bool(),
        }
    }

    /// Adds the variables the node reads to `out`, each once, in order of appearance.
    pub fn variables(&self, out: &mut Vec<usize>) {
        match self {
            Node::Const(..) => {}
            Node::Var(v) => {
                if !out.contains(v) {
                    out.push(*v);
                }
            }
            Node::Unary(_, a) => a.variables(out),
            Node::Binary(_, a, b) => {
                a.variables(out);
                b.variables(out);
            }
            Node::Where(args) => args.iter().for_each(|a| a.variables(out)),
        }
    }
}

/// A parsed expression.
pub struct Parsed {
    /// The tree.
    pub root: Node,
    /// The variables' names, in order of first appearance (`Node::Var` indexes them).
    pub variables: Vec<String>,
}

struct Parser {
    tokens: Vec<Lexed>,
    next: usize,
    depth: usize,
    variables: Vec<String>,
}

/// Parses `source`.
pub fn parse(source: &str) -> Result<Parsed, ParseError> {
    let tokens = tokenize(source)?;
    if tokens.len() > MAX_TOKENS {
        return Err(ParseError::new(
            0,
            format!("the expression is too long (more than {MAX_TOKENS} tokens)"),
        ));
    }
    if matches!(tokens[0].token, Token::End) {
        return Err(ParseError::new(0, "the expression is empty"));
    }
    let mut p = Parser {
        tokens,
        next: 0,
        depth: 0,
        variables: Vec::new(),
    };
    let (root, _) = p.expression(0)?;
    let end = p.peek();
    if !matches!(end.token, Token::End) {
        return Err(ParseError::new(
            end.at,
            format!(
                "expected an operator or the end, found {}",
                describe(&end.token)
            ),
        ));
    }
    Ok(Parsed {
        root,
        variables: p.variables,
    })
}

fn describe(token: &Token) -> String {
    match token {
        Token::Number(v) => format!("the number {v}"),
        Token::Name(n) => format!("{n:?}"),
        Token::Symbol(s) => format!("{s:?}"),
        Token::End => "the end of the expression".to_owned(),
    }
}

/// Binding power of infix operators (higher binds tighter), as in Python.
fn infix(token: &Token) -> Option<(u8, Binary)> {
    Some(match token {
        Token::Name(n) if n == "or" => (1, Binary::Or),
        Token::Name(n) if n == "and" => (2, Binary::And),
        Token::Symbol("<") => (4, Binary::Lt),
        Token::Symbol("<=") => (4, Binary::Le),
        Token::Symbol(">") => (4, Binary::Gt),
        Token::Symbol(">=") => (4, Binary::Ge),
        Token::Symbol("==") => (4, Binary::Eq),
        Token::Symbol("!=") => (4, Binary::Ne),
        Token::Symbol("|") => (5, Binary::Or),
        Token::Symbol("&") => (6, Binary::And),
        Token::Symbol("+") => (7, Binary::Add),
        Token::Symbol("-") => (7, Binary::Sub),
        Token::Symbol("*") => (8, Binary::Mul),
        Token::Symbol("/") => (8, Binary::Div),
        Token::Symbol("%") => (8, Binary::Mod),
        Token::Symbol("**") => (10, Binary::Pow),
        _ => return None,
    })
}

const COMPARISON: u8 = 4;
const UNARY: u8 = 9;

impl Parser {
    fn peek(&self) -> &Lexed {
        &self.tokens[self.next]
    }

    fn advance(&mut self) -> &Lexed {
        let t = &self.tokens[self.next];
        if !matches!(t.token, Token::End) {
            self.next += 1;
        }
        t
    }

    fn expect(&mut self, symbol: &'static str, context: &str) -> Result<(), ParseError> {
        let t = self.peek();
        if t.token == Token::Symbol(symbol) {
            self.advance();
            Ok(())
        } else {
            Err(ParseError::new(
                t.at,
                format!(
                    "expected {symbol:?} {context}, found {}",
                    describe(&t.token)
                ),
            ))
        }
    }

    /// Parses an expression whose operators bind tighter than `min_power`; returns it
    /// with the depth of its tree.
    fn expression(&mut self, min_power: u8) -> Result<(Node, usize), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let at = self.peek().at;
            return Err(ParseError::new(
                at,
                format!("the expression is nested too deeply (more than {MAX_DEPTH} levels)"),
            ));
        }
        let (mut left, mut depth) = self.prefix()?;
        loop {
            let (power, op) = match infix(&self.peek().token) {
                Some(p) if p.0 > min_power => p,
                _ => break,
            };
            self.advance();
            // ** is right-associative: its right side may hold another **.
            let (right, right_depth) = if op == Binary::Pow {
                self.expression(power - 1)?
            } else {
                self.expression(power)?
            };
            depth = depth.max(right_depth) + 1;
            if depth > MAX_TREE_DEPTH {
                return Err(ParseError::new(
                    self.peek().at,
                    format!("the expression is nested too deeply (more than {MAX_TREE_DEPTH} operations in a chain)"),
                ));
            }
            if power == COMPARISON {
                if let Some((COMPARISON, _)) = infix(&self.peek().token) {
                    return Err(ParseError::new(
                        self.peek().at,
                        "chained comparisons (a < b < c) are not supported; write (a < b) & (b < c)",
                    ));
                }
            }
            left = Node::binary(op, left, right);
        }
        self.depth -= 1;
        Ok((left, depth))
    }

    fn prefix(&mut self) -> Result<(Node, usize), ParseError> {
        let Lexed { token, at } = {
            let t = self.advance();
            Lexed {
                token: t.token.clone(),
                at: t.at,
            }
        };
        let unary = |op, (node, depth): (Node, usize)| (Node::Unary(op, Box::new(node)), depth + 1);
        match token {
            Token::Number(v) => Ok((Node::Const(v, false), 1)),
            Token::Symbol("-") => Ok(unary(Unary::Neg, self.expression(UNARY)?)),
            Token::Symbol("+") => self.expression(UNARY),
            Token::Symbol("~") => Ok(unary(Unary::Not, self.expression(UNARY)?)),
            Token::Name(n) if n == "not" => Ok(unary(Unary::Not, self.expression(3)?)),
            Token::Symbol("(") => {
                let inner = self.expression(0)?;
                self.expect(")", "to close the parenthesis")?;
                Ok(inner)
            }
            Token::Name(name) => {
                if self.peek().token == Token::Symbol("(") {
                    return self.call(&name, at);
                }
                // Python's literals and the IEEE specials are constants; every other name
                // (e included, which numexpr treats as a name too) is an operand.
                let constant = |v, b| Ok((Node::Const(v, b), 1));
                match name.as_str() {
                    "True" => constant(1.0, true),
                    "False" => constant(0.0, true),
                    "inf" => constant(f64::INFINITY, false),
                    "nan" | "NaN" => constant(f64::NAN, false),
                    "pi" => constant(std::f64::consts::PI, false),
                    "and" | "or" | "not" | "if" | "else" | "lambda" => Err(ParseError::new(
                        at,
                        format!("expected an operand, found the keyword {name:?}"),
                    )),
                    _ => {
                        let index = match self.variables.iter().position(|v| *v == name) {
                            Some(i) => i,
                            None => {
                                self.variables.push(name);
                                self.variables.len() - 1
                            }
                        };
                        Ok((Node::Var(index), 1))
                    }
                }
            }
            other => Err(ParseError::new(
                at,
                format!(
                    "expected a number, a name or \"(\", found {}",
                    describe(&other)
                ),
            )),
        }
    }

    fn call(&mut self, name: &str, at: usize) -> Result<(Node, usize), ParseError> {
        let func = language::function(name).ok_or_else(|| {
            let names: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
            ParseError::new(
                at,
                format!(
                    "unknown function {name:?}; the functions are: {}",
                    names.join(", ")
                ),
            )
        })?;
        self.advance(); // "("
        let mut args = Vec::new();
        let mut depth = 0;
        if self.peek().token != Token::Symbol(")") {
            loop {
                let (arg, arg_depth) = self.expression(0)?;
                depth = depth.max(arg_depth);
                args.push(arg);
                if self.peek().token == Token::Symbol(",") {
                    self.advance();
                    continue;
                }
                break;
            }
        }
        self.expect(")", &format!("to close the arguments of {name}()"))?;
        if args.len() != func.arity {
            return Err(ParseError::new(
                at,
                format!(
                    "{name}() takes {} argument{}, got {}",
                    func.arity,
                    if func.arity == 1 { "" } else { "s" },
                    args.len()
                ),
            ));
        }
        Ok(((func.build)(args), depth + 1))
    }
}
