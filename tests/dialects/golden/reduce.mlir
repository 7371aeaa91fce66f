builtin.module attributes {scalc.model = "reduce", scalc.symbols = ["B"]} {
  func.func @forward(%x: tensor<?x10xf32> {nn.input = "x", nn.dims = #nn.dims<B, 10>}) -> (tensor<?x1xf32> {nn.output = "sum"}, tensor<?xf32> {nn.output = "max"}, tensor<f32> {nn.output = "mean"}) {
    %0 = nn.sum %x axes [1] keepdims : tensor<?x10xf32> -> tensor<?x1xf32>
    %1 = nn.max %x axes [1] : tensor<?x10xf32> -> tensor<?xf32>
    %2 = nn.mean %x axes [0, 1] : tensor<?x10xf32> -> tensor<f32>
    func.return %0, %1, %2 : tensor<?x1xf32>, tensor<?xf32>, tensor<f32>
  }
}
