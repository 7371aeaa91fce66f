builtin.module attributes {scalc.model = "loss_only", scalc.symbols = ["B"]} {
  nn.param @w : tensor<4x4xf32> {init = "zeros"}
  func.func @loss(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}, %target: tensor<?x4xf32> {nn.input = "target", nn.dims = #nn.dims<B, 4>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %w = nn.get_param @w : tensor<4x4xf32>
    %0 = nn.matmul %x, %w : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %err = nn.sub %0, %target : tensor<?x4xf32>
    %1 = nn.mul %err, %err : tensor<?x4xf32>
    %loss = nn.mean %1 axes [0, 1] : tensor<?x4xf32> -> tensor<f32>
    func.return %loss : tensor<f32>
  }
}
