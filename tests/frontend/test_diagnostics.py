"""Every diagnostic a user can trigger: one (snippet, exact rendered text) row each.

A row is a small program with one mistake and the exact text scalc prints for it:
``t.scl:LINE:COL: error: MESSAGE``, the source line, and a caret under the span. A change
to a message or a location shows up here as a diff of that text, which is the review.

Messages follow one style (STYLE.md, "Errors speak to the user"): lower-case, names in
backticks, what was expected and what was got, the caret under what is wrong. The last
tests check how mistakes combine: independent ones are all reported, in source order; a
mistake used many times is reported once (poisoned values pass silently).
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from scalc import ScalcError
from scalc.driver import run_stages
from scalc.frontend import evaluate
from scalc.frontend.parser import MAX_NESTING


class Case(NamedTuple):
    name: str
    source: str
    expected: str


def case(name: str, source: str, expected: str) -> Case:
    return Case(name, source, expected.removesuffix("\n"))


def diagnostics_of(source: str) -> str:
    """What ``scalc`` prints for ``source`` (named ``t.scl``) when it is wrong."""
    with pytest.raises(ScalcError) as caught:
        run_stages(source, "t.scl", "nn")
    return caught.value.render()


CASES = [
    # --- syntax
    case("syntax_unexpected_token", """\
const D = 4
input x: f32[2, D)
""", """\
t.scl:2:18: error: unexpected `)`; expected `,` or `]`
input x: f32[2, D)
                 ^
"""),
    case("syntax_unexpected_end_of_file", """\
const D = 4
input x: f32[2, D
""", """\
t.scl:2:18: error: unexpected end of file; expected `,` or `]`
input x: f32[2, D
                 ^
"""),
    case("syntax_bad_character", """\
const D = 4 $ 2
""", """\
t.scl:1:13: error: unexpected character `$`
const D = 4 $ 2
            ^
"""),
    case("syntax_bad_dtype", """\
input x: f33[2]
""", """\
t.scl:1:10: error: unexpected `f33`; expected a dtype (f32, bf16, f16, i32, i64)
input x: f33[2]
         ^~~
"""),
    case("syntax_keyword_missing_name", """\
param : f32[2] = zeros
""", """\
t.scl:1:7: error: unexpected `:`; expected a name
param : f32[2] = zeros
      ^
"""),
    case("syntax_invisible_character", """\
const D = 4\x1e
""", """\
t.scl:1:12: error: unexpected character U+001E
const D = 4\x1e
           ^
"""),
    case("syntax_end_of_file_after_comment", """\
const D = 4 *
# the rest is missing

""", """\
t.scl:1:14: error: unexpected end of file; expected an expression
const D = 4 *
             ^
"""),
    case("syntax_declaration_inside_block", """\
input x: f32[2]
for i in range(2) {
    output y = x
}
""", """\
t.scl:3:5: error: `output` declarations belong at the top level, not inside a block `{ ... }`
    output y = x
    ^~~~~~
"""),
    case("caret_under_tab_indented_code", """\
input x: f32[2]
\tlet\ty = x @ x
""", """\
t.scl:2:10: error: `@` needs float tensors of rank 2 or more, got f32[2]
    let y = x @ x
            ^~~~~
"""),
    # --- names
    case("unknown_name", """\
input x: f32[2, 4]
output y = x + zz
""", """\
t.scl:2:16: error: unknown name `zz`
output y = x + zz
               ^~
"""),
    case("unknown_name_did_you_mean", """\
param w_out: f32[4, 4] = zeros
input x: f32[2, 4]
output y = x @ w_ot
""", """\
t.scl:3:16: error: unknown name `w_ot`; did you mean `w_out`?
output y = x @ w_ot
               ^~~~
"""),
    case("unknown_function_did_you_mean", """\
input x: f32[2, 4]
output y = relux(x)
""", """\
t.scl:2:12: error: unknown function `relux`; did you mean `relu`?
output y = relux(x)
           ^~~~~
"""),
    case("unknown_function", """\
input x: f32[2, 4]
output y = frobnicate(x)
""", """\
t.scl:2:12: error: unknown function `frobnicate`
output y = frobnicate(x)
           ^~~~~~~~~~
"""),
    case("not_a_function", """\
const C = 3
input x: f32[2, 4]
output y = C(x)
""", """\
t.scl:3:12: error: `C` is a const, not a function
output y = C(x)
           ^
"""),
    case("function_not_called", """\
fn f(a: f32[2]) -> f32[2] {
    return a
}
output y = f
""", """\
t.scl:4:12: error: function `f` must be called: `f(...)`
output y = f
           ^
"""),
    case("dimension_used_as_value", """\
dim B
input x: f32[B, 4]
output y = x * B
""", """\
t.scl:3:16: error: `B` is a dimension, not a value; dimensions appear only in shapes
output y = x * B
               ^
"""),
    case("call_a_let", """\
input x: f32[2]
let h = x
output y = h(x)
""", """\
t.scl:3:12: error: `h` is a let, not a function
output y = h(x)
           ^
"""),
    # --- numbers and sizes
    case("size_division_not_exact", """\
const D = 10
input x: f32[D / 3]
""", """\
t.scl:2:14: error: size 10 is not divisible by 3
input x: f32[D / 3]
             ^~~~~
"""),
    case("size_not_integer", """\
const D = 1.5
input x: f32[D]
""", """\
t.scl:2:14: error: expected a size (an integer or a dimension), got 1.5
input x: f32[D]
             ^
"""),
    case("size_negative", """\
input x: f32[2 - 3]
""", """\
t.scl:1:14: error: a size cannot be negative, got -1
input x: f32[2 - 3]
             ^~~~~
"""),
    case("symbolic_size_sum", """\
dim B, T
input x: f32[B + T]
""", """\
t.scl:2:14: error: `+` on symbolic sizes (B, T) is not a size
input x: f32[B + T]
             ^~~~~
"""),
    case("const_division_by_zero", """\
const X = 1 / 0
""", """\
t.scl:1:11: error: division by zero
const X = 1 / 0
          ^~~~~
"""),
    case("const_sqrt_of_negative", """\
const X = sqrt(0 - 1)
""", """\
t.scl:1:16: error: sqrt: sqrt(-1) is not a finite real number
const X = sqrt(0 - 1)
               ^~~~~
"""),
    case("const_not_a_number", """\
input x: f32[2]
const C = x
""", """\
t.scl:2:11: error: expected a compile-time number, got a tensor of type f32[2]
const C = x
          ^
"""),
    case("integer_literal_too_large", """\
input x: f32[2]
output y = x * 99999999999999999999
""", """\
t.scl:2:16: error: this integer is too large: compile-time integers must be below 2**63
output y = x * 99999999999999999999
               ^~~~~~~~~~~~~~~~~~~~
"""),
    case("float_literal_too_large", """\
input x: f32[2]
output y = x * 1e400
""", """\
t.scl:2:16: error: this number is too large for a float
output y = x * 1e400
               ^~~~~
"""),
    case("folded_float_overflows", """\
const A = 1e300 * 1e300
""", """\
t.scl:1:11: error: the result of `*` is too large for a float
const A = 1e300 * 1e300
          ^~~~~~~~~~~~~
"""),
    case("size_product_too_large", """\
const A = 4294967296
input x: f32[A * A]
""", """\
t.scl:2:14: error: this size is too large: sizes must be below 2**63
input x: f32[A * A]
             ^~~~~
"""),
    case("exp_of_number_overflows", """\
const A = exp(1000)
""", """\
t.scl:1:15: error: exp: exp(1000) is not a finite real number
const A = exp(1000)
              ^~~~
"""),
    case("negate_a_list", """\
output y = -[1, 2]
""", """\
t.scl:1:12: error: cannot negate a list
output y = -[1, 2]
           ^~~~~~~
"""),
    case("matmul_of_numbers", """\
const A = 2 @ 3
""", """\
t.scl:1:11: error: `@` needs tensors, got two numbers
const A = 2 @ 3
          ^~~~~
"""),
    # --- operators: shapes and dtypes
    case("matmul_contracting_dims", """\
dim B
input x: f32[B, 4]
param w: f32[3, 8] = zeros
output y = x @ w
""", """\
t.scl:4:12: error: `@`: contracting dimensions differ: f32[B, 4] @ f32[3, 8] (4 vs 3)
output y = x @ w
           ^~~~~
"""),
    case("matmul_rank_1", """\
input x: f32[3]
output y = x @ x
""", """\
t.scl:2:12: error: `@` needs float tensors of rank 2 or more, got f32[3]
output y = x @ x
           ^~~~~
"""),
    case("broadcast_mismatch", """\
dim B
input x: f32[B, 4]
param b: f32[3] = zeros
output y = x + b
""", """\
t.scl:4:12: error: `+`: shapes [B, 4] and [3] do not broadcast
output y = x + b
           ^~~~~
"""),
    case("dtype_mix", """\
input x: f32[2, 4]
input z: bf16[2, 4]
output y = x + z
""", """\
t.scl:3:12: error: `+` mixes dtypes f32 and bf16
output y = x + z
           ^~~~~
"""),
    case("int_tensor_in_arithmetic", """\
input ids: i32[2, 4]
output y = ids * 2.0
""", """\
t.scl:2:12: error: `*` needs a float tensor, got i32[2, 4]
output y = ids * 2.0
           ^~~
"""),
    case("int_tensor_negated", """\
input ids: i32[2, 4]
output y = -ids
""", """\
t.scl:2:13: error: `-` needs a float tensor, got i32[2, 4]
output y = -ids
            ^~~
"""),
    case("list_in_arithmetic", """\
input x: f32[2]
output y = [1, 2] + x
""", """\
t.scl:2:12: error: `+` needs tensors or numbers, got a list
output y = [1, 2] + x
           ^~~~~~
"""),
    case("builtin_add_points_at_argument", """\
input ids: i32[2]
output y = add(ids, 1.0)
""", """\
t.scl:2:16: error: `+` needs a float tensor, got i32[2]
output y = add(ids, 1.0)
               ^~~
"""),
    # --- shape builtins, axes, indexing
    case("reshape_element_count", """\
input x: f32[2, 4]
output y = reshape(x, [3, 3])
""", """\
t.scl:2:23: error: reshape: cannot reshape f32[2, 4] (8 elements) into [3, 3] (9 elements)
output y = reshape(x, [3, 3])
                      ^~~~~~
"""),
    case("reshape_shape_not_list", """\
input x: f32[2, 4]
output y = reshape(x, 8)
""", """\
t.scl:2:23: error: reshape: `shape` must be a shape such as [B, 64]
output y = reshape(x, 8)
                      ^
"""),
    case("transpose_bad_perm", """\
input x: f32[2, 4]
output y = transpose(x, [0, 0])
""", """\
t.scl:2:25: error: transpose: `perm` must be a permutation of [0, 1] for f32[2, 4], got [0, 0]
output y = transpose(x, [0, 0])
                        ^~~~~~
"""),
    case("transpose_rank_1", """\
input x: f32[4]
output y = transpose(x)
""", """\
t.scl:2:22: error: transpose: needs a tensor of rank 2 or more, got f32[4]
output y = transpose(x)
                     ^
"""),
    case("axis_out_of_range", """\
input x: f32[2, 4]
output y = sum(x, axis=2)
""", """\
t.scl:2:24: error: sum: axis 2 is out of range for a tensor of rank 2
output y = sum(x, axis=2)
                       ^
"""),
    case("duplicate_axes", """\
input x: f32[2, 4]
output y = sum(x, axis=[1, -1])
""", """\
t.scl:2:24: error: sum: `axis` lists axis 1 twice
output y = sum(x, axis=[1, -1])
                       ^~~~~~~
"""),
    case("axis_not_integer", """\
input x: f32[2, 4]
output y = softmax(x, axis=1.0)
""", """\
t.scl:2:28: error: softmax: `axis` must be a compile-time integer, got a number
output y = softmax(x, axis=1.0)
                           ^~~
"""),
    case("keepdims_not_bool", """\
input x: f32[2, 4]
output y = sum(x, keepdims=1)
""", """\
t.scl:2:28: error: sum: `keepdims` must be true or false, got an integer
output y = sum(x, keepdims=1)
                           ^
"""),
    case("index_out_of_range", """\
input x: f32[2, 4]
output y = x[5]
""", """\
t.scl:2:14: error: index 5 is out of range for axis 0 of size 2
output y = x[5]
             ^
"""),
    case("too_many_indices", """\
input x: f32[4]
output y = x[0, 0]
""", """\
t.scl:2:12: error: too many indices: f32[4] has rank 1, got 2 indices
output y = x[0, 0]
           ^~~~~~~
"""),
    case("empty_slice", """\
input x: f32[2, 4]
output y = x[:, 3:2]
""", """\
t.scl:2:17: error: slice 3:2 is empty
output y = x[:, 3:2]
                ^~~
"""),
    case("slice_out_of_range", """\
input x: f32[2, 4]
output y = x[:, 2:9]
""", """\
t.scl:2:17: error: slice 2:9 is out of range for axis 1 of size 4
output y = x[:, 2:9]
                ^~~
"""),
    case("slice_symbolic_end_not_from_0", """\
dim T
input x: f32[T, 4]
output y = x[1:T]
""", """\
t.scl:3:14: error: a slice ending at the symbolic size T must start at 0, not 1
output y = x[1:T]
             ^~~
"""),
    case("axis_is_dimension", """\
dim B
input x: f32[B, 2]
output y = sum(x, axis=[B])
""", """\
t.scl:3:24: error: sum: `axis` must be an integer or a list of integers, got the dimension B
output y = sum(x, axis=[B])
                       ^~~
"""),
    case("negative_index_on_symbolic_axis", """\
dim B
input x: f32[B]
output y = x[-1]
""", """\
t.scl:3:14: error: negative index -1 on axis 0 of symbolic size B
output y = x[-1]
             ^~
"""),
    case("slice_start_symbolic", """\
dim B
input x: f32[2 * B]
output y = x[B:2 * B]
""", """\
t.scl:3:14: error: a slice must start at a static offset, got B
output y = x[B:2 * B]
             ^~~~~~~
"""),
    # --- layers and losses
    case("layernorm_gamma_shape", """\
input x: f32[2, 4]
param g: f32[3] = ones
param b: f32[4] = zeros
output y = layernorm(x, g, b)
""", """\
t.scl:4:25: error: layernorm: `gamma` must be f32[4] to match f32[2, 4], got f32[3]
output y = layernorm(x, g, b)
                        ^
"""),
    case("layernorm_eps_not_positive", """\
input x: f32[2, 4]
param g: f32[4] = ones
param b: f32[4] = zeros
output y = layernorm(x, g, b, eps=0.0)
""", """\
t.scl:4:35: error: layernorm: `eps` must be positive, got 0.0
output y = layernorm(x, g, b, eps=0.0)
                                  ^~~
"""),
    case("embedding_float_ids", """\
input ids: f32[2, 4]
param t: f32[10, 8] = zeros
output y = embedding(t, ids)
""", """\
t.scl:3:25: error: embedding: `ids` must be an integer tensor, got f32[2, 4]
output y = embedding(t, ids)
                        ^~~
"""),
    case("causal_mask_not_square", """\
input s: f32[2, 3, 4]
output y = causal_mask(s)
""", """\
t.scl:2:24: error: causal_mask: needs scores of shape [..., T, T], got f32[2, 3, 4]
output y = causal_mask(s)
                       ^
"""),
    case("cross_entropy_labels_shape", """\
input logits: f32[2, 10]
input labels: i32[3]
loss = cross_entropy(logits, labels)
""", """\
t.scl:3:30: error: cross_entropy: `labels` must have shape [2] to match logits f32[2, 10], got i32[3]
loss = cross_entropy(logits, labels)
                             ^~~~~~
"""),
    case("cross_entropy_float_labels", """\
input logits: f32[2, 10]
input labels: f32[2]
loss = cross_entropy(logits, labels)
""", """\
t.scl:3:30: error: cross_entropy: `labels` must be an integer tensor, got f32[2]
loss = cross_entropy(logits, labels)
                             ^~~~~~
"""),
    case("loss_not_scalar", """\
input x: f32[2, 10]
loss = sum(x, axis=0)
""", """\
t.scl:2:8: error: the loss must be a float scalar, got f32[10]; reduce it, e.g. mean(...)
loss = sum(x, axis=0)
       ^~~~~~~~~~~~~~
"""),
    case("output_not_tensor", """\
const C = 3
output y = C
""", """\
t.scl:2:12: error: output `y` must be a tensor, got an integer
output y = C
           ^
"""),
    # --- declarations and bindings
    case("output_declared_twice", """\
input x: f32[2]
output y = x
output y = x * 2.0
""", """\
t.scl:3:8: error: output `y` is declared twice
output y = x * 2.0
       ^
"""),
    case("loss_declared_twice", """\
input x: f32[2]
loss = sum(x)
loss = mean(x)
""", """\
t.scl:3:1: error: `loss` is declared twice
loss = mean(x)
^~~~~~~~~~~~~~
"""),
    case("model_declared_twice", """\
model a
model b
""", """\
t.scl:2:1: error: `model` may be declared only once
model b
^~~~~~~
"""),
    case("let_redefined", """\
input x: f32[2]
let h = x
let h = x * 2.0
""", """\
t.scl:3:5: error: `h` is already defined at line 2
let h = x * 2.0
    ^
"""),
    case("const_redefined", """\
const C = 3
const C = 4
""", """\
t.scl:2:7: error: `C` is already defined as a const at line 1
const C = 4
      ^
"""),
    case("let_shadows_param", """\
param w: f32[2] = zeros
let w = 3
""", """\
t.scl:2:5: error: `w` is already defined as a param at line 1
let w = 3
    ^
"""),
    case("assign_to_input", """\
input x: f32[2]
x = x * 2.0
""", """\
t.scl:2:1: error: cannot assign to `x`: it is an input; use `let` to bind a new name
x = x * 2.0
^
"""),
    case("keyword_as_name", """\
input x: f32[2]
let loss = x
""", """\
t.scl:2:5: error: `loss` is a keyword and cannot be used as a name
let loss = x
    ^~~~
"""),
    case("nested_let_hides_outer_let", """\
input x: f32[2]
let h = x
for l in range(2) {
    let h = relu(h)
}
""", """\
t.scl:4:9: error: `h` is already a let (line 2); to update it write `h = ...` without `let`
    let h = relu(h)
        ^
"""),
    case("assign_to_output", """\
input x: f32[2]
output y = relu(x)
y = x
""", """\
t.scl:3:1: error: cannot assign to `y`: it is an output; use `let` to bind a new name
y = x
^
"""),
    case("assign_to_unknown", """\
input x: f32[2]
h = x
""", """\
t.scl:2:1: error: unknown name `h`; use `let h = ...` to bind a new name
h = x
^
"""),
    case("assign_changes_type", """\
input x: f32[2, 4]
let h = x
h = sum(x)
""", """\
t.scl:3:5: error: `h` is f32[2, 4]; cannot assign f32 to it
h = sum(x)
    ^~~~~~
"""),
    case("let_annotation_mismatch", """\
input x: f32[4]
let h: f32[2] = x
""", """\
t.scl:2:17: error: `h` is declared f32[2] but the value is f32[4]
let h: f32[2] = x
                ^
"""),
    case("top_level_let_in_fn", """\
let s = 2.0
fn f(a: f32[2]) -> f32[2] {
    return a * s
}
""", """\
t.scl:3:16: error: `s` is a top-level `let`, which functions cannot see; pass it as an argument
    return a * s
               ^
"""),
    case("assign_outer_let_in_fn", """\
input x: f32[2]
let h = x
fn f(a: f32[2]) -> f32[2] {
    h = a
    return a
}
""", """\
t.scl:4:5: error: cannot assign to `h` from inside a function
    h = a
    ^
"""),
    case("loss_inside_block", """\
input x: f32[2]
for i in range(2) {
    loss = sum(x)
}
""", """\
t.scl:3:5: error: `loss = ...` belongs at the top level, not inside a block `{ ... }`
    loss = sum(x)
    ^~~~~~~~~~~~~
"""),
    case("dim_declared_twice", """\
dim B, B
""", """\
t.scl:1:8: error: `B` is already defined as a dim at line 1
dim B, B
       ^
"""),
    case("assign_to_loop_variable", """\
for i in range(2) {
    i = 3
}
""", """\
t.scl:2:5: error: cannot assign to `i`: it is a loop variable; use `let` to bind a new name
    i = 3
    ^
"""),
    # --- functions
    case("fn_argument_shape_with_dim_binding", """\
fn dense[N, I, O](h: f32[N, I], w: f32[I, O]) -> f32[N, O] {
    return h @ w
}
input x: f32[2, 10]
param w: f32[3, 4] = zeros
output y = dense(x, w)
""", """\
t.scl:6:21: error: `dense`: argument `w` must be f32[I, O] (with I = 10), got f32[3, 4]
output y = dense(x, w)
                    ^
"""),
    case("fn_cannot_infer_dim", """\
fn f[N](h: f32[4]) -> f32[4] {
    return h
}
input x: f32[4]
output y = f(x)
""", """\
t.scl:5:12: error: `f`: cannot infer dimension `N` from the arguments
output y = f(x)
           ^~~~
"""),
    case("fn_declared_result_mismatch", """\
fn f(h: f32[4]) -> f32[3] {
    return h
}
""", """\
t.scl:2:5: error: `f` is declared to return f32[3], but returns f32[4]
    return h
    ^~~~~~~~
"""),
    case("fn_missing_return", """\
fn f(h: f32[2]) -> f32[2] {
    let y = h
}
""", """\
t.scl:1:4: error: function `f` must end with `return`
fn f(h: f32[2]) -> f32[2] {
   ^
"""),
    case("fn_return_not_last", """\
fn f(h: f32[2]) -> f32[2] {
    return h
    let y = h
}
""", """\
t.scl:2:5: error: `return` must be the last statement of a function
    return h
    ^~~~~~~~
"""),
    case("fn_recursion", """\
fn f(h: f32[2]) -> f32[2] {
    return f(h)
}
""", """\
t.scl:2:12: error: recursive call to `f`: functions are inlined, so they cannot recurse
    return f(h)
           ^
"""),
    case("fn_int_param_given_float", """\
fn f(h: f32[2], n: int) -> f32[2] {
    return h
}
input x: f32[2]
output y = f(x, 1.5)
""", """\
t.scl:5:17: error: `f`: argument `n` must be a compile-time integer, got 1.5
output y = f(x, 1.5)
                ^~~
"""),
    case("fn_int_param_as_size", """\
fn f(h: f32[4], n: int) -> f32[4] {
    let s = sum(h, axis=n)
    return h
}
""", """\
t.scl:2:25: error: sum: `axis` cannot be an `int` parameter: it is known only at each call
    let s = sum(h, axis=n)
                        ^
"""),
    case("fn_int_param_index_out_of_range_at_call", """\
fn f(h: f32[4], n: int) -> f32 {
    return h[n]
}
input x: f32[4]
output y = f(x, 7)
""", """\
t.scl:2:14: error: index 7 is out of range for axis 0 of size 4 (in `f` called at line 5)
    return h[n]
             ^
"""),
    case("fn_missing_argument", """\
fn f(h: f32[2]) -> f32[2] {
    return h
}
output y = f()
""", """\
t.scl:4:12: error: `f`: missing argument `h`
output y = f()
           ^~~
"""),
    case("fn_unknown_keyword", """\
fn f(hh: f32[2]) -> f32[2] {
    return hh
}
input x: f32[2]
output y = f(h=x)
""", """\
t.scl:5:14: error: `f`: unknown argument `h`; did you mean `hh`?
output y = f(h=x)
             ^~~
"""),
    case("fn_duplicate_keyword", """\
fn f(h: f32[2]) -> f32[2] {
    return h
}
input x: f32[2]
output y = f(x, h=x)
""", """\
t.scl:5:17: error: `f`: argument `h` is given twice
output y = f(x, h=x)
                ^~~
"""),
    case("fn_too_many_arguments", """\
fn f(h: f32[2]) -> f32[2] {
    return h
}
input x: f32[2]
output y = f(x, x)
""", """\
t.scl:5:17: error: `f`: takes at most 1 argument, got 2
output y = f(x, x)
                ^
"""),
    case("fn_positional_after_keyword", """\
fn f(h: f32[2], g: f32[2]) -> f32[2] {
    return h
}
input x: f32[2]
output y = f(h=x, x)
""", """\
t.scl:5:19: error: `f`: positional argument after a keyword argument
output y = f(h=x, x)
                  ^
"""),
    case("fn_argument_not_tensor", """\
fn f(a: f32[2]) -> f32[2] {
    return a
}
output y = f(3)
""", """\
t.scl:4:14: error: `f`: argument `a` must be a tensor, got an integer
output y = f(3)
             ^
"""),
    case("fn_int_param_as_slice_bound", """\
fn f(h: f32[4], n: int) -> f32[1] {
    return h[n:n + 1]
}
""", """\
t.scl:2:14: error: an `int` parameter cannot be used as a size: it is known only at each call
    return h[n:n + 1]
             ^
"""),
    case("fn_int_param_as_range_bound", """\
fn f(h: f32[4], n: int) -> f32[4] {
    for i in range(n) {
    }
    return h
}
""", """\
t.scl:2:20: error: an `int` parameter cannot be used here: it is known only at each call
    for i in range(n) {
                   ^
"""),
    case("fn_inlined_error_names_call_chain", """\
fn g(h: f32[4], n: int) -> f32 {
    return h[n]
}
fn f(h: f32[4], n: int) -> f32 {
    return g(h, n + 1)
}
input x: f32[4]
output y = f(x, 3)
""", """\
t.scl:2:14: error: index 4 is out of range for axis 0 of size 4 (in `g` called at line 5, from line 8)
    return h[n]
             ^
"""),
    # --- call arguments
    case("builtin_missing_argument", """\
output y = softmax()
""", """\
t.scl:1:12: error: softmax: missing argument `x`
output y = softmax()
           ^~~~~~~~~
"""),
    case("builtin_unknown_keyword", """\
input x: f32[2]
output y = softmax(x, axs=0)
""", """\
t.scl:2:23: error: softmax: unknown argument `axs`; did you mean `axis`?
output y = softmax(x, axs=0)
                      ^~~~~
"""),
    case("builtin_duplicate_keyword", """\
input x: f32[2]
output y = softmax(x, axis=0, axis=0)
""", """\
t.scl:2:31: error: softmax: argument `axis` is given twice
output y = softmax(x, axis=0, axis=0)
                              ^~~~~~
"""),
    case("builtin_positional_after_keyword", """\
input x: f32[2]
output y = sum(axis=0, x)
""", """\
t.scl:2:24: error: sum: positional argument after a keyword argument
output y = sum(axis=0, x)
                       ^
"""),
    case("builtin_too_many_arguments", """\
input x: f32[2]
output y = relu(x, x)
""", """\
t.scl:2:20: error: relu: takes at most 1 argument, got 2
output y = relu(x, x)
                   ^
"""),
    # --- parameters and initialisers
    case("normal_without_std", """\
param w: f32[2] = normal()
""", """\
t.scl:1:19: error: normal: missing argument `std`, e.g. normal(std=0.02)
param w: f32[2] = normal()
                  ^~~~~~~~
"""),
    case("normal_negative_std", """\
param w: f32[2] = normal(std=-1.0)
""", """\
t.scl:1:30: error: normal: `std` must be positive, got -1.0
param w: f32[2] = normal(std=-1.0)
                             ^~~~
"""),
    case("normal_std_given_twice", """\
param w: f32[2] = normal(0.1, std=0.2)
""", """\
t.scl:1:31: error: normal: argument `std` is given twice
param w: f32[2] = normal(0.1, std=0.2)
                              ^~~~~~~
"""),
    case("unknown_initialiser", """\
param w: f32[2] = uniform(0.1)
""", """\
t.scl:1:19: error: unknown initialiser `uniform`; use normal(std=...), zeros, ones or constant(value=...)
param w: f32[2] = uniform(0.1)
                  ^~~~~~~~~~~~
"""),
    case("param_int_dtype", """\
param w: i32[2] = zeros
""", """\
t.scl:1:10: error: a parameter must have a float dtype (f32, bf16, f16), got i32
param w: i32[2] = zeros
         ^~~~~~
"""),
    case("zeros_with_argument", """\
param w: f32[2] = zeros(1)
""", """\
t.scl:1:25: error: zeros: takes no arguments, got 1
param w: f32[2] = zeros(1)
                        ^
"""),
    case("initialiser_not_a_call", """\
param w: f32[2] = 0.5
""", """\
t.scl:1:19: error: a parameter is initialised with normal(std=...), zeros, ones or constant(value=...)
param w: f32[2] = 0.5
                  ^~~
"""),
    # --- loops and `return`
    case("loop_too_long", """\
input x: f32[2]
let h = x
for i in range(5000) {
    h = h + x
}
""", """\
t.scl:3:16: error: this loop runs 5000 iterations; scalc unrolls loops and allows at most 4096
for i in range(5000) {
               ^~~~
"""),
    case("loop_bound_is_dimension", """\
dim B
for i in range(B) {
}
""", """\
t.scl:2:16: error: `B` is a dimension, not a value; dimensions appear only in shapes
for i in range(B) {
               ^
"""),
    case("return_at_top_level", """\
return 3
""", """\
t.scl:1:1: error: `return` outside a function
return 3
^~~~~~~~
"""),
]


@pytest.mark.parametrize("source,expected", [c[1:] for c in CASES], ids=[c.name for c in CASES])
def test_diagnostic_text_and_location(source: str, expected: str) -> None:
    assert diagnostics_of(source) == expected


def test_cases_have_distinct_names_and_sources() -> None:
    assert len({c.name for c in CASES}) == len(CASES)
    assert len({c.source for c in CASES}) == len(CASES)


def test_expression_nested_too_deeply_is_a_diagnostic_not_a_recursion_error() -> None:
    # Regression: a 5000-term sum ended scalc with RecursionError from the AST conversion.
    terms = " + ".join(["x"] * 5000)
    line = f"let y = {terms}"
    expected = (
        f"t.scl:2:9: error: this expression is nested more than {MAX_NESTING} levels deep; "
        "split it into steps with `let`\n" + line + "\n" + " " * 8 + "^" + "~" * (len(terms) - 1)
    )
    assert diagnostics_of(f"input x: f32[2]\n{line}\n") == expected


def test_expression_just_under_the_nesting_limit_compiles() -> None:
    count = MAX_NESTING - 5
    terms = " + ".join(["x"] * count)
    text = run_stages(f"input x: f32[2]\noutput y = {terms}\n", "t.scl", "nn").show()
    assert text.count(" = nn.add ") == count - 1  # one add per `+`, none lost


# ----------------------------------------------------------------------------- combinations
def test_independent_mistakes_are_all_reported_in_source_order() -> None:
    source = """\
input x: f32[2, 4]
param w: f32[3, 8] = normal(std=0.02)
output y = relux(x)
let h = x @ w
loss = sum(x, axis=2)
"""
    assert diagnostics_of(source) == """\
t.scl:3:12: error: unknown function `relux`; did you mean `relu`?
output y = relux(x)
           ^~~~~
t.scl:4:9: error: `@`: contracting dimensions differ: f32[2, 4] @ f32[3, 8] (4 vs 3)
let h = x @ w
        ^~~~~
t.scl:5:20: error: sum: axis 2 is out of range for a tensor of rank 2
loss = sum(x, axis=2)
                   ^"""


def test_a_mistake_used_many_times_is_reported_once() -> None:
    source = """\
input x: f32[2, 4]
let h = x @ zz
let g = relu(h) + h
for i in range(3) {
    h = h * g
}
output y = softmax(g)
loss = mean(h)
"""
    assert diagnostics_of(source) == """\
t.scl:2:13: error: unknown name `zz`
let h = x @ zz
            ^~"""


def test_a_broken_declaration_poisons_what_uses_it() -> None:
    source = """\
const C = zz
input x: f32[C]
param w: f32[C, C] = zeros
output y = x @ w
"""
    assert diagnostics_of(source) == """\
t.scl:1:11: error: unknown name `zz`
const C = zz
          ^~"""


def test_a_broken_function_is_reported_at_its_body_not_at_each_call() -> None:
    # Regression: every call of a function whose body had an error was reported as a
    # "recursive call", which it was not.
    source = """\
fn f(h: f32[4]) -> f32[4] {
    return h + zz
}
input x: f32[4]
output y = f(x)
loss = sum(f(f(x)))
"""
    assert diagnostics_of(source) == """\
t.scl:2:16: error: unknown name `zz`
    return h + zz
               ^~"""


def test_a_function_with_a_wrong_result_type_is_reported_once() -> None:
    source = """\
fn f(h: f32[4]) -> f32[3] {
    return h
}
input x: f32[4]
output y = f(x)
"""
    assert diagnostics_of(source) == """\
t.scl:2:5: error: `f` is declared to return f32[3], but returns f32[4]
    return h
    ^~~~~~~~"""


# ----------------------------------------------------------------------------- regressions
def test_builtin_add_of_two_numbers_folds_like_plus() -> None:
    # Regression: `add(1, 2)` hit an `assert` in the elementwise rule (a Python crash).
    text = run_stages("const A = add(1, 2)\ninput x: f32[A]\noutput y = x\n", "t.scl", "nn").show()
    plus = run_stages("const A = 1 + 2\ninput x: f32[A]\noutput y = x\n", "t.scl", "nn").show()
    assert "%x: tensor<3xf32>" in text and text == plus


def test_unary_builtin_of_an_int_parameter_is_folded_at_each_call() -> None:
    # Regression: `sqrt(n)` of a function's `int` parameter said "must be a tensor".
    source = """\
fn scale(h: f32[4], n: int) -> f32[4] {
    return h / sqrt(n)
}
input x: f32[4]
output y = scale(x, 16)
"""
    assert "nn.constant 4.000000e+00" in run_stages(source, "t.scl", "nn").show()


def test_sigmoid_of_a_large_negative_number_folds_to_zero() -> None:
    # Regression: the fold computed exp(1000) and reported "not a finite real number".
    source = "const A = sigmoid(-1000.0)\ninput x: f32[2]\noutput y = x * A\n"
    assert "nn.constant 0.000000e+00 : tensor<f32>" in run_stages(source, "t.scl", "nn").show()


def test_nested_builtin_calls_evaluate_each_argument_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Regression: a unary builtin evaluated its argument twice (once to try folding, once
    # as a tensor), so `relu(relu(...))` cost 2**depth evaluations and emitted dead ops.
    calls = 0
    original = evaluate.Evaluator.eval

    def counting(self: evaluate.Evaluator, *args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(evaluate.Evaluator, "eval", counting)
    depth = 12
    run_stages(f"input x: f32[2]\noutput y = {'relu(' * depth}x{')' * depth}\n", "t.scl", "nn")
    assert calls < 4 * depth  # linear: check + build, one evaluation per call each
