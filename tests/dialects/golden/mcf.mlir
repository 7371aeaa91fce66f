builtin.module attributes {scalc.model = "mlp", scalc.symbols = ["B"]} {
  nn.param @w1 : tensor<64x256xbf16> {init = "normal", std = 1.250000e-01 : f64}
  nn.param @w2 : tensor<256xf32> {init = "zeros"}
  nn.state @step : tensor<f32>
  nn.state @w1.lo : tensor<64x256xbf16> {param = @w1}
  nn.state @w1.m : tensor<64x256xbf16> {param = @w1}
  nn.state @w1.v : tensor<64x256xbf16> {param = @w1}
  nn.state @w1.v_lo : tensor<64x256xbf16> {param = @w1}
  nn.state @w2.model : tensor<256xbf16> {param = @w2, init = "param"}
  nn.state @w2.momentum : tensor<256xf32> {param = @w2}
  func.func @optimizer_step(%g_w1: tensor<64x256xbf16> {nn.grad = "w1"}, %g_w2: tensor<256xf32> {nn.grad = "w2"}, %lr: tensor<f32> {nn.input = "lr"}) -> (tensor<4xf32>, tensor<4xf32>) {
    %0 = nn.get_state @step : tensor<f32>
    %1 = nn.constant 1.000000e+00 : tensor<f32>
    %t = nn.add %0, %1 : tensor<f32>
    nn.set_state @step, %t : tensor<f32>
    %w1 = nn.get_param @w1 : tensor<64x256xbf16>
    %lo = nn.get_state @w1.lo : tensor<64x256xbf16>
    %m = nn.get_state @w1.m : tensor<64x256xbf16>
    %v = nn.get_state @w1.v : tensor<64x256xbf16>
    %v_lo = nn.get_state @w1.v_lo : tensor<64x256xbf16>
    %d, %m2, %v2, %v_lo2 = nn.adamw_delta %w1, %g_w1, %m, %v, %v_lo, %lr, %t {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64, precision = "bf16", mcf_v} : tensor<64x256xbf16>
    %neg = nn.neg %d : tensor<64x256xbf16>
    %hi2, %lo2 = nn.grow %w1, %lo, %neg : tensor<64x256xbf16>
    nn.set_param @w1, %hi2 : tensor<64x256xbf16>
    nn.set_state @w1.lo, %lo2 : tensor<64x256xbf16>
    nn.set_state @w1.m, %m2 : tensor<64x256xbf16>
    nn.set_state @w1.v, %v2 : tensor<64x256xbf16>
    nn.set_state @w1.v_lo, %v_lo2 : tensor<64x256xbf16>
    %old = nn.cast %w1 : tensor<64x256xbf16> -> tensor<64x256xf32>
    %2 = nn.cast %hi2 : tensor<64x256xbf16> -> tensor<64x256xf32>
    %3 = nn.cast %lo2 : tensor<64x256xbf16> -> tensor<64x256xf32>
    %new = nn.add %2, %3 : tensor<64x256xf32>
    %stats_w1 = nn.update_stats %old, %new, %d : (tensor<64x256xf32>, tensor<64x256xf32>, tensor<64x256xbf16>) -> tensor<4xf32>
    %w2 = nn.get_param @w2 : tensor<256xf32>
    %buf = nn.get_state @w2.momentum : tensor<256xf32>
    %d2, %buf2 = nn.sgd_delta %w2, %g_w2, %buf, %lr {momentum = 9.000000e-01 : f64, weight_decay = 0.000000e+00 : f64, nesterov = false, precision = "f32"} : tensor<256xf32>
    %w2_new = nn.sub %w2, %d2 : tensor<256xf32>
    nn.set_param @w2, %w2_new : tensor<256xf32>
    nn.set_state @w2.momentum, %buf2 : tensor<256xf32>
    %model = nn.cast %w2_new : tensor<256xf32> -> tensor<256xbf16>
    nn.set_state @w2.model, %model : tensor<256xbf16>
    %stats_w2 = nn.update_stats %w2, %w2_new, %d2 : (tensor<256xf32>, tensor<256xf32>, tensor<256xf32>) -> tensor<4xf32>
    %a = nn.cast %g_w2 : tensor<256xf32> -> tensor<256xbf16>
    %s, %e = nn.fast2sum %model, %a : tensor<256xbf16>
    %d3, %m3, %v3 = nn.adamw_delta %w2, %g_w2, %buf, %buf, %lr, %t {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64, precision = "f32"} : tensor<256xf32>
    func.return %stats_w1, %stats_w2 : tensor<4xf32>, tensor<4xf32>
  }
}
