builtin.module attributes {scalc.model = "scalify_fp8_mlp", scalc.symbols = ["B"], scalc.optimizer = {kind = "adamw", lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64, beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64}, scalc.recipe = {name = "fp8", compute = "bf16", matmul_forward = "f8E4M3FN", matmul_grad = "f8E5M2", scaling = "dynamic", history = 16 : i64, margin = 0 : i64, rescale = "residual", optimizer_state = "f32", optimizer_precision = "fp32", fp8_min_k = 0 : i64}} {
  nn.param @w : tensor<8x4xf32> {init = "normal", std = 1.000000e-01 : f64}
  nn.param @b : tensor<4xf32> {init = "zeros"}
  nn.state @step : tensor<f32>
  nn.state @w.m : tensor<8x4xf32> {param = @w}
  nn.state @w.v : tensor<8x4xf32> {param = @w}
  nn.state @b.m : tensor<4xf32> {param = @b}
  nn.state @b.v : tensor<4xf32> {param = @b}
  func.func @forward(%x: tensor<?x8xf32> {nn.input = "x", nn.dims = #nn.dims<B, 8>}) -> (tensor<?x4xf32> {nn.output = "logits", nn.dims = #nn.dims<B, 4>}) {
    %x_1 = scaled.from_tensor %x : tensor<?x8xf32> -> !scaled.tensor<?x8xbf16>
    %w = nn.get_param @w : tensor<8x4xf32>
    %w_1 = scaled.from_tensor %w : tensor<8x4xf32> -> !scaled.tensor<8x4xbf16>
    %b = nn.get_param @b : tensor<4xf32>
    %b_1 = scaled.from_tensor %b : tensor<4xf32> -> !scaled.tensor<4xbf16>
    %0 = scaled.amax %x_1 : !scaled.tensor<?x8xbf16>
    %x_2 = scaled.rescale %x_1, %0 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<?x8xbf16>
    %1 = scaled.cast %x_2 : !scaled.tensor<?x8xbf16> -> !scaled.tensor<?x8xf8E4M3FN>
    %2 = scaled.amax %w_1 : !scaled.tensor<8x4xbf16>
    %w_2 = scaled.rescale %w_1, %2 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<8x4xbf16>
    %3 = scaled.cast %w_2 : !scaled.tensor<8x4xbf16> -> !scaled.tensor<8x4xf8E4M3FN>
    %4 = scaled.matmul %1, %3 : (!scaled.tensor<?x8xf8E4M3FN>, !scaled.tensor<8x4xf8E4M3FN>) -> !scaled.tensor<?x4xbf16>
    %5 = scaled.relu %4 : !scaled.tensor<?x4xbf16>
    %6 = scaled.broadcast %b_1 to #nn.dims<B, 4> : !scaled.tensor<4xbf16> -> !scaled.tensor<?x4xbf16>
    %logits = scaled.add %5, %6 : !scaled.tensor<?x4xbf16>
    %7 = scaled.to_tensor %logits : !scaled.tensor<?x4xbf16> -> tensor<?x4xf32>
    func.return %7 : tensor<?x4xf32>
  }
  func.func @loss(%x: tensor<?x8xf32> {nn.input = "x", nn.dims = #nn.dims<B, 8>}, %y: tensor<?xi32> {nn.input = "y", nn.dims = #nn.dims<B>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %w = nn.get_param @w : tensor<8x4xf32>
    %b = nn.get_param @b : tensor<4xf32>
    %0 = nn.matmul %x, %w : (tensor<?x8xf32>, tensor<8x4xf32>) -> tensor<?x4xf32>
    %1 = nn.relu %0 : tensor<?x4xf32>
    %2 = nn.broadcast %b to #nn.dims<B, 4> : tensor<4xf32> -> tensor<?x4xf32>
    %logits = nn.add %1, %2 : tensor<?x4xf32>
    %loss = nn.cross_entropy %logits, %y : (tensor<?x4xf32>, tensor<?xi32>) -> tensor<f32>
    func.return %loss : tensor<f32>
  }
  func.func @train_forward(%x: tensor<?x8xf32> {nn.input = "x", nn.dims = #nn.dims<B, 8>}, %y: tensor<?xi32> {nn.input = "y", nn.dims = #nn.dims<B>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}, !scaled.tensor<?x4xbf16> {nn.saved = 0 : i64}, tensor<?xi32> {nn.saved = 1 : i64}, !scaled.tensor<?x4xbf16> {nn.saved = 2 : i64}, !scaled.tensor<?x8xbf16> {nn.saved = 3 : i64}) {
    %x_1 = scaled.from_tensor %x : tensor<?x8xf32> -> !scaled.tensor<?x8xbf16>
    %w = nn.get_param @w : tensor<8x4xf32>
    %w_1 = scaled.from_tensor %w : tensor<8x4xf32> -> !scaled.tensor<8x4xbf16>
    %b = nn.get_param @b : tensor<4xf32>
    %b_1 = scaled.from_tensor %b : tensor<4xf32> -> !scaled.tensor<4xbf16>
    %0 = scaled.amax %x_1 : !scaled.tensor<?x8xbf16>
    %x_2 = scaled.rescale %x_1, %0 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<?x8xbf16>
    %1 = scaled.cast %x_2 : !scaled.tensor<?x8xbf16> -> !scaled.tensor<?x8xf8E4M3FN>
    %2 = scaled.amax %w_1 : !scaled.tensor<8x4xbf16>
    %w_2 = scaled.rescale %w_1, %2 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<8x4xbf16>
    %3 = scaled.cast %w_2 : !scaled.tensor<8x4xbf16> -> !scaled.tensor<8x4xf8E4M3FN>
    %4 = scaled.matmul %1, %3 : (!scaled.tensor<?x8xf8E4M3FN>, !scaled.tensor<8x4xf8E4M3FN>) -> !scaled.tensor<?x4xbf16>
    %5 = scaled.relu %4 : !scaled.tensor<?x4xbf16>
    %6 = scaled.broadcast %b_1 to #nn.dims<B, 4> : !scaled.tensor<4xbf16> -> !scaled.tensor<?x4xbf16>
    %logits = scaled.add %5, %6 : !scaled.tensor<?x4xbf16>
    %loss = scaled.cross_entropy %logits, %y : (!scaled.tensor<?x4xbf16>, tensor<?xi32>) -> !scaled.tensor<f32>
    %7 = scaled.to_tensor %loss : !scaled.tensor<f32> -> tensor<f32>
    func.return %7, %logits, %y, %5, %x_1 : tensor<f32>, !scaled.tensor<?x4xbf16>, tensor<?xi32>, !scaled.tensor<?x4xbf16>, !scaled.tensor<?x8xbf16>
  }
  func.func @train_backward(%logits: !scaled.tensor<?x4xbf16> {nn.saved = 0 : i64}, %y: tensor<?xi32> {nn.saved = 1 : i64}, %0: !scaled.tensor<?x4xbf16> {nn.saved = 2 : i64}, %x: !scaled.tensor<?x8xbf16> {nn.saved = 3 : i64}) -> (tensor<8x4xf32> {nn.grad = "w"}, tensor<4xf32> {nn.grad = "b"}) {
    %dloss = scaled.constant 1.000000e+00 {nn.seed} : !scaled.tensor<f32>
    %1 = scaled.cross_entropy_grad %logits, %y, %dloss : (!scaled.tensor<?x4xbf16>, tensor<?xi32>, !scaled.tensor<f32>) -> !scaled.tensor<?x4xbf16>
    %2 = scaled.sum %1 axes [0] : !scaled.tensor<?x4xbf16> -> !scaled.tensor<4xbf16>
    %3 = scaled.relu_grad %0, %1 : !scaled.tensor<?x4xbf16>
    %4 = scaled.transpose %x [1, 0] : !scaled.tensor<?x8xbf16> -> !scaled.tensor<8x?xbf16>
    %5 = scaled.amax %4 : !scaled.tensor<8x?xbf16>
    %6 = scaled.rescale %4, %5 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<8x?xbf16>
    %7 = scaled.cast %6 : !scaled.tensor<8x?xbf16> -> !scaled.tensor<8x?xf8E4M3FN>
    %8 = scaled.amax %3 : !scaled.tensor<?x4xbf16>
    %9 = scaled.rescale %3, %8 {target = 5.734400e+04 : f64, margin = 0 : i64} : !scaled.tensor<?x4xbf16>
    %10 = scaled.cast %9 : !scaled.tensor<?x4xbf16> -> !scaled.tensor<?x4xf8E5M2>
    %11 = scaled.matmul %7, %10 : (!scaled.tensor<8x?xf8E4M3FN>, !scaled.tensor<?x4xf8E5M2>) -> !scaled.tensor<8x4xbf16>
    %12 = scaled.to_tensor %11 : !scaled.tensor<8x4xbf16> -> tensor<8x4xf32>
    %13 = scaled.to_tensor %2 : !scaled.tensor<4xbf16> -> tensor<4xf32>
    func.return %12, %13 : tensor<8x4xf32>, tensor<4xf32>
  }
  func.func @optimizer_step(%g_w: tensor<8x4xf32> {nn.grad = "w"}, %g_b: tensor<4xf32> {nn.grad = "b"}, %lr: tensor<f32> {nn.input = "lr"}) -> (tensor<4xf32> {nn.stats = "w"}, tensor<4xf32> {nn.stats = "b"}) {
    %0 = nn.get_state @step : tensor<f32>
    %1 = nn.constant 1.000000e+00 : tensor<f32>
    %t = nn.add %0, %1 : tensor<f32>
    nn.set_state @step, %t : tensor<f32>
    %w = nn.get_param @w : tensor<8x4xf32>
    %2 = nn.get_state @w.m : tensor<8x4xf32>
    %3 = nn.get_state @w.v : tensor<8x4xf32>
    %4, %5, %6 = nn.adamw %w, %g_w, %2, %3, %lr, %t {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} : tensor<8x4xf32>
    nn.set_param @w, %4 : tensor<8x4xf32>
    nn.set_state @w.m, %5 : tensor<8x4xf32>
    nn.set_state @w.v, %6 : tensor<8x4xf32>
    %7 = nn.sub %w, %4 : tensor<8x4xf32>
    %8 = nn.update_stats %w, %4, %7 : (tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<4xf32>
    %b = nn.get_param @b : tensor<4xf32>
    %9 = nn.get_state @b.m : tensor<4xf32>
    %10 = nn.get_state @b.v : tensor<4xf32>
    %11, %12, %13 = nn.adamw %b, %g_b, %9, %10, %lr, %t {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} : tensor<4xf32>
    nn.set_param @b, %11 : tensor<4xf32>
    nn.set_state @b.m, %12 : tensor<4xf32>
    nn.set_state @b.v, %13 : tensor<4xf32>
    %14 = nn.sub %b, %11 : tensor<4xf32>
    %15 = nn.update_stats %b, %11, %14 : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    func.return %8, %15 : tensor<4xf32>, tensor<4xf32>
  }
}
