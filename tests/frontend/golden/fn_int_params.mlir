builtin.module attributes {scalc.model = "fn_int_params", scalc.symbols = ["B"]} {
  nn.param @w : tensor<2x4x4xf32> {init = "normal", std = 1.000000e-01 : f64}
  func.func @forward(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}) -> (tensor<?x4xf32> {nn.output = "first", nn.dims = #nn.dims<B, 4>}, tensor<?x4xf32> {nn.output = "second", nn.dims = #nn.dims<B, 4>}) {
    %w = nn.get_param @w : tensor<2x4x4xf32>
    %0 = nn.index %w axis 0 [0] : tensor<2x4x4xf32> -> tensor<4x4xf32>
    %1 = nn.matmul %x, %0 : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %2 = nn.constant 1.000000e+00 : tensor<f32>
    %3 = nn.broadcast %2 to #nn.dims<B, 4> : tensor<f32> -> tensor<?x4xf32>
    %4 = nn.mul %1, %3 : tensor<?x4xf32>
    %first = nn.add %x, %4 : tensor<?x4xf32>
    %5 = nn.index %w axis 0 [1] : tensor<2x4x4xf32> -> tensor<4x4xf32>
    %6 = nn.matmul %x, %5 : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %7 = nn.constant 2.000000e+00 : tensor<f32>
    %8 = nn.broadcast %7 to #nn.dims<B, 4> : tensor<f32> -> tensor<?x4xf32>
    %9 = nn.mul %6, %8 : tensor<?x4xf32>
    %second = nn.add %x, %9 : tensor<?x4xf32>
    func.return %first, %second : tensor<?x4xf32>, tensor<?x4xf32>
  }
}
