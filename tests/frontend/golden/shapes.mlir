builtin.module attributes {scalc.model = "shapes", scalc.symbols = ["B", "T"]} {
  func.func @forward(%x: tensor<?x?x6xf32> {nn.input = "x", nn.dims = #nn.dims<B, T, 6>}, %v: tensor<6xf32> {nn.input = "v", nn.dims = #nn.dims<6>}) -> (tensor<?x6xf32> {nn.output = "flat", nn.dims = #nn.dims<B*T, 6>}, tensor<?x?x2x3xf32> {nn.output = "split", nn.dims = #nn.dims<B, T, 2, 3>}, tensor<?x6x?xf32> {nn.output = "swapped", nn.dims = #nn.dims<B, 6, T>}, tensor<6x?x?xf32> {nn.output = "permuted", nn.dims = #nn.dims<6, B, T>}, tensor<?x?x6xf32> {nn.output = "spread", nn.dims = #nn.dims<B, T, 6>}, tensor<?x?x6xf32> {nn.output = "same", nn.dims = #nn.dims<B, T, 6>}) {
    %flat = nn.reshape %x to #nn.dims<B*T, 6> : tensor<?x?x6xf32> -> tensor<?x6xf32>
    %split = nn.reshape %x to #nn.dims<B, T, 2, 3> : tensor<?x?x6xf32> -> tensor<?x?x2x3xf32>
    %swapped = nn.transpose %x [0, 2, 1] : tensor<?x?x6xf32> -> tensor<?x6x?xf32>
    %permuted = nn.transpose %x [2, 0, 1] : tensor<?x?x6xf32> -> tensor<6x?x?xf32>
    %spread = nn.broadcast %v to #nn.dims<B, T, 6> : tensor<6xf32> -> tensor<?x?x6xf32>
    func.return %flat, %split, %swapped, %permuted, %spread, %x : tensor<?x6xf32>, tensor<?x?x2x3xf32>, tensor<?x6x?xf32>, tensor<6x?x?xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>
  }
}
