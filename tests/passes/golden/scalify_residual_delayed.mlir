builtin.module attributes {scalc.model = "scalify_residual_delayed", scalc.symbols = ["B"], scalc.optimizer = {kind = "adamw", lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64, beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64}, scalc.recipe = {name = "fp8-delayed", compute = "bf16", matmul_forward = "f8E4M3FN", matmul_grad = "f8E5M2", scaling = "delayed", history = 16 : i64, margin = 0 : i64, rescale = "residual", optimizer_state = "f32", optimizer_precision = "fp32", fp8_min_k = 0 : i64}} {
  nn.param @w : tensor<8x8xf32> {init = "normal", std = 1.000000e-01 : f64}
  nn.state @step : tensor<f32>
  nn.state @w.m : tensor<8x8xf32> {param = @w}
  nn.state @w.v : tensor<8x8xf32> {param = @w}
  nn.state @amax.train_forward.0 : tensor<16xf32>
  nn.state @amax.train_forward.1 : tensor<16xf32>
  nn.state @amax.train_forward.2 : tensor<16xf32>
  nn.state @amax.train_backward.0 : tensor<16xf32>
  nn.state @amax.train_backward.1 : tensor<16xf32>
  nn.state @amax.train_backward.2 : tensor<16xf32>
  nn.state @amax.train_backward.3 : tensor<16xf32>
  nn.state @amax.train_backward.4 : tensor<16xf32>
  func.func @loss(%x: tensor<?x8xf32> {nn.input = "x", nn.dims = #nn.dims<B, 8>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %w = nn.get_param @w : tensor<8x8xf32>
    %0 = nn.matmul %x, %w : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
    %h = nn.add %x, %0 : tensor<?x8xf32>
    %1 = nn.matmul %h, %w : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
    %2 = nn.relu %1 : tensor<?x8xf32>
    %o = nn.add %h, %2 : tensor<?x8xf32>
    %3 = nn.mul %o, %o : tensor<?x8xf32>
    %loss = nn.mean %3 axes [0, 1] : tensor<?x8xf32> -> tensor<f32>
    func.return %loss : tensor<f32>
  }
  func.func @train_forward(%x: tensor<?x8xf32> {nn.input = "x", nn.dims = #nn.dims<B, 8>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}, !scaled.tensor<?x8xbf16> {nn.saved = 0 : i64}, !scaled.tensor<?x8xbf16> {nn.saved = 1 : i64}, !scaled.tensor<?x8xbf16> {nn.saved = 2 : i64}, !scaled.tensor<?x8xbf16> {nn.saved = 3 : i64}) {
    %x_1 = scaled.from_tensor %x : tensor<?x8xf32> -> !scaled.tensor<?x8xbf16>
    %w = nn.get_param @w : tensor<8x8xf32>
    %w_1 = scaled.from_tensor %w : tensor<8x8xf32> -> !scaled.tensor<8x8xbf16>
    %0 = scaled.amax %x_1 : !scaled.tensor<?x8xbf16>
    %1 = nn.get_state @amax.train_forward.0 : tensor<16xf32>
    %2, %3 = scaled.update_history %1, %0 : tensor<16xf32>
    nn.set_state @amax.train_forward.0, %3 : tensor<16xf32>
    %x_2 = scaled.rescale %x_1, %2 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<?x8xbf16>
    %4 = scaled.cast %x_2 : !scaled.tensor<?x8xbf16> -> !scaled.tensor<?x8xf8E4M3FN>
    %5 = scaled.amax %w_1 : !scaled.tensor<8x8xbf16>
    %6 = nn.get_state @amax.train_forward.1 : tensor<16xf32>
    %7, %8 = scaled.update_history %6, %5 : tensor<16xf32>
    nn.set_state @amax.train_forward.1, %8 : tensor<16xf32>
    %w_2 = scaled.rescale %w_1, %7 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<8x8xbf16>
    %9 = scaled.cast %w_2 : !scaled.tensor<8x8xbf16> -> !scaled.tensor<8x8xf8E4M3FN>
    %10 = scaled.matmul %4, %9 : (!scaled.tensor<?x8xf8E4M3FN>, !scaled.tensor<8x8xf8E4M3FN>) -> !scaled.tensor<?x8xbf16>
    %h = scaled.add %x_1, %10 : !scaled.tensor<?x8xbf16>
    %11 = scaled.amax %h : !scaled.tensor<?x8xbf16>
    %h_1 = scaled.rescale %h, %11 {target = 1.000000e+00 : f64, margin = 0 : i64} : !scaled.tensor<?x8xbf16>
    %12 = scaled.amax %h_1 : !scaled.tensor<?x8xbf16>
    %13 = nn.get_state @amax.train_forward.2 : tensor<16xf32>
    %14, %15 = scaled.update_history %13, %12 : tensor<16xf32>
    nn.set_state @amax.train_forward.2, %15 : tensor<16xf32>
    %h_2 = scaled.rescale %h_1, %14 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<?x8xbf16>
    %16 = scaled.cast %h_2 : !scaled.tensor<?x8xbf16> -> !scaled.tensor<?x8xf8E4M3FN>
    %17 = scaled.matmul %16, %9 : (!scaled.tensor<?x8xf8E4M3FN>, !scaled.tensor<8x8xf8E4M3FN>) -> !scaled.tensor<?x8xbf16>
    %18 = scaled.relu %17 : !scaled.tensor<?x8xbf16>
    %o = scaled.add %h_1, %18 : !scaled.tensor<?x8xbf16>
    %19 = scaled.mul %o, %o : !scaled.tensor<?x8xbf16>
    %loss = scaled.mean %19 axes [0, 1] : !scaled.tensor<?x8xbf16> -> !scaled.tensor<f32>
    %20 = scaled.to_tensor %loss : !scaled.tensor<f32> -> tensor<f32>
    func.return %20, %o, %18, %h_1, %x_1 : tensor<f32>, !scaled.tensor<?x8xbf16>, !scaled.tensor<?x8xbf16>, !scaled.tensor<?x8xbf16>, !scaled.tensor<?x8xbf16>
  }
  func.func @train_backward(%o: !scaled.tensor<?x8xbf16> {nn.saved = 0 : i64}, %0: !scaled.tensor<?x8xbf16> {nn.saved = 1 : i64}, %h: !scaled.tensor<?x8xbf16> {nn.saved = 2 : i64}, %x: !scaled.tensor<?x8xbf16> {nn.saved = 3 : i64}) -> (tensor<8x8xf32> {nn.grad = "w"}) {
    %dloss = scaled.constant 1.000000e+00 {nn.seed} : !scaled.tensor<f32>
    %1 = scaled.reshape %dloss to #nn.dims<1, 1> : !scaled.tensor<f32> -> !scaled.tensor<1x1xbf16>
    %2 = scaled.mean_grad %1 axes [0, 1] to #nn.dims<B, 8> : !scaled.tensor<1x1xbf16> -> !scaled.tensor<?x8xbf16>
    %3 = scaled.mul %2, %o : !scaled.tensor<?x8xbf16>
    %4 = scaled.mul %2, %o : !scaled.tensor<?x8xbf16>
    %5 = scaled.add %3, %4 : !scaled.tensor<?x8xbf16>
    %6 = scaled.amax %5 : !scaled.tensor<?x8xbf16>
    %7 = scaled.rescale %5, %6 {target = 1.000000e+00 : f64, margin = 0 : i64} : !scaled.tensor<?x8xbf16>
    %8 = scaled.relu_grad %0, %7 : !scaled.tensor<?x8xbf16>
    %w = nn.get_param @w : tensor<8x8xf32>
    %w_1 = scaled.from_tensor %w : tensor<8x8xf32> -> !scaled.tensor<8x8xbf16>
    %9 = scaled.transpose %w_1 [1, 0] : !scaled.tensor<8x8xbf16> -> !scaled.tensor<8x8xbf16>
    %10 = scaled.amax %8 : !scaled.tensor<?x8xbf16>
    %11 = nn.get_state @amax.train_backward.0 : tensor<16xf32>
    %12, %13 = scaled.update_history %11, %10 : tensor<16xf32>
    nn.set_state @amax.train_backward.0, %13 : tensor<16xf32>
    %14 = scaled.rescale %8, %12 {target = 5.734400e+04 : f64, margin = 0 : i64} : !scaled.tensor<?x8xbf16>
    %15 = scaled.cast %14 : !scaled.tensor<?x8xbf16> -> !scaled.tensor<?x8xf8E5M2>
    %16 = scaled.amax %9 : !scaled.tensor<8x8xbf16>
    %17 = nn.get_state @amax.train_backward.1 : tensor<16xf32>
    %18, %19 = scaled.update_history %17, %16 : tensor<16xf32>
    nn.set_state @amax.train_backward.1, %19 : tensor<16xf32>
    %20 = scaled.rescale %9, %18 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<8x8xbf16>
    %21 = scaled.cast %20 : !scaled.tensor<8x8xbf16> -> !scaled.tensor<8x8xf8E4M3FN>
    %22 = scaled.matmul %15, %21 : (!scaled.tensor<?x8xf8E5M2>, !scaled.tensor<8x8xf8E4M3FN>) -> !scaled.tensor<?x8xbf16>
    %23 = scaled.transpose %h [1, 0] : !scaled.tensor<?x8xbf16> -> !scaled.tensor<8x?xbf16>
    %24 = scaled.amax %23 : !scaled.tensor<8x?xbf16>
    %25 = nn.get_state @amax.train_backward.2 : tensor<16xf32>
    %26, %27 = scaled.update_history %25, %24 : tensor<16xf32>
    nn.set_state @amax.train_backward.2, %27 : tensor<16xf32>
    %28 = scaled.rescale %23, %26 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<8x?xbf16>
    %29 = scaled.cast %28 : !scaled.tensor<8x?xbf16> -> !scaled.tensor<8x?xf8E4M3FN>
    %30 = scaled.matmul %29, %15 : (!scaled.tensor<8x?xf8E4M3FN>, !scaled.tensor<?x8xf8E5M2>) -> !scaled.tensor<8x8xbf16>
    %31 = scaled.add %7, %22 : !scaled.tensor<?x8xbf16>
    %32 = scaled.transpose %x [1, 0] : !scaled.tensor<?x8xbf16> -> !scaled.tensor<8x?xbf16>
    %33 = scaled.amax %32 : !scaled.tensor<8x?xbf16>
    %34 = nn.get_state @amax.train_backward.3 : tensor<16xf32>
    %35, %36 = scaled.update_history %34, %33 : tensor<16xf32>
    nn.set_state @amax.train_backward.3, %36 : tensor<16xf32>
    %37 = scaled.rescale %32, %35 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<8x?xbf16>
    %38 = scaled.cast %37 : !scaled.tensor<8x?xbf16> -> !scaled.tensor<8x?xf8E4M3FN>
    %39 = scaled.amax %31 : !scaled.tensor<?x8xbf16>
    %40 = nn.get_state @amax.train_backward.4 : tensor<16xf32>
    %41, %42 = scaled.update_history %40, %39 : tensor<16xf32>
    nn.set_state @amax.train_backward.4, %42 : tensor<16xf32>
    %43 = scaled.rescale %31, %41 {target = 5.734400e+04 : f64, margin = 0 : i64} : !scaled.tensor<?x8xbf16>
    %44 = scaled.cast %43 : !scaled.tensor<?x8xbf16> -> !scaled.tensor<?x8xf8E5M2>
    %45 = scaled.matmul %38, %44 : (!scaled.tensor<8x?xf8E4M3FN>, !scaled.tensor<?x8xf8E5M2>) -> !scaled.tensor<8x8xbf16>
    %46 = scaled.add %30, %45 : !scaled.tensor<8x8xbf16>
    %47 = scaled.to_tensor %46 : !scaled.tensor<8x8xbf16> -> tensor<8x8xf32>
    func.return %47 : tensor<8x8xf32>
  }
  func.func @optimizer_step(%g_w: tensor<8x8xf32> {nn.grad = "w"}, %lr: tensor<f32> {nn.input = "lr"}) -> (tensor<4xf32> {nn.stats = "w"}) {
    %0 = nn.get_state @step : tensor<f32>
    %1 = nn.constant 1.000000e+00 : tensor<f32>
    %t = nn.add %0, %1 : tensor<f32>
    nn.set_state @step, %t : tensor<f32>
    %w = nn.get_param @w : tensor<8x8xf32>
    %2 = nn.get_state @w.m : tensor<8x8xf32>
    %3 = nn.get_state @w.v : tensor<8x8xf32>
    %4, %5, %6 = nn.adamw %w, %g_w, %2, %3, %lr, %t {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} : tensor<8x8xf32>
    nn.set_param @w, %4 : tensor<8x8xf32>
    nn.set_state @w.m, %5 : tensor<8x8xf32>
    nn.set_state @w.v, %6 : tensor<8x8xf32>
    %7 = nn.sub %w, %4 : tensor<8x8xf32>
    %8 = nn.update_stats %w, %4, %7 : (tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<4xf32>
    func.return %8 : tensor<4xf32>
  }
}
