builtin.module attributes {scalc.model = "reductions", scalc.symbols = ["B"], scalc.optimizer = {kind = "adamw", lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64, beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64}} {
  nn.param @w : tensor<6x6xf32> {init = "normal", std = 5.000000e-01 : f64}
  nn.state @step : tensor<f32>
  nn.state @w.m : tensor<6x6xf32> {param = @w}
  nn.state @w.v : tensor<6x6xf32> {param = @w}
  func.func @loss(%x: tensor<?x6xf32> {nn.input = "x", nn.dims = #nn.dims<B, 6>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %w = nn.get_param @w : tensor<6x6xf32>
    %h = nn.matmul %x, %w : (tensor<?x6xf32>, tensor<6x6xf32>) -> tensor<?x6xf32>
    %0 = nn.mean %h axes [0] : tensor<?x6xf32> -> tensor<6xf32>
    %1 = nn.sum %0 axes [0] : tensor<6xf32> -> tensor<f32>
    %2 = nn.max %h axes [1] keepdims : tensor<?x6xf32> -> tensor<?x1xf32>
    %3 = nn.mean %2 axes [0, 1] : tensor<?x1xf32> -> tensor<f32>
    %loss = nn.add %1, %3 : tensor<f32>
    func.return %loss : tensor<f32>
  }
  func.func @train_forward(%x: tensor<?x6xf32> {nn.input = "x", nn.dims = #nn.dims<B, 6>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}, tensor<?x6xf32> {nn.saved = 0 : i64}, tensor<?x6xf32> {nn.saved = 1 : i64}) {
    %w = nn.get_param @w : tensor<6x6xf32>
    %h = nn.matmul %x, %w : (tensor<?x6xf32>, tensor<6x6xf32>) -> tensor<?x6xf32>
    %0 = nn.mean %h axes [0] : tensor<?x6xf32> -> tensor<6xf32>
    %1 = nn.sum %0 axes [0] : tensor<6xf32> -> tensor<f32>
    %2 = nn.max %h axes [1] keepdims : tensor<?x6xf32> -> tensor<?x1xf32>
    %3 = nn.mean %2 axes [0, 1] : tensor<?x1xf32> -> tensor<f32>
    %loss = nn.add %1, %3 : tensor<f32>
    func.return %loss, %h, %x : tensor<f32>, tensor<?x6xf32>, tensor<?x6xf32>
  }
  func.func @train_backward(%h: tensor<?x6xf32> {nn.saved = 0 : i64}, %x: tensor<?x6xf32> {nn.saved = 1 : i64}) -> (tensor<6x6xf32> {nn.grad = "w"}) {
    %dloss = nn.constant 1.000000e+00 {nn.seed} : tensor<f32>
    %0 = nn.reshape %dloss to #nn.dims<1, 1> : tensor<f32> -> tensor<1x1xf32>
    %1 = nn.mean_grad %0 axes [0, 1] to #nn.dims<B, 1> : tensor<1x1xf32> -> tensor<?x1xf32>
    %2 = nn.max_grad %h, %1 axes [1] : (tensor<?x6xf32>, tensor<?x1xf32>) -> tensor<?x6xf32>
    %3 = nn.reshape %dloss to #nn.dims<1> : tensor<f32> -> tensor<1xf32>
    %4 = nn.broadcast %3 to #nn.dims<6> : tensor<1xf32> -> tensor<6xf32>
    %5 = nn.reshape %4 to #nn.dims<1, 6> : tensor<6xf32> -> tensor<1x6xf32>
    %6 = nn.mean_grad %5 axes [0] to #nn.dims<B, 6> : tensor<1x6xf32> -> tensor<?x6xf32>
    %7 = nn.add %2, %6 : tensor<?x6xf32>
    %8 = nn.transpose %x [1, 0] : tensor<?x6xf32> -> tensor<6x?xf32>
    %9 = nn.matmul %8, %7 : (tensor<6x?xf32>, tensor<?x6xf32>) -> tensor<6x6xf32>
    func.return %9 : tensor<6x6xf32>
  }
  func.func @optimizer_step(%g_w: tensor<6x6xf32> {nn.grad = "w"}, %lr: tensor<f32> {nn.input = "lr"}) -> (tensor<4xf32> {nn.stats = "w"}) {
    %0 = nn.get_state @step : tensor<f32>
    %1 = nn.constant 1.000000e+00 : tensor<f32>
    %t = nn.add %0, %1 : tensor<f32>
    nn.set_state @step, %t : tensor<f32>
    %w = nn.get_param @w : tensor<6x6xf32>
    %2 = nn.get_state @w.m : tensor<6x6xf32>
    %3 = nn.get_state @w.v : tensor<6x6xf32>
    %4, %5, %6 = nn.adamw %w, %g_w, %2, %3, %lr, %t {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} : tensor<6x6xf32>
    nn.set_param @w, %4 : tensor<6x6xf32>
    nn.set_state @w.m, %5 : tensor<6x6xf32>
    nn.set_state @w.v, %6 : tensor<6x6xf32>
    %7 = nn.sub %w, %4 : tensor<6x6xf32>
    %8 = nn.update_stats %w, %4, %7 : (tensor<6x6xf32>, tensor<6x6xf32>, tensor<6x6xf32>) -> tensor<4xf32>
    func.return %8 : tensor<4xf32>
  }
}
