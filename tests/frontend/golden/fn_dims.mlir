builtin.module attributes {scalc.model = "fn_dims", scalc.symbols = ["B"]} {
  nn.param @w1 : tensor<4x8xf32> {init = "normal", std = 1.000000e-01 : f64}
  nn.param @w2 : tensor<4x2xf32> {init = "normal", std = 1.000000e-01 : f64}
  func.func @forward(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}) -> (tensor<?x8xf32> {nn.output = "hidden", nn.dims = #nn.dims<B, 8>}, tensor<?x2xf32> {nn.output = "pairs", nn.dims = #nn.dims<2*B, 2>}) {
    %w1 = nn.get_param @w1 : tensor<4x8xf32>
    %w2 = nn.get_param @w2 : tensor<4x2xf32>
    %y = nn.matmul %x, %w1 : (tensor<?x4xf32>, tensor<4x8xf32>) -> tensor<?x8xf32>
    %hidden = nn.relu %y : tensor<?x8xf32>
    %0 = nn.reshape %hidden to #nn.dims<2*B, 4> : tensor<?x8xf32> -> tensor<?x4xf32>
    %1 = nn.constant 5.000000e-01 : tensor<f32>
    %2 = nn.broadcast %1 to #nn.dims<4, 2> : tensor<f32> -> tensor<4x2xf32>
    %3 = nn.mul %w2, %2 : tensor<4x2xf32>
    %y_1 = nn.matmul %0, %3 : (tensor<?x4xf32>, tensor<4x2xf32>) -> tensor<?x2xf32>
    %pairs = nn.relu %y_1 : tensor<?x2xf32>
    func.return %hidden, %pairs : tensor<?x8xf32>, tensor<?x2xf32>
  }
}
