builtin.module attributes {scalc.model = "stacked_layers", scalc.symbols = ["B"], scalc.optimizer = {kind = "adamw", lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64, beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64}} {
  nn.param @w : tensor<2x4x4xf32> {init = "normal", std = 5.000000e-01 : f64}
  nn.state @step : tensor<f32>
  nn.state @w.m : tensor<2x4x4xf32> {param = @w}
  nn.state @w.v : tensor<2x4x4xf32> {param = @w}
  func.func @loss(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %w = nn.get_param @w : tensor<2x4x4xf32>
    %0 = nn.index %w axis 0 [0] : tensor<2x4x4xf32> -> tensor<4x4xf32>
    %1 = nn.matmul %x, %0 : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %h = nn.tanh %1 : tensor<?x4xf32>
    %2 = nn.index %w axis 0 [1] : tensor<2x4x4xf32> -> tensor<4x4xf32>
    %3 = nn.matmul %h, %2 : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %h_1 = nn.tanh %3 : tensor<?x4xf32>
    %4 = nn.mul %h_1, %h_1 : tensor<?x4xf32>
    %loss = nn.mean %4 axes [0, 1] : tensor<?x4xf32> -> tensor<f32>
    func.return %loss : tensor<f32>
  }
  func.func @train_forward(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}, tensor<?x4xf32> {nn.saved = 0 : i64}, tensor<?x4xf32> {nn.saved = 1 : i64}, tensor<?x4xf32> {nn.saved = 2 : i64}) {
    %w = nn.get_param @w : tensor<2x4x4xf32>
    %0 = nn.index %w axis 0 [0] : tensor<2x4x4xf32> -> tensor<4x4xf32>
    %1 = nn.matmul %x, %0 : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %h = nn.tanh %1 : tensor<?x4xf32>
    %2 = nn.index %w axis 0 [1] : tensor<2x4x4xf32> -> tensor<4x4xf32>
    %3 = nn.matmul %h, %2 : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %h_1 = nn.tanh %3 : tensor<?x4xf32>
    %4 = nn.mul %h_1, %h_1 : tensor<?x4xf32>
    %loss = nn.mean %4 axes [0, 1] : tensor<?x4xf32> -> tensor<f32>
    func.return %loss, %h_1, %h, %x : tensor<f32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
  }
  func.func @train_backward(%h: tensor<?x4xf32> {nn.saved = 0 : i64}, %h_1: tensor<?x4xf32> {nn.saved = 1 : i64}, %x: tensor<?x4xf32> {nn.saved = 2 : i64}) -> (tensor<2x4x4xf32> {nn.grad = "w"}) {
    %dloss = nn.constant 1.000000e+00 {nn.seed} : tensor<f32>
    %0 = nn.reshape %dloss to #nn.dims<1, 1> : tensor<f32> -> tensor<1x1xf32>
    %1 = nn.mean_grad %0 axes [0, 1] to #nn.dims<B, 4> : tensor<1x1xf32> -> tensor<?x4xf32>
    %2 = nn.mul %1, %h : tensor<?x4xf32>
    %3 = nn.mul %1, %h : tensor<?x4xf32>
    %4 = nn.add %2, %3 : tensor<?x4xf32>
    %5 = nn.tanh_grad %h, %4 : tensor<?x4xf32>
    %w = nn.get_param @w : tensor<2x4x4xf32>
    %6 = nn.index %w axis 0 [1] : tensor<2x4x4xf32> -> tensor<4x4xf32>
    %7 = nn.transpose %6 [1, 0] : tensor<4x4xf32> -> tensor<4x4xf32>
    %8 = nn.matmul %5, %7 : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %9 = nn.transpose %h_1 [1, 0] : tensor<?x4xf32> -> tensor<4x?xf32>
    %10 = nn.matmul %9, %5 : (tensor<4x?xf32>, tensor<?x4xf32>) -> tensor<4x4xf32>
    %11 = nn.index_grad %10 axis 0 [1] to #nn.dims<2, 4, 4> : tensor<4x4xf32> -> tensor<2x4x4xf32>
    %12 = nn.tanh_grad %h_1, %8 : tensor<?x4xf32>
    %13 = nn.transpose %x [1, 0] : tensor<?x4xf32> -> tensor<4x?xf32>
    %14 = nn.matmul %13, %12 : (tensor<4x?xf32>, tensor<?x4xf32>) -> tensor<4x4xf32>
    %15 = nn.index_grad %14 axis 0 [0] to #nn.dims<2, 4, 4> : tensor<4x4xf32> -> tensor<2x4x4xf32>
    %16 = nn.add %11, %15 : tensor<2x4x4xf32>
    func.return %16 : tensor<2x4x4xf32>
  }
  func.func @optimizer_step(%g_w: tensor<2x4x4xf32> {nn.grad = "w"}, %lr: tensor<f32> {nn.input = "lr"}) -> (tensor<4xf32> {nn.stats = "w"}) {
    %0 = nn.get_state @step : tensor<f32>
    %1 = nn.constant 1.000000e+00 : tensor<f32>
    %t = nn.add %0, %1 : tensor<f32>
    nn.set_state @step, %t : tensor<f32>
    %w = nn.get_param @w : tensor<2x4x4xf32>
    %2 = nn.get_state @w.m : tensor<2x4x4xf32>
    %3 = nn.get_state @w.v : tensor<2x4x4xf32>
    %4, %5, %6 = nn.adamw %w, %g_w, %2, %3, %lr, %t {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} : tensor<2x4x4xf32>
    nn.set_param @w, %4 : tensor<2x4x4xf32>
    nn.set_state @w.m, %5 : tensor<2x4x4xf32>
    nn.set_state @w.v, %6 : tensor<2x4x4xf32>
    %7 = nn.sub %w, %4 : tensor<2x4x4xf32>
    %8 = nn.update_stats %w, %4, %7 : (tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<2x4x4xf32>) -> tensor<4xf32>
    func.return %8 : tensor<4xf32>
  }
}
