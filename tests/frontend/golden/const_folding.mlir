builtin.module attributes {scalc.model = "const_folding", scalc.symbols = ["B"]} {
  nn.param @w : tensor<8x4xf32> {init = "normal", std = 0.35355339059327373 : f64}
  func.func @forward(%x: tensor<?x8xf32> {nn.input = "x", nn.dims = #nn.dims<B, 8>}) -> (tensor<?x4xf32> {nn.output = "y", nn.dims = #nn.dims<B, 4>}) {
    %w = nn.get_param @w : tensor<8x4xf32>
    %0 = nn.matmul %x, %w : (tensor<?x8xf32>, tensor<8x4xf32>) -> tensor<?x4xf32>
    %1 = nn.constant 3.500000e+00 : tensor<f32>
    %2 = nn.broadcast %1 to #nn.dims<B, 4> : tensor<f32> -> tensor<?x4xf32>
    %3 = nn.mul %0, %2 : tensor<?x4xf32>
    %4 = nn.constant 1.600000e+01 : tensor<f32>
    %5 = nn.broadcast %4 to #nn.dims<B, 4> : tensor<f32> -> tensor<?x4xf32>
    %6 = nn.add %3, %5 : tensor<?x4xf32>
    %7 = nn.constant 1.000000e-05 : tensor<f32>
    %8 = nn.broadcast %7 to #nn.dims<B, 4> : tensor<f32> -> tensor<?x4xf32>
    %y = nn.sub %6, %8 : tensor<?x4xf32>
    func.return %y : tensor<?x4xf32>
  }
}
