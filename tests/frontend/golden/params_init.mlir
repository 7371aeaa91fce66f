builtin.module attributes {scalc.model = "params_init", scalc.symbols = []} {
  nn.param @w_normal : tensor<16x4xf32> {init = "normal", std = 0.35355339059327379 : f64}
  nn.param @w_mean : tensor<4x4xf32> {init = "normal", std = 2.000000e-02 : f64, mean = 1.000000e+00 : f64}
  nn.param @w_positional : tensor<4xf32> {init = "normal", std = 5.000000e-01 : f64}
  nn.param @b_zeros : tensor<4xf32> {init = "zeros"}
  nn.param @g_ones : tensor<4xbf16> {init = "ones"}
  nn.param @c_const : tensor<2x2xf16> {init = "constant", value = 2.500000e-01 : f64}
  nn.param @c_positional : tensor<3xf32> {init = "constant", value = -1.000000e+00 : f64}
  func.func @forward(%x: tensor<2x16xf32> {nn.input = "x", nn.dims = #nn.dims<2, 16>}) -> (tensor<2x4xf32> {nn.output = "y", nn.dims = #nn.dims<2, 4>}) {
    %w_normal = nn.get_param @w_normal : tensor<16x4xf32>
    %w_mean = nn.get_param @w_mean : tensor<4x4xf32>
    %w_positional = nn.get_param @w_positional : tensor<4xf32>
    %b_zeros = nn.get_param @b_zeros : tensor<4xf32>
    %0 = nn.matmul %x, %w_normal : (tensor<2x16xf32>, tensor<16x4xf32>) -> tensor<2x4xf32>
    %1 = nn.matmul %0, %w_mean : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
    %2 = nn.broadcast %w_positional to #nn.dims<2, 4> : tensor<4xf32> -> tensor<2x4xf32>
    %3 = nn.mul %1, %2 : tensor<2x4xf32>
    %4 = nn.broadcast %b_zeros to #nn.dims<2, 4> : tensor<4xf32> -> tensor<2x4xf32>
    %y = nn.add %3, %4 : tensor<2x4xf32>
    func.return %y : tensor<2x4xf32>
  }
}
