builtin.module attributes {scalc.model = "dense_relu", scalc.symbols = ["B", "T"], scalc.optimizer = {kind = "adamw", lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64, beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64}} {
  nn.param @w : tensor<8x4xf32> {init = "normal", std = 1.000000e-01 : f64}
  nn.param @b : tensor<4xf32> {init = "zeros"}
  nn.state @step : tensor<f32>
  nn.state @w.m : tensor<8x4xf32> {param = @w}
  nn.state @w.v : tensor<8x4xf32> {param = @w}
  nn.state @b.m : tensor<4xf32> {param = @b}
  nn.state @b.v : tensor<4xf32> {param = @b}
  func.func @loss(%x: tensor<?x?x8xf32> {nn.input = "x", nn.dims = #nn.dims<B, T, 8>}, %y: tensor<?x?xi32> {nn.input = "y", nn.dims = #nn.dims<B, T>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %w = nn.get_param @w : tensor<8x4xf32>
    %b = nn.get_param @b : tensor<4xf32>
    %0 = nn.matmul %x, %w : (tensor<?x?x8xf32>, tensor<8x4xf32>) -> tensor<?x?x4xf32>
    %1 = nn.broadcast %b to #nn.dims<B, T, 4> : tensor<4xf32> -> tensor<?x?x4xf32>
    %2 = nn.add %0, %1 : tensor<?x?x4xf32>
    %3 = nn.relu %2 : tensor<?x?x4xf32>
    %loss = nn.cross_entropy %3, %y : (tensor<?x?x4xf32>, tensor<?x?xi32>) -> tensor<f32>
    func.return %loss : tensor<f32>
  }
  func.func @train_forward(%x: tensor<?x?x8xf32> {nn.input = "x", nn.dims = #nn.dims<B, T, 8>}, %y: tensor<?x?xi32> {nn.input = "y", nn.dims = #nn.dims<B, T>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}, tensor<?x?x4xf32> {nn.saved = 0 : i64}, tensor<?x?xi32> {nn.saved = 1 : i64}, tensor<?x?x8xf32> {nn.saved = 2 : i64}) {
    %w = nn.get_param @w : tensor<8x4xf32>
    %b = nn.get_param @b : tensor<4xf32>
    %0 = nn.matmul %x, %w : (tensor<?x?x8xf32>, tensor<8x4xf32>) -> tensor<?x?x4xf32>
    %1 = nn.broadcast %b to #nn.dims<B, T, 4> : tensor<4xf32> -> tensor<?x?x4xf32>
    %2 = nn.add %0, %1 : tensor<?x?x4xf32>
    %3 = nn.relu %2 : tensor<?x?x4xf32>
    %loss = nn.cross_entropy %3, %y : (tensor<?x?x4xf32>, tensor<?x?xi32>) -> tensor<f32>
    func.return %loss, %3, %y, %x : tensor<f32>, tensor<?x?x4xf32>, tensor<?x?xi32>, tensor<?x?x8xf32>
  }
  func.func @train_backward(%0: tensor<?x?x4xf32> {nn.saved = 0 : i64}, %y: tensor<?x?xi32> {nn.saved = 1 : i64}, %x: tensor<?x?x8xf32> {nn.saved = 2 : i64}) -> (tensor<8x4xf32> {nn.grad = "w"}, tensor<4xf32> {nn.grad = "b"}) {
    %dloss = nn.constant 1.000000e+00 {nn.seed} : tensor<f32>
    %1 = nn.cross_entropy_grad %0, %y, %dloss : (tensor<?x?x4xf32>, tensor<?x?xi32>, tensor<f32>) -> tensor<?x?x4xf32>
    %2 = nn.relu_grad %0, %1 : tensor<?x?x4xf32>
    %3 = nn.sum %2 axes [0, 1] : tensor<?x?x4xf32> -> tensor<4xf32>
    %4 = nn.reshape %x to #nn.dims<B*T, 8> : tensor<?x?x8xf32> -> tensor<?x8xf32>
    %5 = nn.reshape %2 to #nn.dims<B*T, 4> : tensor<?x?x4xf32> -> tensor<?x4xf32>
    %6 = nn.transpose %4 [1, 0] : tensor<?x8xf32> -> tensor<8x?xf32>
    %7 = nn.matmul %6, %5 : (tensor<8x?xf32>, tensor<?x4xf32>) -> tensor<8x4xf32>
    func.return %7, %3 : tensor<8x4xf32>, tensor<4xf32>
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
