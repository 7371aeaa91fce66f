builtin.module attributes {scalc.model = "elementwise", scalc.symbols = ["B"], scalc.optimizer = {kind = "adamw", lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64, beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64}} {
  nn.param @p : tensor<4xf32> {init = "normal", std = 1.000000e+00 : f64}
  nn.state @step : tensor<f32>
  nn.state @p.m : tensor<4xf32> {param = @p}
  nn.state @p.v : tensor<4xf32> {param = @p}
  func.func @loss(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %p = nn.get_param @p : tensor<4xf32>
    %0 = nn.broadcast %p to #nn.dims<B, 4> : tensor<4xf32> -> tensor<?x4xf32>
    %1 = nn.mul %x, %0 : tensor<?x4xf32>
    %2 = nn.gelu %1 : tensor<?x4xf32>
    %3 = nn.tanh %p : tensor<4xf32>
    %4 = nn.sigmoid %x : tensor<?x4xf32>
    %5 = nn.broadcast %3 to #nn.dims<B, 4> : tensor<4xf32> -> tensor<?x4xf32>
    %6 = nn.div %5, %4 : tensor<?x4xf32>
    %7 = nn.add %2, %6 : tensor<?x4xf32>
    %8 = nn.exp %p : tensor<4xf32>
    %9 = nn.mul %p, %p : tensor<4xf32>
    %10 = nn.constant 1.000000e+00 : tensor<f32>
    %11 = nn.broadcast %10 to #nn.dims<4> : tensor<f32> -> tensor<4xf32>
    %12 = nn.add %9, %11 : tensor<4xf32>
    %13 = nn.sqrt %12 : tensor<4xf32>
    %14 = nn.log %13 : tensor<4xf32>
    %15 = nn.mul %8, %14 : tensor<4xf32>
    %16 = nn.broadcast %15 to #nn.dims<B, 4> : tensor<4xf32> -> tensor<?x4xf32>
    %17 = nn.sub %7, %16 : tensor<?x4xf32>
    %18 = nn.neg %p : tensor<4xf32>
    %19 = nn.broadcast %18 to #nn.dims<B, 4> : tensor<4xf32> -> tensor<?x4xf32>
    %20 = nn.add %17, %19 : tensor<?x4xf32>
    %loss = nn.mean %20 axes [0, 1] : tensor<?x4xf32> -> tensor<f32>
    func.return %loss : tensor<f32>
  }
  func.func @train_forward(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}, tensor<4xf32> {nn.saved = 0 : i64}, tensor<4xf32> {nn.saved = 1 : i64}, tensor<4xf32> {nn.saved = 2 : i64}, tensor<?x4xf32> {nn.saved = 3 : i64}, tensor<4xf32> {nn.saved = 4 : i64}, tensor<?x4xf32> {nn.saved = 5 : i64}, tensor<?x4xf32> {nn.saved = 6 : i64}) {
    %p = nn.get_param @p : tensor<4xf32>
    %0 = nn.broadcast %p to #nn.dims<B, 4> : tensor<4xf32> -> tensor<?x4xf32>
    %1 = nn.mul %x, %0 : tensor<?x4xf32>
    %2 = nn.gelu %1 : tensor<?x4xf32>
    %3 = nn.tanh %p : tensor<4xf32>
    %4 = nn.sigmoid %x : tensor<?x4xf32>
    %5 = nn.broadcast %3 to #nn.dims<B, 4> : tensor<4xf32> -> tensor<?x4xf32>
    %6 = nn.div %5, %4 : tensor<?x4xf32>
    %7 = nn.add %2, %6 : tensor<?x4xf32>
    %8 = nn.exp %p : tensor<4xf32>
    %9 = nn.mul %p, %p : tensor<4xf32>
    %10 = nn.constant 1.000000e+00 : tensor<f32>
    %11 = nn.broadcast %10 to #nn.dims<4> : tensor<f32> -> tensor<4xf32>
    %12 = nn.add %9, %11 : tensor<4xf32>
    %13 = nn.sqrt %12 : tensor<4xf32>
    %14 = nn.log %13 : tensor<4xf32>
    %15 = nn.mul %8, %14 : tensor<4xf32>
    %16 = nn.broadcast %15 to #nn.dims<B, 4> : tensor<4xf32> -> tensor<?x4xf32>
    %17 = nn.sub %7, %16 : tensor<?x4xf32>
    %18 = nn.neg %p : tensor<4xf32>
    %19 = nn.broadcast %18 to #nn.dims<B, 4> : tensor<4xf32> -> tensor<?x4xf32>
    %20 = nn.add %17, %19 : tensor<?x4xf32>
    %loss = nn.mean %20 axes [0, 1] : tensor<?x4xf32> -> tensor<f32>
    func.return %loss, %14, %8, %13, %4, %3, %1, %x : tensor<f32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<?x4xf32>, tensor<4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
  }
  func.func @train_backward(%0: tensor<4xf32> {nn.saved = 0 : i64}, %1: tensor<4xf32> {nn.saved = 1 : i64}, %2: tensor<4xf32> {nn.saved = 2 : i64}, %3: tensor<?x4xf32> {nn.saved = 3 : i64}, %4: tensor<4xf32> {nn.saved = 4 : i64}, %5: tensor<?x4xf32> {nn.saved = 5 : i64}, %x: tensor<?x4xf32> {nn.saved = 6 : i64}) -> (tensor<4xf32> {nn.grad = "p"}) {
    %dloss = nn.constant 1.000000e+00 {nn.seed} : tensor<f32>
    %6 = nn.reshape %dloss to #nn.dims<1, 1> : tensor<f32> -> tensor<1x1xf32>
    %7 = nn.mean_grad %6 axes [0, 1] to #nn.dims<B, 4> : tensor<1x1xf32> -> tensor<?x4xf32>
    %8 = nn.sum %7 axes [0] : tensor<?x4xf32> -> tensor<4xf32>
    %9 = nn.neg %8 : tensor<4xf32>
    %10 = nn.neg %7 : tensor<?x4xf32>
    %11 = nn.sum %10 axes [0] : tensor<?x4xf32> -> tensor<4xf32>
    %12 = nn.mul %11, %0 : tensor<4xf32>
    %13 = nn.mul %11, %1 : tensor<4xf32>
    %14 = nn.div %13, %2 : tensor<4xf32>
    %15 = nn.sqrt_grad %2, %14 : tensor<4xf32>
    %p = nn.get_param @p : tensor<4xf32>
    %16 = nn.mul %15, %p : tensor<4xf32>
    %17 = nn.mul %15, %p : tensor<4xf32>
    %18 = nn.add %9, %16 : tensor<4xf32>
    %19 = nn.add %18, %17 : tensor<4xf32>
    %20 = nn.mul %12, %1 : tensor<4xf32>
    %21 = nn.add %19, %20 : tensor<4xf32>
    %22 = nn.div %7, %3 : tensor<?x4xf32>
    %23 = nn.sum %22 axes [0] : tensor<?x4xf32> -> tensor<4xf32>
    %24 = nn.tanh_grad %4, %23 : tensor<4xf32>
    %25 = nn.add %21, %24 : tensor<4xf32>
    %26 = nn.gelu_grad %5, %7 : tensor<?x4xf32>
    %27 = nn.mul %26, %x : tensor<?x4xf32>
    %28 = nn.sum %27 axes [0] : tensor<?x4xf32> -> tensor<4xf32>
    %29 = nn.add %25, %28 : tensor<4xf32>
    func.return %29 : tensor<4xf32>
  }
  func.func @optimizer_step(%g_p: tensor<4xf32> {nn.grad = "p"}, %lr: tensor<f32> {nn.input = "lr"}) -> (tensor<4xf32> {nn.stats = "p"}) {
    %0 = nn.get_state @step : tensor<f32>
    %1 = nn.constant 1.000000e+00 : tensor<f32>
    %t = nn.add %0, %1 : tensor<f32>
    nn.set_state @step, %t : tensor<f32>
    %p = nn.get_param @p : tensor<4xf32>
    %2 = nn.get_state @p.m : tensor<4xf32>
    %3 = nn.get_state @p.v : tensor<4xf32>
    %4, %5, %6 = nn.adamw %p, %g_p, %2, %3, %lr, %t {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} : tensor<4xf32>
    nn.set_param @p, %4 : tensor<4xf32>
    nn.set_state @p.m, %5 : tensor<4xf32>
    nn.set_state @p.v, %6 : tensor<4xf32>
    %7 = nn.sub %p, %4 : tensor<4xf32>
    %8 = nn.update_stats %p, %4, %7 : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    func.return %8 : tensor<4xf32>
  }
}
