builtin.module attributes {scalc.model = "binary_broadcast", scalc.symbols = ["B"]} {
  func.func @forward(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}, %col: tensor<?x1xf32> {nn.input = "col", nn.dims = #nn.dims<B, 1>}, %row: tensor<1x4xf32> {nn.input = "row", nn.dims = #nn.dims<1, 4>}, %bias: tensor<4xf32> {nn.input = "bias", nn.dims = #nn.dims<4>}, %s: tensor<f32> {nn.input = "s", nn.dims = #nn.dims<>}, %h: tensor<?x4xbf16> {nn.input = "h", nn.dims = #nn.dims<B, 4>}) -> (tensor<?x4xf32> {nn.output = "same", nn.dims = #nn.dims<B, 4>}, tensor<?x4xf32> {nn.output = "outer", nn.dims = #nn.dims<B, 4>}, tensor<?x4xf32> {nn.output = "biased", nn.dims = #nn.dims<B, 4>}, tensor<?x4xf32> {nn.output = "by_scalar", nn.dims = #nn.dims<B, 4>}, tensor<?x4xf32> {nn.output = "scaled", nn.dims = #nn.dims<B, 4>}, tensor<?x4xbf16> {nn.output = "halved", nn.dims = #nn.dims<B, 4>}, tensor<?x4xf32> {nn.output = "calls", nn.dims = #nn.dims<B, 4>}) {
    %same = nn.mul %x, %x : tensor<?x4xf32>
    %0 = nn.broadcast %col to #nn.dims<B, 4> : tensor<?x1xf32> -> tensor<?x4xf32>
    %1 = nn.broadcast %row to #nn.dims<B, 4> : tensor<1x4xf32> -> tensor<?x4xf32>
    %outer = nn.sub %0, %1 : tensor<?x4xf32>
    %2 = nn.broadcast %bias to #nn.dims<B, 4> : tensor<4xf32> -> tensor<?x4xf32>
    %biased = nn.add %x, %2 : tensor<?x4xf32>
    %3 = nn.broadcast %s to #nn.dims<B, 4> : tensor<f32> -> tensor<?x4xf32>
    %by_scalar = nn.div %x, %3 : tensor<?x4xf32>
    %4 = nn.constant 2.000000e+00 : tensor<f32>
    %5 = nn.broadcast %4 to #nn.dims<B, 4> : tensor<f32> -> tensor<?x4xf32>
    %scaled = nn.mul %5, %x : tensor<?x4xf32>
    %6 = nn.constant 2.000000e+00 : tensor<bf16>
    %7 = nn.broadcast %6 to #nn.dims<B, 4> : tensor<bf16> -> tensor<?x4xbf16>
    %halved = nn.div %h, %7 : tensor<?x4xbf16>
    %8 = nn.constant 1.000000e+00 : tensor<f32>
    %9 = nn.broadcast %8 to #nn.dims<B, 4> : tensor<f32> -> tensor<?x4xf32>
    %10 = nn.sub %x, %9 : tensor<?x4xf32>
    %11 = nn.constant 3.000000e+00 : tensor<f32>
    %12 = nn.broadcast %11 to #nn.dims<B, 4> : tensor<f32> -> tensor<?x4xf32>
    %13 = nn.div %x, %12 : tensor<?x4xf32>
    %14 = nn.mul %x, %13 : tensor<?x4xf32>
    %calls = nn.add %10, %14 : tensor<?x4xf32>
    func.return %same, %outer, %biased, %by_scalar, %scaled, %halved, %calls : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xbf16>, tensor<?x4xf32>
  }
}
