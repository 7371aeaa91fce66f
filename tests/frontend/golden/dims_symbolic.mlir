builtin.module attributes {scalc.model = "dims_symbolic", scalc.symbols = ["B", "T"]} {
  func.func @forward(%x: tensor<?x?x8xf32> {nn.input = "x", nn.dims = #nn.dims<B, T, 8>}, %flat: tensor<?x8xf32> {nn.input = "flat", nn.dims = #nn.dims<B*T, 8>}) -> (tensor<?x8xf32> {nn.output = "sum_rows", nn.dims = #nn.dims<B*T, 8>}, tensor<?x?x2x4xf32> {nn.output = "heads", nn.dims = #nn.dims<B, T, 2, 4>}, tensor<?x?x8xf32> {nn.output = "back", nn.dims = #nn.dims<B, T, 8>}) {
    %rows = nn.reshape %x to #nn.dims<B*T, 8> : tensor<?x?x8xf32> -> tensor<?x8xf32>
    %sum_rows = nn.add %rows, %flat : tensor<?x8xf32>
    %heads = nn.reshape %x to #nn.dims<B, T, 2, 4> : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
    %back = nn.reshape %flat to #nn.dims<B, T, 8> : tensor<?x8xf32> -> tensor<?x?x8xf32>
    func.return %sum_rows, %heads, %back : tensor<?x8xf32>, tensor<?x?x2x4xf32>, tensor<?x?x8xf32>
  }
}
