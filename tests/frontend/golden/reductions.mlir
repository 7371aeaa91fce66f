builtin.module attributes {scalc.model = "reductions", scalc.symbols = ["B", "T"]} {
  func.func @forward(%x: tensor<?x?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, T, 4>}, %s: tensor<f32> {nn.input = "s", nn.dims = #nn.dims<>}) -> (tensor<f32> {nn.output = "total", nn.dims = #nn.dims<>}, tensor<?x4xf32> {nn.output = "per_row", nn.dims = #nn.dims<B, 4>}, tensor<?x?xf32> {nn.output = "last", nn.dims = #nn.dims<B, T>}, tensor<1x?x1xf32> {nn.output = "kept", nn.dims = #nn.dims<1, T, 1>}, tensor<?x?x4xf32> {nn.output = "centred", nn.dims = #nn.dims<B, T, 4>}, tensor<f32> {nn.output = "nothing", nn.dims = #nn.dims<>}) {
    %total = nn.sum %x axes [0, 1, 2] : tensor<?x?x4xf32> -> tensor<f32>
    %per_row = nn.mean %x axes [1] : tensor<?x?x4xf32> -> tensor<?x4xf32>
    %last = nn.max %x axes [2] : tensor<?x?x4xf32> -> tensor<?x?xf32>
    %kept = nn.sum %x axes [0, 2] keepdims : tensor<?x?x4xf32> -> tensor<1x?x1xf32>
    %0 = nn.mean %x axes [2] keepdims : tensor<?x?x4xf32> -> tensor<?x?x1xf32>
    %1 = nn.broadcast %0 to #nn.dims<B, T, 4> : tensor<?x?x1xf32> -> tensor<?x?x4xf32>
    %centred = nn.sub %x, %1 : tensor<?x?x4xf32>
    func.return %total, %per_row, %last, %kept, %centred, %s : tensor<f32>, tensor<?x4xf32>, tensor<?x?xf32>, tensor<1x?x1xf32>, tensor<?x?x4xf32>, tensor<f32>
  }
}
