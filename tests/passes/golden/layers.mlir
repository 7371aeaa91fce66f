builtin.module attributes {scalc.model = "layers", scalc.symbols = ["B", "T"], scalc.optimizer = {kind = "adamw", lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64, beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64}} {
  nn.param @emb : tensor<10x8xf32> {init = "normal", std = 1.000000e-01 : f64}
  nn.param @g : tensor<8xf32> {init = "ones"}
  nn.param @beta : tensor<8xf32> {init = "zeros"}
  nn.param @unused : tensor<8xf32> {init = "zeros"}
  nn.state @step : tensor<f32>
  nn.state @emb.m : tensor<10x8xf32> {param = @emb}
  nn.state @emb.v : tensor<10x8xf32> {param = @emb}
  nn.state @g.m : tensor<8xf32> {param = @g}
  nn.state @g.v : tensor<8xf32> {param = @g}
  nn.state @beta.m : tensor<8xf32> {param = @beta}
  nn.state @beta.v : tensor<8xf32> {param = @beta}
  func.func @loss(%ids: tensor<?x?xi32> {nn.input = "ids", nn.dims = #nn.dims<B, T>}, %y: tensor<?x?xi32> {nn.input = "y", nn.dims = #nn.dims<B, T>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %emb = nn.get_param @emb : tensor<10x8xf32>
    %g = nn.get_param @g : tensor<8xf32>
    %beta = nn.get_param @beta : tensor<8xf32>
    %0 = nn.embedding %emb, %ids : (tensor<10x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
    %h = nn.layernorm %0, %g, %beta {eps = 1.000000e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %1 = nn.transpose %h [0, 2, 1] : tensor<?x?x8xf32> -> tensor<?x8x?xf32>
    %2 = nn.matmul %h, %1 : (tensor<?x?x8xf32>, tensor<?x8x?xf32>) -> tensor<?x?x?xf32>
    %3 = nn.causal_mask %2 : tensor<?x?x?xf32>
    %a = nn.softmax %3 axis 2 : tensor<?x?x?xf32>
    %4 = nn.matmul %a, %h : (tensor<?x?x?xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    %loss = nn.cross_entropy %4, %y : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<f32>
    func.return %loss : tensor<f32>
  }
  func.func @train_forward(%ids: tensor<?x?xi32> {nn.input = "ids", nn.dims = #nn.dims<B, T>}, %y: tensor<?x?xi32> {nn.input = "y", nn.dims = #nn.dims<B, T>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}, tensor<?x?x8xf32> {nn.saved = 0 : i64}, tensor<?x?xi32> {nn.saved = 1 : i64}, tensor<?x?x8xf32> {nn.saved = 2 : i64}, tensor<?x?x?xf32> {nn.saved = 3 : i64}, tensor<?x8x?xf32> {nn.saved = 4 : i64}, tensor<?x?x8xf32> {nn.saved = 5 : i64}, tensor<?x?xi32> {nn.saved = 6 : i64}) {
    %emb = nn.get_param @emb : tensor<10x8xf32>
    %g = nn.get_param @g : tensor<8xf32>
    %beta = nn.get_param @beta : tensor<8xf32>
    %0 = nn.embedding %emb, %ids : (tensor<10x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
    %h = nn.layernorm %0, %g, %beta {eps = 1.000000e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %1 = nn.transpose %h [0, 2, 1] : tensor<?x?x8xf32> -> tensor<?x8x?xf32>
    %2 = nn.matmul %h, %1 : (tensor<?x?x8xf32>, tensor<?x8x?xf32>) -> tensor<?x?x?xf32>
    %3 = nn.causal_mask %2 : tensor<?x?x?xf32>
    %a = nn.softmax %3 axis 2 : tensor<?x?x?xf32>
    %4 = nn.matmul %a, %h : (tensor<?x?x?xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    %loss = nn.cross_entropy %4, %y : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<f32>
    func.return %loss, %4, %y, %h, %a, %1, %0, %ids : tensor<f32>, tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<?x?x8xf32>, tensor<?x?x?xf32>, tensor<?x8x?xf32>, tensor<?x?x8xf32>, tensor<?x?xi32>
  }
  func.func @train_backward(%0: tensor<?x?x8xf32> {nn.saved = 0 : i64}, %y: tensor<?x?xi32> {nn.saved = 1 : i64}, %h: tensor<?x?x8xf32> {nn.saved = 2 : i64}, %a: tensor<?x?x?xf32> {nn.saved = 3 : i64}, %1: tensor<?x8x?xf32> {nn.saved = 4 : i64}, %2: tensor<?x?x8xf32> {nn.saved = 5 : i64}, %ids: tensor<?x?xi32> {nn.saved = 6 : i64}) -> (tensor<10x8xf32> {nn.grad = "emb"}, tensor<8xf32> {nn.grad = "g"}, tensor<8xf32> {nn.grad = "beta"}) {
    %dloss = nn.constant 1.000000e+00 {nn.seed} : tensor<f32>
    %3 = nn.cross_entropy_grad %0, %y, %dloss : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<f32>) -> tensor<?x?x8xf32>
    %4 = nn.transpose %h [0, 2, 1] : tensor<?x?x8xf32> -> tensor<?x8x?xf32>
    %5 = nn.matmul %3, %4 : (tensor<?x?x8xf32>, tensor<?x8x?xf32>) -> tensor<?x?x?xf32>
    %6 = nn.transpose %a [0, 2, 1] : tensor<?x?x?xf32> -> tensor<?x?x?xf32>
    %7 = nn.matmul %6, %3 : (tensor<?x?x?xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    %8 = nn.softmax_grad %a, %5 axis 2 : tensor<?x?x?xf32>
    %9 = nn.causal_mask_grad %8 : tensor<?x?x?xf32>
    %10 = nn.transpose %1 [0, 2, 1] : tensor<?x8x?xf32> -> tensor<?x?x8xf32>
    %11 = nn.matmul %9, %10 : (tensor<?x?x?xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    %12 = nn.transpose %h [0, 2, 1] : tensor<?x?x8xf32> -> tensor<?x8x?xf32>
    %13 = nn.matmul %12, %9 : (tensor<?x8x?xf32>, tensor<?x?x?xf32>) -> tensor<?x8x?xf32>
    %14 = nn.add %7, %11 : tensor<?x?x8xf32>
    %15 = nn.transpose %13 [0, 2, 1] : tensor<?x8x?xf32> -> tensor<?x?x8xf32>
    %16 = nn.add %14, %15 : tensor<?x?x8xf32>
    %g = nn.get_param @g : tensor<8xf32>
    %17, %18, %19 = nn.layernorm_grad %2, %g, %16 {eps = 1.000000e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x8xf32>) -> (tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>)
    %20 = nn.embedding_grad %ids, %17 : (tensor<?x?xi32>, tensor<?x?x8xf32>) -> tensor<10x8xf32>
    func.return %20, %18, %19 : tensor<10x8xf32>, tensor<8xf32>, tensor<8xf32>
  }
  func.func @optimizer_step(%g_emb: tensor<10x8xf32> {nn.grad = "emb"}, %g_g: tensor<8xf32> {nn.grad = "g"}, %g_beta: tensor<8xf32> {nn.grad = "beta"}, %lr: tensor<f32> {nn.input = "lr"}) -> (tensor<4xf32> {nn.stats = "emb"}, tensor<4xf32> {nn.stats = "g"}, tensor<4xf32> {nn.stats = "beta"}) {
    %0 = nn.get_state @step : tensor<f32>
    %1 = nn.constant 1.000000e+00 : tensor<f32>
    %t = nn.add %0, %1 : tensor<f32>
    nn.set_state @step, %t : tensor<f32>
    %emb = nn.get_param @emb : tensor<10x8xf32>
    %2 = nn.get_state @emb.m : tensor<10x8xf32>
    %3 = nn.get_state @emb.v : tensor<10x8xf32>
    %4, %5, %6 = nn.adamw %emb, %g_emb, %2, %3, %lr, %t {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} : tensor<10x8xf32>
    nn.set_param @emb, %4 : tensor<10x8xf32>
    nn.set_state @emb.m, %5 : tensor<10x8xf32>
    nn.set_state @emb.v, %6 : tensor<10x8xf32>
    %7 = nn.sub %emb, %4 : tensor<10x8xf32>
    %8 = nn.update_stats %emb, %4, %7 : (tensor<10x8xf32>, tensor<10x8xf32>, tensor<10x8xf32>) -> tensor<4xf32>
    %g = nn.get_param @g : tensor<8xf32>
    %9 = nn.get_state @g.m : tensor<8xf32>
    %10 = nn.get_state @g.v : tensor<8xf32>
    %11, %12, %13 = nn.adamw %g, %g_g, %9, %10, %lr, %t {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} : tensor<8xf32>
    nn.set_param @g, %11 : tensor<8xf32>
    nn.set_state @g.m, %12 : tensor<8xf32>
    nn.set_state @g.v, %13 : tensor<8xf32>
    %14 = nn.sub %g, %11 : tensor<8xf32>
    %15 = nn.update_stats %g, %11, %14 : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4xf32>
    %beta = nn.get_param @beta : tensor<8xf32>
    %16 = nn.get_state @beta.m : tensor<8xf32>
    %17 = nn.get_state @beta.v : tensor<8xf32>
    %18, %19, %20 = nn.adamw %beta, %g_beta, %16, %17, %lr, %t {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} : tensor<8xf32>
    nn.set_param @beta, %18 : tensor<8xf32>
    nn.set_state @beta.m, %19 : tensor<8xf32>
    nn.set_state @beta.v, %20 : tensor<8xf32>
    %21 = nn.sub %beta, %18 : tensor<8xf32>
    %22 = nn.update_stats %beta, %18, %21 : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4xf32>
    func.return %8, %15, %22 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  }
}
