//! `oxb_expression`: compiled elementwise math, and the parallel map over a C function.

use super::args::{slice, utf8, Out};
use super::guard;
use super::handles::{self, Handled};
use super::status::{oxb_status, FfiError};
use super::view::{oxb_view, read_view, read_view_mut};
use crate::array::{View, ViewMut};
use crate::error::Error;
use crate::expr::{evaluate, Input, Output, Program};
use crate::runtime::pool::{pool, MIN_PARALLEL_LEN};
use rayon::prelude::*;
use std::ffi::{c_char, CString};

/// Handle of a compiled expression. 0 is never a valid handle. Safe to evaluate from
/// several threads at once.
pub type oxb_expression = u64;

/// A function of one double, called from every worker thread at once by
/// `oxb_parallel_map`: it must be thread-safe.
pub type oxb_map_fn = Option<unsafe extern "C" fn(x: f64) -> f64>;

/// What a compiled expression needs and gives.
#[repr(C)]
pub struct oxb_expression_info {
    /// The number of variables, in order of first appearance (see
    /// `oxb_expression_variable`).
    pub num_variables: usize,
    /// 1 when the result is a truth value (comparisons, logic, isnan...): 1.0 or 0.0.
    pub is_bool: u32,
}

struct Compiled {
    program: Program,
    names: Vec<CString>,
}

impl Handled for Compiled {
    const KIND: &'static str = "expression";
}

/// Compiles `source` (numexpr's language: + - * / ** %, comparisons, & | ~, and/or/not,
/// where() and the math functions) and writes its handle to `*out`. A syntax error
/// returns `OXB_INVALID_ARGUMENT` with a message naming the position, with a caret line.
///
/// # Safety
/// `source` is NULL or a NUL-terminated UTF-8 string; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_expression_compile(
    source: *const c_char,
    out: *mut oxb_expression,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        let text = unsafe { utf8(source, "source") }?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        let program = Program::compile(text)
            .map_err(|e| FfiError::invalid(format!("invalid expression: {}", e.render(text))))?;
        let names = program
            .variables
            .iter()
            .map(|v| CString::new(v.as_str()).unwrap_or_default())
            .collect();
        out.write(handles::insert(Compiled { program, names })?);
        Ok(())
    })
}

/// Writes the expression's variable count and result kind to `*out`.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_expression_inspect(
    handle: oxb_expression,
    out: *mut oxb_expression_info,
) -> oxb_status {
    guard::call(|| {
        let c = handles::get::<Compiled>(handle)?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        out.write(oxb_expression_info {
            num_variables: c.names.len(),
            is_bool: c.program.is_bool as u32,
        });
        Ok(())
    })
}

/// Writes the name of variable `index` to `*out`; valid until the expression is destroyed.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_expression_variable(
    handle: oxb_expression,
    index: usize,
    out: *mut *const c_char,
) -> oxb_status {
    guard::call(|| {
        let c = handles::get::<Compiled>(handle)?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        let name = c.names.get(index).ok_or_else(|| {
            FfiError::invalid(format!(
                "variable index {index} is out of range: the expression has {} variables",
                c.names.len()
            ))
        })?;
        // The string lives as long as the handle's object.
        out.write(name.as_ptr());
        Ok(())
    })
}

fn output<'a>(view: *const oxb_view) -> Result<Output<'a>, FfiError> {
    match read_view_mut(view, "out")? {
        ViewMut::F64(v) => Ok(Output::F64(v)),
        ViewMut::F32(v) => Ok(Output::F32(v)),
        _ => Err(FfiError::invalid("out must be a float64 or float32 view")),
    }
}

/// Evaluates the expression into `out` (float64 or float32, any stride), in parallel.
/// `inputs` holds one view per variable, in order; a view of length 1 is broadcast as a
/// scalar, others must have `out`'s length. `out` may be the same view as an input.
///
/// # Safety
/// `inputs` points to `inputs_len` readable views; `out` is a writable view.
#[no_mangle]
pub unsafe extern "C" fn oxb_expression_evaluate(
    handle: oxb_expression,
    inputs: *const oxb_view,
    inputs_len: usize,
    out: *const oxb_view,
) -> oxb_status {
    guard::call(|| {
        let c = handles::get::<Compiled>(handle)?;
        // SAFETY: the contract of this function.
        let inputs = unsafe { slice(inputs, inputs_len, "inputs") }?;
        let out = output(out)?;
        let n = out.len();
        let mut bound = Vec::with_capacity(inputs_len);
        for (i, input) in inputs.iter().enumerate() {
            let name = c
                .names
                .get(i)
                .map_or("operand".into(), |n| n.to_string_lossy().into_owned());
            let col = read_view(input, &name)?;
            bound.push(if col.len() == 1 && n != 1 {
                Input::Scalar(col.get_f64(0))
            } else {
                Input::Array(col)
            });
        }
        Ok(evaluate(&c.program, &bound, out)?)
    })
}

/// `oxb_expression_evaluate` with Arrow arrays as the variables: `arrays[i]` and
/// `schemas[i]` (float64, float32, int64 or int32) for variable `i`, read in place; an
/// array with nulls is read as float64 with NaN at the nulls (missing, like NaN), which
/// costs one copy of that array. An array of length 1 is broadcast as a scalar. Other
/// types are `OXB_UNSUPPORTED`. The caller keeps the arrays.
///
/// # Safety
/// `arrays` and `schemas` point to `inputs_len` pointers, each NULL or a valid,
/// unreleased C Data Interface struct whose buffers hold what they declare; `out` is a
/// writable view.
#[no_mangle]
pub unsafe extern "C" fn oxb_expression_evaluate_arrow(
    handle: oxb_expression,
    arrays: *const *const super::arrow::ArrowArray,
    schemas: *const *const super::arrow::ArrowSchema,
    inputs_len: usize,
    out: *const oxb_view,
) -> oxb_status {
    guard::call(|| {
        let c = handles::get::<Compiled>(handle)?;
        // SAFETY: the contract of this function.
        let arrays = unsafe { slice(arrays, inputs_len, "arrays") }?;
        // SAFETY: the contract of this function.
        let schemas = unsafe { slice(schemas, inputs_len, "schemas") }?;
        let out = output(out)?;
        let n = out.len();
        let mut imported = Vec::with_capacity(inputs_len);
        for (&array, &schema) in arrays.iter().zip(schemas) {
            // SAFETY: the contract of this function.
            imported.push(unsafe { super::arrow::import::import(array, schema) }?);
        }
        // Arrays with nulls as float64 copies with NaN at the nulls; kept for the call.
        let copies: Vec<Option<Vec<f64>>> = imported
            .iter()
            .map(|a| {
                a.validity.as_ref().map(|valid| {
                    (0..a.view.len())
                        .map(|i| {
                            if valid.get(i) {
                                a.view.get_f64(i)
                            } else {
                                f64::NAN
                            }
                        })
                        .collect()
                })
            })
            .collect();
        let bound: Vec<Input> = imported
            .iter()
            .zip(&copies)
            .map(|(a, copy)| {
                let col = match copy {
                    Some(values) => View::F64(crate::array::Strided::from_slice(values)),
                    None => a.view,
                };
                if col.len() == 1 && n != 1 {
                    Input::Scalar(col.get_f64(0))
                } else {
                    Input::Array(col)
                }
            })
            .collect();
        Ok(evaluate(&c.program, &bound, out)?)
    })
}

/// Destroys a compiled expression. Destroying it again returns `OXB_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn oxb_expression_destroy(handle: oxb_expression) -> oxb_status {
    guard::call(|| {
        handles::remove::<Compiled>(handle)?;
        Ok(())
    })
}

/// Writes `f(x)` for every element `x` of `input` (any dtype) to `out` (float64 or
/// float32, the same length), calling `f` from every worker thread at once.
///
/// # Safety
/// `f` is a thread-safe function; `input` is readable and `out` writable views.
#[no_mangle]
pub unsafe extern "C" fn oxb_parallel_map(
    f: oxb_map_fn,
    input: *const oxb_view,
    out: *const oxb_view,
) -> oxb_status {
    guard::call(|| {
        let f = f.ok_or_else(|| FfiError::null("f"))?;
        let input = read_view(input, "input")?;
        let out = output(out)?;
        let n = out.len();
        if input.len() != n {
            return Err(Error::invalid_argument(format!(
                "input has length {}, but out has length {n}",
                input.len()
            ))
            .into());
        }
        // SAFETY: the caller promises `f` may be called from any thread at once.
        let call = |x: f64| unsafe { f(x) };
        map_in_parallel(input, out, n, &call)?;
        Ok(())
    })
}

/// Writes `f(input[i])` to `out[i]` in parallel pieces; contiguous float64 in and out
/// (the common case) take a plain loop.
fn map_in_parallel<F: Fn(f64) -> f64 + Sync>(
    input: View<'_>,
    out: Output<'_>,
    n: usize,
    f: &F,
) -> crate::Result<()> {
    const TASK: usize = 1 << 14;
    let value = |i: usize| input.get_f64(i);
    let pieces = out.pieces(TASK);
    let run = |(start, piece): (usize, Output<'_>)| match piece {
        Output::F64(mut o) => {
            let len = o.len();
            let contiguous_in = match input {
                View::F64(v) => v.slice(start, len).as_slice(),
                _ => None,
            };
            match (o.as_mut_slice(), contiguous_in) {
                (Some(out), Some(xs)) => {
                    for (y, &x) in out.iter_mut().zip(xs) {
                        *y = f(x);
                    }
                }
                _ => {
                    for k in 0..len {
                        o.set(k, f(value(start + k)));
                    }
                }
            }
        }
        Output::F32(mut o) => {
            for k in 0..o.len() {
                o.set(k, f(value(start + k)) as f32);
            }
        }
    };
    if n < MIN_PARALLEL_LEN / 8 {
        pieces.into_iter().for_each(run);
    } else {
        pool()?.install(|| pieces.into_par_iter().for_each(run));
    }
    Ok(())
}
