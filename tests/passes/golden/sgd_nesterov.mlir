builtin.module attributes {scalc.model = "sgd_nesterov", scalc.symbols = ["B"], scalc.optimizer = {kind = "sgd", lr = 1.000000e-01 : f64, weight_decay = 0.000000e+00 : f64, momentum = 9.000000e-01 : f64, nesterov = true}} {
  nn.param @w : tensor<3xf32> {init = "normal", std = 1.000000e+00 : f64}
  nn.state @step : tensor<f32>
  nn.state @w.momentum : tensor<3xf32> {param = @w}
  func.func @loss(%x: tensor<?x3xf32> {nn.input = "x", nn.dims = #nn.dims<B, 3>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %w = nn.get_param @w : tensor<3xf32>
    %0 = nn.broadcast %w to #nn.dims<B, 3> : tensor<3xf32> -> tensor<?x3xf32>
    %1 = nn.mul %x, %0 : tensor<?x3xf32>
    %loss = nn.mean %1 axes [0, 1] : tensor<?x3xf32> -> tensor<f32>
    func.return %loss : tensor<f32>
  }
  func.func @train_forward(%x: tensor<?x3xf32> {nn.input = "x", nn.dims = #nn.dims<B, 3>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}, tensor<?x3xf32> {nn.saved = 0 : i64}) {
    %w = nn.get_param @w : tensor<3xf32>
    %0 = nn.broadcast %w to #nn.dims<B, 3> : tensor<3xf32> -> tensor<?x3xf32>
    %1 = nn.mul %x, %0 : tensor<?x3xf32>
    %loss = nn.mean %1 axes [0, 1] : tensor<?x3xf32> -> tensor<f32>
    func.return %loss, %x : tensor<f32>, tensor<?x3xf32>
  }
  func.func @train_backward(%x: tensor<?x3xf32> {nn.saved = 0 : i64}) -> (tensor<3xf32> {nn.grad = "w"}) {
    %dloss = nn.constant 1.000000e+00 {nn.seed} : tensor<f32>
    %0 = nn.reshape %dloss to #nn.dims<1, 1> : tensor<f32> -> tensor<1x1xf32>
    %1 = nn.mean_grad %0 axes [0, 1] to #nn.dims<B, 3> : tensor<1x1xf32> -> tensor<?x3xf32>
    %2 = nn.mul %1, %x : tensor<?x3xf32>
    %3 = nn.sum %2 axes [0] : tensor<?x3xf32> -> tensor<3xf32>
    func.return %3 : tensor<3xf32>
  }
  func.func @optimizer_step(%g_w: tensor<3xf32> {nn.grad = "w"}, %lr: tensor<f32> {nn.input = "lr"}) -> (tensor<4xf32> {nn.stats = "w"}) {
    %0 = nn.get_state @step : tensor<f32>
    %1 = nn.constant 1.000000e+00 : tensor<f32>
    %t = nn.add %0, %1 : tensor<f32>
    nn.set_state @step, %t : tensor<f32>
    %w = nn.get_param @w : tensor<3xf32>
    %2 = nn.get_state @w.momentum : tensor<3xf32>
    %3, %4 = nn.sgd %w, %g_w, %2, %lr {momentum = 9.000000e-01 : f64, weight_decay = 0.000000e+00 : f64, nesterov = true} : tensor<3xf32>
    nn.set_param @w, %3 : tensor<3xf32>
    nn.set_state @w.momentum, %4 : tensor<3xf32>
    %5 = nn.sub %w, %3 : tensor<3xf32>
    %6 = nn.update_stats %w, %3, %5 : (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<4xf32>
    func.return %6 : tensor<4xf32>
  }
}
