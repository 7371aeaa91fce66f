builtin.module attributes {scalc.model = "optimizer_bf16", scalc.symbols = ["B"], scalc.optimizer = {kind = "sgd", lr = 1.000000e-02 : f64, weight_decay = 0.000000e+00 : f64, momentum = 9.000000e-01 : f64, nesterov = false}} {
  nn.param @w : tensor<4x2xbf16> {init = "normal", std = 5.000000e-01 : f64}
  nn.state @step : tensor<f32>
  nn.state @w.momentum : tensor<4x2xbf16> {param = @w}
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
    %2 = nn.get_state @w.momentum : tensor<4x2xbf16>
    %3 = nn.cast %g_w : tensor<4x2xf32> -> tensor<4x2xbf16>
    %4, %5 = nn.sgd_delta %w, %3, %2, %lr {momentum = 9.000000e-01 : f64, weight_decay = 0.000000e+00 : f64, nesterov = false, precision = "bf16"} : tensor<4x2xbf16>
    %6 = nn.sub %w, %4 : tensor<4x2xbf16>
    nn.set_param @w, %6 : tensor<4x2xbf16>
    nn.set_state @w.momentum, %5 : tensor<4x2xbf16>
    %7 = nn.update_stats %w, %6, %4 : (tensor<4x2xbf16>, tensor<4x2xbf16>, tensor<4x2xbf16>) -> tensor<4xf32>
    func.return %7 : tensor<4xf32>
  }
}
