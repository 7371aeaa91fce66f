builtin.module attributes {scalc.model = "for_loops", scalc.symbols = ["B"]} {
  nn.param @w : tensor<3x4x4xf32> {init = "normal", std = 1.000000e-01 : f64}
  func.func @forward(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}) -> (tensor<?x4xf32> {nn.output = "y", nn.dims = #nn.dims<B, 4>}) {
    %w = nn.get_param @w : tensor<3x4x4xf32>
    %0 = nn.index %w axis 0 [0] : tensor<3x4x4xf32> -> tensor<4x4xf32>
    %1 = nn.matmul %x, %0 : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %update = nn.relu %1 : tensor<?x4xf32>
    %h = nn.add %x, %update : tensor<?x4xf32>
    %2 = nn.index %w axis 0 [1] : tensor<3x4x4xf32> -> tensor<4x4xf32>
    %3 = nn.matmul %h, %2 : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %update_1 = nn.relu %3 : tensor<?x4xf32>
    %h_1 = nn.add %h, %update_1 : tensor<?x4xf32>
    %4 = nn.index %w axis 0 [2] : tensor<3x4x4xf32> -> tensor<4x4xf32>
    %5 = nn.matmul %h_1, %4 : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %update_2 = nn.relu %5 : tensor<?x4xf32>
    %h_2 = nn.add %h_1, %update_2 : tensor<?x4xf32>
    %6 = nn.constant 2.000000e+00 : tensor<f32>
    %7 = nn.broadcast %6 to #nn.dims<B, 4> : tensor<f32> -> tensor<?x4xf32>
    %h_3 = nn.mul %h_2, %7 : tensor<?x4xf32>
    %8 = nn.constant 3.000000e+00 : tensor<f32>
    %9 = nn.broadcast %8 to #nn.dims<B, 4> : tensor<f32> -> tensor<?x4xf32>
    %y = nn.mul %h_3, %9 : tensor<?x4xf32>
    func.return %y : tensor<?x4xf32>
  }
}
