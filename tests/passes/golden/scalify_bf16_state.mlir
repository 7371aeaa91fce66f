builtin.module attributes {scalc.model = "scalify_bf16_state", scalc.symbols = ["B"], scalc.optimizer = {kind = "sgd", lr = 1.000000e-01 : f64, weight_decay = 0.000000e+00 : f64, momentum = 9.000000e-01 : f64, nesterov = false}, scalc.recipe = {name = "bf16-state", compute = "bf16", matmul_forward = "bf16", matmul_grad = "bf16", scaling = "dynamic", history = 16 : i64, margin = 0 : i64, rescale = "residual", optimizer_state = "bf16", optimizer_precision = "fp32", fp8_min_k = 0 : i64}} {
  nn.param @w : tensor<4x2xf32> {init = "normal", std = 5.000000e-01 : f64}
  nn.state @step : tensor<f32>
  nn.state @w.momentum : tensor<4x2xbf16> {param = @w}
  func.func @loss(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %w = nn.get_param @w : tensor<4x2xf32>
    %0 = nn.matmul %x, %w : (tensor<?x4xf32>, tensor<4x2xf32>) -> tensor<?x2xf32>
    %loss = nn.mean %0 axes [0, 1] : tensor<?x2xf32> -> tensor<f32>
    func.return %loss : tensor<f32>
  }
  func.func @train_forward(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}, !scaled.tensor<?x4xbf16> {nn.saved = 0 : i64}) {
    %x_1 = scaled.from_tensor %x : tensor<?x4xf32> -> !scaled.tensor<?x4xbf16>
    %w = nn.get_param @w : tensor<4x2xf32>
    %w_1 = scaled.from_tensor %w : tensor<4x2xf32> -> !scaled.tensor<4x2xbf16>
    %0 = scaled.matmul %x_1, %w_1 : (!scaled.tensor<?x4xbf16>, !scaled.tensor<4x2xbf16>) -> !scaled.tensor<?x2xbf16>
    %loss = scaled.mean %0 axes [0, 1] : !scaled.tensor<?x2xbf16> -> !scaled.tensor<f32>
    %1 = scaled.to_tensor %loss : !scaled.tensor<f32> -> tensor<f32>
    func.return %1, %x_1 : tensor<f32>, !scaled.tensor<?x4xbf16>
  }
  func.func @train_backward(%x: !scaled.tensor<?x4xbf16> {nn.saved = 0 : i64}) -> (tensor<4x2xf32> {nn.grad = "w"}) {
    %dloss = scaled.constant 1.000000e+00 {nn.seed} : !scaled.tensor<f32>
    %0 = scaled.reshape %dloss to #nn.dims<1, 1> : !scaled.tensor<f32> -> !scaled.tensor<1x1xbf16>
    %1 = scaled.mean_grad %0 axes [0, 1] to #nn.dims<B, 2> : !scaled.tensor<1x1xbf16> -> !scaled.tensor<?x2xbf16>
    %2 = scaled.transpose %x [1, 0] : !scaled.tensor<?x4xbf16> -> !scaled.tensor<4x?xbf16>
    %3 = scaled.matmul %2, %1 : (!scaled.tensor<4x?xbf16>, !scaled.tensor<?x2xbf16>) -> !scaled.tensor<4x2xbf16>
    %4 = scaled.to_tensor %3 : !scaled.tensor<4x2xbf16> -> tensor<4x2xf32>
    func.return %4 : tensor<4x2xf32>
  }
  func.func @optimizer_step(%g_w: tensor<4x2xf32> {nn.grad = "w"}, %lr: tensor<f32> {nn.input = "lr"}) -> (tensor<4xf32> {nn.stats = "w"}) {
    %0 = nn.get_state @step : tensor<f32>
    %1 = nn.constant 1.000000e+00 : tensor<f32>
    %t = nn.add %0, %1 : tensor<f32>
    nn.set_state @step, %t : tensor<f32>
    %w = nn.get_param @w : tensor<4x2xf32>
    %2 = nn.get_state @w.momentum : tensor<4x2xbf16>
    %3 = nn.cast %2 : tensor<4x2xbf16> -> tensor<4x2xf32>
    %4, %5 = nn.sgd %w, %g_w, %3, %lr {momentum = 9.000000e-01 : f64, weight_decay = 0.000000e+00 : f64, nesterov = false} : tensor<4x2xf32>
    nn.set_param @w, %4 : tensor<4x2xf32>
    %6 = nn.cast %5 : tensor<4x2xf32> -> tensor<4x2xbf16>
    nn.set_state @w.momentum, %6 : tensor<4x2xbf16>
    %7 = nn.sub %w, %4 : tensor<4x2xf32>
    %8 = nn.update_stats %w, %4, %7 : (tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4xf32>
    func.return %8 : tensor<4xf32>
  }
}
