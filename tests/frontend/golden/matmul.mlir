builtin.module attributes {scalc.model = "matmul", scalc.symbols = ["B", "T"]} {
  func.func @forward(%a: tensor<?x8xf32> {nn.input = "a", nn.dims = #nn.dims<B, 8>}, %w: tensor<8x3xf32> {nn.input = "w", nn.dims = #nn.dims<8, 3>}, %seq: tensor<?x?x8xf32> {nn.input = "seq", nn.dims = #nn.dims<B, T, 8>}, %batched_w: tensor<?x8x3xf32> {nn.input = "batched_w", nn.dims = #nn.dims<B, 8, 3>}, %shared: tensor<4x8xf32> {nn.input = "shared", nn.dims = #nn.dims<4, 8>}, %one: tensor<1x?x8xf32> {nn.input = "one", nn.dims = #nn.dims<1, T, 8>}) -> (tensor<?x3xf32> {nn.output = "plain", nn.dims = #nn.dims<B, 3>}, tensor<?x?x3xf32> {nn.output = "per_position", nn.dims = #nn.dims<B, T, 3>}, tensor<?x?x3xf32> {nn.output = "batched", nn.dims = #nn.dims<B, T, 3>}, tensor<?x4x3xf32> {nn.output = "lhs_grows", nn.dims = #nn.dims<B, 4, 3>}, tensor<?x?x3xf32> {nn.output = "batch_one", nn.dims = #nn.dims<B, T, 3>}) {
    %plain = nn.matmul %a, %w : (tensor<?x8xf32>, tensor<8x3xf32>) -> tensor<?x3xf32>
    %per_position = nn.matmul %seq, %w : (tensor<?x?x8xf32>, tensor<8x3xf32>) -> tensor<?x?x3xf32>
    %batched = nn.matmul %seq, %batched_w : (tensor<?x?x8xf32>, tensor<?x8x3xf32>) -> tensor<?x?x3xf32>
    %0 = nn.broadcast %shared to #nn.dims<B, 4, 8> : tensor<4x8xf32> -> tensor<?x4x8xf32>
    %lhs_grows = nn.matmul %0, %batched_w : (tensor<?x4x8xf32>, tensor<?x8x3xf32>) -> tensor<?x4x3xf32>
    %1 = nn.broadcast %one to #nn.dims<B, T, 8> : tensor<1x?x8xf32> -> tensor<?x?x8xf32>
    %batch_one = nn.matmul %1, %batched_w : (tensor<?x?x8xf32>, tensor<?x8x3xf32>) -> tensor<?x?x3xf32>
    func.return %plain, %per_position, %batched, %lhs_grows, %batch_one : tensor<?x3xf32>, tensor<?x?x3xf32>, tensor<?x?x3xf32>, tensor<?x4x3xf32>, tensor<?x?x3xf32>
  }
}
