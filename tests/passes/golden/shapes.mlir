builtin.module attributes {scalc.model = "shapes", scalc.symbols = ["B", "T"], scalc.optimizer = {kind = "adamw", lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64, beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64}} {
  nn.param @table : tensor<16x8xf32> {init = "normal", std = 1.000000e-01 : f64}
  nn.param @w : tensor<2x4x2xf32> {init = "normal", std = 1.000000e-01 : f64}
  nn.state @step : tensor<f32>
  nn.state @table.m : tensor<16x8xf32> {param = @table}
  nn.state @table.v : tensor<16x8xf32> {param = @table}
  nn.state @w.m : tensor<2x4x2xf32> {param = @w}
  nn.state @w.v : tensor<2x4x2xf32> {param = @w}
  func.func @loss(%x: tensor<?x?x8xf32> {nn.input = "x", nn.dims = #nn.dims<B, T, 8>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %table = nn.get_param @table : tensor<16x8xf32>
    %w = nn.get_param @w : tensor<2x4x2xf32>
    %0 = nn.slice %table axis 0 [0 : #nn.dims<T>] : tensor<16x8xf32> -> tensor<?x8xf32>
    %1 = nn.broadcast %0 to #nn.dims<B, T, 8> : tensor<?x8xf32> -> tensor<?x?x8xf32>
    %2 = nn.add %x, %1 : tensor<?x?x8xf32>
    %h = nn.reshape %2 to #nn.dims<B, T, 2, 4> : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
    %3 = nn.transpose %h [0, 2, 1, 3] : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
    %4 = nn.index %w axis 0 [1] : tensor<2x4x2xf32> -> tensor<4x2xf32>
    %t = nn.matmul %3, %4 : (tensor<?x2x?x4xf32>, tensor<4x2xf32>) -> tensor<?x2x?x2xf32>
    %5 = nn.sum %t axes [1] : tensor<?x2x?x2xf32> -> tensor<?x?x2xf32>
    %6 = nn.broadcast %5 to #nn.dims<3, B, T, 2> : tensor<?x?x2xf32> -> tensor<3x?x?x2xf32>
    %loss = nn.mean %6 axes [0, 1, 2, 3] : tensor<3x?x?x2xf32> -> tensor<f32>
    func.return %loss : tensor<f32>
  }
  func.func @train_forward(%x: tensor<?x?x8xf32> {nn.input = "x", nn.dims = #nn.dims<B, T, 8>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}, tensor<?x2x?x4xf32> {nn.saved = 0 : i64}) {
    %table = nn.get_param @table : tensor<16x8xf32>
    %w = nn.get_param @w : tensor<2x4x2xf32>
    %0 = nn.slice %table axis 0 [0 : #nn.dims<T>] : tensor<16x8xf32> -> tensor<?x8xf32>
    %1 = nn.broadcast %0 to #nn.dims<B, T, 8> : tensor<?x8xf32> -> tensor<?x?x8xf32>
    %2 = nn.add %x, %1 : tensor<?x?x8xf32>
    %h = nn.reshape %2 to #nn.dims<B, T, 2, 4> : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
    %3 = nn.transpose %h [0, 2, 1, 3] : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
    %4 = nn.index %w axis 0 [1] : tensor<2x4x2xf32> -> tensor<4x2xf32>
    %t = nn.matmul %3, %4 : (tensor<?x2x?x4xf32>, tensor<4x2xf32>) -> tensor<?x2x?x2xf32>
    %5 = nn.sum %t axes [1] : tensor<?x2x?x2xf32> -> tensor<?x?x2xf32>
    %6 = nn.broadcast %5 to #nn.dims<3, B, T, 2> : tensor<?x?x2xf32> -> tensor<3x?x?x2xf32>
    %loss = nn.mean %6 axes [0, 1, 2, 3] : tensor<3x?x?x2xf32> -> tensor<f32>
    func.return %loss, %3 : tensor<f32>, tensor<?x2x?x4xf32>
  }
  func.func @train_backward(%0: tensor<?x2x?x4xf32> {nn.saved = 0 : i64}) -> (tensor<16x8xf32> {nn.grad = "table"}, tensor<2x4x2xf32> {nn.grad = "w"}) {
    %dloss = nn.constant 1.000000e+00 {nn.seed} : tensor<f32>
    %1 = nn.reshape %dloss to #nn.dims<1, 1, 1, 1> : tensor<f32> -> tensor<1x1x1x1xf32>
    %2 = nn.mean_grad %1 axes [0, 1, 2, 3] to #nn.dims<3, B, T, 2> : tensor<1x1x1x1xf32> -> tensor<3x?x?x2xf32>
    %3 = nn.sum %2 axes [0] : tensor<3x?x?x2xf32> -> tensor<?x?x2xf32>
    %4 = nn.reshape %3 to #nn.dims<B, 1, T, 2> : tensor<?x?x2xf32> -> tensor<?x1x?x2xf32>
    %5 = nn.broadcast %4 to #nn.dims<B, 2, T, 2> : tensor<?x1x?x2xf32> -> tensor<?x2x?x2xf32>
    %w = nn.get_param @w : tensor<2x4x2xf32>
    %6 = nn.index %w axis 0 [1] : tensor<2x4x2xf32> -> tensor<4x2xf32>
    %7 = nn.transpose %6 [1, 0] : tensor<4x2xf32> -> tensor<2x4xf32>
    %8 = nn.matmul %5, %7 : (tensor<?x2x?x2xf32>, tensor<2x4xf32>) -> tensor<?x2x?x4xf32>
    %9 = nn.reshape %0 to #nn.dims<2*B*T, 4> : tensor<?x2x?x4xf32> -> tensor<?x4xf32>
    %10 = nn.reshape %5 to #nn.dims<2*B*T, 2> : tensor<?x2x?x2xf32> -> tensor<?x2xf32>
    %11 = nn.transpose %9 [1, 0] : tensor<?x4xf32> -> tensor<4x?xf32>
    %12 = nn.matmul %11, %10 : (tensor<4x?xf32>, tensor<?x2xf32>) -> tensor<4x2xf32>
    %13 = nn.index_grad %12 axis 0 [1] to #nn.dims<2, 4, 2> : tensor<4x2xf32> -> tensor<2x4x2xf32>
    %14 = nn.transpose %8 [0, 2, 1, 3] : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
    %15 = nn.reshape %14 to #nn.dims<B, T, 8> : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
    %16 = nn.sum %15 axes [0] : tensor<?x?x8xf32> -> tensor<?x8xf32>
    %17 = nn.slice_grad %16 axis 0 [0] to #nn.dims<16, 8> : tensor<?x8xf32> -> tensor<16x8xf32>
    func.return %17, %13 : tensor<16x8xf32>, tensor<2x4x2xf32>
  }
  func.func @optimizer_step(%g_table: tensor<16x8xf32> {nn.grad = "table"}, %g_w: tensor<2x4x2xf32> {nn.grad = "w"}, %lr: tensor<f32> {nn.input = "lr"}) -> (tensor<4xf32> {nn.stats = "table"}, tensor<4xf32> {nn.stats = "w"}) {
    %0 = nn.get_state @step : tensor<f32>
    %1 = nn.constant 1.000000e+00 : tensor<f32>
    %t = nn.add %0, %1 : tensor<f32>
    nn.set_state @step, %t : tensor<f32>
    %table = nn.get_param @table : tensor<16x8xf32>
    %2 = nn.get_state @table.m : tensor<16x8xf32>
    %3 = nn.get_state @table.v : tensor<16x8xf32>
    %4, %5, %6 = nn.adamw %table, %g_table, %2, %3, %lr, %t {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} : tensor<16x8xf32>
    nn.set_param @table, %4 : tensor<16x8xf32>
    nn.set_state @table.m, %5 : tensor<16x8xf32>
    nn.set_state @table.v, %6 : tensor<16x8xf32>
    %7 = nn.sub %table, %4 : tensor<16x8xf32>
    %8 = nn.update_stats %table, %4, %7 : (tensor<16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>) -> tensor<4xf32>
    %w = nn.get_param @w : tensor<2x4x2xf32>
    %9 = nn.get_state @w.m : tensor<2x4x2xf32>
    %10 = nn.get_state @w.v : tensor<2x4x2xf32>
    %11, %12, %13 = nn.adamw %w, %g_w, %9, %10, %lr, %t {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} : tensor<2x4x2xf32>
    nn.set_param @w, %11 : tensor<2x4x2xf32>
    nn.set_state @w.m, %12 : tensor<2x4x2xf32>
    nn.set_state @w.v, %13 : tensor<2x4x2xf32>
    %14 = nn.sub %w, %11 : tensor<2x4x2xf32>
    %15 = nn.update_stats %w, %11, %14 : (tensor<2x4x2xf32>, tensor<2x4x2xf32>, tensor<2x4x2xf32>) -> tensor<4xf32>
    func.return %8, %15 : tensor<4xf32>, tensor<4xf32>
  }
}
