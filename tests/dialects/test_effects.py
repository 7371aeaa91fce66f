"""Side effects: the writes of ``@optimizer_step`` (``nn.set_param``, ``nn.set_state``)
survive dead-code elimination, while unused reads and updates, which are pure, go."""

from pathlib import Path

import pytest
from xdsl.dialects.builtin import TensorType, f32
from xdsl.transforms.dead_code_elimination import dce
from xdsl.utils.exceptions import VerifyException

from scalc.dialects import nn
from scalc.dialects.context import parse_module, print_module

OPTIM = Path(__file__).parent / "golden" / "optim.mlir"

UNUSED_UPDATE = """builtin.module {
  nn.param @w : tensor<4xf32> {init = "zeros"}
  nn.state @w.m : tensor<4xf32> {param = @w}
  func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>) {
    %0 = nn.get_state @w.m : tensor<4xf32>
    %1 = nn.get_param @w : tensor<4xf32>
    %2, %3 = nn.sgd %1, %g, %0, %lr {
      momentum = 0.0 : f64, weight_decay = 0.0 : f64, nesterov = false} : tensor<4xf32>
    nn.set_state @w.m, %g : tensor<4xf32>
    nn.set_param @w, %1 : tensor<4xf32>
    func.return
  }
}
"""


def test_optimizer_step_survives_dead_code_elimination() -> None:
    module = parse_module(OPTIM.read_text())
    dce(module)
    assert print_module(module) == OPTIM.read_text()


def test_dead_code_elimination_keeps_writes_and_drops_unused_updates() -> None:
    module = parse_module(UNUSED_UPDATE)
    module.verify()
    dce(module)
    kept = [op.name for op in module.walk() if op.name.startswith("nn.")]
    assert kept == ["nn.param", "nn.state", "nn.get_param", "nn.set_state", "nn.set_param"]


@pytest.mark.parametrize("write", [nn.SetParamOp, nn.SetStateOp], ids=lambda op: op.name)
def test_write_outside_a_module_is_rejected(write: type[nn.SetParamOp | nn.SetStateOp]) -> None:
    value = nn.ConstantOp(1.0, TensorType(f32, []))
    with pytest.raises(VerifyException, match=f"{write.name}: @w is used outside a module"):
        write("w", value).verify()
