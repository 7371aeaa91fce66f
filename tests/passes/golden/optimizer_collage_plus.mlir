builtin.module attributes {scalc.model = "optimizer_collage_plus", scalc.symbols = ["B"], scalc.optimizer = {kind = "adamw", lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64, beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64}} {
  nn.param @w : tensor<4x2xbf16> {init = "normal", std = 5.000000e-01 : f64}
  nn.state @step : tensor<f32>
  nn.state @w.m : tensor<4x2xbf16> {param = @w}
  nn.state @w.v : tensor<4x2xbf16> {param = @w}
  nn.state @w.v_lo : tensor<4x2xbf16> {param = @w}
  nn.state @w.lo : tensor<4x2xbf16> {param = @w}
  func.func @loss(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %w = nn.get_param @w : tensor<4x2xbf16>
    %w_1 = nn.cast %w : tensor<4x2xbf16> -> tensor<4x2xf32>
    %0 = nn.matmul %x, %w_1 : (tensor<?x4xf32>, tensor<4x2xf32>) -> tensor<?x2xf32>
    %loss = nn.mean %0 axes [0, 1] : tensor<?x2xf32> -> tensor<f32>
    func.return %loss : tensor<f32>
  }
  func.func @train_forward(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}, tensor<?x4xf32> {nn.saved = 0 : i64}) {
    %w = nn.get_param @w : tensor<4x2xbf16>
    %w_1 = nn.cast %w : tensor<4x2xbf16> -> tensor<4x2xf32>
    %0 = nn.matmul %x, %w_1 : (tensor<?x4xf32>, tensor<4x2xf32>) -> tensor<?x2xf32>
    %loss = nn.mean %0 axes [0, 1] : tensor<?x2xf32> -> tensor<f32>
    func.return %loss, %x : tensor<f32>, tensor<?x4xf32>
  }
  func.func @train_backward(%x: tensor<?x4xf32> {nn.saved = 0 : i64}) -> (tensor<4x2xf32> {nn.grad = "w"}) {
    %dloss = nn.constant 1.000000e+00 {nn.seed} : tensor<f32>
    %0 = nn.reshape %dloss to #nn.dims<1, 1> : tensor<f32> -> tensor<1x1xf32>
    %1 = nn.mean_grad %0 axes [0, 1] to #nn.dims<B, 2> : tensor<1x1xf32> -> tensor<?x2xf32>
    %2 = nn.transpose %x [1, 0] : tensor<?x4xf32> -> tensor<4x?xf32>
    %3 = nn.matmul %2, %1 : (tensor<4x?xf32>, tensor<?x2xf32>) -> tensor<4x2xf32>
    func.return %3 : tensor<4x2xf32>
  }
  func.func @optimizer_step(%g_w: tensor<4x2xf32> {nn.grad = "w"}, %lr: tensor<f32> {nn.input = "lr"}) -> (tensor<4xf32> {nn.stats = "w"}) {
    %0 = nn.get_state @step : tensor<f32>
    %1 = nn.constant 1.000000e+00 : tensor<f32>
    %t = nn.add %0, %1 : tensor<f32>
    nn.set_state @step, %t : tensor<f32>
    %w = nn.get_param @w : tensor<4x2xbf16>
    %2 = nn.get_state @w.lo : tensor<4x2xbf16>
    %3 = nn.get_state @w.m : tensor<4x2xbf16>
    %4 = nn.get_state @w.v : tensor<4x2xbf16>
    %5 = nn.get_state @w.v_lo : tensor<4x2xbf16>
    %6 = nn.cast %g_w : tensor<4x2xf32> -> tensor<4x2xbf16>
    %7, %8, %9, %10 = nn.adamw_delta %w, %6, %3, %4, %5, %lr, %t {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64, precision = "bf16", mcf_v} : tensor<4x2xbf16>
    %11 = nn.neg %7 : tensor<4x2xbf16>
    %12, %13 = nn.grow %w, %2, %11 : tensor<4x2xbf16>
    nn.set_param @w, %12 : tensor<4x2xbf16>
    nn.set_state @w.lo, %13 : tensor<4x2xbf16>
    nn.set_state @w.m, %8 : tensor<4x2xbf16>
    nn.set_state @w.v, %9 : tensor<4x2xbf16>
    nn.set_state @w.v_lo, %10 : tensor<4x2xbf16>
    %14 = nn.cast %w : tensor<4x2xbf16> -> tensor<4x2xf32>
    %15 = nn.cast %2 : tensor<4x2xbf16> -> tensor<4x2xf32>
    %16 = nn.add %14, %15 : tensor<4x2xf32>
    %17 = nn.cast %12 : tensor<4x2xbf16> -> tensor<4x2xf32>
    %18 = nn.cast %13 : tensor<4x2xbf16> -> tensor<4x2xf32>
    %19 = nn.add %17, %18 : tensor<4x2xf32>
    %20 = nn.update_stats %16, %19, %7 : (tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xbf16>) -> tensor<4xf32>
    func.return %20 : tensor<4xf32>
  }
}
