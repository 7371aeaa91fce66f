builtin.module attributes {scalc.model = "mlp", scalc.symbols = ["B"]} {
  nn.param @w1 : tensor<64x256xf32> {init = "normal", std = 1.250000e-01 : f64}
  nn.param @b1 : tensor<256xbf16> {init = "zeros"}
  nn.state @step : tensor<f32>
  nn.state @w1.m : tensor<64x256xf32> {param = @w1}
  nn.state @w1.v : tensor<64x256xf32> {param = @w1}
  nn.state @b1.momentum : tensor<256xbf16> {param = @b1}
  func.func @optimizer_step(%g_w1: tensor<64x256xf32> {nn.grad = "w1"}, %g_b1: tensor<256xbf16> {nn.grad = "b1"}, %lr: tensor<f32> {nn.input = "lr"}) {
    %0 = nn.get_state @step : tensor<f32>
    %1 = nn.constant 1.000000e+00 : tensor<f32>
    %t = nn.add %0, %1 : tensor<f32>
    nn.set_state @step, %t : tensor<f32>
    %w1 = nn.get_param @w1 : tensor<64x256xf32>
    %2 = nn.get_state @w1.m : tensor<64x256xf32>
    %3 = nn.get_state @w1.v : tensor<64x256xf32>
    %4, %5, %6 = nn.adamw %w1, %g_w1, %2, %3, %lr, %t {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} : tensor<64x256xf32>
    nn.set_param @w1, %4 : tensor<64x256xf32>
    nn.set_state @w1.m, %5 : tensor<64x256xf32>
    nn.set_state @w1.v, %6 : tensor<64x256xf32>
    %b1 = nn.get_param @b1 : tensor<256xbf16>
    %7 = nn.get_state @b1.momentum : tensor<256xbf16>
    %8, %9 = nn.sgd %b1, %g_b1, %7, %lr {momentum = 9.000000e-01 : f64, weight_decay = 0.000000e+00 : f64, nesterov = true} : tensor<256xbf16>
    nn.set_param @b1, %8 : tensor<256xbf16>
    nn.set_state @b1.momentum, %9 : tensor<256xbf16>
    func.return
  }
}
