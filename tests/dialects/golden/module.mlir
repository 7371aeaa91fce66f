builtin.module attributes {scalc.model = "mlp", scalc.symbols = ["B"]} {
  nn.param @w1 : tensor<64x256xf32> {init = "normal", std = 1.250000e-01 : f64}
  nn.param @b1 : tensor<256xf32> {init = "zeros"}
  nn.param @w2 : tensor<256x10xbf16> {init = "normal", std = 6.250000e-02 : f64, mean = 1.000000e-03 : f64}
  nn.param @g : tensor<256xf32> {init = "ones"}
  nn.param @b2 : tensor<10xbf16> {init = "constant", value = 1.000000e-02 : f64}
  func.func @forward(%x: tensor<?x64xf32> {nn.input = "x", nn.dims = #nn.dims<B, 64>}) -> (tensor<?x256xf32> {nn.output = "hidden"}) {
    %w1 = nn.get_param @w1 : tensor<64x256xf32>
    %0 = nn.matmul %x, %w1 : (tensor<?x64xf32>, tensor<64x256xf32>) -> tensor<?x256xf32>
    func.return %0 : tensor<?x256xf32>
  }
  func.func @loss(%x: tensor<?x64xf32> {nn.input = "x", nn.dims = #nn.dims<B, 64>}) -> (tensor<f32> {nn.output = "loss"}) {
    %0 = nn.mean %x axes [0, 1] : tensor<?x64xf32> -> tensor<f32>
    %1 = nn.constant 5.000000e-01 : tensor<f32>
    %2 = nn.mul %0, %1 : tensor<f32>
    func.return %2 : tensor<f32>
  }
}
